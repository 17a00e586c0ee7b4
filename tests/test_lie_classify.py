"""The Lie audit at any size: classification of Pauli DLAs against enumeration and PennyLane,
closed forms up to n = 100, the Clifford-tableau frame against the Pauli-sum frame, light-cone
dead parameters, the predicted variance at large n and the CLI over 20..40 qubits.

References are independent of the classification: the enumerated closure
(:func:`bpdiag.circuits.pauli.lie_closure`), ``qml.lie_closure`` on PennyLane matrices, closed
forms from the literature (Wiersema et al. 2023, arXiv:2309.05690; free fermions), and
:func:`bpdiag.circuits.pauli.conjugate_gate` for the tableau.
"""

import importlib
import itertools

import numpy as np
import pennylane as qml
import pytest
from click.testing import CliRunner

from bpdiag.analyses import lie
from bpdiag.circuits import Circuit, P, dense_hea, original_circuit
from bpdiag.circuits import pauli as pa
from bpdiag.cli import main

cl = importlib.import_module("bpdiag.analyses.lie.classify")
frame = importlib.import_module("bpdiag.analyses.lie.frame")
dla_mod = importlib.import_module("bpdiag.analyses.lie.dla")

WORDS = [a + b for a in "IXYZ" for b in "IXYZ" if a + b != "II"]


def chain_generators(words, n, ring):
    """Every two-site word on every bond of an open (or periodic) chain, as Python-int keys."""
    bonds = [(i, i + 1) for i in range(n - 1)] + ([(n - 1, 0)] if ring and n > 2 else [])
    out = set()
    for w in words:
        for a, b in bonds:
            ops = {q: c for q, c in zip((a, b), w) if c != "I"}
            out.add(pa.int_from_wires(ops, n))
    return sorted(out)


def enumerated(keys, n):
    return pa.lie_closure(np.array(keys, np.uint64), n)


# ---------------------------------------------------------------------------------------------
# Classification == enumeration


def _check_against_enumeration(keys, n, members=True):
    c = cl.classify_strings(keys, n)
    ref = enumerated(keys, n)
    assert c.dim == len(ref), ([pa.label(k, n) for k in keys], c.kind, len(ref))
    assert c.dim == sum(p.dim * p.copies for p in c.parts) + c.center
    if members:
        inside = set(int(k) for k in ref)
        probe = list(range(1, 4**n)) if n <= 4 else list(inside)[:300] + list(range(1, 300))
        assert all(c.contains(k) == (k in inside) for k in probe)
    return c


@pytest.mark.parametrize("n", [3, 4, 5, 6])
def test_classification_equals_enumeration_for_two_local_chain_families(n):
    # Wiersema et al. 2023: sets of two-site words placed on every bond, open and periodic
    sets = list(itertools.combinations(WORDS, 1)) + list(itertools.combinations(WORDS, 2))
    for words in sets:
        for ring in (False, True):
            _check_against_enumeration(chain_generators(words, n, ring), n, members=n <= 4)


@pytest.mark.slow
@pytest.mark.parametrize("n", [7, 8])
def test_classification_equals_enumeration_for_two_local_chain_families_large(n):
    rng = np.random.default_rng(n)
    sets = list(itertools.combinations(WORDS, 1)) + list(itertools.combinations(WORDS, 2))
    sets += [tuple(rng.choice(WORDS, 3, replace=False)) for _ in range(20)]
    for words in sets:
        for ring in (False, True):
            _check_against_enumeration(chain_generators(words, n, ring), n, members=False)


def test_classification_equals_enumeration_for_random_pauli_strings():
    rng = np.random.default_rng(0)
    families = set()
    for _trial in range(300):
        n = int(rng.integers(1, 6))
        keys = [int(rng.integers(1, 4**n)) for _ in range(int(rng.integers(1, 8)))]
        for p in _check_against_enumeration(keys, n).parts:
            families.add(p.method + p._family)
    assert {"enumerated on H", "closed formsu"} <= families


