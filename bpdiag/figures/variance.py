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
