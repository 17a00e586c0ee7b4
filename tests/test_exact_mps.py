"""The exact variance as a matrix product state (bpdiag.analyses.exact_mps) against independent
references: the dense Pauli chain (bpdiag.analyses.exact, itself checked against brute force),
closed forms (a product circuit, the Haar 2-design value), a brute-force angle grid of the JAX
engine's gradients for the extended gate set, and sampled variances with their error bars.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from bpdiag.analyses.exact import exact_moments
from bpdiag.analyses.exact_mps import light_cone, mps_moments, pick_backend
from bpdiag.analyses.variance import haar_variance, variance
from bpdiag.circuits import Circuit, P, dense_hea, mcclean, sparse_hea
from bpdiag.engines import numpy as ne

COSTS = ("global", "local", "zz")
#: The extended gate set (issue 17 / the gate-set commit): rotations on two-letter words and
#: fixed Clifford gates that the exact method reads through their unitary.
NEW_ROTATIONS = ("RXX", "RYY", "RZX", "RXY", "RY", "RZ", "RX")
NEW_FIXED = ("SWAP", "ISWAP", "SX", "CY", "CNOT", "CZ", "H", "S", "SXdg")


def _random_circuit(n: int, n_gates: int, seed: int, *, line: bool = False) -> Circuit:
    """Random rotations (each its own parameter) from :data:`NEW_ROTATIONS` and fixed gates
    from :data:`NEW_FIXED`, on random wires (neighbours only with ``line``)."""
    rng = np.random.default_rng(seed)
    names = NEW_ROTATIONS + NEW_FIXED
    gates, wires, sources, k = [], [], [], 0
    two = {"RXX", "RYY", "RZX", "RXY", "SWAP", "ISWAP", "CY", "CNOT", "CZ"}
    for _ in range(n_gates):
        g = names[rng.integers(len(names))]
        if g in two:
            if line:
                i = int(rng.integers(n - 1))
                w = (i, i + 1) if rng.random() < 0.5 else (i + 1, i)
            else:
                w = tuple(int(v) for v in rng.choice(n, size=2, replace=False))
        else:
            w = (int(rng.integers(n)),)
        gates.append(g)
        wires.append(w)
        if g.startswith("R"):
            sources.append(P(k))
            k += 1
        else:
            sources.append(())
    return Circuit(n, tuple(gates), tuple(wires), tuple(sources), name="random-new-gates")


def _close(a: float, b: float, rel: float = 1e-10, floor: float = 1e-14) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b)) + floor


# ---------------------------------------------------------------------------------------------
# The dense chain is right for the extended gate set (brute force over an angle grid)


def _grid(n_params: int):
    """A uniform grid of 3 points per angle integrates any degree-2 trigonometric polynomial
    of the angles (g^2 is one) exactly."""
    g = 2 * np.pi * np.arange(3) / 3
    pts = np.array(list(itertools.product(g, repeat=n_params)))
    return pts, np.full(len(pts), 1 / len(pts))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_dense_exact_new_gates_match_brute_force(seed):
    circuit = _random_circuit(3, 12, seed)
    while circuit.n_params > 6 or circuit.n_params < 3:  # keep the grid at 3^6 points or fewer
        seed += 100
        circuit = _random_circuit(3, 12, seed)
    pts, w = _grid(circuit.n_params)
    g = ne.gradient(circuit, pts, costs=COSTS)  # float[points, params, costs]
    mean = np.einsum("b,bpk->pk", w, g)
    var = np.einsum("b,bpk->pk", w, g**2) - mean**2
    for p in range(circuit.n_params):
        for k, cost in enumerate(COSTS):
            dense = exact_moments(circuit, cost, param=p)
            assert dense["var"] == pytest.approx(var[p, k], abs=1e-12)
            assert dense["mean"] == pytest.approx(mean[p, k], abs=1e-12)
            mps = mps_moments(circuit, cost, param=p, tol=1e-12, chi=64)
            assert mps["var"] == pytest.approx(var[p, k], abs=1e-12)


def test_every_new_gate_appears_in_the_brute_force_circuits():
    seen = set()
    for seed in range(4):
        c = _random_circuit(3, 12, seed)
        while c.n_params > 6 or c.n_params < 3:
            seed += 100
            c = _random_circuit(3, 12, seed)
        seen.update(c.gates)
    assert {"RXX", "RYY", "RZX", "SWAP", "ISWAP", "SX"} <= seen


# ---------------------------------------------------------------------------------------------
# Equal to the dense chain


@pytest.mark.parametrize("seed", range(6))
def test_equals_dense_chain_on_random_circuits(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 8)) if seed < 5 else 4
    circuit = _random_circuit(n, 6 * n, seed, line=seed % 2 == 0)
    init = "uniform" if seed < 5 else "normal:0.4"  # normal: a chain per pair of terms
    for cost in ("global", "local", "zz", "X0 X1 + 0.5 Z2"):
        for param in ("middle", "first"):
            d = exact_moments(circuit, cost, param=param, init=init)
            m = mps_moments(circuit, cost, param=param, init=init, tol=1e-12, chi=8)
            assert _close(m["var"], d["var"]), (cost, param, m["var"], d["var"])
            assert _close(m["mean"], d["mean"])
            assert m["bound"].startswith("exact")  # doubled until nothing was truncated


@pytest.mark.parametrize(
    "circuit",
    [dense_hea(10, 6), sparse_hea(12, 8), mcclean(8, 5), dense_hea(9, 4, ring=True)],
    ids=["dense-10x6", "sparse-12x8", "mcclean-8x5", "ring-9x4"],
)
def test_equals_dense_chain_on_families(circuit):
    for cost in ("global", "local"):
        d = exact_moments(circuit, cost)["var"]
        m = mps_moments(circuit, cost, tol=1e-12, chi=32, chi_max=4096)
        assert _close(m["var"], d), (cost, m["var"], d)
        assert m["log2_var"] == pytest.approx(math.log2(d), abs=1e-9)


def test_ring_is_routed_and_the_cost_reported():
    circuit = dense_hea(7, 3, ring=True)
    m = mps_moments(circuit, "global", tol=1e-12, chi=64)
    assert m["swaps"] > 0
    assert _close(m["var"], exact_moments(circuit, "global")["var"])
    line = mps_moments(dense_hea(7, 3), "global", tol=1e-12, chi=64)
    assert line["swaps"] == 0


def test_full_local_basis_gives_the_same_value():
    c = dense_hea(8, 5)
    a = mps_moments(c, "local", tol=1e-12, chi=64)
    b = mps_moments(c, "local", tol=1e-12, chi=64, basis="full")
    assert _close(a["var"], b["var"])


# ---------------------------------------------------------------------------------------------
# Closed forms, without any 2^n object


def _product_circuit(n: int) -> Circuit:
    return Circuit(
        n,
        tuple("RX" for _ in range(n)),
        tuple((w,) for w in range(n)),
        tuple(P(w) for w in range(n)),
        name="product",
    )


@pytest.mark.parametrize("n", [30, 1000])
def test_product_circuit_closed_form(n):
    """RX(t_i) on every qubit from |0>: C = prod_i cos t_i, so dC/dt_k = -sin t_k prod cos t_i
    and Var = E[sin^2] prod E[cos^2] = 2^-n (uniform angles); for the local cost
    C = (1/n) sum cos t_i, Var = 1 / (2 n^2). A 10 MB budget refuses any 2^n object."""
    c = _product_circuit(n)
    g = mps_moments(c, "global", param=n // 2, memory_budget=1e7)
    assert g["log2_var"] == pytest.approx(-n, abs=1e-12)
    assert g["var"] == pytest.approx(2.0**-n, rel=1e-12)
    assert g["bound"] == "exact" and g["var_lo"] == g["var_hi"] == g["var"]
    loc = mps_moments(c, "local", param=n // 2, memory_budget=1e7)
    assert loc["var"] == pytest.approx(1 / (2 * n * n), rel=1e-12)
    assert loc["cone_qubits"] == 1  # only the differentiated qubit's term can matter


@pytest.mark.slow  # the callable circuit loads the frontends (PennyLane): ~10-30 s of imports
def test_product_circuit_through_variance_without_statevector():
    df = variance(
        qubits=(30,),
        layers=(1,),
        cost=("global",),
        circuit=lambda n, L: _product_circuit(n),
        method="exact",
        exact_backend="auto",
        param=15,
        memory_budget=1e8,
    ).table
    assert df["exact_backend"].tolist() == ["mps"]
    assert df["log2_var"].iloc[0] == pytest.approx(-30, abs=1e-12)


@pytest.mark.parametrize("ansatz,n,L", [("dense", 6, 150), ("sparse", 6, 250)])
def test_haar_value_at_large_depth(ansatz, n, L):
    circuit = {"dense": dense_hea, "sparse": sparse_hea}[ansatz](n, L)
    for cost in ("global", "local"):
        m = mps_moments(circuit, cost, tol=1e-6)
        assert m["var"] == pytest.approx(haar_variance(n, cost), rel=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("n,L", [(12, 200), (20, 300), (30, 400)])
def test_haar_value_at_large_depth_slow(n, L):
    m = mps_moments(dense_hea(n, L), "global", tol=1e-4)
    assert m["var"] == pytest.approx(haar_variance(n, "global"), rel=1e-2)


# ---------------------------------------------------------------------------------------------
# Light cone


@pytest.mark.parametrize("family", [dense_hea, sparse_hea])
def test_local_cost_stops_depending_on_n_past_the_light_cone(family):
    """n^2 Var(local) (each term carries the 1/n of the mean) is the same for every n once the
    register is wider than the light cone of the differentiated gate, and so is the work."""
    L = 3
    out = []
    for n in (14, 20, 40):
        c = family(n, L)
        m = mps_moments(c, "local", tol=1e-12, chi=64)
        out.append((n * n * m["var"], m["cone_qubits"], m["work"]))
    ref = out[0]
    for v, cone, work in out[1:]:
        assert v == pytest.approx(ref[0], rel=1e-10)
        assert cone == ref[1] < 14
        assert work <= 1.1 * ref[2]  # the same cut circuit: work does not grow with n
    # and it equals the dense chain where that runs
    d = exact_moments(family(14, L), "local")["var"]
    assert 14 * 14 * d == pytest.approx(ref[0], rel=1e-10)


def test_light_cone_refuses_nothing_it_should_keep():
    """Every term the cut drops has a zero derivative (checked term by term on the dense
    chain), and a gate outside every term's cone gives None."""
    from bpdiag.analyses import exact as ex

    c = sparse_hea(8, 2)
    comp = ex._compile(c, param=0, init="uniform", average=False)
    terms = ex._cost_terms("local", 8)
    cut = light_cone(comp, terms)
    assert cut is not None
    _, kept, wires = cut
    kept_wires = {wires[next(i for i, x in enumerate(q) if x)] for _, q in kept}
    for i in range(8):
        v = exact_moments(c, f"Z{i}", param=0)["var"]
        assert (v > 1e-14) <= (i in kept_wires)


