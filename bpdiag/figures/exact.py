"""Figures of the exact method and shot noise, drawn from the variance table and its meta
(nothing here computes physics: the Haar values arrive in ``meta["haar"]``).

:func:`variance_method_figure`: exact lines and sampled points of Var[dC/dtheta] against n and
depth; :func:`shots_figure`: shots per circuit needed for the gradient's spread to exceed its
shot noise.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bpdiag.figures._style import COLUMN_WIDTH, LINESTYLES, MARKERS, _colors, style  # noqa: E402


def has_extras(df: pd.DataFrame) -> bool:
    """True if a variance table has exact rows or shot-noise columns (its figure is then
    :func:`variance_method_figure`)."""
    if "method" not in df:
        return False
    return bool((df["method"] == "exact").any() or df["shots_needed"].notna().any())


def variance_method_figure(df: pd.DataFrame, meta: dict | None = None):
    """Var[dC/dtheta] against n (left) and depth (right), one row per cost: exact results as
    lines (one line style per ansatz), sampled ones as points with standard-error bars, on the
    same axes; the Haar (2-design) value (``meta["haar"]``, records of cost, n_qubits, var) as a
    thin grey line against n. With shots, the
    shot-noise variance s1 / N of the exact rows (else of the sampled ones) is drawn dotted.
    Exact MPS rows (``bound`` column): proved intervals as bands, values converged in the bond
    dimension only (``bound = "none"``) as open circles."""
    style()
    meta = meta or {}
    haar = pd.DataFrame(meta.get("haar", []), columns=["cost", "n_qubits", "var"])
    if "noise" in df:
        df = df[df["noise"].fillna("none") == "none"]
    costs = list(dict.fromkeys(df["cost"]))
    fig, axes = plt.subplots(
        len(costs), 2, figsize=(2 * COLUMN_WIDTH, 2.6 * len(costs)), squeeze=False
    )
    ansatze = list(dict.fromkeys(df["ansatz"]))
    layers = sorted(df["n_layers"].unique())
    qubits = sorted(df["n_qubits"].unique())
    lc, qc = _colors(len(layers)), _colors(len(qubits))
    for r, cost in enumerate(costs):
        ax_n, ax_l = axes[r]
        d = df[(df["cost"] == cost) & (df["var"] > 0)]
        shot_label = "shot noise s1/N"
        for ia, a in enumerate(ansatze):
            ls, mk = LINESTYLES[ia % len(LINESTYLES)], MARKERS[ia % len(MARKERS)]
            for ax, key, values, colors, xcol in (
                (ax_n, "n_layers", layers, lc, "n_qubits"),
                (ax_l, "n_qubits", qubits, qc, "n_layers"),
            ):
                for iv, v in enumerate(values):
                    g = d[(d["ansatz"] == a) & (d[key] == v)].sort_values(xcol)
                    label = f"{a}, {'L' if key == 'n_layers' else 'n'}={v}"
                    ex, sa = g[g["method"] == "exact"], g[g["method"] != "exact"]
                    if len(ex):
                        ax.plot(
                            ex[xcol],
                            ex["var"],
                            color=colors[iv],
                            linestyle=ls,
                            marker=".",
                            markersize=2,
                            label=label + " exact",
                        )
                        _bounds(ax, ex, xcol, colors[iv])
                    if len(sa):
                        ax.errorbar(
                            sa[xcol],
                            sa["var"],
                            yerr=sa["var_se"],
                            color=colors[iv],
                            marker=mk,
                            linestyle="none",
                            label=label + " sampled",
                        )
                    sh = ex if len(ex) else sa
                    if len(sh) and sh["shot_var"].notna().any():
                        ax.plot(
                            sh[xcol],
                            sh["shot_var"],
                            color=colors[iv],
                            linestyle=":",
                            linewidth=0.8,
                            label=shot_label if ax is ax_n else None,
                        )
                        shot_label = None if ax is ax_n else shot_label
        h = haar[haar["cost"] == cost].sort_values("n_qubits")
        if len(d) and len(h):
            ax_n.plot(
                h["n_qubits"],
                h["var"],
                color="0.5",
                linewidth=0.6,
                label="Haar (2-design)",
            )
        for ax in (ax_n, ax_l):
            ax.set_yscale("log")
            ax.set_ylabel(r"Var[$\partial C/\partial\theta$]")
            ax.set_title(f"{cost} cost: lines exact, points sampled")
            ax.legend(ncol=2, frameon=False, fontsize=5)
        ax_n.set_xlabel("qubits n")
        ax_l.set_xlabel("layers L")
        ax_l.set_xscale("log")
    fig.tight_layout()
    return fig


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


def shots_figure(df: pd.DataFrame, meta: dict | None = None):
    """Shots per circuit needed for the gradient's spread to exceed its shot noise
    (``shots_needed`` = s1 / Var) against n, one panel per cost; exact lines, sampled points."""
    style()
    costs = list(dict.fromkeys(df["cost"]))
    fig, axes = plt.subplots(1, len(costs), figsize=(COLUMN_WIDTH * len(costs), 2.6), squeeze=False)
    groups = list(dict.fromkeys(zip(df["ansatz"], df["n_layers"])))
    colors = _colors(len(groups))
    for ax, cost in zip(axes[0], costs):
        d = df[(df["cost"] == cost) & np.isfinite(df["shots_needed"])]
        for ig, (a, L) in enumerate(groups):
            g = d[(d["ansatz"] == a) & (d["n_layers"] == L)].sort_values("n_qubits")
            ex, sa = g[g["method"] == "exact"], g[g["method"] != "exact"]
            if len(ex):
                ax.plot(
                    ex["n_qubits"],
                    ex["shots_needed"],
                    color=colors[ig],
                    marker=".",
                    label=f"{a}, L={L} exact",
                )
            if len(sa):
                ax.plot(
                    sa["n_qubits"],
                    sa["shots_needed"],
                    color=colors[ig],
                    marker="o",
                    linestyle="none",
                    label=f"{a}, L={L} sampled",
                )
        ax.set_yscale("log")
        ax.set_xlabel("qubits n")
        ax.set_ylabel("shots needed per circuit")
        ax.set_title(f"{cost} cost: std[g] > shot noise")
        ax.legend(frameon=False, fontsize=5)
    fig.tight_layout()
    return fig