def test_classification_of_controlled_and_exponential_algebras_equals_enumeration():
    # few-qubit words tagged by a random Z string: radicals, copies, so/sp/su closed forms
    rng = np.random.default_rng(2)
    families = set()
    for _trial in range(150):
        n = int(rng.integers(4, 7))
        keys = []
        for _ in range(int(rng.integers(3, 10))):
            wires = rng.choice(n, int(rng.integers(1, 4)), replace=False)
            keys.append(pa.from_wires({int(q): "XYZ"[rng.integers(3)] for q in wires}, n))
        tag = int(rng.integers(0, 2**n))
        keys = [k ^ (tag if rng.random() < 0.5 else 0) for k in keys]
        c = _check_against_enumeration(keys, n)
        families |= {p._family for p in c.parts if p.method == "closed form"}
    assert families == {"so", "sp", "su"}  # every closed form is exercised


# ---------------------------------------------------------------------------------------------
# Closed forms up to n = 100


def _heis(n):
    return 4 ** (n - 1) - 1 if n % 2 else 4 * (4 ** (n - 2) - 1)


KNOWN = {  # generator words on every bond (or site) -> dimension, algebra
    "tfim_open": (lambda n: n * (2 * n - 1), lambda n: f"so({2 * n})"),
    "tfim_ring": (lambda n: 2 * n * (2 * n - 1), lambda n: f"2*so({2 * n})"),
    "xx_xz_open": (lambda n: (2 * n - 1) * (n - 1), lambda n: f"so({2 * n - 1})"),
    "heisenberg_open": (_heis, None),
    "local_su2": (lambda n: 3 * n, lambda n: f"{n}*su(2)"),
}


def known_generators(name, n):
    f = pa.int_from_wires
    sites = [f({i: "X"}, n) for i in range(n)]
    if name == "tfim_open":
        return chain_generators(["ZZ"], n, False) + sites
    if name == "tfim_ring":
        return chain_generators(["ZZ"], n, True) + sites
    if name == "xx_xz_open":
        return chain_generators(["XX", "XZ"], n, False)
    if name == "heisenberg_open":
        return chain_generators(["XX", "YY", "ZZ"], n, False)
    return [f({i: p}, n) for i in range(n) for p in "XY"]


@pytest.mark.parametrize("name", sorted(KNOWN))
@pytest.mark.parametrize("n", [10, 37, 100])
def test_known_dimensions_up_to_100_qubits(name, n):
    dim, kind = KNOWN[name]
    c = cl.classify_strings(known_generators(name, n), n)
    assert c.dim == dim(n) and isinstance(c.dim, int)
    assert c.log2_dim == pytest.approx(np.log2(float(dim(n))))
    if kind is not None:
        assert c.kind == kind(n)
    else:
        assert c.kind == (f"su(2^{n - 1})" if n % 2 else f"4*su(2^{n - 2})")


