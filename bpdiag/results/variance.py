"""Writing the variance family's results: ``<out>/variance.*`` (or ``noise.*``), the shot
table ``<out>/variance_shots.*`` and the per-parameter table ``<out>/variance_params.*``.

The analyses (:func:`bpdiag.analyses.variance.variance`, ``noise_variance``) return a
:class:`~bpdiag.analyses._common.Result`; this module writes it with the figure that fits the
table (:func:`bpdiag.figures.variance.figure_for`).
"""

from __future__ import annotations

from pathlib import Path

from bpdiag.figures.exact import shots_figure
from bpdiag.figures.noise import noise_figure
from bpdiag.figures.variance import figure_for, params_figure
from bpdiag.results import write_result

#: Units of the shot table's JSON.
SHOT_UNITS = {
    "shot_var": "1/rad^2 (shot-noise variance of an N-shot parameter-shift gradient)",
    "shots_needed": "shots per shifted circuit for std[g] to exceed the shot noise",
}
#: Units of the per-parameter table's JSON.
PARAM_UNITS = {
    "var": "1/rad^2",
    "dead": "derivative |dC/dtheta| <= 1e-12 in every sample drawn (a sampled statement; the "
    "Lie audit's structurally dead parameters are the proof)",
}


def write(result, out: str | Path) -> dict[str, Path]:
    """Write a variance or noise :class:`~bpdiag.analyses._common.Result` into ``out``.

    ``meta["analysis"] == "noise"``: ``noise.csv``/``.json`` and the noise figure. Otherwise
    ``variance.csv`` (already appended by the run's sink; rewritten equal), ``variance.json``,
    the figure (``.png``/``.pdf``) and, when the result has a ``shots`` table,
    ``variance_shots.csv``/``.json``/figure (keys prefixed ``shots_``) and, when it has a
    ``params`` table (``param="all"``), ``variance_params.csv``/``.json`` and the heat map
    ``variance_params.png``/``.pdf`` (keys prefixed ``params_``). Returns the paths.
    """
    df, meta = result.table, result.meta
    if meta.get("analysis") == "noise":
        return write_result(df, meta, out, "noise", figure=noise_figure)
    paths = write_result(df, meta, out, "variance", figure=figure_for(df))
    shots = result.tables.get("shots")
    if shots is not None:
        info = {"analysis": "variance shots", "config": meta.get("config", {}), "units": SHOT_UNITS}
        more = write_result(shots, info, out, "variance_shots", figure=shots_figure)
        paths.update({f"shots_{k}": v for k, v in more.items()})
    per = result.tables.get("params")
    if per is not None:
        info = {"analysis": "variance params", "config": meta.get("config", {})}
        info["units"] = PARAM_UNITS
        more = write_result(per, info, out, "variance_params", figure=params_figure)
        paths.update({f"params_{k}": v for k, v in more.items()})
    return paths
