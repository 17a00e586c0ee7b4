"""The gate set (bpdiag.circuits.gates): every gate against PennyLane's matrices, every expansion
against the gate it stands for, and every gate on every engine against PennyLane default.qubit."""

import numpy as np
import pennylane as qml
import pytest
from scipy.linalg import expm

from bpdiag.circuits import Circuit, Source, gates
from bpdiag.circuits.gates import (
    CLIFFORD,
    COMPOSITES,
    FIXED,
    ROTATION_FORMS,
    expand,
    gate_matrix,
    pauli_matrix,
    pauli_rotation,
)
from bpdiag.engines import density as de
from bpdiag.engines import jax as je
from bpdiag.engines import numpy as ne
from bpdiag.engines import pennylane as pe
from bpdiag.engines import torch as te

_PL_FIXED = {
    "H": qml.Hadamard,
    "S": qml.S,
    "Sdg": lambda wires: qml.adjoint(qml.S(wires)),
    "T": qml.T,
    "Tdg": lambda wires: qml.adjoint(qml.T(wires)),
    "X": qml.PauliX,
    "Y": qml.PauliY,
    "Z": qml.PauliZ,
    "SX": qml.SX,
    "SXdg": lambda wires: qml.adjoint(qml.SX(wires)),
    "CNOT": qml.CNOT,
    "CY": qml.CY,
    "CZ": qml.CZ,
    "CH": qml.CH,
    "SWAP": qml.SWAP,
    "ISWAP": qml.ISWAP,
}
WORDS = ["X", "Y", "Z"] + [a + b for a in "XYZ" for b in "XYZ"]
ALL_GATES = ["R" + w for w in WORDS] + list(FIXED)


def _equal_up_to_phase(a, b, atol=1e-12):
    k = np.argmax(np.abs(b))
    phase = a.flat[k] / b.flat[k]
    assert abs(abs(phase) - 1) < 1e-10
    np.testing.assert_allclose(a, phase * b, atol=atol)


def _sequence_matrix(seq, n, angle_values):
    """Product of ``[(gate, wires, sources)]`` (time order) on n wires, sources over named
    angle values, via PennyLane's matrix of each gate (independent of bpdiag's tables)."""
    U = np.eye(2**n, dtype=complex)
    for gate, wires, srcs in seq:
        theta = sum(s.coef * (angle_values[s.index] if s.kind == "param" else 1.0) for s in srcs)
        if srcs:
            word = gate[1:]
            op = qml.PauliRot(theta, word, wires=list(wires))
        else:
            op = _PL_FIXED[gate](wires=list(wires))
        U = qml.matrix(op, wire_order=range(n)) @ U
    return U


def test_fixed_matrices_equal_pennylanes():
    assert set(FIXED) == set(_PL_FIXED)
    for name, m in FIXED.items():
        k = int(np.log2(m.shape[0]))
        np.testing.assert_allclose(m, qml.matrix(_PL_FIXED[name](wires=list(range(k)))), atol=1e-15)


@pytest.mark.parametrize("name", list(FIXED))
def test_rotation_forms_equal_the_matrix_up_to_phase(name):
    k = 1 if FIXED[name].shape[0] == 2 else 2
    seq = [("R" + w, tuple(p), (Source("const", -1, a),)) for w, p, a in ROTATION_FORMS[name]]
    _equal_up_to_phase(_sequence_matrix(seq, k, []), FIXED[name])


def _words(k: int) -> list[str]:
    out = [""]
    for _ in range(k):
        out = [w + c for w in out for c in "IXYZ"]
    return out


def test_clifford_set():
    # a Clifford maps every Pauli string to a Pauli string (up to sign), checked by brute force
    for name, U in FIXED.items():
        k = int(np.log2(U.shape[0]))
        images = [U @ pauli_matrix(w) @ U.conj().T for w in _words(k)]
        is_cliff = all(
            any(np.isclose(abs(np.trace(pauli_matrix(v) @ Q)) / 2**k, 1) for v in _words(k))
            for Q in images
        )
        assert is_cliff == (name in CLIFFORD), name
    assert {"T", "Tdg", "CH"}.isdisjoint(CLIFFORD) and {"H", "ISWAP", "SX"} <= CLIFFORD


