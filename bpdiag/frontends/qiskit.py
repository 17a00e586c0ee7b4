"""Qiskit circuits lowered into bpdiag's gate set.

``transpile(circuit, basis_gates=BASIS, optimization_level=0)`` keeps symbolic parameters and
rewrites every gate outside bpdiag's gate set (:mod:`bpdiag.circuits.gates`) with Qiskit's own
decompositions (``ccx``, ``cswap``, ``cu``, ``unitary``, ...). Inside it, natively:
``rx ry rz rxx ryy rzz rzx``, ``h s sdg t tdg x y z sx sxdg``, ``cx cy cz ch swap iswap``, and
the composites ``p u1 u2 u3 u r cp crx cry crz xx_plus_yy`` expanded by
:func:`bpdiag.circuits.gates.expand` (equal up to a global phase); global phases are dropped.
Qiskit qubit ``i`` becomes bpdiag wire ``i``. Qiskit orders basis states little-endian (qubit 0 is
the least significant bit) while bpdiag's wire 0 is the most significant: a bpdiag state equals
``Statevector(circuit).reverse_qargs().data``.

Parameters keep Qiskit's order (``circuit.parameters``, unless ``order`` is given); their names
are the labels (``"θ[3]"``). Angles must be affine in the parameters (``2*θ + 0.3``, a shared
parameter): they become :class:`~bpdiag.circuits.Source` terms exactly. Final measurements and
barriers are dropped; mid-circuit measurements, resets, classical control and non-affine angles
raise ``ValueError``.

Library families record their layers (:func:`library_layers`): for the ``n_local`` family
(``real_amplitudes``, ``efficient_su2``, ``excitation_preserving``, ``pauli_two_design``,
``n_local``) layer ``k`` is rotation layer ``k`` (``reps + 1`` of them unless
``skip_final_rotation_layer``) and the entanglement after it.
"""

from __future__ import annotations

from collections.abc import Sequence

from bpdiag.circuits import Circuit
from bpdiag.frontends._assemble import DataParams, assemble, is_data, lower_gate

INSTALL = 'Qiskit is not installed: pip install "bpdiag[qiskit]"'
#: Qiskit name -> bpdiag name (a gate of the set or a composite of ``gates.COMPOSITES``).
NAMES = {
    "rx": "RX",
    "ry": "RY",
    "rz": "RZ",
    "rxx": "RXX",
    "ryy": "RYY",
    "rzz": "RZZ",
    "rzx": "RZX",
    "h": "H",
    "s": "S",
    "sdg": "Sdg",
    "t": "T",
    "tdg": "Tdg",
    "x": "X",
    "y": "Y",
    "z": "Z",
    "sx": "SX",
    "sxdg": "SXdg",
    "cx": "CNOT",
    "cy": "CY",
    "cz": "CZ",
    "ch": "CH",
    "swap": "SWAP",
    "iswap": "ISWAP",
    "p": "PhaseShift",
    "u1": "U1",
    "u2": "U2",
    "u3": "U3",
    "u": "U3",
    "r": "R",
    "cp": "ControlledPhaseShift",
    "crx": "CRX",
    "cry": "CRY",
    "crz": "CRZ",
    "xx_plus_yy": "XXPlusYY",  # (theta, beta): RZ_0(beta) XXPlusYY(theta) RZ_0(-beta)
}
BASIS = list(NAMES)
#: Library functions built by ``n_local``: rotation layers of fresh parameters (see module doc).
N_LOCAL = ("n_local", "real_amplitudes", "efficient_su2", "excitation_preserving",
           "pauli_two_design")  # fmt: skip
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


