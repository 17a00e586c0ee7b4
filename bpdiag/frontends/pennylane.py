"""PennyLane templates, quantum functions and tapes lowered into bpdiag's gate set.

Lowering runs ``qml.transforms.decompose`` and stops at every operation bpdiag knows
(:mod:`bpdiag.circuits.gates`): ``RX RY RZ``, ``IsingXX/YY/ZZ`` (-> ``RXX RYY RZZ``),
``PauliRot`` and ``MultiRZ`` on any word (heavier words: one ``RZ`` in a CNOT ladder), the
composites ``PhaseShift ControlledPhaseShift CRX CRY CRZ CRot U1 U2 U3 Rot IsingXY`` (expanded
by :func:`bpdiag.circuits.gates.expand`, equal up to a global phase), and the fixed gates
``Hadamard S T SX PauliX/Y/Z``, ``adjoint(S/T/SX)``, ``CNOT CY CZ CH SWAP ISWAP``; everything
else (``Toffoli``, ``QubitUnitary``, ``CSWAP``, ...) goes through PennyLane's own
decompositions. Global phases, identities and barriers are dropped. Wires are PennyLane's (wire
0 = most significant qubit, as in bpdiag): integer wires ``0..n-1`` map to themselves, other
labels to their order in ``tape.wires``.

Parameters are the flattened weight arrays, in argument order (labels ``"weights[1,0,2]"``).
The angles of the decomposed gates are traced once with JAX as functions of the flat weights and
the affine map is read off the trace exactly (:mod:`bpdiag.frontends._affine`: structural
operations, sums and products by constants); a trace holding anything else falls back to the
Jacobian at two random points, accepted only when the map is affine there (the same gates, the
same Jacobian, and the angles it predicts). Mid-circuit measurements and gates
that do not decompose raise ``ValueError``; the tape's measurements are ignored (bpdiag's cost
replaces them).

Templates record their layers (``meta["layer_starts"]``): a weight array whose leading axis is
``n_layers`` in ``shape(n_layers, n_wires)`` (it grows with ``n_layers``) puts entry ``[k, ...]``
in layer ``k``; an array that does not grow (``SimplifiedTwoDesign``'s initial layer) belongs to
layer 0 (see :func:`bpdiag.frontends._assemble.layered`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

import numpy as np

from bpdiag.circuits import Circuit
from bpdiag.circuits.gates import COMPOSITES
from bpdiag.frontends._affine import NotAffine, affine
from bpdiag.frontends._assemble import DataParams, assemble, lower_gate

#: PennyLane name -> bpdiag name (a gate of the set or a composite of ``gates.COMPOSITES``).
NAMES = {
    "RX": "RX",
    "RY": "RY",
    "RZ": "RZ",
    "IsingXX": "RXX",
    "IsingYY": "RYY",
    "IsingZZ": "RZZ",
    "Hadamard": "H",
    "S": "S",
    "Adjoint(S)": "Sdg",
    "T": "T",
    "Adjoint(T)": "Tdg",
    "SX": "SX",
    "Adjoint(SX)": "SXdg",
    "PauliX": "X",
    "PauliY": "Y",
    "PauliZ": "Z",
    "CNOT": "CNOT",
    "CY": "CY",
    "CZ": "CZ",
    "CH": "CH",
    "SWAP": "SWAP",
    "ISWAP": "ISWAP",
} | {c: c for c in COMPOSITES if c not in ("R", "XXPlusYY")}  # Qiskit-only names
_WORDS = ("PauliRot", "MultiRZ")  # Pauli rotations on a word of any weight
_DROP = ("GlobalPhase", "Identity", "Barrier", "Snapshot")


def _stop(op) -> bool:
    return op.name in NAMES or op.name in _WORDS or op.name in _DROP or "MidMeasure" in op.name


def _word(op) -> str | None:
    if op.name == "PauliRot":
        return op.hyperparameters["pauli_word"]
    if op.name == "MultiRZ":
        return "Z" * len(op.wires)
    return None


def _gate(op) -> str:
    """The bpdiag name :func:`~bpdiag.frontends._assemble.lower_gate` takes for ``op``."""
    word = _word(op)
    return "R" + word if word is not None else NAMES[op.name]


def _index(shape: tuple[int, ...], k: int) -> str:
    return ",".join(str(int(i)) for i in np.unravel_index(k, shape)) if shape else ""


def labels_for(shapes: dict[str, tuple[int, ...]]) -> list[str]:
    """``name[i,j,...]`` for every entry of every weight array, flattened in C order."""
    out = []
    for name, shape in shapes.items():
        size = int(np.prod(shape, dtype=int))
        out += [f"{name}[{_index(shape, k)}]" for k in range(size)]
    return out


def _template_class(name: str):
    import pennylane as qml

    cls = getattr(qml, name, None)
    if not isinstance(cls, type) or not issubclass(cls, qml.operation.Operator):
        raise ValueError(f"pennylane:{name}: no such PennyLane template")
    shape_of = getattr(cls, "shape", None)
    if not callable(shape_of):
        raise ValueError(
            f"pennylane:{name}: template has no weight shape (shape(n_layers, n_wires))"
        )
    return cls


def _shape_list(cls, name: str, n_layers: int, n_qubits: int) -> list[tuple[int, ...]]:
    try:
        shapes = cls.shape(n_layers, n_qubits)
    except TypeError as exc:
        raise ValueError(f"pennylane:{name}: shape(n_layers, n_wires) fails: {exc}") from None
    shapes = list(shapes) if shapes and not isinstance(shapes[0], int) else [shapes]
    return [tuple(int(d) for d in s) for s in shapes]


def template(name: str, n_qubits: int, n_layers: int, *, seed: int = 0, **options):
    """(quantum function of the weights, {arg name: shape}) for ``qml.<name>`` on ``n_qubits``
    wires: its weight shapes are ``qml.<name>.shape(n_layers, n_qubits)``."""
    cls = _template_class(name)
    shapes = _shape_list(cls, name, n_layers, n_qubits)
    args = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    names = args[: len(shapes)]
    if "seed" in inspect.signature(cls.__init__).parameters:
        options.setdefault("seed", seed)
    shapes = dict(zip(names, shapes))

    def qfunc(**weights):
        cls(**weights, wires=range(n_qubits), **options)

    return qfunc, shapes


def template_layers(name: str, n_qubits: int, n_layers: int) -> list[int] | None:
    """The layer of every flat weight of ``qml.<name>`` (:func:`labels_for` order), or None when
    the shapes do not say: an array whose leading axis grows with ``n_layers`` (``shape(L + 1,
    n)`` differs only there, by one) puts entry ``[k, ...]`` in layer ``k``; an array that does
    not change with ``n_layers`` is in layer 0."""
    cls = _template_class(name)
    now = _shape_list(cls, name, n_layers, n_qubits)
    more = _shape_list(cls, name, n_layers + 1, n_qubits)
    out: list[int] = []
    for a, b in zip(now, more, strict=True):
        size = int(np.prod(a, dtype=int))
        if a == b:
            out += [0] * size
        elif a and b[1:] == a[1:] and (a[0], b[0]) == (n_layers, n_layers + 1):
            out += [int(i) for i in np.unravel_index(np.arange(size), a)[0]]
        else:
            return None
    return out


def _shapes(shapes) -> dict[str, tuple[int, ...]]:
    if isinstance(shapes, dict):
        return {str(k): tuple(int(d) for d in v) for k, v in shapes.items()}
    if isinstance(shapes, int) or (
        shapes and all(isinstance(d, (int, np.integer)) for d in shapes)
    ):
        shapes = (shapes,) if isinstance(shapes, int) else shapes
        return {"weights": tuple(int(d) for d in shapes)}
    return {f"w{k}": tuple(int(d) for d in s) for k, s in enumerate(shapes)}


def qfunc_maker(qfunc: Callable, shapes) -> tuple[Callable, list[str]]:
    """A tape maker of flat weights for ``qfunc(*weights)`` (shape tuple, list of tuples) or
    ``qfunc(**weights)`` (dict name -> shape); and the parameter labels."""
    import pennylane as qml

    keyword = isinstance(shapes, dict)
    shapes = _shapes(shapes)
    func = getattr(qfunc, "func", qfunc)  # a QNode: its quantum function

    def make(flat):
        arrays, start = {}, 0
        for name, shape in shapes.items():
            size = int(np.prod(shape, dtype=int))
            arrays[name] = flat[start : start + size].reshape(shape)
            start += size
        if keyword:
            return qml.tape.make_qscript(func)(**arrays)
        return qml.tape.make_qscript(func)(*arrays.values())

    return make, labels_for(shapes)


def tape_maker(tape) -> tuple[Callable, list[str]]:
    """A tape maker for a fixed ``QuantumScript``: every gate parameter is one parameter
    (labels ``"p[k]"``, in ``tape.get_parameters(trainable_only=False)`` order)."""
    values = tape.get_parameters(trainable_only=False)
    indices = list(range(len(values)))

    def make(flat):
        return tape.bind_new_parameters([flat[k] for k in indices], indices)

    return make, [f"p[{k}]" for k in indices]


def _lowered(make: Callable, flat):
    """The decomposed operations of ``make(flat)`` (wires as labels)."""
    import pennylane as qml

    tape = make(flat)
    try:
        (low,), _ = qml.transforms.decompose(tape, stopping_condition=_stop)
    except Exception as exc:  # PennyLane's own decomposition errors: one line
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"cannot lower PennyLane circuit: {msg}") from None
    for op in low.operations:
        if "MidMeasure" in type(op).__name__ or op.name in ("MidMeasureMP", "Conditional"):
            raise ValueError(
                f"cannot lower PennyLane operation {op.name!r} (mid-circuit measurement)"
            )
        if not _stop(op):
            raise ValueError(f"cannot lower PennyLane operation {op.name!r} into bpdiag's gates")
    return [op for op in low.operations if op.name not in _DROP], tape.wires


def _angles(ops) -> list:
    return [a for op in ops for a in op.data]


def from_maker(
    make: Callable,
    labels: Sequence[str],
    *,
    n_qubits: int | None = None,
    data_params: DataParams = None,
    name: str = "pennylane",
    seed: int = 0,
    param_layers: Sequence[int | None] | None = None,
    **meta,
) -> Circuit:
    """Lower the tapes ``make(flat_weights)`` (float[len(labels)]) into one Circuit;
    ``param_layers`` (one layer or None per label) records the layer structure."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    P = len(labels)
    rng = np.random.default_rng(seed)
    w0, w1 = rng.uniform(-np.pi, np.pi, (2, P))
    seen: list = []  # (ops, wires) of each trace: gate names, wires and words are static

    def traced(flat):
        ops, wires = _lowered(make, flat)
        seen.append((ops, wires))
        values = [jnp.asarray(a, dtype=float) for a in _angles(ops)]
        return jnp.stack(values) if values else jnp.zeros(0)

    if P:
        try:  # one trace, read exactly (bpdiag.frontends._affine)
            J0, const = affine(traced, w0)
            ops, wires = seen[-1]
        except NotAffine:  # anything else: the Jacobian at two random points, eagerly
            J0, J1 = (np.asarray(jax.jacfwd(traced)(jnp.asarray(w))) for w in (w0, w1))
            a0, a1 = (np.asarray(traced(jnp.asarray(w))) for w in (w0, w1))
            (ops, wires), (ops1, _) = seen[-2:]
            structure = [(op.name, tuple(op.wires), _word(op)) for op in ops]
            same = [(op.name, tuple(op.wires), _word(op)) for op in ops1] == structure
            if (
                not same
                or not np.allclose(J0, J1, atol=1e-9)
                or not np.allclose(a1, a0 + J0 @ (w1 - w0), atol=1e-9)
            ):
                raise ValueError(
                    "the PennyLane circuit's gate angles are not affine in its weights"
                ) from None
            const = a0 - J0 @ w0
    else:
        ops, wires = _lowered(make, jnp.asarray(w0))
        J0 = np.zeros((len(_angles(ops)), P))
        const = np.asarray([float(a) for a in _angles(ops)])
    if all(isinstance(w, (int, np.integer)) for w in wires):
        n = int(max(wires) + 1) if len(wires) else 1
        wire_of = {w: int(w) for w in wires}
    else:
        n = len(wires)
        wire_of = {w: k for k, w in enumerate(wires)}
    n = max(n, n_qubits or 0)
    out, r = [], 0
    for op in ops:
        angles = []
        for _ in op.data:
            terms = [(k, float(J0[r, k])) for k in np.nonzero(np.abs(J0[r]) > 1e-14)[0]]
            angles.append((terms, float(const[r]) if abs(const[r]) > 1e-14 else 0.0))
            r += 1
        out += lower_gate(_gate(op), [wire_of[x] for x in op.wires], angles)
    return assemble(
        n, out, labels, data_params=data_params, name=name, frontend="pennylane",
        param_layers=param_layers, **meta,
    )  # fmt: skip


def is_tape(obj) -> bool:
    try:
        import pennylane as qml
    except ImportError:
        return False
    return isinstance(obj, qml.tape.QuantumScript)


def is_qnode(obj) -> bool:
    try:
        import pennylane as qml
    except ImportError:
        return False
    return isinstance(obj, qml.QNode)
