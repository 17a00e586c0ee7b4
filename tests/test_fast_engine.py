"""The fused CPU engine (bpdiag.engines.fast) against the JAX engine and PennyLane default.qubit:
states, expectations and every parameter's gradient on random circuits with data features."""

import numpy as np
import pytest

from bpdiag.circuits import dense_hea, observables, original_circuit, random_circuit
from bpdiag.engines import fast as fe
from bpdiag.engines import jax as je
from bpdiag.engines import numpy as ne

COSTS = ("global", "local")


def _inputs(c, seed, batch=3):
    rng = np.random.default_rng(200 + seed)
    params = rng.uniform(-np.pi, 2 * np.pi, (batch, c.n_params))
    x = rng.uniform(-np.pi, np.pi, (batch, c.n_data)) if c.n_data else None
    return params, x


@pytest.mark.parametrize("n, seed", [(1, 0), (3, 1), (5, 2), (6, 3)])
def test_matches_pennylane_and_jax(n, seed):
    from bpdiag.engines import pennylane as pe

    c = random_circuit(n, 6 * n + 6, seed=seed, n_data=2)
    params, x = _inputs(c, seed)
    psi = fe.simulate(c, params, x)
    np.testing.assert_allclose(psi, pe.simulate(c, params, x), atol=1e-10)
    np.testing.assert_allclose(psi, je.simulate(c, params, x), atol=1e-10)
    costs = ("global", "local", "readout")
    e = fe.expval(c, params, x, costs=costs)
    np.testing.assert_allclose(e, pe.expval(c, params, x, costs=costs), atol=1e-10)
    g = fe.gradient(c, params, x, costs=COSTS)
    ref = pe.gradient(c, params, x, costs=COSTS, diff_method="backprop")
    np.testing.assert_allclose(g, ref, atol=1e-10)
    np.testing.assert_allclose(g, je.gradient(c, params, x, costs=COSTS), atol=1e-10)


@pytest.mark.parametrize("seed", [0, 1])
def test_two_tile_groups_and_cross_gates_match_numpy(seed):
    # 12 qubits: a 10-bit contiguous group and a strided one; two-wire gates across them.
    # Reference: the plain numpy engine (gate by gate, gradients by parameter shift).
    c = random_circuit(12, 40, seed=seed, n_data=3)
    params, x = _inputs(c, seed, batch=2)
    np.testing.assert_allclose(fe.simulate(c, params, x), ne.simulate(c, params, x), atol=1e-10)
    e, g = fe.expval_and_gradient(c, params, x, costs=COSTS)
    np.testing.assert_allclose(e, ne.expval(c, params, x, costs=COSTS), atol=1e-10)
    np.testing.assert_allclose(g, ne.gradient(c, params, x, costs=COSTS), atol=1e-10)


def test_ring_hea_and_original_circuit_match_numpy():
    costs = ("global", "local", "zz")
    for c in (dense_hea(11, 1, ring=True), original_circuit(11, 1)):
        params, x = _inputs(c, 7, batch=2)
        g = fe.gradient(c, params, x, costs=costs)
        np.testing.assert_allclose(g, ne.gradient(c, params, x, costs=costs), atol=1e-10)


def test_dense_hea_layer_is_one_stage_of_real_blocks():
    c = dense_hea(12, 3)
    pl = fe.plan(c)
    assert len(pl.stages) == 3  # RY blocks, then RZ and CZ folded into one diagonal per layer
    assert pl.ureal.all() and len(pl.ubits) == 36
    assert len(pl.passes) == 6  # two passes (two bit groups) per layer
    assert len(pl.mgate) == 0


@pytest.mark.parametrize("n", [3, 6])
def test_shift_pair_equals_adjoint_and_finite_differences(n):
    c = random_circuit(n, 30, seed=n, n_data=1)
    params, x = _inputs(c, n, batch=4)
    g = fe.gradient(c, params, x, costs=COSTS)
    for p in (0, c.n_params - 1):
        s = fe.shift_gradient(c, params, x, param=p, costs=COSTS)
        np.testing.assert_allclose(s, g[:, p, :], atol=1e-12)
    e = np.zeros(c.n_params)
    e[0] = 1e-6
    fd = (
        fe.expval(c, params + e, x, costs=COSTS) - fe.expval(c, params - e, x, costs=COSTS)
    ) / 2e-6
    np.testing.assert_allclose(fd, g[:, 0, :], atol=1e-7)


def test_observable_arrays_and_pauli_z_sums():
    c = random_circuit(5, 30, seed=3)
    params, _ = _inputs(c, 3)
    obs = observables(("Z0 Z3 - 0.5 Z2", "local"), 5)
    np.testing.assert_allclose(
        fe.expval(c, params, costs=obs), je.expval(c, params, costs=("Z0 Z3 - 0.5 Z2", "local"))
    )
    np.testing.assert_allclose(
        fe.gradient(c, params, costs=obs),
        je.gradient(c, params, costs=("Z0 Z3 - 0.5 Z2", "local")),
        atol=1e-10,
    )


