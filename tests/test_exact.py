"""Exact gradient variance (bpdiag.analyses.exact) against independent references.

References: a brute-force average of the JAX engine's gradients over an angle grid (a uniform
grid of K >= 3 points per angle integrates the degree-2 trigonometric polynomial g**2 exactly;
Gauss-Hermite nodes for normal angles), over every McClean axis assignment, the Haar (2-design)
closed form at large depth, and sampled variances with their standard errors.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from bpdiag.analyses.exact import cost_moments, exact_moments
from bpdiag.analyses.variance import haar_variance, variance
from bpdiag.circuits import (
    C,
    Circuit,
    P,
    cost_diagonal,
    dense_hea,
    mcclean,
    original_circuit,
    sparse_hea,
)
from bpdiag.circuits.transforms import identity_blocks, tie_params
from bpdiag.engines import jax as je

COSTS = ("global", "local", "zz")


def _uniform_grid(n_params: int, K: int = 3):
    g = 2 * np.pi * np.arange(K) / K
    pts = np.array(list(itertools.product(g, repeat=n_params)))
    return pts, np.full(len(pts), 1 / len(pts))


def _normal_grid(n_params: int, sigma: float, K: int = 18):
    x, w = np.polynomial.hermite_e.hermegauss(K)
    w = w / w.sum()
    pts = np.array(list(itertools.product(x * sigma, repeat=n_params)))
    weights = np.prod(np.array(list(itertools.product(w, repeat=n_params))), axis=1)
    return pts, weights


def _grid_moments(circuit, pts, w, costs=COSTS):
    """Mean and variance float[n_params, k] of the engine's gradients over a weighted grid."""
    g = je.gradient(circuit, pts, costs=costs)
    mean = np.einsum("b,bpk->pk", w, g)
    return mean, np.einsum("b,bpk->pk", w, g**2) - mean**2


def _clifford_random(n, n_gates, seed, const_shift=False):
    """Rotations (each with its own parameter), Clifford gates and fixed pi/2 rotations."""
    rng = np.random.default_rng(seed)
    names = ["RX", "RY", "RZ", "RZZ", "CNOT", "CZ", "H", "S", "X", "Z"]
    gates, wires, sources, k = [], [], [], 0
    for _ in range(n_gates):
        g = names[rng.integers(len(names))]
        two = g in ("RZZ", "CNOT", "CZ")
        gates.append(g)
        wires.append(tuple(int(v) for v in rng.choice(n, size=2 if two else 1, replace=False)))
        if not g.startswith("R"):
            sources.append(())
        elif rng.random() < 0.2:
            sources.append(C(float(rng.integers(4)) * np.pi / 2))
        else:
            extra = C(np.pi / 2) if const_shift and rng.random() < 0.5 else ()
            sources.append(P(k) + extra)
            k += 1
    return Circuit(n, tuple(gates), tuple(wires), tuple(sources), name="clifford-random")