# ---------------------------------------------------------------------------------------------
# Truncation, bounds, memory


def test_truncated_value_carries_no_bound_and_its_convergence():
    c = dense_hea(10, 10)
    m = mps_moments(c, "global", chi=2, chi_max=2)
    assert m["chi"] == 2 and m["bound"] == "none"
    assert math.isnan(m["var_lo"]) and math.isnan(m["var_hi"])
    conv = mps_moments(c, "global", chi=4, tol=1e-3)
    assert conv["var_rel_change"] <= 1e-3 or conv["bound"] == "exact"
    assert conv["var"] == pytest.approx(exact_moments(c, "global")["var"], rel=1e-2)


def test_memory_is_predicted():
    with pytest.raises(MemoryError, match="MPS exact variance"):
        mps_moments(dense_hea(12, 4), "global", memory_budget=1e3)


def test_backend_choice_and_bad_input():
    assert pick_backend("auto", 8) == "dense" and pick_backend("auto", 40) == "mps"
    with pytest.raises(ValueError, match="exact backend"):
        pick_backend("tt", 4)
    with pytest.raises(ValueError, match="tol"):
        mps_moments(dense_hea(3, 1), "global", tol=0)
    with pytest.raises(ValueError, match="identity-blocks needs --exact-backend dense"):
        from bpdiag.circuits.transforms import identity_blocks

        mps_moments(identity_blocks(dense_hea(3, 2), 1), "global", init="identity-blocks:1")


