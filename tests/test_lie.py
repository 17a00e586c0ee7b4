"""bpdiag lie: Pauli algebra, DLA dimensions, dead parameters, redundancy, predicted variance, CLI.

References are independent of the code under test: dense Kronecker products and PennyLane
matrices, ``qml.lie_closure``, closed-form DLA dimensions from the literature, PennyLane and JAX
engine gradients, Haar and free-fermion variances worked out by hand, and sampling.
"""

import functools
import json
import math

import numpy as np
import pennylane as qml
import pytest
from click.testing import CliRunner

from bpdiag.analyses import lie
from bpdiag.circuits import (
    C,
    Circuit,
    P,
    X,
    angle_maps,
    build,
    cost_diagonal,
    dense_hea,
    original_circuit,
    random_circuit,
)
from bpdiag.circuits import pauli as pa
from bpdiag.circuits.encodings import encoded_circuit
from bpdiag.cli import main
from bpdiag.engines import numpy as ne

_MATS = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1, -1]),
}
_QML = {
    "RX": qml.RX,
    "RY": qml.RY,
    "RZ": qml.RZ,
    "RZZ": qml.IsingZZ,
    "CNOT": qml.CNOT,
    "CZ": qml.CZ,
    "H": qml.Hadamard,
    "S": qml.S,
    "X": qml.PauliX,
    "Z": qml.PauliZ,
}


def kron_label(text):
    return functools.reduce(np.kron, [_MATS[c] for c in text])


def random_labels(n, count, rng):
    return ["".join(rng.choice(list("IXYZ"), size=n)) for _ in range(count)]


def qml_op(gate, wires, angle=0.0):
    if gate in ("RX", "RY", "RZ", "RZZ"):
        return _QML[gate](angle, wires=list(wires))
    return _QML[gate](wires=list(wires))


def tfim_circuit(n, layers):
    """Hamiltonian-variational TFIM circuit: per layer RZZ on an open chain, then RX on every
    qubit; each gate has its own parameter."""
    layer = [("RZZ", (i, i + 1)) for i in range(n - 1)] + [("RX", (i,)) for i in range(n)]
    gates, wires = zip(*(layer * layers))
    srcs = tuple(P(k) for k in range(len(gates)))
    return Circuit(n, gates, wires, srcs, name="tfim")


# ---------------------------------------------------------------------------------------------
# Pauli algebra against dense matrices


def test_pauli_matrix_products_and_commutators_match_kronecker_products():
    rng = np.random.default_rng(0)
    n = 3
    labels = random_labels(n, 30, rng)
    for a in labels:
        assert np.allclose(pa.matrix(pa.key(a), n), kron_label(a))
        assert pa.label(pa.key(a), n) == a
    for a, b in zip(labels[:15], labels[15:]):
        A, B = kron_label(a), kron_label(b)
        k, e = pa.product(pa.key(a), pa.key(b), n)
        assert np.allclose(A @ B, 1j ** int(e[0]) * kron_label(pa.label(int(k[0]), n)))
        kc, c = pa.commutator(pa.key(a), pa.key(b), n)
        assert np.allclose(1j * (A @ B - B @ A), c[0] * kron_label(pa.label(int(kc[0]), n)))
        assert bool(pa.anticommutes(pa.key(a), pa.key(b), n)[0]) == (not np.allclose(A @ B, B @ A))


@pytest.mark.parametrize("gate", ["RX", "RY", "RZ", "RZZ", "CNOT", "CZ", "H", "S", "X", "Z"])
def test_conjugation_by_every_gate_matches_pennylane_matrices(gate):
    rng = np.random.default_rng(1)
    n = 3
    labels = random_labels(n, 6, rng)
    keys = np.array([pa.key(t) for t in labels], dtype=np.uint64)
    keys, coefs = pa.simplify(keys, rng.normal(size=len(keys)))
    for wires in [(0, 2), (2, 1)] if gate in ("RZZ", "CNOT", "CZ") else [(0,), (2,)]:
        for angle in (0.37, np.pi / 2, -np.pi):
            U = qml.matrix(qml_op(gate, wires, angle), wire_order=range(n))
            dense = U.conj().T @ pa.sum_matrix(keys, coefs, n) @ U
            k2, c2 = pa.conjugate_gate(keys, coefs, gate, wires, n, angle=angle)
            assert np.allclose(pa.sum_matrix(k2, c2, n), dense, atol=1e-12)