@pytest.mark.parametrize(
    "circuit",
    [
        dense_hea(2, 1),
        dense_hea(2, 2),
        sparse_hea(3, 1),
        mcclean(2, 3, seed=3),
        dense_hea(3, 1, ring=True),
    ],
    ids=["dense-2x1", "dense-2x2", "sparse-3x1", "mcclean-2x3", "ring-3x1"],
)
def test_matches_brute_force_grid(circuit):
    pts, w = _uniform_grid(circuit.n_params, K=6 if circuit.n_params <= 4 else 3)
    mean, var = _grid_moments(circuit, pts, w)
    for p in range(circuit.n_params):
        for k, cost in enumerate(COSTS):
            m = exact_moments(circuit, cost, param=p, axes="fixed")
            assert m["var"] == pytest.approx(var[p, k], abs=1e-12)
            assert m["mean"] == pytest.approx(mean[p, k], abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_clifford_circuits_match_brute_force(seed):
    circuit = _clifford_random(3, 14, seed)
    pts, w = _uniform_grid(circuit.n_params)
    mean, var = _grid_moments(circuit, pts, w)
    for p in range(circuit.n_params):
        for k, cost in enumerate(COSTS):
            assert exact_moments(circuit, cost, param=p)["var"] == pytest.approx(
                var[p, k], abs=1e-12
            )


@pytest.mark.parametrize("sigma", [0.3, 1.2])
def test_normal_init_matches_gauss_hermite(sigma):
    for circuit in (dense_hea(2, 1), _clifford_random(2, 7, 5, const_shift=True)):
        assert 2 <= circuit.n_params <= 4
        pts, w = _normal_grid(circuit.n_params, sigma)
        mean, var = _grid_moments(circuit, pts, w)
        for p in range(circuit.n_params):
            for k, cost in enumerate(COSTS):
                m = exact_moments(circuit, cost, param=p, init=f"normal:{sigma}")
                assert m["var"] == pytest.approx(var[p, k], abs=1e-10)
                assert m["mean"] == pytest.approx(mean[p, k], abs=1e-10)


def _mcclean_fixed(n, axes):
    """McClean's circuit with given rotation axes (1, 2, 3 = X, Y, Z) per layer and qubit."""
    gates, wires, sources = [], [], []
    for w in range(n):
        gates, wires, sources = gates + ["RY"], wires + [(w,)], sources + [C(math.pi / 4)]
    k = 0
    for layer in axes:
        for w, a in enumerate(layer):
            gates.append("R" + "XYZ"[a - 1])
            wires.append((w,))
            sources.append(P(k))
            k += 1
        for i in range(n - 1):
            gates, wires, sources = gates + ["CZ"], wires + [(i, i + 1)], sources + [()]
    return Circuit(n, tuple(gates), tuple(wires), tuple(sources), name="mcclean")


def test_mcclean_axis_average_matches_every_axis_assignment():
    n, L = 2, 2
    circuit = mcclean(n, L, seed=0)
    p = circuit.n_params // 2
    pts, w = _uniform_grid(n * L)
    total_m, total_s = np.zeros(len(COSTS)), np.zeros(len(COSTS))
    assignments = list(itertools.product((1, 2, 3), repeat=n * L))
    for axes in assignments:
        c = _mcclean_fixed(n, np.reshape(axes, (L, n)))
        g = je.gradient(c, pts, costs=COSTS)[:, p, :]
        total_m += w @ g / len(assignments)
        total_s += w @ g**2 / len(assignments)
    for k, cost in enumerate(COSTS):
        m = exact_moments(circuit, cost, param=p, axes="average")
        assert m["mean"] == pytest.approx(total_m[k], abs=1e-12)
        assert m["var"] == pytest.approx(total_s[k] - total_m[k] ** 2, abs=1e-12)


@pytest.mark.parametrize("ansatz", ["dense", "sparse", "mcclean"])
@pytest.mark.parametrize("n", [2, 3, 4])
def test_haar_value_at_large_depth(ansatz, n):
    circuit = {"dense": dense_hea, "sparse": sparse_hea, "mcclean": mcclean}[ansatz](n, 200)
    for cost in COSTS:
        assert exact_moments(circuit, cost)["var"] == pytest.approx(
            haar_variance(n, cost), rel=1e-4
        )


def test_cost_moments_match_brute_force():
    circuit = sparse_hea(3, 2)
    pts, w = _uniform_grid(circuit.n_params)
    e = je.expval(circuit, pts, costs=COSTS)
    for k, cost in enumerate(COSTS):
        m = cost_moments(circuit, cost)
        assert m["mean"] == pytest.approx(w @ e[:, k], abs=1e-12)
        assert m["second"] == pytest.approx(w @ e[:, k] ** 2, abs=1e-12)


def test_agrees_with_sampling_for_every_family_and_cost():
    df = variance(
        qubits=(2, 5, 8),
        layers=(4,),
        ansatz=("dense", "sparse", "mcclean"),
        cost=COSTS,
        samples=3000,
        method=("sample", "exact"),
        mcclean_axes="fixed",
        seed=3,
    ).table
    ex = df[df["method"] == "exact"].set_index(["ansatz", "cost", "n_qubits"])
    sa = df[df["method"] == "sample"].set_index(["ansatz", "cost", "n_qubits"])
    assert len(ex) == len(sa) == 27
    assert (ex["samples"] == 0).all() and (ex["var_se"] == 0).all()
    z = (sa["var"] - ex["var"]) / sa["var_se"]
    assert (z.abs() < 4).all(), z[z.abs() >= 4]


def test_mcclean_average_agrees_with_sampling_over_random_axes():
    n, L, seeds, per = 4, 3, 60, 50
    rng = np.random.default_rng(11)
    grads = []
    for s in range(seeds):
        c = mcclean(n, L, seed=100 + s)
        params = rng.uniform(0, 2 * np.pi, size=(per, c.n_params))
        grads.append(je.gradient(c, params, costs=COSTS)[:, c.n_params // 2, :])
    g = np.concatenate(grads)
    var, se = g.var(axis=0, ddof=1), (g - g.mean(0)) ** 2
    se = se.std(axis=0, ddof=1) / np.sqrt(len(g))
    for k, cost in enumerate(COSTS):
        exact = exact_moments(mcclean(n, L), cost, axes="average")["var"]
        assert abs(var[k] - exact) < 4 * se[k], (cost, var[k], exact, se[k])


def test_refuses_data_gates_and_non_clifford_fixed_gates():
    with pytest.raises(ValueError, match=r"gate 0 \(RY on wires \(0,\)\).*data-encoding"):
        exact_moments(original_circuit(3, 2), "global")
    bad = Circuit(2, ("RY", "CZ", "RX", "RY"), ((0,), (0, 1), (1,), (0,)), (P(0), (), C(0.3), P(1)))
    with pytest.raises(ValueError, match=r"gate 2 \(RX on wires \(1,\)\).*not Clifford"):
        exact_moments(bad, "global", param=0)
    shared = Circuit(2, ("RY", "RY"), ((0,), (1,)), (P(0), P(0)))
    with pytest.raises(ValueError, match="parameter 0 drives gates"):
        exact_moments(shared, "global", param=0)
    with pytest.raises(ValueError) as info:
        variance(qubits=(3,), layers=(2,), ansatz=("original",), cost=("global",), method="exact")
    assert "\n" not in str(info.value) and "gate 0 (RY" in str(info.value)


def test_memory_is_predicted():
    with pytest.raises(MemoryError, match="exact variance on 6 qubits needs about"):
        exact_moments(mcclean(6, 10), "global", memory_budget=1000)


def test_prepared_fixed_gates_are_part_of_the_state():
    """A non-Clifford gate at the very start of a wire is a state preparation (McClean's
    RY(pi/4)); the same gate later in the circuit is refused."""
    c = Circuit(
        2,
        ("RX", "RY", "CZ", "RY", "RZ"),
        ((1,), (0,), (0, 1), (0,), (1,)),
        (C(0.7), P(0), (), P(1), P(2)),
    )
    pts, w = _uniform_grid(3, K=5)
    mean, var = _grid_moments(c, pts, w)
    for p in range(3):
        for k, cost in enumerate(COSTS):
            assert exact_moments(c, cost, param=p)["var"] == pytest.approx(var[p, k], abs=1e-12)


# ---------------------------------------------------------------------------------------------
# Identity blocks (Grant et al. 2019)


@pytest.mark.parametrize("base", [dense_hea(3, 4), mcclean(3, 4, seed=2), sparse_hea(4, 3)])
@pytest.mark.parametrize("block", [1, 2])
def test_identity_blocks_start_at_the_identity(base, block):
    c = identity_blocks(base, block)
    assert c.n_params == 2 * base.n_params
    params = tie_params(c, np.random.default_rng(0).uniform(0, 2 * np.pi, (5, c.n_params)))
    prefix = Circuit(
        base.n_qubits,
        base.gates[: c.info("prefix_end")],
        base.wires[: c.info("prefix_end")],
        base.sources[: c.info("prefix_end")],
    )
    if prefix.n_gates:
        start = je.simulate(prefix, np.zeros((1, 0)))[0]
    else:
        start = np.zeros(2**base.n_qubits, dtype=complex)
        start[0] = 1
    states = je.simulate(c, params)
    np.testing.assert_allclose(np.abs(states @ start.conj()), 1.0, atol=1e-12)
    # Untied parameters do not give the identity (the inverse blocks are really independent).
    loose = je.simulate(c, np.random.default_rng(1).uniform(0, 2 * np.pi, (5, c.n_params)))
    assert np.abs(loose @ start.conj()).min() < 0.99


def test_identity_blocks_pennylane_unitary_is_identity():
    import pennylane as qml

    from bpdiag.engines.pennylane import apply_circuit

    c = identity_blocks(dense_hea(2, 2), 1)
    params = tie_params(c, np.random.default_rng(5).uniform(0, 2 * np.pi, c.n_params))
    U = qml.matrix(lambda: apply_circuit(c, params), wire_order=[0, 1])()
    np.testing.assert_allclose(np.abs(np.trace(U)) / 4, 1.0, atol=1e-12)


@pytest.mark.parametrize("base", [mcclean(2, 2, seed=1), dense_hea(2, 2), mcclean(3, 2, seed=4)])
def test_identity_blocks_exact_matches_tied_grid(base):
    c = identity_blocks(base, 1)
    tied = {j for j, _ in c.info("tied")}
    free = [p for p in range(c.n_params) if p not in tied]
    pts, w = _uniform_grid(len(free))
    full = np.zeros((len(pts), c.n_params))
    full[:, free] = pts
    g = je.gradient(c, tie_params(c, full), costs=COSTS)
    for p in range(c.n_params):
        for k, cost in enumerate(COSTS):
            m = exact_moments(c, cost, param=p, init="identity-blocks", axes="fixed")
            mean = w @ g[:, p, k]
            assert m["mean"] == pytest.approx(mean, abs=1e-12)
            assert m["var"] == pytest.approx(w @ g[:, p, k] ** 2 - mean**2, abs=1e-12)


def test_identity_blocks_through_variance_exact_and_sampled():
    """Blocks of one layer give deterministic gradients (no gate of the block precedes a
    rotation on another wire); blocks of two layers do not."""
    df = variance(
        qubits=(3, 4),
        layers=(2,),
        ansatz=("mcclean", "dense"),
        cost=COSTS,
        samples=1500,
        init="identity-blocks:2",
        method=("sample", "exact"),
        mcclean_axes="fixed",
        param="all",
    ).table
    key = ["ansatz", "cost", "n_qubits"]
    ex = df[df["method"] == "exact"].set_index(key).sort_index()
    sa = df[df["method"] == "sample"].set_index(key).sort_index()
    # From |0>, a Z-type cost is stationary at the identity: every gradient vanishes.
    assert (ex.loc["dense", "var"] == 0).all() and (sa.loc["dense", "var"] < 1e-25).all()
    mc_e, mc_s = ex.loc["mcclean"], sa.loc["mcclean"]
    assert (mc_e["var"] > 1e-3).all()
    assert ((mc_s["var"] - mc_e["var"]).abs() < 4 * mc_s["var_se"]).all()
    assert ((mc_s["mean"] - mc_e["mean"]).abs() < 4 * mc_s["mean_se"] + 1e-12).all()


# ---------------------------------------------------------------------------------------------
# Command line and table


def test_cli_exact_and_refusal(tmp_path):
    from bpdiag.cli import main

    runner = CliRunner()
    args = [
        "variance",
        "--qubits",
        "2,3",
        "--layers",
        "3",
        "--cost",
        "global,local",
        "--method",
        "sample,exact",
        "--samples",
        "50",
    ]
    r1 = runner.invoke(main, args + ["--out", str(tmp_path / "a")])
    assert r1.exit_code == 0, r1.output
    r2 = runner.invoke(main, args + ["--out", str(tmp_path / "b")])
    assert r2.exit_code == 0
    a, b = (tmp_path / "a" / "variance.csv").read_bytes(), (tmp_path / "b" / "variance.csv")
    assert a == b.read_bytes()
    df = pd.read_csv(tmp_path / "a" / "variance.csv")
    assert sorted(df["method"].unique()) == ["exact", "sample"]
    assert (tmp_path / "a" / "variance.png").exists()
    bad = runner.invoke(
        main,
        [
            "variance",
            "--ansatz",
            "original",
            "--method",
            "exact",
            "--qubits",
            "3",
            "--layers",
            "2",
            "--out",
            str(tmp_path / "c"),
        ],
    )
    assert bad.exit_code == 2
    assert "gate 0 (RY" in bad.output and "Traceback" not in bad.output
    bad = runner.invoke(
        main, ["variance", "--init", "identity-blocks:0", "--out", str(tmp_path / "d")]
    )
    assert bad.exit_code == 2 and "identity-blocks:K" in bad.output


def test_resume_keeps_both_methods(tmp_path):
    from bpdiag.analyses.variance import COLUMNS, KEY
    from bpdiag.results import CsvSink

    kw = dict(
        qubits=(2, 3), layers=(2, 3), cost=("global",), samples=20, method=("exact", "sample")
    )
    path = tmp_path / "variance.csv"
    full = variance(**kw, sink=CsvSink(path, COLUMNS, KEY, "variance")).table
    text = path.read_text().splitlines(keepends=True)
    path.write_text("".join(text[:4]))  # header + 3 rows survive
    resumed = variance(**kw, sink=CsvSink(path, COLUMNS, KEY, "variance", resume=True)).table
    pd.testing.assert_frame_equal(full.reset_index(drop=True), resumed.reset_index(drop=True))
    # the in-memory default holds the same rows (to the CSV's 12 significant digits)
    memory = variance(**kw).table
    pd.testing.assert_frame_equal(memory, full, check_dtype=False, check_exact=False, rtol=1e-11)


def test_exact_rows_are_exact_numbers():
    """For dense n = 2, L = 1 the middle parameter (RY on qubit 1) gives, by hand,
    C = cos(a) cos(b) for the global cost with a, b the RY angles: Var[dC/db] = 1/4."""
    c = dense_hea(2, 1)
    assert exact_moments(c, "global", param=2)["var"] == pytest.approx(0.25, abs=1e-15)
    assert cost_diagonal("global", 2).tolist() == [1, -1, -1, 1]


@pytest.mark.slow
@pytest.mark.parametrize("init", ["uniform", "normal:0.2", "identity-blocks:2"])
def test_agrees_with_sampling_wider_grid(init):
    df = variance(
        qubits=(3, 6, 8),
        layers=(2, 6),
        ansatz=("dense", "sparse", "mcclean"),
        cost=COSTS,
        samples=4000,
        init=init,
        method=("sample", "exact"),
        mcclean_axes="fixed",
        seed=8,
    ).table
    key = ["ansatz", "cost", "n_qubits", "n_layers"]
    ex = df[df["method"] == "exact"].set_index(key).sort_index()
    sa = df[df["method"] == "sample"].set_index(key).sort_index()
    z = (sa["var"] - ex["var"]) / np.maximum(sa["var_se"], 1e-30)
    ok = (z.abs() < 4.5) | ((ex["var"] < 1e-20) & (sa["var"] < 1e-20))
    assert ok.all(), z[~ok]
