"""The one place frontend gate lists become a :class:`~bpdiag.circuits.Circuit`.

A frontend hands over ``ops``: a list of ``(gate, wires, terms, const)`` with ``gate`` from
:mod:`bpdiag.circuits.gates`, ``wires`` bpdiag wires, ``terms`` a list of
``(frontend_param_index, coef)`` and ``const`` the constant part of the angle (radians), and
``labels``: one label per frontend parameter, in the frontend's own order. Parameters named by
``data_params`` become data features (``Source("data", j, coef)``), the others trainable
parameters; both keep the frontend's relative order.
"""

from __future__ import annotations

from collections.abc import Sequence

from bpdiag.circuits import Circuit, Source, is_rotation

DataParams = str | Sequence[str] | None


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
    **meta,
) -> Circuit:
    """A Circuit from lowered ops; ``meta["param_labels"]`` / ``meta["data_labels"]`` hold the
    labels of the trainable parameters and data features, index by index."""
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