def test_pauli_expectations_match_dense_matrices():
    rng = np.random.default_rng(2)
    n = 3
    psi = rng.normal(size=8) + 1j * rng.normal(size=8)
    psi /= np.linalg.norm(psi)
    labels = random_labels(n, 20, rng)
    got = pa.expectations(psi, [pa.key(t) for t in labels], n)
    ref = [np.real(psi.conj() @ kron_label(t) @ psi) for t in labels]
    assert np.allclose(got, ref)


# ---------------------------------------------------------------------------------------------
# DLA dimensions


# Closed forms for standard generator families (test data, from the literature):
# name -> (dim(n), smallest n it holds for, algebra, source). Generators: family_generators.
def _ring(n):
    return [(i, (i + 1) % n) for i in range(n)] if n > 2 else [(0, 1)]


def family_generators(name, n):
    """Pauli-string generators (uint64 keys) of a standard family on n qubits."""
    f = pa.from_wires
    chain = [(i, i + 1) for i in range(n - 1)]
    if name == "tfim_open":
        g = [f({a: "Z", b: "Z"}, n) for a, b in chain] + [f({i: "X"}, n) for i in range(n)]
    elif name == "tfim_ring":
        g = [f({a: "Z", b: "Z"}, n) for a, b in _ring(n)] + [f({i: "X"}, n) for i in range(n)]
    elif name == "xx_xz_open":
        g = [f({a: "X", b: "X"}, n) for a, b in chain] + [f({a: "X", b: "Z"}, n) for a, b in chain]
    elif name == "xx_xz_ring":
        g = [f({a: "X", b: "X"}, n) for a, b in _ring(n)]
        g += [f({a: "X", b: "Z"}, n) for a, b in _ring(n)]
    elif name == "heisenberg_open":
        g = [f({a: p, b: p}, n) for a, b in chain for p in "XYZ"]
    elif name == "local_su2":
        g = [f({i: p}, n) for i in range(n) for p in "XY"]
    elif name == "z_ising":
        g = [f({i: "Z"}, n) for i in range(n)] + [f({a: "Z", b: "Z"}, n) for a, b in chain]
    else:
        raise ValueError(name)
    return np.array(g, dtype=np.uint64)


def _heis(n):
    if n == 2:
        return 3  # XX, YY, ZZ on one pair commute: 3*u(1)
    return 4 ** (n - 1) - 1 if n % 2 else 4 * (4 ** (n - 2) - 1)


CLOSED_FORMS = {
    "tfim_open": (lambda n: n * (2 * n - 1), 2, "so(2n)", "Jordan-Wigner free fermions"),
    "tfim_ring": (
        lambda n: 2 * n * (2 * n - 1),
        3,
        "so(2n)+so(2n)",
        "free fermions in the two parity sectors; Wiersema et al. 2024 (circular)",
    ),
    "xx_xz_open": (
        lambda n: (2 * n - 1) * (n - 1),
        2,
        "so(2n-1)",
        "Wiersema et al. 2023 (arXiv:2309.05690), Thm IV.1, a8",
    ),
    "xx_xz_ring": (
        lambda n: 2 * n * (2 * n - 1),
        3,
        "so(2n)+so(2n)",
        "Wiersema et al. 2023, Thm IV.2, a8",
    ),
    "heisenberg_open": (
        _heis,
        2,
        "3*u(1) (n = 2), su(2^(n-1)) (n odd), 4*su(2^(n-2)) (n even >= 4)",
        "Wiersema et al. 2023, Thm IV.1, a7",
    ),
    "local_su2": (lambda n: 3 * n, 1, "n*su(2)", "single-qubit rotations only"),
    "z_ising": (lambda n: 2 * n - 1, 1, "(2n-1)*u(1)", "commuting diagonal generators"),
}


def _family_dla(family, n):
    gens = [(np.array([k], np.uint64), np.ones(1)) for k in family_generators(family, n)]
    return lie.dla_of(gens, n)


