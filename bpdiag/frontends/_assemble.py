"""The one place frontend gate lists become a :class:`~bpdiag.circuits.Circuit`.

A frontend hands over ``ops``: a list of ``(gate, wires, terms, const)`` with ``gate`` from
:mod:`bpdiag.circuits.gates`, ``wires`` bpdiag wires, ``terms`` a list of
``(frontend_param_index, coef)`` and ``const`` the constant part of the angle (radians), and
``labels``: one label per frontend parameter, in the frontend's own order. Parameters named by
``data_params`` become data features (``Source("data", j, coef)``), the others trainable
parameters; both keep the frontend's relative order.

:func:`lower_gate` is the one bridge from a frontend's gate (a name of the set, a composite of
:data:`bpdiag.circuits.gates.COMPOSITES`, or a Pauli rotation on a word of any weight) to ops:
the expansions live in :mod:`bpdiag.circuits.gates` only.

Layer structure (``meta["layer_starts"]``) is derived where the frontend says which layer each
parameter belongs to (``param_layers``): a gate's layer is the latest layer among its own
trainable parameters and the gates before it on its wires; the gates are stably sorted by it
(a valid reordering: a gate never moves before one it follows on a shared wire) and layer ``k``
starts at its first gate. Gates before any trainable gate on their wires (an encoding, a fixed
preparation) stay in front. When a parameter of layer ``k`` would land in a later layer, or a
layer has no gate, no structure is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence

from bpdiag.circuits import Circuit, Source, is_rotation
from bpdiag.circuits.gates import expand

DataParams = str | Sequence[str] | None
#: An angle as a frontend hands it over: ``([(frontend_param_index, coef), ...], const)``.
Terms = tuple[Sequence[tuple[int, float]], float]
Op = tuple[str, tuple[int, ...], Sequence[tuple[int, float]], float]


def lower_gate(name: str, wires: Sequence[int], angles: Sequence[Terms]) -> list[Op]:
    """One frontend gate as ops of the set, through :func:`bpdiag.circuits.gates.expand`:
    ``name`` is a gate of the set (``RX``, ``RZX``, ``CH``, ...), a composite (``CRX``, ``U3``,
    ``PhaseShift``, ...; angles in the gate's own order) or ``"R" + word`` for a Pauli word of
    any weight (``MultiRZ``/``PauliRot``). Affine angles stay exact."""
    srcs = [
        tuple(Source("param", int(k), float(c)) for k, c in terms)
        + (Source("const", -1, float(b)),)
        for terms, b in angles
    ]
    out = []
    for gate, w, angle in expand(name, wires, srcs):
        terms = [(s.index, s.coef) for s in angle if s.kind == "param"]
        const = sum(s.coef for s in angle if s.kind == "const")
        out.append((gate, w, terms, const))
    return out


def layered(ops: Sequence[Op], param_layers: Sequence[int | None]) -> tuple[list[Op], tuple | None]:
    """``(ops reordered, layer_starts)`` from the layer of each frontend parameter
    (``param_layers[k]``, ``None`` for a parameter outside the layers, e.g. a data input); see
    the module docstring. ``layer_starts`` is ``None`` when no structure can be derived."""
    layers = [k for k in param_layers if k is not None]
    if not layers:
        return list(ops), None
    R = max(layers) + 1
    last: dict[int, int] = {}
    key = []
    for _gate, wires, terms, _ in ops:
        own = [param_layers[k] for k, c in terms if c != 0.0 and param_layers[k] is not None]
        lay = max(own + [last.get(w, -1) for w in wires], default=-1)
        if own and lay != min(own):  # a parameter of an earlier layer after a later one
            return list(ops), None
        for w in wires:
            last[w] = lay
        key.append(lay)
    order = sorted(range(len(ops)), key=lambda g: key[g])
    keys = [key[g] for g in order]
    if set(range(R)) - set(keys):
        return list(ops), None
    starts = tuple(keys.index(k) for k in range(R))
    return [ops[g] for g in order], starts


def is_data(label: str, data_params: DataParams) -> bool:
    """Whether a parameter label marks a data input: ``data_params`` is a label prefix (str) or
    a list of labels / base names (``"x"`` matches ``"x[0]"``, ``"x[1,2]"``)."""
    if data_params is None:
        return False
    if isinstance(data_params, str):
        return label.startswith(data_params)
    return label in data_params or label.split("[")[0] in data_params


def assemble(
    n_qubits: int,
    ops: Sequence[tuple[str, tuple[int, ...], Sequence[tuple[int, float]], float]],
    labels: Sequence[str],
    *,
    data_params: DataParams = None,
    name: str = "circuit",
    param_layers: Sequence[int | None] | None = None,
    **meta,
) -> Circuit:
    """A Circuit from lowered ops; ``meta["param_labels"]`` / ``meta["data_labels"]`` hold the
    labels of the trainable parameters and data features, index by index. ``param_layers``
    (one entry per label, ``None`` outside the layers) records ``meta["layer_starts"]`` where
    the structure can be derived (:func:`layered`); data inputs never define layers."""
    where: list[tuple[str, int]] = []
    param_labels: list[str] = []
    data_labels: list[str] = []
    for label in labels:
        if is_data(label, data_params):
            where.append(("data", len(data_labels)))
            data_labels.append(label)
        else:
            where.append(("param", len(param_labels)))
            param_labels.append(label)
    if param_layers is not None:
        if len(param_layers) != len(labels):
            raise ValueError(f"{len(param_layers)} parameter layers for {len(labels)} parameters")
        trainable = [None if w[0] == "data" else k for w, k in zip(where, param_layers)]
        ops, starts = layered(ops, trainable)
        if starts is not None:
            meta = meta | {"layer_starts": starts}
    gates, wires, sources = [], [], []
    for gate, w, terms, const in ops:
        srcs: list[Source] = []
        if is_rotation(gate):
            merged: dict[int, float] = {}
            for k, coef in terms:
                merged[k] = merged.get(k, 0.0) + float(coef)
            for k, coef in merged.items():
                if coef != 0.0:
                    kind, j = where[k]
                    srcs.append(Source(kind, j, coef))
            if const != 0.0 or not srcs:
                srcs.append(Source("const", -1, float(const)))
        gates.append(gate)
        wires.append(tuple(int(x) for x in w))
        sources.append(tuple(srcs))
    meta = meta | {"param_labels": tuple(param_labels), "data_labels": tuple(data_labels)}
    return Circuit(
        int(n_qubits),
        tuple(gates),
        tuple(wires),
        tuple(sources),
        n_params=len(param_labels),
        n_data=len(data_labels),
        name=name,
        meta=tuple(sorted(meta.items())),
    )
