"""Example circuits for ``--circuit examples/my_model.py:FUNCTION``.

The ``FILE.py:FUNCTION`` contract (:mod:`bpdiag.frontends.spec`): ``FUNCTION(n_qubits, n_layers)``
returns one circuit on wires ``0..n_qubits-1``: a Qiskit ``QuantumCircuit`` (its ``Parameter``s
are the parameters, in ``circuit.parameters`` order), a PennyLane ``QuantumScript``, a bpdiag
``Circuit``, or a pair ``(qfunc, weight shapes)``. Parameters named by ``--data-params`` are data
inputs; all others are trainable.

    bpdiag variance --circuit examples/my_model.py:ansatz --qubits 2..4 --layers 2
    bpdiag train --circuit examples/my_model.py:ansatz --qubits 4 --layers 2
    bpdiag train --circuit examples/my_model.py:reuploading --data-params x --qubits 4 --layers 2
"""

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
