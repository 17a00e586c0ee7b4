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

from bpdiag.figures._style import COLUMN_WIDTH, _colors, style  # noqa: E402


def variance_method_figure(df: pd.DataFrame, meta: dict | None = None):
    """Exact lines and sampled points of Var[dC/dtheta] against n and depth: the one variance
    figure, :func:`bpdiag.figures.variance.variance_figure` (kept under this name for the paper
    registry)."""
    from bpdiag.figures.variance import variance_figure

    return variance_figure(df, meta)


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
        ax.legend(frameon=False, fontsize=5, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig
