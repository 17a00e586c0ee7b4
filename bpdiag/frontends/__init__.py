"""Circuit frontends: PennyLane, Qiskit and OpenQASM 3 inputs lowered into the one
:class:`~bpdiag.circuits.Circuit` description (the grammar and the contract: :mod:`.spec`).

* :func:`circuit_family` turns a spec string, a Python callable or a circuit object into a
  :class:`Family`: ``family(n_qubits, n_layers) -> Circuit``; a fixed circuit (a QASM file, a
  ``QuantumCircuit``, a ``QuantumScript``, a ``Circuit``) has ``family.fixed`` set and only
  builds at its own size;
* :func:`load_circuit` is ``circuit_family(spec)(n_qubits, n_layers)``;
* :func:`lower` lowers one frontend object.

Every lowered circuit records ``meta["param_labels"]`` (one label per trainable parameter, in
the frontend's order: Qiskit ``circuit.parameters``, PennyLane the flattened weights, QASM the
declaration order), ``meta["data_labels"]`` and ``meta["frontend"]``. PennyLane and Qiskit are
imported only when a circuit of theirs is lowered.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from bpdiag.circuits import Circuit, n_layers
from bpdiag.frontends import pennylane as _pl
from bpdiag.frontends import qiskit as _qk
from bpdiag.frontends import spec as _spec
from bpdiag.frontends._assemble import DataParams, is_data

Spec = str | Callable | Circuit | object


def lower(obj, *, n_qubits: int | None = None, data_params: DataParams = None, seed: int = 0,
          **meta) -> Circuit:  # fmt: skip
    """One frontend object as a Circuit: a bpdiag ``Circuit`` (returned as is), a Qiskit
    ``QuantumCircuit``, a PennyLane ``QuantumScript`` or a pair ``(qfunc_or_qnode, shapes)``."""
    if isinstance(obj, Circuit):
        return obj
    if _qk.is_circuit(obj):
        return _qk.from_qiskit(obj, data_params=data_params, **meta)
    if _pl.is_tape(obj):
        make, labels = _pl.tape_maker(obj)
        return _pl.from_maker(make, labels, n_qubits=n_qubits, data_params=data_params,
                              seed=seed, **meta)  # fmt: skip
    if isinstance(obj, tuple) and len(obj) == 2 and callable(obj[0]):
        make, labels = _pl.qfunc_maker(*obj)
        return _pl.from_maker(make, labels, n_qubits=n_qubits, data_params=data_params,
                              seed=seed, **meta)  # fmt: skip
    if _pl.is_qnode(obj):
        raise ValueError("a QNode needs its weight shapes: return (qnode, shapes)")
    raise ValueError(
        f"cannot use a {type(obj).__name__} as a circuit: expected a bpdiag Circuit, a Qiskit "
        "QuantumCircuit, a PennyLane QuantumScript or (qfunc, weight shapes)"
    )


def _is_fixed(obj) -> bool:
    return isinstance(obj, Circuit) or _qk.is_circuit(obj) or _pl.is_tape(obj)


def fixed_size(circuit: Circuit) -> tuple[int, int]:
    """``(n_qubits, n_layers)`` of a fixed circuit: its recorded layer count, else 1."""
    return circuit.n_qubits, int(circuit.info("n_layers") or n_layers(circuit) or 1)


@dataclass(frozen=True)
class Family:
    """``family(n_qubits, n_layers) -> Circuit`` (cached per size). ``label`` names it in tables
    (the spec string, a function's ``__name__`` or a circuit's name); ``fixed`` is the circuit
    of a fixed input (None for a family)."""

    label: str
    build: Callable[[int, int], Circuit] = field(repr=False)
    fixed: Circuit | None = None

    def __call__(self, n_qubits: int, n_layers: int) -> Circuit:
        if self.fixed is not None:
            n, _ = fixed_size(self.fixed)
            if n_qubits != n:
                raise ValueError(_refuse(self.label, self.fixed))
            return self.fixed
        return self.build(int(n_qubits), int(n_layers))

    def check_grid(self, qubits, layers) -> None:
        """Refuse a grid other than a fixed circuit's own size (one line)."""
        if self.fixed is None:
            return
        n, L = fixed_size(self.fixed)
        if tuple(qubits) != (n,) or tuple(layers) != (L,):
            raise ValueError(_refuse(self.label, self.fixed))


def _refuse(label: str, circuit: Circuit) -> str:
    n, L = fixed_size(circuit)
    return (
        f"{label} is one fixed circuit (n_qubits={n}, n_layers={L}); to sweep --qubits/--layers "
        "pass a family: FILE.py:FUNCTION of (n_qubits, n_layers), pennylane:NAME or qiskit:NAME"
    )


