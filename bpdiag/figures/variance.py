"""Variance against qubits and depth, with the fitted decay."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bpdiag.figures._style import COLUMN_WIDTH, LINESTYLES, MARKERS, _colors, style  # noqa: E402
from bpdiag.figures.exact import has_extras, variance_method_figure  # noqa: E402
from bpdiag.figures.noise import noise_figure  # noqa: E402


def variance_figure(df: pd.DataFrame, meta: dict | None = None) -> plt.Figure:
    """Var[dC/dtheta] against n (log axis; one curve per depth and ansatz, with error bars and
    the fitted 2**(-b n) lines) and against depth (one curve per n), one row per cost."""
    style()
    meta = meta or {}
    fits = pd.DataFrame(meta.get("fits", []))
    costs = list(dict.fromkeys(df["cost"]))
    fig, axes = plt.subplots(
        len(costs), 2, figsize=(2 * COLUMN_WIDTH, 2.4 * len(costs)), squeeze=False
    )
    ansatze = list(dict.fromkeys(df["ansatz"]))
    layers = sorted(df["n_layers"].unique())
    qubits = sorted(df["n_qubits"].unique())
    lc, qc = _colors(len(layers)), _colors(len(qubits))
    for r, cost in enumerate(costs):
        ax_n, ax_l = axes[r]
        d = df[(df["cost"] == cost) & (df["var"] > 0)]
        for ia, a in enumerate(ansatze):
            ls, mk = LINESTYLES[ia % 4], MARKERS[ia % 6]
            for il, L in enumerate(layers):
                g = d[(d["ansatz"] == a) & (d["n_layers"] == L)].sort_values("n_qubits")
                if g.empty:
                    continue
                ax_n.errorbar(
                    g["n_qubits"],
                    g["var"],
                    yerr=g["var_se"],
                    color=lc[il],
                    marker=mk,
                    linestyle="none",
                    label=f"{a}, L={L}",
                )
                if not fits.empty:
                    f = fits[
                        (fits["ansatz"] == a) & (fits["cost"] == cost) & (fits["n_layers"] == L)
                    ]
                    if len(f):
                        f = f.iloc[0]
                        n = np.linspace(g["n_qubits"].min(), g["n_qubits"].max(), 50)
                        ax_n.plot(
                            n,
                            2 ** (f["log2_A"] - f["b"] * n),
                            color=lc[il],
                            linestyle=ls,
                            linewidth=0.8,
                        )
            for iq, n in enumerate(qubits):
                g = d[(d["ansatz"] == a) & (d["n_qubits"] == n)].sort_values("n_layers")
                if g.empty:
                    continue
                ax_l.errorbar(
                    g["n_layers"],
                    g["var"],
                    yerr=g["var_se"],
                    color=qc[iq],
                    marker=mk,
                    linestyle=ls,
                    label=f"{a}, n={n}",
                )
        for ax in (ax_n, ax_l):
            ax.set_yscale("log")
            ax.set_ylabel(r"Var[$\partial C/\partial\theta$]")
            ax.set_title(f"{cost} cost")
        ax_n.set_xlabel("qubits n")
        ax_l.set_xlabel("layers L")
        ax_l.set_xscale("log")
        for ax in (ax_n, ax_l):  # outside the axes: these panels are full of points
            ax.legend(
                ncol=1, frameon=False, fontsize=5.5, loc="upper left", bbox_to_anchor=(1.01, 1.0)
            )
    fig.tight_layout()
    return fig


def figure_for(df: pd.DataFrame):
    """The figure function that draws a variance table: :func:`~bpdiag.figures.noise.noise_figure`
    with noisy rows (Var against depth per strength), else
    :func:`~bpdiag.figures.exact.variance_method_figure` with exact rows or shot columns, else
    :func:`variance_figure`."""
    if "noise" in df and (df["noise"] != "none").any():
        return noise_figure
    if has_extras(df):
        return variance_method_figure
    return variance_figure


#: At most this many (ansatz, cost, n_qubits, n_layers) panels in the per-parameter heat map.
MAX_PARAM_PANELS = 12


def params_figure(df: pd.DataFrame, meta: dict | None = None) -> plt.Figure:
    """Heat map of log10 Var[dC/dtheta_k] per parameter: rows are layers (``layer``; within a
    layer one row per parameter slot on a wire, labelled by its gate), columns wires (a
    parameter's first wire), one panel per (ansatz, cost, n_qubits, n_layers) point (sampled
    rows preferred; the first :data:`MAX_PARAM_PANELS`). Dead parameters (``dead``) are marked
    with a cross; a circuit without recorded layers puts each wire's parameters in order."""
    style()
    d = df[df["method"] == "sample"] if (df["method"] == "sample").any() else df
    point = ["ansatz", "cost", "n_qubits", "n_layers"]
    groups = list(d.groupby(point, sort=False))[:MAX_PARAM_PANELS]
    cols = min(len(groups), 3) or 1
    rows = -(-len(groups) // cols) or 1
    fig, axes = plt.subplots(
        rows, cols, figsize=(cols * 0.75 * COLUMN_WIDTH, rows * 2.2), squeeze=False
    )
    logs = np.log10(d["var"].to_numpy(float).clip(min=1e-300))
    finite = logs[np.isfinite(logs) & ~d["dead"].to_numpy(bool)]
    vmin, vmax = (finite.min(), finite.max()) if len(finite) else (-1.0, 0.0)
    image = None
    for ax, (key, g) in zip(axes.flat, groups):
        grid, dead, ylabels, n_wires = _param_grid(g)
        image = ax.imshow(grid, aspect="auto", cmap="viridis", vmin=vmin, vmax=vmax)
        ys, xs = np.nonzero(dead)
        ax.scatter(xs, ys, marker="x", color="red", s=12, linewidths=0.8, label="dead")
        ax.set_xticks(range(n_wires))
        ax.set_yticks(range(len(ylabels)))
        ax.set_yticklabels(ylabels, fontsize=5)
        ax.set_xlabel("wire")
        ax.set_title("{}, {}, n={}, L={}".format(*key), fontsize=6)
        ax.grid(False)
    fig.subplots_adjust(hspace=0.5, wspace=0.35)
    for ax in axes.flat[len(groups) :]:
        ax.axis("off")
    if image is not None:
        fig.colorbar(image, ax=axes, label=r"log$_{10}$ Var[$\partial C/\partial\theta_k$]")
    return fig


def _param_grid(g: pd.DataFrame):
    """(log10 Var float[rows, wires] with NaN gaps, dead bool[rows, wires], row labels, wires)
    of one point's per-parameter rows."""
    wire = [int(str(w).split("-")[0]) if str(w) not in ("", "nan") else 0 for w in g["wire"]]
    layer = pd.to_numeric(g["layer"], errors="coerce").astype(float)
    layer = [int(v) if np.isfinite(v) else None for v in layer]
    cells: dict[tuple, int] = {}
    slots = []
    for lay, w in zip(layer, wire):  # the k-th parameter of (layer, wire) goes to slot k
        slots.append(cells.get((lay, w), 0))
        cells[(lay, w)] = slots[-1] + 1
    keys = sorted(set(zip(layer, slots)), key=lambda t: (-2 if t[0] is None else t[0], t[1]))
    row = {k: i for i, k in enumerate(keys)}
    n_wires = max(int(g["n_qubits"].iloc[0]), max(wire) + 1)
    grid = np.full((len(keys), n_wires), np.nan)
    dead = np.zeros_like(grid, dtype=bool)
    gates: dict[int, list] = {}
    for lay, s, w, v, dd, gate in zip(layer, slots, wire, g["var"], g["dead"], g["gate"]):
        r = row[(lay, s)]
        grid[r, w] = np.log10(v) if v > 0 and not dd else np.nan  # dead: a cross
        dead[r, w] = bool(dd)
        gates.setdefault(r, []).append(str(gate))
    labels = []
    for (lay, _), r in row.items():
        names = list(dict.fromkeys(gates.get(r, [])))
        where = "" if lay is None else f"L{lay} "
        labels.append(where + (names[0] if len(names) == 1 else "·"))
    return grid, dead, labels, n_wires
