"""Figures of the systematic study: test loss vs subset, qc with its interval, gradient variance."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bpdiag.figures._style import COLUMN_WIDTH, _colors, style

_LOSS = "test_mse_scaled"


def _keys(runs: pd.DataFrame) -> list[str]:
    """The columns naming a configuration: ``market`` first when the study has that axis."""
    return ["market"] * ("market" in runs.columns) + ["ansatz", "n_qubits", "n_layers"]


def _configs(runs: pd.DataFrame) -> list[tuple]:
    return list(dict.fromkeys(runs[_keys(runs)].itertuples(index=False, name=None)))


def _select(df: pd.DataFrame, keys: list[str], values: tuple) -> pd.DataFrame:
    return df[np.logical_and.reduce([df[k] == v for k, v in zip(keys, values)])]


def _name(keys: list[str], values: tuple, sep: str = " ") -> str:
    """``original n=2 L=1``, with the market in front on a market axis."""
    *market, a, n, L = values
    return " ".join([*market, f"{a}{sep}n={n}{sep}L={L}"])


def loss_figure(runs: pd.DataFrame, history: pd.DataFrame | None = None) -> plt.Figure:
    """Test loss (scaled MSE) against subset size, one panel per circuit configuration: the
    hybrid and each twin, mean over seeds with the standard error as error bars."""
    style()
    configs = _configs(runs)
    cols = min(len(configs), 4)
    rows = int(np.ceil(len(configs) / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(2 * COLUMN_WIDTH, 1.9 * rows + 0.3), squeeze=False, sharey=True
    )
    models = list(dict.fromkeys(runs["model"]))
    colors = dict(zip(models, _colors(len(models))))
    keys = _keys(runs)
    for ax, values in zip(axes.flat, configs):
        d = _select(runs, keys, values)
        for m in models:
            g = d[d["model"] == m].groupby("subset")[_LOSS]
            mean, se = g.mean(), g.std(ddof=1) / np.sqrt(g.count())
            ax.errorbar(
                mean.index,
                mean.values,
                yerr=se.fillna(0).values,
                marker="o",
                color=colors[m],
                label=m,
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(_name(keys, values, ", "))
        ax.set_xlabel("training subset (rows)")
    for ax in axes[:, 0]:
        ax.set_ylabel("test MSE (scaled)")
    for ax in list(axes.flat)[len(configs) :]:
        ax.axis("off")
    axes.flat[0].legend(frameon=False)
    fig.tight_layout()
    return fig


def qc_figure(qc: pd.DataFrame, meta: dict | None = None) -> plt.Figure:
    """qc = 1 - q_avg/c_avg with its bootstrap interval, per configuration and subset, plus the
    overall value; the dashed line at 0 separates help (above) from harm (below)."""
    style()
    fig, ax = plt.subplots(figsize=(2 * COLUMN_WIDTH, 2.4))
    d = qc.reset_index(drop=True)
    market = d["market"] if "market" in d.columns else pd.Series("all", index=d.index)
    labels = [
        ("" if m == "all" else f"{m} ")
        + (
            "overall"
            if r.ansatz == "all"
            else f"{r.ansatz} n={r.n_qubits} L={r.n_layers}"
            + ("" if r.subset == "all" else f" s={r.subset}")
        )
        for m, r in zip(market, d.itertuples())
    ]
    twins = list(dict.fromkeys(d["twin"]))
    colors = dict(zip(twins, _colors(len(twins))))
    x = np.arange(len(d))
    for t in twins:
        m = (d["twin"] == t).to_numpy()
        yerr = np.stack([d["qc"] - d["qc_lo"], d["qc_hi"] - d["qc"]])[:, m]
        ax.errorbar(x[m], d["qc"][m], yerr=yerr, fmt="o", color=colors[t], label=f"vs {t} twin")
    ax.axhline(0, color="k", linestyle="--", linewidth=0.8)
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=75, ha="right", fontsize=5.5)
    ax.set_ylabel(r"$q_c = 1 - \bar q / \bar c$")
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # off the data
    fig.tight_layout()
    return fig


def qgrad_figure(runs: pd.DataFrame, history: pd.DataFrame | None) -> plt.Figure:
    """Variance of the quantum parameters' gradients against epoch, per configuration (mean
    over seeds and subsets of the hybrid runs). Identically zero variances are said in words,
    since a log axis cannot show them."""
    style()
    fig, ax = plt.subplots(figsize=(COLUMN_WIDTH, 2.4))
    if history is None or history.empty:
        ax.text(0.5, 0.5, "no per-epoch history", ha="center", transform=ax.transAxes)
        return fig
    keys = _keys(runs)
    q = runs[runs["model"] == "quantum"][["run_id", *keys]]
    h = history.merge(q, on="run_id")
    configs = _configs(q)
    colors = _colors(len(configs))
    zero = []
    for color, values in zip(colors, configs):
        g = _select(h, keys, values)
        name = _name(keys, values)
        v = g.groupby("epoch")["qgrad_var"]
        mean, se = v.mean(), v.std(ddof=1) / np.sqrt(v.count())
        if (mean.abs() < 1e-30).all():
            zero.append(name)
            continue
        ax.errorbar(
            mean.index,
            mean.values,
            yerr=se.fillna(0).values,
            marker="o",
            color=color,
            label=name,
        )
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("Var of quantum gradients")
    if zero:
        ax.text(
            0.02,
            0.02,
            "identically zero:\n" + "\n".join(zero),
            transform=ax.transAxes,
            fontsize=6,
            va="bottom",
        )
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # off the data
    fig.tight_layout()
    return fig