@pytest.mark.parametrize("word", WORDS)
def test_rotation_matrices(word):
    theta = 0.731
    expected = expm(-0.5j * theta * pauli_matrix(word))
    np.testing.assert_allclose(gate_matrix("R" + word, theta), expected, atol=1e-14)
    pl = qml.matrix(qml.PauliRot(theta, word, wires=list(range(len(word)))))
    np.testing.assert_allclose(gate_matrix("R" + word, theta), pl, atol=1e-14)


@pytest.mark.parametrize("word", ["XYZ", "ZZZ", "YIXZ", "XXYY", "IZ", "ZIIY"])
def test_heavy_pauli_rotations_are_exact(word):
    theta = -1.234
    n = len(word)
    wires = tuple(reversed(range(n)))
    seq = pauli_rotation(word, wires, (Source("param", 0, 1.0),))
    assert all(len(w) <= 2 for _, w, _ in seq)
    assert sum(1 for _, _, s in seq if s) == 1  # one gate carries the angle
    U = _sequence_matrix(seq, n, [theta])
    expected = qml.matrix(qml.PauliRot(theta, word, wires=list(wires)), wire_order=range(n))
    np.testing.assert_allclose(U, expected, atol=1e-12)  # exact: no global phase


_PL_COMPOSITE = {
    "PhaseShift": qml.PhaseShift,
    "ControlledPhaseShift": qml.ControlledPhaseShift,
    "CRX": qml.CRX,
    "CRY": qml.CRY,
    "CRZ": qml.CRZ,
    "CRot": qml.CRot,
    "U1": qml.U1,
    "U2": qml.U2,
    "U3": qml.U3,
    "Rot": qml.Rot,
    "IsingXY": qml.IsingXY,
}


@pytest.mark.parametrize("name", list(_PL_COMPOSITE))
def test_composites_equal_pennylane_up_to_phase(name):
    k, m, _ = COMPOSITES[name]
    rng = np.random.default_rng(len(name))
    values = rng.uniform(-np.pi, np.pi, m)
    wires = tuple(reversed(range(k)))  # reversed wires catch control/target mix-ups
    seq = expand(name, wires, [(Source("param", i, 1.0),) for i in range(m)])
    U = _sequence_matrix(seq, k, values)
    expected = qml.matrix(_PL_COMPOSITE[name](*values, wires=list(wires)), wire_order=range(k))
    _equal_up_to_phase(U, expected)


@pytest.mark.parametrize("name", ["R", "XXPlusYY"])
def test_qiskit_composites_equal_qiskit_up_to_phase(name):
    pytest.importorskip("qiskit")
    from qiskit.circuit.library import RGate, XXPlusYYGate
    from qiskit.quantum_info import Operator

    k, m, _ = COMPOSITES[name]
    values = np.array([0.813, -0.37][:m])
    gate = RGate(*values) if name == "R" else XXPlusYYGate(values[0])
    expected = Operator(gate).reverse_qargs().data  # bpdiag: first wire most significant
    seq = expand(name, tuple(range(k)), [(Source("param", i, 1.0),) for i in range(m)])
    _equal_up_to_phase(_sequence_matrix(seq, k, values), expected)


def test_bad_gates_say_what_is_wrong():
    with pytest.raises(ValueError, match="unknown gate 'FOO'"):
        Circuit(1, ("FOO",), ((0,),), ((),))
    with pytest.raises(ValueError, match="needs 2 wire"):
        Circuit(2, ("RZX",), ((0,),), ((Source("param", 0),),))
    with pytest.raises(ValueError, match="CRX takes 2 wire"):
        expand("CRX", (0,), [()])
    with pytest.raises(ValueError, match="letters other than"):
        pauli_rotation("XQ", (0, 1), ())
    assert gates.rotation_word("RXYZ") is None  # heavier words are lowered, not gates


