"""The torch engine against the JAX engine and PennyLane default.qubit on random circuits, and the
TorchLayer quantum layer against the torch-engine quantum layer."""

import functools

import numpy as np
import pytest
import torch

from bpdiag.circuits import build, original_circuit, random_circuit
from bpdiag.engines import jax as je
from bpdiag.engines import pennylane as pe
from bpdiag.engines import torch as te
from bpdiag.model import QuantumLayer, build_model, hybrid_circuit

COSTS = ("global", "local", "readout")
# JAX compiles once per circuit shape (seconds each): a few sizes by default, the rest marked slow
JAX_CASES = [(1, 0), (2, 1), (3, 0), (4, 1)] + [
    pytest.param(n, seed, marks=pytest.mark.slow)
    for n, seed in [(2, 0), (3, 1), (4, 0), (5, 0), (5, 1), (6, 0), (6, 1)]
]


def _inputs(c, seed, batch=3, float32=False):
    rng = np.random.default_rng(200 + seed)
    params = rng.uniform(-np.pi, 2 * np.pi, (batch, c.n_params))
    x = rng.uniform(-np.pi, np.pi, (batch, c.n_data)) if c.n_data else None
    if float32:  # the reference runs at the same (float32-representable) inputs
        params = params.astype(np.float32).astype(float)
        x = None if x is None else x.astype(np.float32).astype(float)
    return params, x


@functools.cache
def _jax_case(n, seed, float32):
    c = random_circuit(n, 6 * n + 4, seed=seed, n_data=2)
    params, x = _inputs(c, seed, float32=float32)
    ref = (
        je.simulate(c, params, x),
        je.expval(c, params, x, costs=COSTS),
        je.gradient(c, params, x, costs=COSTS),
    )
    return c, params, x, ref


@pytest.mark.parametrize("n, seed", JAX_CASES)
@pytest.mark.parametrize("dtype, tol", [("complex128", 1e-10), ("complex64", 1e-6)])
def test_matches_jax(n, seed, dtype, tol):
    c, params, x, (states, expvals, grads) = _jax_case(n, seed, dtype == "complex64")
    np.testing.assert_allclose(te.simulate(c, params, x, dtype=dtype), states, atol=tol)
    np.testing.assert_allclose(te.expval(c, params, x, costs=COSTS, dtype=dtype), expvals, atol=tol)
    np.testing.assert_allclose(te.gradient(c, params, x, costs=COSTS, dtype=dtype), grads, atol=tol)


@pytest.mark.parametrize("n, seed", [(n, seed) for n in range(1, 7) for seed in range(2)])
def test_matches_pennylane(n, seed):
    c = random_circuit(n, 6 * n + 4, seed=seed, n_data=2)
    params, x = _inputs(c, seed, batch=2)
    for dtype, tol in (("complex128", 1e-10), ("complex64", 1e-6)):
        p32 = params.astype(np.float32).astype(float) if dtype == "complex64" else params
        x32 = x.astype(np.float32).astype(float) if dtype == "complex64" else x
        np.testing.assert_allclose(
            te.expval(c, p32, x32, costs=COSTS, dtype=dtype),
            pe.expval(c, p32, x32, costs=COSTS),
            atol=tol,
        )
    np.testing.assert_allclose(te.simulate(c, params, x), pe.simulate(c, params, x), atol=1e-10)
    np.testing.assert_allclose(
        te.expval(c, params, x, costs=COSTS), pe.expval(c, params, x, costs=COSTS), atol=1e-10
    )
    costs = ("global", "local")
    np.testing.assert_allclose(
        te.gradient(c, params, x, costs=costs),
        pe.gradient(c, params, x, costs=costs, diff_method="backprop"),
        atol=1e-10,
    )


def test_data_gradients_match_pennylane():
    import pennylane as qml
    from pennylane import numpy as pnp

    c = hybrid_circuit("mcclean", 3, 2, reupload=True, seed=4)
    params, x = _inputs(c, 4, batch=1)
    f = pe.qnode(c, "local", interface="autograd", diff_method="backprop")
    ref = qml.grad(lambda xx: f(pnp.array(params[0], requires_grad=False), xx))(
        pnp.array(x[0], requires_grad=True)
    )
    mod = te.TorchCircuit(c, "local", dtype=torch.complex128)
    xt = torch.tensor(x, requires_grad=True)
    mod(torch.tensor(params), xt).sum().backward()
    assert np.abs(np.asarray(ref)).min() > 1e-3  # every feature drives the cost
    np.testing.assert_allclose(xt.grad.numpy()[0], np.asarray(ref), atol=1e-10)


