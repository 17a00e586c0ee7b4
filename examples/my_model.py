"""Example circuits for ``--circuit examples/my_model.py:FUNCTION``.

The ``FILE.py:FUNCTION`` contract (:mod:`bpdiag.frontends.spec`): ``FUNCTION(n_qubits, n_layers)``
returns one circuit on wires ``0..n_qubits-1``: a Qiskit ``QuantumCircuit`` (its ``Parameter``s
are the parameters, in ``circuit.parameters`` order), a PennyLane ``QuantumScript``, a bpdiag
``Circuit``, or a pair ``(qfunc, weight shapes)``. Parameters named by ``--data-params`` are data
inputs; all others are trainable.

    bpdiag variance --circuit examples/my_model.py:ansatz --qubits 2..4 --layers 2
    bpdiag train --circuit examples/my_model.py:ansatz --qubits 4 --layers 2
    bpdiag train --circuit examples/my_model.py:reuploading --data-params x --qubits 4 --layers 2

Circuits keep the gates they are written in (bpdiag.circuits.gates): ``xy_ansatz`` (PennyLane:
IsingXY, CRX, PauliRot) and ``controlled_ansatz`` (Qiskit: rxx, crx, cp) lower gate for gate into
Pauli rotations sharing the gate's angle (a Pauli word on more than two wires: one RZ inside a
CNOT ladder):

    bpdiag variance --circuit examples/my_model.py:xy_ansatz --qubits 2..4 --layers 2 --param all
    bpdiag variance --circuit examples/my_model.py:controlled_ansatz --qubits 3 --layers 1,2
"""

import pennylane as qml
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector


def _ring(qc: QuantumCircuit, n: int) -> None:
    if n > 1:
        for i in range(n):
            qc.cx(i, (i + 1) % n)


def ansatz(n_qubits: int, n_layers: int) -> QuantumCircuit:
    """Per layer RZ(theta) on every qubit, then a CNOT ring (i, i+1 mod n): the layers of the
    original regressor's circuit, written in Qiskit. All parameters are trainable."""
    theta = ParameterVector("theta", n_qubits * n_layers)
    qc = QuantumCircuit(n_qubits)
    for layer in range(n_layers):
        for w in range(n_qubits):
            qc.rz(theta[layer * n_qubits + w], w)
        _ring(qc, n_qubits)
    return qc


def reuploading(n_qubits: int, n_layers: int) -> QuantumCircuit:
    """The same layers with the data re-uploaded: RY(x_i) before every layer. With
    ``--data-params x`` the ``x`` are data inputs (fed by the regressor's encoder)."""
    theta = ParameterVector("theta", n_qubits * n_layers)
    x = ParameterVector("x", n_qubits)
    qc = QuantumCircuit(n_qubits)
    for layer in range(n_layers):
        for w in range(n_qubits):
            qc.ry(x[w], w)
        for w in range(n_qubits):
            qc.rz(theta[layer * n_qubits + w], w)
        _ring(qc, n_qubits)
    return qc


def xy_ansatz(n_qubits: int, n_layers: int):
    """A PennyLane family: per layer RY(w) on every wire, IsingXY(w) on neighbours, CRX(w) around
    the ring, and one Pauli rotation (Z X Z X ... on every wire). Returns (qfunc, {"weights":
    shape}): ``weights[layer, wire, k]``, all trainable."""

    def qfunc(weights):
        for layer in range(n_layers):
            w = weights[layer]
            for i in range(n_qubits):
                qml.RY(w[i, 0], wires=i)
            for i in range(n_qubits - 1):
                qml.IsingXY(w[i, 1], wires=[i, i + 1])
            for i in range(n_qubits if n_qubits > 2 else 1):
                qml.CRX(w[i, 2], wires=[i, (i + 1) % n_qubits])
            word = "".join("ZX"[i % 2] for i in range(n_qubits))
            qml.PauliRot(w[0, 3], word, wires=range(n_qubits))

    return qfunc, {"weights": (n_layers, n_qubits, 4)}


def controlled_ansatz(n_qubits: int, n_layers: int) -> QuantumCircuit:
    """A Qiskit family: per layer RX(theta) on every qubit, then RXX, CRX and CP on every
    neighbouring pair (parameters in ``circuit.parameters`` order: theta[0], theta[1], ...)."""
    pairs = [(i, i + 1) for i in range(n_qubits - 1)]
    theta = ParameterVector("theta", n_layers * (n_qubits + 3 * len(pairs)))
    it = iter(theta)
    qc = QuantumCircuit(n_qubits)
    for _ in range(n_layers):
        for w in range(n_qubits):
            qc.rx(next(it), w)
        for a, b in pairs:
            qc.rxx(next(it), a, b)
            qc.crx(next(it), a, b)
            qc.cp(next(it), b, a)
    return qc
