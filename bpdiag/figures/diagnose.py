"""The figures of a trainability report (:func:`bpdiag.analyses.diagnose.diagnose`): one per
section that ran, drawn by the figure of the analysis the section comes from."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bpdiag.figures.entropy import entropy_figure  # noqa: E402
from bpdiag.figures.exact import variance_method_figure  # noqa: E402
from bpdiag.figures.lie import lie_figure  # noqa: E402
from bpdiag.figures.noise import noise_figure  # noqa: E402
from bpdiag.figures.variance import params_figure  # noqa: E402


def report_figures(result) -> dict[str, plt.Figure]:
    """``{section: Figure}`` for the sections of ``result`` (a diagnose Result) that have a
    table: ``scaling`` (Var against n and depth with the 2-design value), ``params`` (the
    per-parameter heat map), ``audit`` (predicted vs sampled variance, DLA dimension) and
    ``noise`` (Var against depth per noise strength) and ``entropy`` (against the Page curve)."""
    t, meta = result.tables, result.meta
    out: dict[str, plt.Figure] = {}
    if "scaling" in t:
        scaling = t["scaling"]
        out["scaling"] = variance_method_figure(
            scaling,
            {k: meta.get(k) for k in ("fits", "haar", "zero_factor") if meta.get(k) is not None},
        )
    if "params" in t and len(t["params"]):
        out["params"] = params_figure(t["params"])
    if "audit" in t:
        out["audit"] = lie_figure(t["audit"])
    if "noise" in t:
        out["noise"] = noise_figure(t["noise"], {"depth_fits": meta.get("depth_fits", [])})
    if "entropy" in t:
        out["entropy"] = entropy_figure(t["entropy"], {})
    return out