@pytest.mark.parametrize("n", [2, 4])
def test_original_circuit_parameter_gradients_vanish(n):
    # RZ and CNOT only permute and phase basis states; <Z_i> reads probabilities, so the
    # trainable RZ angles cannot change the readout: d<Z_i>/dw = 0 exactly (analytically).
    c = original_circuit(n, 3)
    params, x = _inputs(c, n, batch=4)
    assert np.abs(te.gradient(c, params, x, costs="readout")).max() < 1e-13
    dense = build("dense", n, 2)  # the same check can fail: a dense HEA has nonzero gradients
    assert np.abs(te.gradient(dense, _inputs(dense, n)[0], costs="local")).max() > 1e-3


def test_fusion_plan_is_short_and_exact_for_original():
    # n dense encoding blocks, then one monomial run (RZ + CNOT layers) for any depth
    c = original_circuit(5, 4)
    ops = te.plan(c)
    assert len(ops) == 6
    assert (
        sum(len(op.gates) for op in ops if hasattr(op, "wire"))
        + sum(len(op.rot) for op in ops if hasattr(op, "rot"))
        == 5 + 5 * 4
    )


def test_double_keeps_tables_valid():
    c = random_circuit(3, 15, seed=2, n_data=2)
    params, x = _inputs(c, 2)
    m = te.TorchCircuit(c, COSTS, dtype=torch.complex64).double()
    out = m(torch.tensor(params), torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(out, pe.expval(c, params, x, costs=COSTS), atol=1e-10)


LAYER_CASES = [
    ("original", False),
    ("original", True),
    ("dense", False),
    ("mcclean", True),
    ("sparse", False),
]


@pytest.mark.parametrize("ansatz, reupload", LAYER_CASES)
@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-6), (torch.float64, 1e-10)])
def test_torchlayer_matches_torch_engine(ansatz, reupload, dtype, tol):
    c = hybrid_circuit(ansatz, 3, 2, reupload=reupload, seed=1)
    torch.manual_seed(0)
    ours = QuantumLayer(c, engine="torch", dtype=dtype)
    torch.manual_seed(0)
    ref = QuantumLayer(c, engine="pennylane", device="default.qubit", dtype=dtype)
    assert torch.equal(ours.weights.detach(), ref.fn.weights.detach())
    gen = torch.Generator().manual_seed(1)
    x = (torch.rand(7, 3, generator=gen, dtype=torch.float64) * 6 - 3).to(dtype)
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = ours(xa), ref(xb)
    assert ya.dtype == dtype and yb.dtype == dtype
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), atol=tol)
    w = torch.linspace(-1, 1, 3, dtype=dtype)  # a generic linear loss on the readouts
    (ya @ w).sum().backward()
    (yb @ w).sum().backward()
    np.testing.assert_allclose(xa.grad.numpy(), xb.grad.numpy(), atol=tol)
    np.testing.assert_allclose(ours.weights.grad.numpy(), ref.fn.weights.grad.numpy(), atol=tol)


def test_hybrid_model_engines_agree_end_to_end():
    dtype = torch.float64
    torch.manual_seed(3)
    a = build_model(6, qubits=3, layers=2, ansatz="dense", dtype=dtype, hidden=8)
    torch.manual_seed(3)
    b = build_model(
        6, qubits=3, layers=2, ansatz="dense", engine="pennylane", dtype=dtype, hidden=8
    )
    x = torch.randn(5, 6, dtype=dtype, generator=torch.Generator().manual_seed(0))
    a(x).square().sum().backward()
    b(x).square().sum().backward()
    ga = [p.grad for p in a.parameters()]
    gb = [p.grad for p in b.parameters()]
    assert len(ga) == len(gb)
    for u, v in zip(ga, gb):
        np.testing.assert_allclose(u.numpy(), v.numpy(), atol=1e-10)