@pytest.mark.parametrize("family", sorted(CLOSED_FORMS))
def test_dla_dimension_matches_closed_form(family):
    dim, n_min, _, _ = CLOSED_FORMS[family]
    for n in range(max(2, n_min), 8):
        assert len(pa.lie_closure(family_generators(family, n), n)) == dim(n), (family, n)
        if n <= 6:
            g = _family_dla(family, n)  # the audit's DLA, classified
            total = sum(c.dim * c.copies for c in g.components) + g.center
            assert g.dim == dim(n) and total == g.dim


@pytest.mark.parametrize("family", sorted(CLOSED_FORMS))
def test_closed_forms_at_small_n_match_pennylane_lie_closure(family):
    # The table itself is checked by brute force where it is cheap (n = 2, 3).
    dim, n_min, _, _ = CLOSED_FORMS[family]
    for n in range(max(2, n_min), 4):
        gens = family_generators(family, n)
        ref = qml.lie_closure([_qml_sentence(k, n) for k in gens], pauli=True)
        assert len(ref) == dim(n), (family, n)


def test_heisenberg_pair_is_abelian():
    g = _family_dla("heisenberg_open", 2)
    assert g.dim == 3 and g.abelian and g.kind == "3*u(1)"


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
def test_dense_hea_dla_is_su_2n_and_one_layer_is_local(n):
    # The entangler closing the last layer never reaches a generator, so one layer gives
    # su(2)^n; with two layers the HEA is controllable (su(2^n), dimension 4^n - 1).
    assert lie.dla(dense_hea(n, 1)).dim == 3 * n
    g = lie.dla(dense_hea(n, 2))
    assert g.dim == 4**n - 1
    assert g.kind == f"su(2^{n})"


def _qml_sentence(key, n):
    text = pa.label(key, n)
    word = {w: c for w, c in enumerate(text) if c != "I"}
    return qml.pauli.PauliSentence({qml.pauli.PauliWord(word): 1.0})


@pytest.mark.parametrize("family", ["tfim_ring", "xx_xz_open", "heisenberg_open", "local_su2"])
@pytest.mark.parametrize("n", [3, 4])
def test_closure_matches_pennylane_lie_closure(family, n):
    gens = family_generators(family, n)
    ref = qml.lie_closure([_qml_sentence(k, n) for k in gens], pauli=True)
    assert len(pa.lie_closure(gens, n)) == len(ref)


def _pennylane_frame_dla_dim(circuit, x):
    """DLA dimension of the trainable generators moved to the input through the fixed gates,
    with PennyLane matrices and ``qml.lie_closure(matrix=True)`` only."""
    n = circuit.n_qubits
    pm = angle_maps(circuit)[0]
    trainable = np.any(pm != 0, axis=0)
    start = int(np.argmax(trainable))
    angles = circuit.angles(np.zeros(circuit.n_params), x if circuit.n_data else None)
    F = np.eye(2**n, dtype=complex)
    gens = []
    for g in range(start, circuit.n_gates):
        gate, wires = circuit.gates[g], circuit.wires[g]
        if trainable[g]:
            Pm = kron_label(
                "".join(
                    ("Z" if gate == "RZZ" else gate[1]) if w in wires else "I" for w in range(n)
                )
            )
            gens.append(F.conj().T @ Pm @ F)
        else:
            F = qml.matrix(qml_op(gate, wires, angles[g]), wire_order=range(n)) @ F
    return len(qml.lie_closure(gens, matrix=True))


@pytest.mark.parametrize(
    "circuit",
    [
        dense_hea(3, 2),
        build("sparse", 4, 2),
        build("mcclean", 3, 3, seed=1),
        original_circuit(3, 2),
        encoded_circuit("reupload", 2, 2),  # data gates inside: Pauli-sum generators
        random_circuit(3, 16, seed=3, n_data=2),
    ],
    ids=["dense", "sparse", "mcclean", "original", "reupload", "random"],
)
def test_circuit_dla_matches_pennylane_on_transported_generators(circuit):
    x = np.random.default_rng(0).uniform(-np.pi, np.pi, circuit.n_data)
    assert lie.dla(circuit, x=x).dim == _pennylane_frame_dla_dim(circuit, x)


@pytest.mark.slow
@pytest.mark.parametrize("family", ["tfim_ring", "heisenberg_open", "xx_xz_ring"])
def test_closure_matches_pennylane_lie_closure_n5(family):
    n = 5
    gens = family_generators(family, n)
    ref = qml.lie_closure([_qml_sentence(k, n) for k in gens], pauli=True)
    assert len(pa.lie_closure(gens, n)) == len(ref)


