"""Writing the systematic study: the sinks ``runs.csv`` and ``history.csv`` are appended to as runs
finish (:func:`study_sinks`); :func:`write_study` rewrites them in grid order and writes
``qc.csv``/``qc.json``, ``paired.csv``, ``qgrad.csv``, ``diagnosis.csv``, ``study.json`` and the
figures ``qc``, ``study_loss``, ``study_qgrad``."""

from __future__ import annotations

import json
from pathlib import Path

from bpdiag.results import CsvSink, _fig_metadata, _jsonable, write_csv, write_result


def study_sinks(
    out: str | Path, run_columns: list[str], history_columns: list[str], resume: bool = False
) -> tuple[CsvSink, CsvSink]:
    """The study's resume sinks in ``out``: ``runs.csv`` keyed by ``run_id`` and
    ``history.csv`` keyed by ``(run_id, epoch)``. Without ``resume`` both start afresh."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = CsvSink(out / "runs.csv", run_columns, ["run_id"], "study runs", resume=resume)
    history = CsvSink(
        out / "history.csv",
        history_columns,
        ["run_id", "epoch"],
        "study history",
        resume=resume,  # epochs of a run without a row in runs.csv are recomputed by study()
    )
    return runs, history


def save_figure(fig, out: str | Path, name: str) -> dict[str, Path]:
    """Save ``fig`` as ``<out>/<name>.png`` and ``.pdf`` (fixed metadata: byte-stable) and close
    it; returns the paths, keyed ``<name>.png`` and ``<name>.pdf``."""
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for ext in ("png", "pdf"):
        paths[f"{name}.{ext}"] = out / f"{name}.{ext}"
        fig.savefig(paths[f"{name}.{ext}"], bbox_inches="tight", metadata=_fig_metadata(ext))
    plt.close(fig)
    return paths


def write_study(result, out: str | Path) -> dict[str, Path]:
    """Write a :func:`bpdiag.analyses.study.study` result into ``out``: ``runs.csv`` and
    ``history.csv`` in grid order (independent of scheduling), ``qc.csv``/``qc.json`` with the
    qc figure, the figures ``study_loss`` and ``study_qgrad``, and ``study.json``. Returns the
    paths written besides runs.csv, history.csv and study.json."""
    import matplotlib

    matplotlib.use("Agg")
    from bpdiag.figures import study as fs

    out = Path(out)
    runs, history, qc = result.table, result.tables["history"], result.tables["qc"]
    paths: dict[str, Path] = {}
    write_csv(runs, out / "runs.csv")
    write_csv(history, out / "history.csv")
    for name in ("paired", "qgrad", "diagnosis"):
        if name in result.tables:
            paths[f"{name}.csv"] = out / f"{name}.csv"
            write_csv(result.tables[name], paths[f"{name}.csv"])
    paths.update(write_result(qc, result.meta, out, "qc", figure=fs.qc_figure))
    for name, fig in (("study_loss", fs.loss_figure), ("study_qgrad", fs.qgrad_figure)):
        paths.update(save_figure(fig(runs, history), out, name))
    (out / "study.json").write_text(json.dumps(_jsonable(result.meta), indent=2, sort_keys=True))
    return paths
