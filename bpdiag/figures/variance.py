"""Variance against qubits and depth, with the fitted decay."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bpdiag.figures._style import COLUMN_WIDTH, LINESTYLES, MARKERS, _colors, style  # noqa: E402
from bpdiag.figures.noise import noise_figure  # noqa: E402


def _discrete_colorbar(fig, ax, values, label: str):
    """A colour bar with one colour per value (viridis, as :func:`_colors`), instead of a legend
    entry per curve."""
    import matplotlib as mpl

    colors = _colors(len(values))
    cmap = mpl.colors.ListedColormap(colors)
    norm = mpl.colors.BoundaryNorm(np.arange(len(values) + 1) - 0.5, cmap.N)
    bar = fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.02, aspect=25)
    bar.set_ticks(range(len(values)))
    bar.set_ticklabels([str(v) for v in values])
    bar.set_label(label)
    bar.ax.tick_params(labelsize=5.5)
    return colors


def _zero_mask(d: pd.DataFrame, haar: pd.DataFrame, factor: float | None) -> np.ndarray:
    """Structural zeros: var <= factor x the 2-design value of (cost, n) (``meta["haar"]``,
    ``meta["zero_factor"]``); without them only var <= 0."""
    zero = d["var"].to_numpy(float) <= 0
    if factor is None or haar.empty:
        return zero
    ref = d.merge(haar, on=["cost", "n_qubits"], how="left", suffixes=("", "_haar"))["var_haar"]
    return zero | (d["var"].to_numpy(float) <= factor * ref.to_numpy(float))


def _bounds(ax, ex: pd.DataFrame, xcol: str, color) -> None:
    """Exact rows of the MPS backend: the proved interval [var_lo, var_hi] as a band where one
    is proved, and an open circle on each value that is converged in chi only (no bound)."""
    if "bound" not in ex:
        return
    proved = ex[ex["bound"].astype(str).str.startswith("exact")]
    if len(proved) and (proved["var_hi"] > proved["var_lo"]).any():
        ax.fill_between(proved[xcol], proved["var_lo"], proved["var_hi"], color=color, alpha=0.2)
    loose = ex[ex["bound"].astype(str) == "none"]
    if len(loose):
        ax.plot(
            loose[xcol],
            loose["var"],
            linestyle="none",
            marker="o",
            markersize=3,
            markerfacecolor="none",
            color=color,
        )


def variance_figure(df: pd.DataFrame, meta: dict | None = None) -> plt.Figure:
    """Var[dC/dtheta] against n (left; colour = depth L) and against depth (right; colour = n),
    one row per cost, with colour bars instead of per-curve legends.

    Sampled rows are points with standard-error bars, exact rows lines (one marker and line style
    per ansatz); the fitted 2**(-b n) lines (``meta["fits"]``) thin; the 2-design value
    (``meta["haar"]``) grey against n and as thin dotted levels against depth; with shots the
    shot-noise variance dotted; exact MPS rows (``bound``) with their proved interval as a band,
    or an open circle where the value is converged in the bond dimension only. Structural zeros
    (``meta["zero_factor"]`` x the 2-design value or less: the parameter is dead there) are drawn
    as open triangles on a floor below the data, never as 1e-32; the y-range covers the data
    with less than a decade to spare."""
    style()
    meta = meta or {}
    fits = pd.DataFrame(meta.get("fits", []))
    haar = pd.DataFrame(meta.get("haar", []), columns=["cost", "n_qubits", "var"])
    if "noise" in df:
        df = df[df["noise"].fillna("none") == "none"]
    if "method" not in df:
        df = df.assign(method="sample")
    costs = list(dict.fromkeys(df["cost"]))
    fig, axes = plt.subplots(
        len(costs), 2, figsize=(2 * COLUMN_WIDTH + 0.6, 2.5 * len(costs) + 0.5), squeeze=False
    )
    ansatze = list(dict.fromkeys(df["ansatz"]))
    layers = sorted(df["n_layers"].unique())
    qubits = sorted(df["n_qubits"].unique())
    handles: dict[str, object] = {}
    for r, cost in enumerate(costs):
        ax_n, ax_l = axes[r]
        lc = _discrete_colorbar(fig, ax_n, layers, "layers L")
        qc = _discrete_colorbar(fig, ax_l, qubits, "qubits n")
        d = df[df["cost"] == cost]
        zero = _zero_mask(d, haar, meta.get("zero_factor"))
        live, dead = d[~zero], d[zero]
        h = haar[haar["cost"] == cost].sort_values("n_qubits")
        shown = [live["var"].to_numpy(float)]
        for ia, a in enumerate(ansatze):
            ls, mk = LINESTYLES[ia % len(LINESTYLES)], MARKERS[ia % len(MARKERS)]
            if len(ansatze) > 1:
                handles.setdefault(a, plt.Line2D([], [], color="0.3", marker=mk, linestyle=ls))
            for ax, key, values, colors, xcol in (
                (ax_n, "n_layers", layers, lc, "n_qubits"),
                (ax_l, "n_qubits", qubits, qc, "n_layers"),
            ):
                for iv, v in enumerate(values):
                    g = live[(live["ansatz"] == a) & (live[key] == v)].sort_values(xcol)
                    label = f"{a}, {'L' if key == 'n_layers' else 'n'}={v}"  # for figure_data
                    ex, sa = g[g["method"] == "exact"], g[g["method"] != "exact"]
                    if len(ex):
                        (line,) = ax.plot(ex[xcol], ex["var"], color=colors[iv], linestyle=ls,
                                          marker=".", markersize=2,
                                          label=label + " exact")  # fmt: skip
                        handles.setdefault("exact", line)
                        _bounds(ax, ex, xcol, colors[iv])
                    if len(sa):
                        bars = ax.errorbar(sa[xcol], sa["var"], yerr=sa["var_se"],
                                           color=colors[iv], marker=mk, linestyle="none",
                                           label=label + " sampled")  # fmt: skip
                        handles.setdefault("sampled (± s.e.)", bars)
                    sh = ex if len(ex) else sa
                    if "shot_var" in sh and sh["shot_var"].notna().any():
                        (line,) = ax.plot(sh[xcol], sh["shot_var"], color=colors[iv],
                                          linestyle=":", linewidth=0.8)  # fmt: skip
                        handles.setdefault("shot noise s1/N", line)
                        shown.append(sh["shot_var"].dropna().to_numpy(float))
                    if ax is ax_n and not fits.empty and len(g):
                        f = fits[(fits["ansatz"] == a) & (fits["cost"] == cost)
                                 & (fits["n_layers"] == v)]  # fmt: skip
                        if "method" in f and (f["method"] == "sample").any():
                            f = f[f["method"] == "sample"]
                        if len(f):
                            f = f.iloc[0]
                            n = np.linspace(g["n_qubits"].min(), g["n_qubits"].max(), 50)
                            (line,) = ax.plot(n, 2 ** (f["log2_A"] - f["b"] * n), color=colors[iv],
                                              linestyle="--", linewidth=0.6, alpha=0.8)  # fmt: skip
                            handles.setdefault("fit 2^(-b n)", line)
        if len(h):
            (line,) = ax_n.plot(h["n_qubits"], h["var"], color="0.45", linewidth=1.0, zorder=0,
                                label="Haar (2-design)")  # fmt: skip
            handles.setdefault("2-design value", line)
            for iq, n in enumerate(qubits):
                hv = h[h["n_qubits"] == n]["var"]
                if len(hv):
                    ax_l.axhline(float(hv.iloc[0]), color=qc[iq], linestyle=":", linewidth=0.6)
            shown.append(h["var"].to_numpy(float))
        values = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in shown] or [np.ones(1)])
        lo, hi = (values.min(), values.max()) if len(values) else (1e-3, 1.0)
        lo, hi = lo / 3, hi * 3
        floor = lo * 1.6
        if len(dead):
            for ax, key, values_, colors, xcol in (
                (ax_n, "n_layers", layers, lc, "n_qubits"),
                (ax_l, "n_qubits", qubits, qc, "n_layers"),
            ):
                c = [colors[values_.index(v)] for v in dead[key]]
                pts = ax.scatter(dead[xcol], np.full(len(dead), floor), marker="v",
                                 facecolors="none", edgecolors=c, s=18, linewidths=0.8)  # fmt: skip
            handles.setdefault("structurally zero (dead parameter)", pts)
        for ax in (ax_n, ax_l):
            ax.set_yscale("log")
            ax.set_ylim(lo, hi)
            ax.set_ylabel(r"Var[$\partial C/\partial\theta$]")
            ax.set_title(f"{cost} cost")
        ax_n.set_xlabel("qubits n")
        ax_n.set_xticks(qubits if len(qubits) <= 12 else ax_n.get_xticks())
        ax_l.set_xlabel("layers L")
        ax_l.set_xscale("log")
    fig.tight_layout(rect=(0, 0.09 if len(costs) == 1 else 0.05, 1, 1))
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="lower center",
                   ncol=min(len(handles), 4), frameon=False, fontsize=6)  # fmt: skip
    return fig


def figure_for(df: pd.DataFrame):
    """The figure function that draws a variance table: :func:`~bpdiag.figures.noise.noise_figure`
    with noisy rows (Var against depth per strength), else :func:`variance_figure` (which draws
    exact rows and shot noise too)."""
    if "noise" in df and (df["noise"] != "none").any():
        return noise_figure
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