def test_non_diagonal_costs_through_the_observe_layer():
    from bpdiag.engines import _observe

    c = random_circuit(4, 24, seed=9)
    params, _ = _inputs(c, 9)
    cost = "0.3 X0 Y1 - 0.7 Y2 + 0.2 Z0 X2 + 0.5"
    v, g = _observe.expval_and_gradients(c, params, cost=cost, engine="fast")
    rv, rg = _observe.expval_and_gradients(c, params, cost=cost, engine="jax")
    np.testing.assert_allclose(v, rv, atol=1e-10)
    np.testing.assert_allclose(g, rg, atol=1e-10)


def test_complex64_states_within_their_bound():
    """complex64 (float32 parts): every amplitude's error stays below EPS64 per gate."""
    c = random_circuit(6, 60, seed=11, n_data=2)
    params, x = _inputs(c, 11)
    err = np.abs(fe.simulate(c, params, x, dtype="complex64") - fe.simulate(c, params, x)).max()
    assert 0 < err < fe.EPS64 * c.n_gates
    e64 = fe.expval(c, params, x, costs=COSTS, dtype="complex64")
    assert np.abs(e64 - fe.expval(c, params, x, costs=COSTS)).max() < 2 * fe.EPS64 * c.n_gates


@pytest.mark.slow
def test_complex64_gradients_within_their_bound():
    """The gradients' error (costs bounded by 1) stays below 4 EPS64 per gate."""
    c = random_circuit(6, 60, seed=11, n_data=2)
    params, x = _inputs(c, 11)
    g64 = fe.gradient(c, params, x, costs=COSTS, dtype="complex64")
    g = fe.gradient(c, params, x, costs=COSTS)
    assert 0 < np.abs(g64 - g).max() < 4 * fe.EPS64 * c.n_gates


def test_bad_input_is_one_line():
    c = dense_hea(2, 1)
    with pytest.raises(ValueError, match="dtype"):
        fe.simulate(c, np.zeros(4), dtype="float16")
    with pytest.raises(ValueError, match="columns"):
        fe.expval(c, np.zeros(3))
    with pytest.raises(ValueError, match="param"):
        fe.shift_gradient(c, np.zeros(4), param=9)
    with pytest.raises(ValueError, match="rows"):
        fe.expval(c, np.zeros(4), costs=np.ones((3, 1)))


def test_variance_fast_equals_jax():
    from bpdiag.analyses.variance import variance

    kw = dict(qubits=(2, 4), layers=(1, 3), ansatz=("dense", "original"), samples=12)
    a = variance(engine="jax", **kw).table
    b = variance(engine="fast", **kw).table
    assert b["var"].gt(0).all()
    for col in ("mean", "var", "var_se"):
        np.testing.assert_allclose(b[col], a[col], atol=1e-10, rtol=0)


def test_variance_fast_all_parameters_equals_jax():
    from bpdiag.analyses.variance import variance

    kw = dict(qubits=(3,), layers=(2,), ansatz=("dense",), samples=10, param="all")
    a = variance(engine="jax", **kw)
    b = variance(engine="fast", **kw)
    np.testing.assert_allclose(b.table["var"], a.table["var"], atol=1e-10, rtol=0)
    pa, pb = a.tables["params"], b.tables["params"]
    assert len(pb) == 2 * 12
    np.testing.assert_allclose(pb["var"], pa["var"], atol=1e-10, rtol=0)


@pytest.mark.slow
@pytest.mark.parametrize("c", [random_circuit(14, 60, seed=3, n_data=2), dense_hea(16, 2)])
def test_wide_registers_split_over_threads_match_jax(c):
    params, x = _inputs(c, 1, batch=2)
    np.testing.assert_allclose(fe.simulate(c, params, x), je.simulate(c, params, x), atol=1e-10)
    g = fe.gradient(c, params, x, costs=COSTS)
    np.testing.assert_allclose(g, je.gradient(c, params, x, costs=COSTS), atol=1e-10)
    p = int(np.argmax(np.abs(g[0, :, 0])))
    np.testing.assert_allclose(
        fe.shift_gradient(c, params, x, param=p, costs=COSTS), g[:, p, :], atol=1e-12
    )
    one = x[:1] if x is not None else None  # one sample: each state split over the threads
    np.testing.assert_allclose(fe.gradient(c, params[:1], one, costs=COSTS), g[:1], atol=1e-12)
    s = fe.shift_gradient(c, params[:1], one, param=p, costs=COSTS)
    np.testing.assert_allclose(s, g[:1, p, :], atol=1e-12)


def test_variance_with_a_pauli_sum_cost_equals_jax():
    import bpdiag

    kw = dict(qubits=(3,), layers=(1, 2), cost=("heisenberg", "local"), samples=20)
    a = bpdiag.variance(engine="fast", **kw).table
    b = bpdiag.variance(engine="jax", **kw).table
    np.testing.assert_allclose(a["var"], b["var"], rtol=1e-9, atol=1e-14)