def test_classification_of_known_algebras():
    kind = _family_dla

    assert kind("tfim_open", 5).kind == "so(10)"  # free fermions: so(2n)
    assert kind("tfim_ring", 5).kind == "2*so(10)"  # one so(2n) per parity sector
    assert kind("heisenberg_open", 4).kind == "4*su(2^2)"  # Wiersema et al. 2023, a7
    assert kind("heisenberg_open", 5).kind == "su(2^4)"
    assert kind("local_su2", 4).kind == "4*su(2)"
    g = kind("z_ising", 4)
    assert g.abelian and g.kind == "7*u(1)"
    for family in ("tfim_ring", "xx_xz_open", "heisenberg_open"):
        g = kind(family, 4)
        assert sum(c.dim * c.copies for c in g.components) + g.center == g.dim


def test_identify_names_small_isomorphisms_once():
    assert lie.identify(3, 1) == "su(2)"
    assert lie.identify(15, 3) == "su(2^2)"  # = so(6)
    assert lie.identify(10, 2) == "so(5)"  # = sp(4)
    assert lie.identify(28, 4) == "so(2^3)"
    assert lie.identify(36, 4) == "so(9)|sp(2^3)"
    assert lie.identify(21, 3) == "so(7)"
    assert lie.identify(14, 2).startswith("simple")  # g2 is not a Pauli algebra


# ---------------------------------------------------------------------------------------------
# Dead parameters


@pytest.mark.parametrize("n,layers", [(2, 1), (3, 2), (4, 3), (5, 2)])
def test_original_circuit_parameters_are_all_dead(n, layers):
    c = original_circuit(n, layers)
    rows = lie.dead_parameters(c, "local")
    assert all(r["dead"] for r in rows) and len(rows) == n * layers
    assert all("diagonal" in r["reason"] for r in rows)
    rng = np.random.default_rng(n)
    params = rng.uniform(0, 2 * np.pi, (3, c.n_params))
    x = rng.uniform(-np.pi, np.pi, (3, n))
    from bpdiag.engines import pennylane as pe

    grads = pe.gradient(c, params, x, costs=("local", "z0"))
    assert np.abs(grads).max() < 1e-12


def test_original_circuit_dead_by_the_jax_engine_adjoint_gradient():
    from bpdiag.engines import jax as je

    c = original_circuit(3, 2)
    rng = np.random.default_rng(5)
    params = rng.uniform(0, 2 * np.pi, (16, c.n_params))
    x = rng.uniform(-np.pi, np.pi, (16, 3))
    g = je.gradient(c, params, x, costs="readout")
    assert np.abs(g).max() < 1e-12
    # the shared-engine parameter shift used by the audit agrees
    assert lie.gradient_max(c, "local", rng=rng).max() < 1e-12


def _with_planted(base: Circuit, wire_end: int, wire_start: int) -> Circuit:
    """Prepend RZ(new param) on |0> (dead: its state is an eigenstate) and append RZ(new param)
    on ``wire_end`` after everything (dead: diagonal, just before a diagonal readout)."""
    P0 = base.n_params
    gates = ("RZ",) + base.gates + ("RZ",)
    wires = ((wire_start,),) + base.wires + ((wire_end,),)
    srcs = (P(P0),) + base.sources + (P(P0 + 1),)
    return Circuit(base.n_qubits, gates, wires, srcs, P0 + 2, base.n_data, "planted")


def test_planted_dead_parameters_found_and_live_ones_never_called_dead():
    from bpdiag.engines import pennylane as pe

    live = 0
    for seed in range(8):
        n = 3 + seed % 2
        base = random_circuit(n, 18, seed=seed, n_data=2)
        c = _with_planted(base, wire_end=n - 1, wire_start=int(seed % n))
        rows = lie.dead_parameters(c, "local")
        assert rows[-2]["dead"] and rows[-1]["dead"]
        rng = np.random.default_rng(seed)
        params = rng.uniform(0, 2 * np.pi, (4, c.n_params))
        x = rng.uniform(-np.pi, np.pi, (4, c.n_data))
        g = np.abs(pe.gradient(c, params, x, costs="local")[:, :, 0]).max(axis=0)
        for p, row in enumerate(rows):
            if row["dead"]:
                assert g[p] < 1e-10, (seed, p, row)  # proved dead => zero gradient
            if g[p] > 1e-6:
                assert not row["dead"], (seed, p, row)  # live => never called dead
                live += 1
    assert live >= 10  # the check is not vacuous


