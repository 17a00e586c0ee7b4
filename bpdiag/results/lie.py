"""Writing the Lie audit: ``lie.csv`` (one row per circuit), ``lie_params.csv`` (one row per
parameter), ``lie.json`` (configuration, per-circuit details, units) and the figure."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bpdiag.results import write_csv, write_result


def write_lie(result, out: str | Path, *, figure: Callable | None = None) -> dict[str, Path]:
    """Write a :func:`bpdiag.analyses.lie.lie` result into ``out``; returns the paths written.

    result: a Result with ``.table`` (circuits), ``.tables["params"]`` and ``.meta``;
    figure: ``f(table, meta) -> Figure`` (e.g. :func:`bpdiag.figures.lie.lie_figure`)."""
    out = Path(out)
    paths = write_result(result.table, result.meta, out, "lie", figure=figure)
    paths["params_csv"] = out / "lie_params.csv"
    write_csv(result.tables["params"], paths["params_csv"])
    return paths