# ---------------------------------------------------------------------------------------------
# Through variance() and the command line


def test_variance_rows_of_both_backends_agree():
    kw = dict(qubits=(4, 6), layers=(3,), ansatz=("dense", "sparse"), method="exact")
    dense = variance(**kw, exact_backend="dense", exact_tol=1e-9).table
    mps = variance(**kw, exact_backend="mps", exact_tol=1e-9).table
    assert set(dense["exact_backend"]) == {"dense"} and set(mps["exact_backend"]) == {"mps"}
    assert np.allclose(dense["var"], mps["var"], rtol=1e-8, atol=1e-14)
    assert (dense["bound"] == "exact").all() and (dense["var_lo"] == dense["var"]).all()


def test_cli_mps_backend(tmp_path):
    from bpdiag.cli import main

    runner = CliRunner()
    out = tmp_path / "a"
    args = ["variance", "--method", "exact", "--exact-backend", "mps", "--qubits", "40"]
    r = runner.invoke(main, args + ["--layers", "2", "--cost", "local", "--out", str(out)])
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out / "variance.csv")
    assert {"chi", "var_rel_change", "var_lo", "var_hi", "bound"} <= set(df.columns)
    assert df["exact_backend"].tolist() == ["mps"]
    bad = runner.invoke(main, args + ["--exact-backend", "tt", "--out", str(tmp_path / "b")])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    bad = runner.invoke(main, args + ["--tol", "2", "--out", str(tmp_path / "c")])
    assert bad.exit_code == 2


@pytest.mark.slow
@pytest.mark.parametrize("ansatz,n", [("dense", 16), ("sparse", 20)])
def test_within_error_bars_of_sampled_values(ansatz, n):
    df = variance(
        qubits=(n,),
        layers=(4,),
        ansatz=(ansatz,),
        cost=("global", "local"),
        samples=3000,
        method=("sample", "exact"),
        exact_backend="mps",
    ).table
    for cost in ("global", "local"):
        d = df[df["cost"] == cost].set_index("method")
        z = (d.loc["sample", "var"] - d.loc["exact", "var"]) / d.loc["sample", "var_se"]
        assert abs(z) < 4, (cost, z)
