"""Figures of the noise analysis, drawn from the variance table with noise columns (nothing here
computes physics: the depth fits come from the metadata).

:func:`noise_figure`: (left) Var[dC/dtheta] against depth L, one curve per noise model (colour by
strength, marker and line style by qubit count), with error bars and the fitted ``2**(log2_A -
rate L)`` lines; (right) the fitted decay rate against noise strength with its standard error and
the lower bound of Wang et al. 2021 (dashed). One row per cost.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bpdiag.figures._style import COLUMN_WIDTH, LINESTYLES, MARKERS, _colors, style  # noqa: E402


def _fits(meta: dict) -> pd.DataFrame:
    """The depth fits the analysis computed (``meta["depth_fits"]``: records of
    :func:`bpdiag.analyses.noise.fit_depth_decay`); none drawn when absent."""
    return pd.DataFrame(meta.get("depth_fits", []))


def noise_figure(df: pd.DataFrame, meta: dict | None = None) -> plt.Figure:
    """Var against depth for several noise strengths, and the fitted rate against strength."""
    style()
    meta = meta or {}
    if "noise" not in df:
        df = df.assign(noise="none", noise_strength=0.0, noise_where="none")
    if "method" in df and (df["method"] == "sample").any():  # sampled rows only
        df = df[df["method"] == "sample"]
    fits = _fits(meta)
    if "method" in fits:
        fits = fits[fits["method"] == "sample"]
    costs = list(dict.fromkeys(df["cost"]))
    models = list(
        dict.fromkeys(df[["noise", "noise_strength", "noise_where"]].itertuples(index=False))
    )
    models.sort(key=lambda m: (m[0] != "none", m[0], m[1], m[2]))
    qubits = sorted(df["n_qubits"].unique())
    colors = dict(zip(models, _colors(len(models)), strict=True))
    fig, axes = plt.subplots(
        len(costs), 2, figsize=(2 * COLUMN_WIDTH, 2.4 * len(costs)), squeeze=False
    )
    for r, cost in enumerate(costs):
        ax_v, ax_r = axes[r]
        d = df[(df["cost"] == cost) & (df["var"] > 0)]
        for m in models:
            kind, p, where = m
            label_m = "noiseless" if kind == "none" else f"{kind} {p:g} ({where})"
            for iq, n in enumerate(qubits):
                g = d[
                    (d["noise"] == kind)
                    & (d["noise_strength"] == p)
                    & (d["noise_where"] == where)
                    & (d["n_qubits"] == n)
                ].sort_values("n_layers")
                if g.empty:
                    continue
                label = label_m if len(qubits) == 1 else f"{label_m}, n={n}"
                ax_v.errorbar(
                    g["n_layers"],
                    g["var"],
                    yerr=g["var_se"],
                    color=colors[m],
                    marker=MARKERS[iq % len(MARKERS)],
                    linestyle="none",
                    label=label,
                )
                f = (
                    fits[
                        (fits["cost"] == cost)
                        & (fits["n_qubits"] == n)
                        & (fits["noise"] == kind)
                        & (fits["noise_strength"] == p)
                        & (fits["noise_where"] == where)
                    ]
                    if len(fits)
                    else fits
                )
                if len(f):
                    f = f.iloc[0]
                    L = np.linspace(g["n_layers"].min(), g["n_layers"].max(), 50)
                    ax_v.plot(
                        L,
                        2 ** (f["log2_A"] - f["rate"] * L),
                        color=colors[m],
                        linestyle=LINESTYLES[iq % len(LINESTYLES)],
                        linewidth=0.8,
                    )
        ax_v.set_yscale("log")
        ax_v.set_xlabel("layers L")
        ax_v.set_ylabel(r"Var[$\partial C/\partial\theta$]")
        ax_v.set_title(f"{cost} cost")
        fc = fits[fits["cost"] == cost] if len(fits) else fits
        for ik, ((kind, where, n), g) in enumerate(
            fc.groupby(["noise", "noise_where", "n_qubits"], sort=False) if len(fc) else []
        ):
            g = g.sort_values("noise_strength")
            label = f"{kind} ({where}), n={n}" if kind != "none" else f"noiseless, n={n}"
            line = ax_r.errorbar(
                g["noise_strength"],
                g["rate"],
                yerr=g["rate_se"],
                marker=MARKERS[ik % len(MARKERS)],
                linestyle=LINESTYLES[ik % len(LINESTYLES)],
                label=label,
            )
            bound = g["rate_bound"].to_numpy(float)
            if np.isfinite(bound).any() and kind != "none":
                ax_r.plot(
                    g["noise_strength"],
                    bound,
                    color=line[0].get_color(),
                    linestyle="--",
                    linewidth=0.8,
                    label="bound (Wang et al. 2021)",
                )
        ax_r.axhline(0, color="0.5", linewidth=0.6)
        ax_r.set_xlabel("noise strength")
        ax_r.set_ylabel("decay rate (bits of Var per layer)")
        ax_r.set_title(f"{cost} cost: fitted Var ∝ 2^(-rate·L)")
    _outside_legends(fig, axes)
    return fig


def _outside_legends(fig, axes) -> None:
    """One legend per column, below the figure (never on the data; the figure grows to hold
    it); duplicate labels once."""
    import math

    cols = []
    for col in range(axes.shape[1]):
        seen: dict[str, object] = {}
        for ax in axes[:, col]:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                seen.setdefault(lab, h)
        cols.append(seen)
    rows = max([math.ceil(len(c) / 2) for c in cols] + [0])
    w, h = fig.get_size_inches()
    extra = 0.14 * rows + 0.15 if rows else 0.0
    fig.set_size_inches(w, h + extra)
    frac = extra / (h + extra)
    fig.tight_layout(rect=(0, frac, 1, 1))
    for seen, x in zip(cols, (0.27, 0.75)):
        if seen:
            fig.legend(list(seen.values()), list(seen), loc="upper center",
                       bbox_to_anchor=(x, frac), ncol=2, frameon=False, fontsize=5.5)  # fmt: skip
