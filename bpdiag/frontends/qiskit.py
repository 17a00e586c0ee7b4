"""Qiskit circuits lowered into bpdiag's gate set.

``transpile(circuit, basis_gates=BASIS, optimization_level=0)`` keeps symbolic parameters and
rewrites every gate into rx, ry, rz, rzz, cx, cz, h, s, x, z (``p``/``u1`` become ``rz`` up to a
global phase, ``sx`` an ``rx``, ``u``/``u3`` ``rz ry rz``, ...); global phases are dropped.
Qiskit qubit ``i`` becomes bpdiag wire ``i``. Qiskit orders basis states little-endian (qubit 0 is
the least significant bit) while bpdiag's wire 0 is the most significant: a bpdiag state equals
``Statevector(circuit).reverse_qargs().data``.

Parameters keep Qiskit's order (``circuit.parameters``, unless ``order`` is given); their names
are the labels (``"θ[3]"``). Angles must be affine in the parameters (``2*θ + 0.3``, a shared
parameter): they become :class:`~bpdiag.circuits.Source` terms exactly. Final measurements and
barriers are dropped; mid-circuit measurements, resets, classical control and non-affine angles
raise ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence

from bpdiag.circuits import Circuit
from bpdiag.frontends._assemble import DataParams, assemble

INSTALL = 'Qiskit is not installed: pip install "bpdiag[qiskit]"'
BASIS = ["rx", "ry", "rz", "rzz", "cx", "cz", "h", "s", "x", "z"]
_NAMES = {
    "rx": "RX",
    "ry": "RY",
    "rz": "RZ",
    "rzz": "RZZ",
    "cx": "CNOT",
    "cz": "CZ",
    "h": "H",
    "s": "S",
    "x": "X",
    "z": "Z",
}
_DROP = ("barrier", "delay", "id", "global_phase")
#: Library functions whose parameters are all data inputs (feature maps).
FEATURE_MAPS = ("zz_feature_map", "z_feature_map", "pauli_feature_map")


def require() -> None:
    """Raise a one-line ``ValueError`` naming the pip command when Qiskit is missing."""
    try:
        import qiskit  # noqa: F401
    except ImportError:
        raise ValueError(INSTALL) from None


def is_circuit(obj) -> bool:
    """Whether ``obj`` is a Qiskit ``QuantumCircuit`` (False when Qiskit is not installed)."""
    try:
        from qiskit import QuantumCircuit
    except ImportError:
        return False
    return isinstance(obj, QuantumCircuit)


def library(name: str, n_qubits: int, n_layers: int, *, seed: int = 0, **options):
    """``qiskit.circuit.library.<name>(n_qubits, reps=n_layers, **options)``; a function taking
    ``seed`` (pauli_two_design) gets ``seed`` unless the options give one."""
    require()
    import inspect

    from qiskit.circuit import library as lib

    func = getattr(lib, name, None)
    if not callable(func) or isinstance(func, type) or not name.islower():
        raise ValueError(
            f"qiskit:{name}: not a circuit-library function of (num_qubits, reps=...); try "
            "real_amplitudes, efficient_su2, n_local, pauli_two_design, zz_feature_map"
        )
    if "seed" in inspect.signature(func).parameters:
        options.setdefault("seed", seed)
    try:
        return func(n_qubits, reps=n_layers, **options)
    except TypeError as exc:
        raise ValueError(f"qiskit:{name}({n_qubits}, reps={n_layers}): {exc}") from None


def _check(circuit) -> None:
    from qiskit.circuit import ControlFlowOp

    for inst in circuit.data:
        op = inst.operation
        if op.name in ("measure", "reset") or isinstance(op, ControlFlowOp):
            what = "mid-circuit measurement" if op.name == "measure" else op.name
            raise ValueError(f"cannot lower Qiskit instruction {op.name!r} ({what}): not unitary")
        if getattr(op, "condition", None) is not None:
            raise ValueError(f"cannot lower Qiskit instruction {op.name!r}: classical control")


def _terms(angle, index: dict, gate: str) -> tuple[list[tuple[int, float]], float]:
    """(param index, coef) terms and the constant of an affine ParameterExpression."""
    from qiskit.circuit import ParameterExpression

    if not isinstance(angle, ParameterExpression):
        return [], float(angle)
    params = list(angle.parameters)
    if not params:
        return [], float(complex(angle).real)
    terms = []
    for p in params:
        g = angle.gradient(p)
        if isinstance(g, ParameterExpression) and g.parameters:
            raise ValueError(f"{gate} angle {angle} is not affine in its parameters")
        terms.append((index[p], float(complex(g).real)))
    const = angle.bind({p: 0.0 for p in params})
    return terms, float(complex(const).real)


def from_qiskit(
    circuit,
    *,
    data_params: DataParams = None,
    order: Sequence | None = None,
    name: str | None = None,
    **meta,
) -> Circuit:
    """Lower a Qiskit ``QuantumCircuit`` into a :class:`~bpdiag.circuits.Circuit`.

    ``order``: the Qiskit ``Parameter`` objects in the order wanted (default
    ``circuit.parameters``); ``data_params``: which of them are data inputs (a name prefix or a
    list of names / ParameterVector names).
    """
    require()
    from qiskit import transpile

    params = list(circuit.parameters if order is None else order)
    index = {p: k for k, p in enumerate(params)}
    circuit = circuit.remove_final_measurements(inplace=False)
    _check(circuit)
    try:
        low = transpile(circuit, basis_gates=BASIS, optimization_level=0)
    except Exception as exc:  # the transpiler's own errors: one line
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"cannot lower Qiskit circuit {circuit.name!r}: {msg}") from None
    _check(low)
    ops = []
    for inst in low.data:
        op = inst.operation
        if op.name in _DROP:
            continue
        if op.name not in _NAMES:
            raise ValueError(f"cannot lower Qiskit instruction {op.name!r} into bpdiag's gates")
        wires = tuple(low.find_bit(q).index for q in inst.qubits)
        if op.params:
            terms, const = _terms(op.params[0], index, op.name)
        else:
            terms, const = [], 0.0
        ops.append((_NAMES[op.name], wires, terms, const))
    labels = [p.name for p in params]
    label = name or circuit.name
    return assemble(
        circuit.num_qubits, ops, labels, data_params=data_params, name=label, frontend="qiskit",
        **meta,
    )  # fmt: skip