def test_gate_outside_the_measured_light_cone_is_dead_for_a_one_qubit_cost():
    # RX on wire 2 after the last entangler: Z_0 never reaches it (a non-diagonal dead gate).
    c = Circuit(
        3,
        ("RY", "RY", "CNOT", "RX", "RY"),
        ((0,), (1,), (0, 1), (2,), (0,)),
        (P(0), P(1), (), P(2), P(3)),
    )
    rows = lie.dead_parameters(c, "z0")
    assert [r["dead"] for r in rows] == [False, False, True, False]
    assert "commutes with all" in rows[2]["reason"]
    assert not lie.dead_parameters(c, "local")[2]["dead"]


def test_dead_verdicts_of_hea_agree_with_sampled_gradients_exactly():
    # The last layer's RZ gates of a dense HEA are dead for Z costs (diagonal, then CZs);
    # every other parameter has a nonzero gradient somewhere.
    from bpdiag.engines import pennylane as pe

    c = dense_hea(3, 2)
    rows = lie.dead_parameters(c, "local")
    rng = np.random.default_rng(0)
    g = np.abs(pe.gradient(c, rng.uniform(0, 6.3, (4, 12)), costs="local")[:, :, 0]).max(axis=0)
    assert [r["dead"] for r in rows] == list(g < 1e-10)
    assert [p for p, r in enumerate(rows) if r["dead"]] == [7, 9, 11]


# ---------------------------------------------------------------------------------------------
# Redundancy and effective dimension


def test_numpy_states_and_jacobian_match_pennylane_and_finite_differences():
    from bpdiag.engines import pennylane as pe

    c = random_circuit(3, 14, seed=4, n_data=1)
    rng = np.random.default_rng(3)
    params = rng.uniform(0, 6.3, (2, c.n_params))
    x = rng.uniform(-3, 3, (2, 1))
    psi, J = ne.jacobian(c, params, x)
    assert np.allclose(psi, pe.simulate(c, params, x), atol=1e-12)
    h = 1e-6
    for p in range(c.n_params):
        e = np.zeros(c.n_params)
        e[p] = h
        fd = (pe.simulate(c, params + e, x) - pe.simulate(c, params - e, x)) / (2 * h)
        assert np.allclose(J[:, :, p], fd, atol=1e-7)


@pytest.mark.parametrize("seed", [0, 1])
def test_numpy_engine_states_expvals_and_gradients_match_pennylane(seed):
    from bpdiag.engines import pennylane as pe

    c = random_circuit(3, 16, seed=seed, n_data=2)
    rng = np.random.default_rng(seed)
    params = rng.uniform(0, 2 * np.pi, (3, c.n_params))
    x = rng.uniform(-np.pi, np.pi, (3, c.n_data))
    costs = ("global", "local", "zz")
    assert np.allclose(ne.simulate(c, params, x), pe.simulate(c, params, x), atol=1e-10)
    ref = pe.expval(c, params, x, costs=costs)
    assert np.allclose(ne.expval(c, params, x, costs=costs), ref, atol=1e-10)
    ref = pe.gradient(c, params, x, costs=costs)
    assert np.allclose(ne.gradient(c, params, x, costs=costs), ref, atol=1e-10)
    # angle_states after a prefix equals the full run of the truncated circuit
    angles = c.angles(params, x)
    k = 7
    short = Circuit(3, c.gates[:k], c.wires[:k], c.sources[:k], c.n_params, c.n_data)
    assert np.allclose(ne.angle_states(c, angles, stop=k), pe.simulate(short, params, x))


def test_qfi_rank_and_effective_dimension_match_counting_arguments():
    rng = np.random.default_rng(0)
    # Two RZ on the same wire add their angles: one of them is redundant.
    c = Circuit(1, ("RY", "RZ", "RZ"), ((0,), (0,), (0,)), (P(0), P(1), P(2)))
    red = lie.redundancy(c, rng=rng)
    assert red["rank"] == 2 and list(red["redundant"]) == [False, False, True]
    # A deep enough dense HEA reaches every direction of the projective state space,
    # 2 (2^n - 1) real dimensions, and every direction of the outcome simplex, 2^n - 1.
    for n in (2, 3):
        red = lie.redundancy(dense_hea(n, 4), rng=rng)
        assert red["rank"] == 2 * (2**n - 1)
        assert red["eff_dim"] == 2**n - 1
    # The original circuit moves phases only: no outcome probability responds.
    assert lie.redundancy(original_circuit(3, 2), rng=rng)["eff_dim"] == 0