def circuit_family(spec: Spec, *, data_params: DataParams = None, seed: int = 0) -> Family:
    """The :class:`Family` of a spec string (:mod:`.spec`), a callable ``(n_qubits, n_layers)``
    or a fixed circuit object. Bad input raises a one-line ``ValueError``."""
    if isinstance(spec, str):
        kind, target, options = _spec.parse(spec)
        label = spec.strip()
        if kind == "qasm":
            from bpdiag.frontends import qasm

            c = qasm.load(target, data_params=data_params)
            return Family(label, lambda n, L: c, fixed=c)
        if kind == "pennylane":
            _pl_template_check(target, options, seed)
            return _family(label, _pl_template(target, options, seed, data_params))
        if kind == "qiskit":
            _qk.require()
            return _family(label, _qk_library(target, options, data_params, seed))
        obj = _spec.load_object(target)
    else:
        obj = spec
        label = getattr(obj, "__name__", None) or getattr(obj, "name", None) or type(obj).__name__
    if _is_fixed(obj):
        c = lower(obj, data_params=data_params, seed=seed, source=label)
        return Family(label, lambda n, L: c, fixed=c)
    if not callable(obj):
        raise ValueError(f"{label}: not a circuit or a function of (n_qubits, n_layers)")

    def build(n: int, L: int) -> Circuit:
        try:
            out = obj(n, L)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{label}({n}, {L}) fails: {exc}".splitlines()[0]) from None
        if not (_is_fixed(out) or (isinstance(out, tuple) and len(out) == 2)):
            raise ValueError(
                f"{label}({n}, {L}) returned a {type(out).__name__}: expected a Circuit, a "
                "QuantumCircuit, a QuantumScript or (qfunc, weight shapes)"
            )
        return lower(out, n_qubits=n, data_params=data_params, seed=seed, n_layers=L)

    return _family(label, build)


def _family(label: str, build: Callable[[int, int], Circuit]) -> Family:
    return Family(label, functools.cache(build))


def _pl_template_check(name: str, options: dict, seed: int) -> None:
    _pl.template(name, 1, 1, seed=seed, **options)  # unknown name / no shape: fail at once


def _pl_template(name: str, options: dict, seed: int, data_params: DataParams):
    def build(n: int, L: int) -> Circuit:
        qfunc, shapes = _pl.template(name, n, L, seed=seed, **options)
        make, labels = _pl.qfunc_maker(qfunc, shapes)
        return _pl.from_maker(make, labels, n_qubits=n, data_params=data_params, seed=seed,
                              name=f"pennylane:{name}", n_layers=L,
                              param_layers=_pl.template_layers(name, n, L))  # fmt: skip

    return build


def _qk_library(name: str, options: dict, data_params: DataParams, seed: int):
    if data_params is None and name in _qk.FEATURE_MAPS:
        data_params = ""  # every parameter of a feature map is a data input

    def build(n: int, L: int) -> Circuit:
        qc = _qk.library(name, n, L, seed=seed, **options)
        layers = _qk.library_layers(name, qc, n, L, seed=seed, **options)
        try:
            return _qk.from_qiskit(qc, data_params=data_params, name=f"qiskit:{name}",
                                   n_layers=L, param_layers=layers)  # fmt: skip
        except ValueError as exc:
            raise ValueError(f"qiskit:{name}: {exc}") from None

    build(2, 1)  # unknown name / bad options: fail at once
    return build


def load_circuit(
    spec: Spec,
    n_qubits: int | None = None,
    n_layers: int | None = None,
    *,
    data_params: DataParams = None,
    seed: int = 0,
) -> Circuit:
    """The circuit of ``spec`` at ``(n_qubits, n_layers)`` (a fixed circuit: its own size when
    they are omitted; a family needs both)."""
    family = circuit_family(spec, data_params=data_params, seed=seed)
    if family.fixed is not None:
        n, L = fixed_size(family.fixed)
        family.check_grid((n_qubits or n,), (n_layers or L,))
        return family.fixed
    if n_qubits is None or n_layers is None:
        raise ValueError(f"{family.label} is a family: give n_qubits and n_layers")
    return family(n_qubits, n_layers)


__all__ = ["Family", "circuit_family", "fixed_size", "is_data", "load_circuit", "lower"]


def attach_family(config, *, fixed_layers: Callable[[int], object] | None = None) -> Family:
    """Resolve ``config.circuit`` (a spec string, a callable or a circuit object) into a
    :class:`Family` kept on the (frozen) config as ``_family``: the one resolver of every
    analysis config and of the trainer's.

    ``ansatz`` becomes the family's label (a 1-tuple where the config's ``ansatz`` is a grid
    axis); ``data_params`` is normalised (a list becomes a tuple). A fixed circuit (QASM, a
    ``QuantumCircuit``) takes its own size when ``qubits`` and ``layers`` are the config's
    defaults (``layers`` given by ``fixed_layers(L)`` when the config wants another grid, e.g.
    entropy's ``(0, L)``); any other size is refused in one line. Configs whose sizes are
    scalars (the trainer's) stay scalars. Returns the family.
    """
    scalar = isinstance(config.qubits, int)
    data = getattr(config, "data_params", None)
    if data is not None and not isinstance(data, str):
        data = tuple(data)
    family = circuit_family(config.circuit, data_params=data, seed=config.seed)
    if family.fixed is not None:
        n, L = fixed_size(family.fixed)
        fields = type(config).__dataclass_fields__
        if (config.qubits, config.layers) == (fields["qubits"].default, fields["layers"].default):
            layers = fixed_layers(L) if fixed_layers else (L if scalar else (L,))
            object.__setattr__(config, "qubits", n if scalar else (n,))
            object.__setattr__(config, "layers", layers)
        qubits = (config.qubits,) if scalar else tuple(config.qubits)
        layers = (config.layers,) if scalar else tuple(config.layers)
        if fixed_layers is not None:  # 0 layers is the encoding alone, at any size
            layers = tuple(v for v in layers if v) or (L,)
        family.check_grid(qubits, layers)
    if hasattr(config, "data_params"):
        object.__setattr__(config, "data_params", data)
    label = family.label if isinstance(config.ansatz, str) else (family.label,)
    object.__setattr__(config, "ansatz", label)
    object.__setattr__(config, "_family", family)
    return family