@pytest.mark.parametrize("n", [12, 50, 100])
def test_dense_hea_is_su_2n_and_sparse_two_layers_are_pairs_at_large_n(n):
    g = lie.dla(dense_hea(n, 2))
    assert g.dim == 4**n - 1 and g.kind == f"su(2^{n})" and g.log2_dim == pytest.approx(2 * n)
    assert lie.dla(dense_hea(n, 1)).dim == 3 * n
    from bpdiag.circuits import build

    # brick wall, 2 layers: the second layer's rotations see only the even-pair CZs
    g = lie.dla(build("sparse", n, 2))
    assert g.dim == 15 * (n // 2) + 3 * (n % 2)


# ---------------------------------------------------------------------------------------------
# The frame: tableau, new gates, PennyLane


def test_tableau_matches_conjugation_gate_by_gate():
    rng = np.random.default_rng(0)
    n = 3
    gates = ["CNOT", "CZ", "H", "S", "SWAP", "ISWAP", "CY", "SX", "X", "Sdg"]
    for _ in range(60):
        T = pa.Tableau(n)
        seq = []
        for _ in range(6):
            g = gates[rng.integers(len(gates))]
            k = 2 if g in ("CNOT", "CZ", "SWAP", "ISWAP", "CY") else 1
            w = tuple(int(v) for v in rng.choice(n, k, replace=False))
            seq.append((g, w))
            T.then(g, w)
        key = pa.key("".join(rng.choice(list("IXYZ"), n)))
        ks, cs = np.array([key], np.uint64), np.ones(1)
        for g, w in reversed(seq):  # F^+ P F, last gate first
            ks, cs = pa.conjugate_gate(ks, cs, g, w, n)
        got = T.image(pa.int_letters(key, n))
        assert len(ks) == 1 and (int(ks[0]), int(np.sign(cs[0]))) == got


def clifford_circuit(n, layers, seed):
    """Parameterized rotations on 1-2 letter words between Clifford gates (new gate set)."""
    rng = np.random.default_rng(seed)
    rots = ["RX", "RY", "RZ", "RXX", "RYY", "RZX", "RZZ", "RXY"]
    fixed = ["SWAP", "ISWAP", "CNOT", "CZ", "H", "S", "SX", "CY"]
    gates, wires, srcs = [], [], []
    for _ in range(layers):
        for name in list(rng.choice(rots, n)) + list(rng.choice(fixed, 2)):
            k = 2 if name in ("SWAP", "ISWAP", "CNOT", "CZ", "CY") or len(name) == 3 else 1
            gates.append(str(name))
            wires.append(tuple(int(v) for v in rng.choice(n, k, replace=False)))
            srcs.append(P(len([s for s in srcs if s])) if name.startswith("R") else ())
    return Circuit(n, tuple(gates), tuple(wires), tuple(srcs), name="clifford")


@pytest.mark.parametrize("seed", range(6))
def test_string_frame_matches_the_pauli_sum_frame(seed):
    from bpdiag.circuits import cost_paulis, cost_terms

    c = clifford_circuit(4, 3, seed)
    sf = frame.string_frame(c, [cost_terms("local", 4)])
    hf = lie.heisenberg_frame(c, [cost_paulis("local", 4)])
    assert sf.gates == hf.gates
    assert [int(k[0]) for k, _ in hf.generators] == list(sf.generators)
    ok, oc = hf.observables[0]
    assert dict(zip(ok.tolist(), oc.tolist())) == pytest.approx(dict(zip(*sf.observables[0])))


def _qml_frame_dim(circuit):
    """DLA dimension from PennyLane matrices: trainable generators moved through the fixed gates,
    closed by ``qml.lie_closure(matrix=True)``."""
    from bpdiag.circuits import gate_matrix, rotation_word

    n = circuit.n_qubits
    F = np.eye(2**n, dtype=complex)
    gens = []
    for gate, wires, src in zip(circuit.gates, circuit.wires, circuit.sources):
        word = rotation_word(gate)
        op = qml.pauli.PauliWord(dict(zip(wires, word))) if word else None
        if src:
            Pm = qml.matrix(op.operation(), wire_order=range(n))
            gens.append(F.conj().T @ Pm @ F)
        else:
            U = qml.matrix(qml.QubitUnitary(gate_matrix(gate), wires=list(wires)), range(n))
            F = U @ F
    return len(qml.lie_closure(gens, matrix=True))


@pytest.mark.parametrize("seed", range(4))
def test_new_gate_set_dla_classified_equals_enumerated_and_pennylane(seed):
    c = clifford_circuit(3, 2, seed)
    g = lie.dla(c)
    assert g.method == "classified"
    assert g.dim == lie.dla(c, method="enumerate").dim == _qml_frame_dim(c)


def test_t_gate_between_generators_enumerated_small_refused_large():
    def circ(n):
        gates = ("RX", "RZZ", "T", "RX", "RZZ")
        wires = ((0,), (0, 1), (1,), (1,), (1, n - 1))
        srcs = (P(0), P(1), (), P(2), P(3))
        return Circuit(n, gates, wires, srcs, name="t")

    g = lie.dla(circ(3))  # Pauli-sum generators: the floating-point closure
    assert not g.pauli and g.dim == _qml_frame_dim(circ(3))
    with pytest.raises(ValueError, match=r"T \(gate 2\)"):
        lie.dla(circ(13))


# ---------------------------------------------------------------------------------------------
# Dead parameters, predicted variance, CLI at large n


def test_light_cone_dead_parameters_at_large_n():
    rows = lie.dead_parameters(original_circuit(40, 2), "local")
    assert all(r["dead"] for r in rows)  # diagonal RZ, only CNOTs after, diagonal readout
    rows = lie.dead_parameters(dense_hea(40, 2), "local")
    dead = [r["param"] for r in rows if r["dead"]]
    assert dead == list(range(81, 160, 2))  # the last layer's RZ, followed by CZs only
    # small n: the light-cone verdicts agree with the algebraic ones
    for c in (original_circuit(4, 2), dense_hea(4, 2), clifford_circuit(4, 3, 1)):
        alg = lie.dead_gates(c, "local")
        cone = importlib.import_module("bpdiag.analyses.lie.dead")._light_cone_verdicts(c, "local")
        assert all(alg[g].dead for g in cone if cone[g].dead)


def tfim_circuit(n, layers):
    layer = [("RZZ", (i, i + 1)) for i in range(n - 1)] + [("RX", (i,)) for i in range(n)]
    gates, wires = zip(*(layer * layers))
    return Circuit(n, gates, wires, tuple(P(k) for k in range(len(gates))), name="tfim")


@pytest.mark.parametrize("n", [3, 5, 6])
def test_classified_prediction_equals_enumerated_prediction(n):
    for c, cost in [
        (dense_hea(n, 3), "local"),
        (dense_hea(n, 3), "global"),
        (tfim_circuit(n, 3), "zz"),
        (clifford_circuit(n, 3, n), "local"),
    ]:
        a = lie.predicted_variance(c, cost)
        b = dla_mod._predicted_classified(c, cost)
        if np.isfinite(b.var):
            assert b.var == pytest.approx(a.var, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("n", [20, pytest.param(100, marks=pytest.mark.slow)])
def test_predicted_variance_closed_forms_at_large_n(n):
    # Haar on su(2^n): Var = 1 / (n (2^n + 1)); free fermions so(2n): (n - 1) / (n (2n - 1))
    assert lie.predicted_variance(dense_hea(n, 3), "local").var == pytest.approx(
        1 / (n * (2**n + 1)), rel=1e-12
    )
    pred = lie.predicted_variance(tfim_circuit(n, 2), "zz")
    assert pred.var == pytest.approx((n - 1) / (n * (2 * n - 1)), rel=1e-12)
    assert pred.dla.dim == n * (2 * n - 1)


@pytest.mark.parametrize(
    "qubits", ["20,30", pytest.param("20..40", marks=pytest.mark.slow)], ids=["20,30", "20..40"]
)
def test_cli_lie_at_20_to_40_qubits(tmp_path, qubits):
    ns = [20, 30] if qubits == "20,30" else list(range(20, 41))
    out = tmp_path / "lie"
    res = CliRunner().invoke(
        main,
        ["lie", "--qubits", qubits, "--ansatz", "dense", "--deep-layers", "8", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    import pandas as pd

    t = pd.read_csv(out / "lie.csv")
    assert list(t["n_qubits"]) == ns
    assert [int(d) for d in t["dla_dim"].astype(str)] == [4**n - 1 for n in ns]
    assert t["dla_log2"].to_numpy() == pytest.approx([2 * n for n in ns], abs=1e-9)
    assert t["rank"].isna().all() and "not computed" in res.output
    assert t["predicted_var"].to_numpy() == pytest.approx(
        [1 / (n * (2**n + 1)) for n in ns], rel=1e-12
    )