def _gate_circuit(gate: str) -> Circuit:
    """3 qubits: a random-looking preparation, the gate (on wires (2, 0) when it takes two, so the
    engines' wire-order handling is tested), then a mixing layer."""
    gs, ws, ss = [], [], []
    p = 0
    for w in range(3):
        for g in ("RY", "RZ"):
            gs.append(g)
            ws.append((w,))
            ss.append((Source("param", p, 1.0),))
            p += 1
    k = gates.arity(gate)
    gs.append(gate)
    ws.append((2, 0) if k == 2 else (1,))
    ss.append((Source("param", p, 1.3), Source("data", 0, 0.7)) if gates.is_rotation(gate) else ())
    p += gates.is_rotation(gate)
    for w in range(3):
        gs.append("RX")
        ws.append((w,))
        ss.append((Source("param", p, 1.0),))
        p += 1
    gs += ["CNOT", "CNOT"]
    ws += [(0, 1), (1, 2)]
    ss += [(), ()]
    return Circuit(3, tuple(gs), tuple(ws), tuple(ss), n_data=1, name=gate)


@pytest.mark.parametrize("gate", ALL_GATES)
def test_every_gate_on_every_engine(gate):
    c = _gate_circuit(gate)
    rng = np.random.default_rng(sum(map(ord, gate)))
    params = rng.uniform(-np.pi, np.pi, (2, c.n_params))
    x = rng.uniform(-1, 1, (2, 1))
    ref = pe.simulate(c, params, x)
    # PennyLane's engine queues PennyLane's own operations: check it against the matrices too
    U = np.eye(8, dtype=complex)
    for g, w, a in zip(c.gates, c.wires, c.angles(params[0], x[0])):
        full = qml.matrix(qml.QubitUnitary(gate_matrix(g, a), wires=list(w)), wire_order=range(3))
        U = full @ U
    np.testing.assert_allclose(ref[0], U[:, 0], atol=1e-12)
    for states in (je.simulate(c, params, x), te.simulate(c, params, x), ne.simulate(c, params, x)):
        np.testing.assert_allclose(states, ref, atol=1e-10)
    rho = de.simulate(c, params, x)
    np.testing.assert_allclose(rho, np.einsum("bi,bj->bij", ref, ref.conj()), atol=1e-10)
    costs = ("global", "local")
    g_ref = pe.gradient(c, params, x, costs=costs, diff_method="backprop")
    for grad in (
        je.gradient(c, params, x, costs=costs),
        te.gradient(c, params, x, costs=costs),
        ne.gradient(c, params, x, costs=costs),
        de.gradient(c, params, x, costs=costs),
    ):
        np.testing.assert_allclose(grad, g_ref, atol=1e-10)


@pytest.mark.parametrize("seed", range(3))
def test_random_circuits_of_the_whole_gate_set(seed):
    from bpdiag.circuits import GATES, random_circuit

    c = random_circuit(4, 40, seed=seed, n_data=2, gates=GATES)
    assert len(set(c.gates)) > 15
    rng = np.random.default_rng(seed)
    params = rng.uniform(-np.pi, np.pi, (3, c.n_params))
    x = rng.uniform(-1, 1, (3, 2))
    ref = pe.simulate(c, params, x)
    for states in (je.simulate(c, params, x), te.simulate(c, params, x)):
        np.testing.assert_allclose(states, ref, atol=1e-10)
    g_ref = pe.gradient(c, params, x, costs="local", diff_method="backprop")
    np.testing.assert_allclose(je.gradient(c, params, x, costs="local"), g_ref, atol=1e-10)
    np.testing.assert_allclose(te.gradient(c, params, x, costs="local"), g_ref, atol=1e-10)


def test_identity_blocks_refuse_trainable_gates_before_the_first_layer():
    from bpdiag.circuits.transforms import identity_blocks

    c = Circuit(
        1, ("RY", "RZ"), ((0,), (0,)), ((Source("param", 0),), (Source("param", 1),)),
        meta=(("layer_starts", (1,)),),
    )  # fmt: skip
    with pytest.raises(ValueError, match="trainable gates before its first layer"):
        identity_blocks(c)