# ---------------------------------------------------------------------------------------------
# Predicted variance


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_predicted_variance_matches_haar_values_for_su(n):
    # Haar state, traceless O with Tr(O^2) = 2^n w: Var = w / (2^n + 1).
    c = dense_hea(n, 3)
    assert lie.predicted_variance(c, "global").var == pytest.approx(1 / (2**n + 1))
    assert lie.predicted_variance(c, "local").var == pytest.approx(1 / (n * (2**n + 1)))


def test_predicted_variance_for_free_fermions():
    # so(2n): Z0 Z1 is one normalized basis element (P_g(O) = 2^n); the Z strings of |0><0| in
    # g are the n - 1 bonds Z_i Z_i+1 (P_g(rho) = (n - 1) / 2^n): Var = (n - 1) / (n (2n - 1)).
    for n in (3, 4, 5, 6):
        pred = lie.predicted_variance(tfim_circuit(n, 3), "zz")
        assert pred.var == pytest.approx((n - 1) / (n * (2 * n - 1)))
        assert pred.dla.dim == n * (2 * n - 1)


@pytest.fixture(scope="module")
def engine():
    circuits = [dense_hea(3, 40), tfim_circuit(4, 40), original_circuit(3, 40)]
    return circuits, lie.SharedEngine(circuits, batch=512)


def test_predicted_and_sampled_cost_variances_agree_within_error_bars(engine):
    circuits, eng = engine
    cases = [(circuits[0], "local"), (circuits[0], "global"), (circuits[1], "zz")]
    for i, (c, cost) in enumerate(cases):
        pred = lie.predicted_variance(c, cost)
        s = lie.sample_cost_variance(
            c, cost, samples=4000, rng=np.random.default_rng(i), engine=eng
        )
        assert abs(s["var"] - pred.var) < 3.5 * s["var_se"], (cost, pred.var, s)
    c = circuits[2]
    x = np.random.default_rng(9).uniform(-np.pi, np.pi, 3)
    assert lie.predicted_variance(c, "local", x=x).var == 0.0
    s = lie.sample_cost_variance(
        c, "local", samples=512, x=x, rng=np.random.default_rng(1), engine=eng
    )
    assert s["var"] < 1e-25


def test_cost_paulis_match_cost_diagonals():
    for cost in lie.COSTS:
        k, c = lie.cost_paulis(cost, 3)
        assert np.allclose(np.diag(pa.sum_matrix(k, c, 3)).real, cost_diagonal(cost, 3))