def library_layers(name: str, circuit, n_qubits: int, n_layers: int, *, seed: int = 0,
                   **options) -> list[int] | None:  # fmt: skip
    """The layer of each parameter (``circuit.parameters`` order) of an ``n_local`` library
    circuit built with ``reps=n_layers``: per repetition a rotation layer then an entanglement
    layer of fresh parameters, then (unless ``skip_final_rotation_layer``) a final rotation
    layer, whose size the same function at ``reps=0`` gives; repetition ``k`` is layer ``k``,
    the final rotation layer is layer ``n_layers``. None for other functions (feature maps
    repeat their parameters in every layer) or when the counts do not fit."""
    if name not in N_LOCAL or n_layers < 1:
        return None
    final = library(name, n_qubits, 0, seed=seed, **options).num_parameters
    P = circuit.num_parameters
    if P == 0 or (P - final) % n_layers:
        return None
    block = (P - final) // n_layers
    if block == 0:
        return None
    return [min(k // block, n_layers) for k in range(P)]


def _check(circuit) -> None:
    from qiskit.circuit import ControlFlowOp

    for inst in circuit.data:
        op = inst.operation
        if op.name in ("measure", "reset") or isinstance(op, ControlFlowOp):
            what = "mid-circuit measurement" if op.name == "measure" else op.name
            raise ValueError(f"cannot lower Qiskit instruction {op.name!r} ({what}): not unitary")
        if getattr(op, "condition", None) is not None:
            raise ValueError(f"cannot lower Qiskit instruction {op.name!r}: classical control")


#: Why a product of data inputs is refused (zz_feature_map's angles are such products).
DATA_PRODUCT = (
    "bpdiag angles are affine in parameters and data, and this multiplies data inputs "
    "(zz_feature_map's 2(pi - x_i)(pi - x_j)): use z_feature_map, or pass the products as data "
    "inputs of their own"
)


def _terms(angle, index: dict, gate: str, data: frozenset = frozenset()):
    """(param index, coef) terms and the constant of an affine ParameterExpression; ``data``:
    the Parameters that are data inputs (named in the refusal of a product of them)."""
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
            why = f": {DATA_PRODUCT}" if set(g.parameters) | {p} <= data else ""
            raise ValueError(f"{gate} angle {angle} is not affine in its parameters{why}")
        terms.append((index[p], float(complex(g).real)))
    const = angle.bind({p: 0.0 for p in params})
    return terms, float(complex(const).real)


def from_qiskit(
    circuit,
    *,
    data_params: DataParams = None,
    order: Sequence | None = None,
    name: str | None = None,
    param_layers: Sequence[int | None] | None = None,
    **meta,
) -> Circuit:
    """Lower a Qiskit ``QuantumCircuit`` into a :class:`~bpdiag.circuits.Circuit`.

    ``order``: the Qiskit ``Parameter`` objects in the order wanted (default
    ``circuit.parameters``); ``data_params``: which of them are data inputs (a name prefix or a
    list of names / ParameterVector names); ``param_layers``: the layer of each parameter (in
    ``order``; None outside the layers) to record the layer structure from.
    """
    require()
    from qiskit import transpile

    params = list(circuit.parameters if order is None else order)
    index = {p: k for k, p in enumerate(params)}
    data = frozenset(p for p in params if is_data(p.name, data_params))
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
        if op.name not in NAMES:
            raise ValueError(f"cannot lower Qiskit instruction {op.name!r} into bpdiag's gates")
        wires = tuple(low.find_bit(q).index for q in inst.qubits)
        angles = [_terms(a, index, op.name, data) for a in op.params]
        if op.name == "xx_plus_yy":  # beta conjugates by RZ on the first qubit
            theta, (bt, bc) = angles
            minus = ([(k, -c) for k, c in bt], -bc)
            ops += lower_gate("RZ", wires[:1], [(bt, bc)])
            ops += lower_gate("XXPlusYY", wires, [theta])
            ops += lower_gate("RZ", wires[:1], [minus])
        else:
            ops += lower_gate(NAMES[op.name], wires, angles)
    labels = [p.name for p in params]
    label = name or circuit.name
    return assemble(
        circuit.num_qubits, ops, labels, data_params=data_params, name=label, frontend="qiskit",
        param_layers=param_layers, **meta,
    )  # fmt: skip
