"""Figure for ``bpdiag lie``: predicted vs sampled cost variance, and DLA dimension, against n.

Drawn from the ``lie.csv`` table alone; nothing here computes physics.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bpdiag.figures._style import COLUMN_WIDTH, MARKERS, _colors, style  # noqa: E402


def lie_figure(df: pd.DataFrame, meta: dict | None = None) -> plt.Figure:
    """Left: Var_theta[C] at ``deep_layers`` against n, predicted by the DLA (lines) and sampled
    (markers with standard errors), one colour per ansatz; exact zeros are listed in the legend.
    Right: log2 of the DLA dimension of the audited circuits against n (exact integers in the
    table, up to 4^n - 1 = dim su(2^n), drawn dashed)."""
    style()
    fig, (ax_v, ax_d) = plt.subplots(1, 2, figsize=(2 * COLUMN_WIDTH, 2.5))
    several = "cost" in df and df["cost"].nunique() > 1  # then each curve names its cost
    groups = list(df.groupby(["ansatz", "n_layers", "cost"], sort=False))
    colors = _colors(len(groups))
    for i, ((name, layers, cost), g) in enumerate(groups):
        ansatz = f"{name} ({cost})" if several else name
        g = g.sort_values("n_qubits")
        n = g["n_qubits"].to_numpy()
        c, m = colors[i], MARKERS[i % len(MARKERS)]
        pred = g["predicted_var"].to_numpy(float)
        samp = g["sampled_var"].to_numpy(float)
        se = g["sampled_var_se"].to_numpy(float)
        if np.all(np.nan_to_num(pred, nan=0.0) == 0) and np.all(np.nan_to_num(samp) < 1e-20):
            ax_v.plot([], [], color=c, marker=m, ls="none", label=f"{ansatz}: Var = 0 (exact)")
        else:
            ok = np.isfinite(pred) & (pred > 0)
            ax_v.plot(n[ok], pred[ok], color=c, label=f"{ansatz} predicted")
            ok = np.isfinite(samp) & (samp > 0)
            ax_v.errorbar(
                n[ok],
                samp[ok],
                yerr=se[ok],
                color=c,
                marker=m,
                ls="none",
                label=f"{ansatz} sampled",
            )
        ax_d.plot(n, g["dla_log2"].astype(float), color=c, marker=m, label=f"{ansatz}, L={layers}")
    qubits = np.array(sorted(df["n_qubits"].unique()))
    ax_d.plot(qubits, np.log2(4.0**qubits - 1), color="0.5", ls="--", label="su(2^n)")
    deep = sorted(df["deep_layers"].unique())
    ax_v.set(
        yscale="log", xlabel="qubits n", ylabel=f"Var[C] at L={','.join(str(v) for v in deep)}"
    )
    ax_d.set(xlabel="qubits n", ylabel="log2 DLA dimension")
    for ax in (ax_v, ax_d):
        if len(qubits) <= 12:
            ax.set_xticks(qubits)
        ax.legend(frameon=False)
    fig.tight_layout()
    return fig
