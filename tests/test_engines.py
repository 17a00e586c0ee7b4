"""Every engine against PennyLane default.qubit on random circuits, parameters and data."""

import numpy as np
import pytest

from bpdiag.circuits import dense_hea, original_circuit, random_circuit
from bpdiag.engines import jax as je
from bpdiag.engines import pennylane as pe
from bpdiag.engines._program import embed_observables, lower

CASES = [(n, seed) for n in range(1, 7) for seed in range(2)]


def _random_inputs(c, seed, batch=3):
    rng = np.random.default_rng(100 + seed)
    params = rng.uniform(-np.pi, 2 * np.pi, (batch, c.n_params))
    x = rng.uniform(-np.pi, np.pi, (batch, c.n_data)) if c.n_data else None
    return params, x


@pytest.mark.parametrize("n, seed", CASES)
def test_states_expvals_gradients_match_pennylane(n, seed):
    c = random_circuit(n, 6 * n + 4, seed=seed, n_data=2)
    params, x = _random_inputs(c, seed)
    np.testing.assert_allclose(je.simulate(c, params, x), pe.simulate(c, params, x), atol=1e-10)
    costs = ("global", "local", "readout") + (("zz",) if n > 1 else ())
    np.testing.assert_allclose(
        je.expval(c, params, x, costs=costs), pe.expval(c, params, x, costs=costs), atol=1e-10
    )
    costs = ("global", "local")
    np.testing.assert_allclose(
        je.gradient(c, params, x, costs=costs),
        pe.gradient(c, params, x, costs=costs, diff_method="backprop"),
        atol=1e-10,
    )


@pytest.mark.parametrize("n", [2, 4])
def test_gradients_match_parameter_shift(n):
    c = dense_hea(n, 3)
    params, _ = _random_inputs(c, n, batch=2)
    g = je.gradient(c, params, costs=("global", "local"))
    for i in range(c.n_params):
        e = np.zeros(c.n_params)
        e[i] = np.pi / 2
        shift = (
            je.expval(c, params + e, costs=("global", "local"))
            - je.expval(c, params - e, costs=("global", "local"))
        ) / 2
        np.testing.assert_allclose(g[:, i, :], shift, atol=1e-12)


def test_data_gradients_flow_through_x():
    import jax
    import jax.numpy as jnp

    c = original_circuit(3, 1)
    rng = np.random.default_rng(0)
    params, x = rng.uniform(0, 6, (1, 3)), rng.uniform(-3, 3, (1, 3))
    from bpdiag.engines._program import Program, gate_kernels

    k = gate_kernels(c)
    prog = Program(*(jnp.asarray(t) for t in lower(c, kernels=k)))
    obs = jnp.asarray(embed_observables(np.ones((8, 1)) * 0 + pe_z0(), 3, 3))

    def f(xx):
        return je.program_expvals(prog, params, xx, obs, kernels=k, n_register=3)[0, 0]

    gx = jax.grad(f)(jnp.asarray(x))
    eps = 1e-6
    fd = [(f(x + eps * np.eye(3)[j]) - f(x - eps * np.eye(3)[j])) / (2 * eps) for j in range(3)]
    np.testing.assert_allclose(np.asarray(gx)[0], fd, atol=1e-7)


def pe_z0():
    from bpdiag.circuits import cost_diagonal

    return cost_diagonal("z0", 3)[:, None]


def test_padding_and_embedding_leave_results_unchanged():
    """A circuit padded with identity gates and run inside a larger register gives the same
    numbers: what lets one compiled program serve every grid point."""
    import jax.numpy as jnp

    from bpdiag.circuits import observables
    from bpdiag.engines._program import Program, gate_kernels

    c = dense_hea(3, 2, ring=True)
    params, _ = _random_inputs(c, 0)
    ref = je.expval(c, params, costs=("global", "local"))
    N, G = 6, 64
    kernels = tuple(sorted(set(gate_kernels(c)) | {(4, 5), (2, 5), (5, -1)}))
    prog = Program(*(jnp.asarray(t) for t in lower(c, kernels=kernels, n_register=N, n_gates=G)))
    obs = jnp.asarray(embed_observables(observables(("global", "local"), 3), 3, N))
    angles = params @ np.asarray(prog.pm) + np.asarray(prog.const)
    got = je.jitted("angles", kernels, N)(prog, angles, obs, c.n_gates)
    np.testing.assert_allclose(np.asarray(got), ref, atol=1e-13)


def test_complex64_is_close_to_complex128():
    c = dense_hea(4, 4)
    params, _ = _random_inputs(c, 1)
    a = je.expval(c, params, costs="global", dtype="complex64")
    b = je.expval(c, params, costs="global")
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_lightning_qubit_agrees():
    c = random_circuit(3, 15, seed=7)
    params, _ = _random_inputs(c, 7, batch=2)
    ref = je.gradient(c, params, costs="global")
    got = pe.gradient(c, params, costs="global", device="lightning.qubit", diff_method="adjoint")
    np.testing.assert_allclose(got, ref, atol=1e-10)


def test_missing_device_is_one_line_and_falls_back():
    with pytest.raises(pe.DeviceUnavailable) as err:
        pe.resolve_device("lightning.gpu")
    assert "\n" not in str(err.value) and "--fallback" in str(err.value)
    with pytest.warns(UserWarning, match="falling back"):
        assert pe.resolve_device("lightning.gpu", fallback=True) == "default.qubit"


def test_bad_shapes_are_reported():
    c = dense_hea(2, 1)
    with pytest.raises(ValueError, match="4 columns"):
        je.expval(c, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="needs x"):
        je.expval(original_circuit(2, 1), np.zeros(2))
