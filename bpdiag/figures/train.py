"""The training run's figure: loss curves, gradient norms and learning rates per epoch.

Reads the history table only (one row per epoch, columns of :func:`bpdiag.train.run_epoch`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from bpdiag.figures._style import COLUMN_WIDTH, _colors, style


def history_figure(df: pd.DataFrame, meta: dict | None = None):
    """Loss curves (train, validation), gradient norms (total and per layer) and learning rates
    against epoch, three panels side by side."""

    style()
    fig, axes = plt.subplots(1, 3, figsize=(2.2 * COLUMN_WIDTH, 0.75 * COLUMN_WIDTH))
    ep = df["epoch"]
    ax = axes[0]
    ax.plot(ep, df["train_loss"], label="train")
    ax.plot(ep, df["val_loss"], label="validation")
    ax.set(xlabel="epoch", ylabel="MSE (standardised)", yscale="log", title="loss")
    ax.legend()
    ax = axes[1]
    cols = ["grad_norm"] + [c for c in df.columns if c.startswith("grad_norm_")]
    for c, color in zip(cols, _colors(len(cols))):
        y = df[c].where(df[c] > 0)
        ax.plot(
            ep,
            y,
            label=c.replace("grad_norm_", "") if c != "grad_norm" else "total",
            color=color,
            lw=1.6 if c == "grad_norm" else 1.0,
        )
    ax.set(xlabel="epoch", ylabel="L2 norm", yscale="log", title="gradient norms")
    ax.legend(ncol=2)
    ax = axes[2]
    ax.plot(ep, df["lr"], label="classical")
    if df["lr_quantum"].notna().any():
        ax.plot(ep, df["lr_quantum"], ls="--", label="quantum")
    ax.set(xlabel="epoch", ylabel="learning rate", yscale="log", title="learning rate")
    ax.legend()
    fig.tight_layout()
    return fig
