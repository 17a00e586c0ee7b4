"""Figures of the entropy analysis, drawn from its table alone (nothing here computes physics).

:func:`entropy_figure`: (a) entanglement entropy against cut size at the largest qubit count, with
the Page curve and the maximum ``m ln 2``; (b) half-cut entropy against the number of qubits, with
the Page values. Error bars are standard errors over rows; the Page and maximum values come from
the table's ``page`` and ``max_entropy`` columns.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from bpdiag.figures._style import COLUMN_WIDTH, LINESTYLES, MARKERS, _colors, style  # noqa: E402

_REFERENCE_COLORS = {"product": "tab:gray", "ghz": "tab:red", "haar": "tab:blue"}


def _label(state: str, encoding: str, ansatz: str, layers: int) -> str:
    if state == "trained":
        return f"trained: {encoding} + {ansatz} L={layers}"
    if state != "data":
        return f"{state} (reference)"
    if layers == 0:
        return f"{encoding}"
    return f"{encoding} + {ansatz} L={layers}"


def _curves(df: pd.DataFrame):
    """(key, style kwargs) for every configuration, colours by depth, line styles by encoding."""
    data = df[df["state"] == "data"]
    encodings = list(dict.fromkeys(data["encoding"]))
    layers = sorted(data["n_layers"].unique())
    colors = _colors(len(layers))
    keys = list(
        dict.fromkeys(
            df[["state", "encoding", "ansatz", "n_layers"]].itertuples(index=False, name=None)
        )
    )
    out = []
    for key in keys:
        state, enc, _, L = key
        if state == "data":
            ie = encodings.index(enc)
            kw = dict(
                color=colors[layers.index(L)],
                linestyle=LINESTYLES[ie % len(LINESTYLES)],
                marker=MARKERS[ie % len(MARKERS)],
            )
        elif state == "trained":
            kw = dict(color="tab:orange", linestyle="-", marker="*", markersize=6)
        else:
            kw = dict(color=_REFERENCE_COLORS.get(state, "k"), linestyle=":", marker="x")
        out.append((key, kw))
    return out


def entropy_figure(df: pd.DataFrame, meta: dict | None = None) -> plt.Figure:
    """Entropy against cut size (largest n) and half-cut entropy against n, one curve per
    (state, encoding, depth), with the Page curve (black) and the maximum ``m ln 2`` (grey)."""
    style()
    meta = meta or {}
    d = df[df["cut"] == "contiguous"]
    unit = str(d["unit"].iloc[0]) if len(d) else "nats"
    fig, (ax_m, ax_n) = plt.subplots(1, 2, figsize=(2 * COLUMN_WIDTH, 2.6))
    if d.empty:
        return fig
    nmax = int(d["n_qubits"].max())
    half = d[d["cut_size"] == d["n_qubits"] // 2]
    for key, kw in _curves(d):
        sel = (
            (d["state"] == key[0])
            & (d["encoding"] == key[1])
            & (d["ansatz"] == key[2])
            & (d["n_layers"] == key[3])
        )
        g = d[sel & (d["n_qubits"] == nmax)].sort_values("cut_size")
        label = _label(*key)
        if len(g):
            ax_m.errorbar(g["cut_size"], g["entropy"], yerr=g["entropy_se"], label=label, **kw)
        h = half[sel[half.index]].sort_values("n_qubits")
        if len(h):
            ax_n.errorbar(h["n_qubits"], h["entropy"], yerr=h["entropy_se"], label=label, **kw)
    ref = d[d["n_qubits"] == nmax].drop_duplicates("cut_size").sort_values("cut_size")
    ax_m.plot(ref["cut_size"], ref["page"], color="k", linewidth=1.6, label="Page (Haar)", zorder=0)
    ax_m.plot(
        ref["cut_size"],
        ref["max_entropy"],
        color="0.6",
        linestyle="--",
        linewidth=0.9,
        label="max m ln 2",
        zorder=0,
    )
    hp = half.drop_duplicates("n_qubits").sort_values("n_qubits")
    ax_n.plot(hp["n_qubits"], hp["page"], color="k", linewidth=1.6, label="Page (Haar)", zorder=0)
    ax_n.plot(
        hp["n_qubits"],
        hp["max_entropy"],
        color="0.6",
        linestyle="--",
        linewidth=0.9,
        label="max",
        zorder=0,
    )
    ax_m.set_xlabel("cut size m (qubits)")
    ax_m.set_ylabel(f"entanglement entropy S ({unit})")
    ax_m.set_title(f"(a) entropy vs cut, n = {nmax}")
    ax_n.set_xlabel("qubits n")
    ax_n.set_ylabel(f"half-cut entropy S(n//2) ({unit})")
    ax_n.set_title("(b) half-cut entropy vs n")
    ax_m.set_xticks(sorted(ref["cut_size"].unique()))
    handles, labels = ax_n.get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.tight_layout()
    return fig