def test_frame_reproduces_the_cost_of_the_circuit():
    # Tr(V rho V^+ O') with the transported generators and observable equals the circuit's cost.
    from bpdiag.engines import pennylane as pe

    rng = np.random.default_rng(7)
    c = random_circuit(3, 16, seed=7, n_data=2)
    x = rng.uniform(-3, 3, 2)
    params = rng.uniform(0, 6.3, c.n_params)
    fr = lie.heisenberg_frame(c, [lie.cost_paulis("local", 3)], x=x)
    angles = c.angles(params, x)
    psi = lie.prefix_state(c, fr.start, x)
    for g, (k, cf) in zip(fr.gates, fr.generators):
        G = pa.sum_matrix(k, cf, 3)
        psi = (np.cos(angles[g] / 2) * np.eye(8) - 1j * np.sin(angles[g] / 2) * G) @ psi
    O = pa.sum_matrix(*fr.observables[0], 3)
    ref = pe.expval(c, params[None], x[None], costs="local")[0, 0]
    assert np.real(psi.conj() @ O @ psi) == pytest.approx(ref, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# CLI


def test_cli_writes_tables_and_fails_on_dead(tmp_path):
    runner = CliRunner()
    out = tmp_path / "lie"
    args = [
        "lie",
        "--ansatz",
        "original,dense",
        "--qubits",
        "2..3",
        "--layers",
        "2",
        "--deep-layers",
        "10",
        "--samples",
        "64",
        "--out",
        str(out),
    ]
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "UNTRAINABLE" in res.output and "su(2^3)" in res.output
    import pandas as pd

    df = pd.read_csv(out / "lie.csv")
    for col in (
        "ansatz",
        "n_qubits",
        "n_layers",
        "cost",
        "n_params",
        "n_dead",
        "rank",
        "dla_dim",
        "dla_kind",
        "predicted_var",
        "sampled_var",
        "sampled_var_se",
    ):
        assert col in df.columns
    assert list(df["n_dead"]) == [4, 6, 2, 3]
    params = pd.read_csv(out / "lie_params.csv")
    assert list(params.columns[:10]) == [
        "ansatz",
        "n_qubits",
        "n_layers",
        "cost",
        "param",
        "gate",
        "wire",
        "dead",
        "redundant",
        "reason",
    ]
    assert len(params) == df["n_params"].sum()
    meta = json.loads((out / "lie.json").read_text())
    assert meta["circuits"][0]["dla"]["kind"] == "3*u(1)"
    assert (out / "lie.png").exists()
    first = (out / "lie.csv").read_bytes()
    assert runner.invoke(main, args).exit_code == 0
    assert (out / "lie.csv").read_bytes() == first  # same seed, same bytes
    res = runner.invoke(main, args[:-2] + ["--out", str(out), "--fail-on-dead"])
    assert res.exit_code == 1
    res = runner.invoke(main, ["lie", "--qubits", "2", "--samples", "1", "--out", str(out)])
    assert res.exit_code == 2 and "samples" in res.output
    res = runner.invoke(main, ["lie", "--ansatz", "nope", "--out", str(out)])
    assert res.exit_code == 2


def test_lie_returns_a_result_with_both_tables():
    res = lie.lie(("original", "dense"), (2, 3), (1,), deep_layers=3, samples=0)
    assert list(res.table.columns) == lie.COLUMNS
    params = res.tables["params"]
    assert list(params.columns) == lie.PARAM_COLUMNS
    # one row per parameter: original(n, 1) has n RZ parameters, dense_hea(n, 1) has 2n
    assert list(res.table["n_params"]) == [2, 3, 4, 6]
    assert len(params) == res.table["n_params"].sum()
    assert res.meta["config"]["qubits"] == (2, 3) and res.meta["units"] == lie.UNITS
    assert [d["n_qubits"] for d in res.meta["circuits"]] == [2, 3, 2, 3]
    assert "UNTRAINABLE" in res.meta["circuits"][0]["verdict"]
    assert res.table["sampled_var"].isna().all()  # samples=0: not sampled


def test_mixed_sources_and_constants_are_handled():
    # A gate driven by a parameter plus a data feature plus a constant has generator P;
    # a constant-angle Clifford rotation is absorbed exactly.
    c = Circuit(
        2,
        ("RY", "RX", "CNOT", "RZ", "RY"),
        ((0,), (1,), (0, 1), (1,), (0,)),
        (P(0) + X(0) + C(0.2), C(math.pi / 2), (), P(1), P(2)),
    )
    g = lie.dla(c, x=np.array([0.3]))
    assert g.pauli and g.dim == _pennylane_frame_dla_dim(c, np.array([0.3]))


def test_several_costs_in_one_run_equal_separate_runs():
    import pandas as pd

    from bpdiag.analyses import lie as la

    both = la.lie(("dense", "original"), (3,), (2,), ("global", "local"), deep_layers=4, samples=20)
    assert list(both.table["cost"]) == ["global", "local", "global", "local"]
    for cost in ("global", "local"):
        one = la.lie(("dense", "original"), (3,), (2,), cost, deep_layers=4, samples=20)
        pd.testing.assert_frame_equal(
            both.table[both.table["cost"] == cost].reset_index(drop=True), one.table
        )
        p = both.tables["params"]
        pd.testing.assert_frame_equal(
            p[p["cost"] == cost].reset_index(drop=True), one.tables["params"]
        )
    # the global cost reads Z on every wire, so the dense HEA's last RZ layer is dead for both
    dead = both.tables["params"].query("ansatz == 'dense' and dead")
    assert set(dead["cost"]) == {"global", "local"}
