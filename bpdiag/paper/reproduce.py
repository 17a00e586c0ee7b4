"""Run the paper's experiments: one result folder per ``analyses/*.toml`` file.

Each analysis is called in exactly one small function of :data:`RUNNERS` (analysis name ->
``runner(opts, out, *, resume, jobs, progress) -> paths``): the one place to adapt when an
analysis's entry point changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from bpdiag import results
from bpdiag.paper.registry import PROVENANCE, Experiment, experiments
from bpdiag.results.paper import write_provenance

__all__ = ["RUNNERS", "reproduce", "run_experiment"]

Runner = Callable[..., dict[str, Path]]


def _run_variance(opts: dict, out: Path, *, resume: bool, jobs: int, progress: bool) -> dict:
    from bpdiag.analyses import variance as va
    from bpdiag.results import variance as write

    sink = results.CsvSink(
        out / "variance.csv", va.COLUMNS, va.KEY, "variance", resume=resume, point=va.POINT
    )
    return write.write(va.variance(sink=sink, progress=progress, **opts), out)


def _run_noise(opts: dict, out: Path, *, resume: bool, jobs: int, progress: bool) -> dict:
    from bpdiag.analyses import variance as va
    from bpdiag.results import variance as write

    sink = results.CsvSink(
        out / "variance.csv", va.COLUMNS, va.KEY, "variance", resume=resume, point=va.POINT
    )
    return write.write(va.noise_variance(sink=sink, progress=progress, **opts), out)


def _run_entropy(opts: dict, out: Path, *, resume: bool, jobs: int, progress: bool) -> dict:
    from bpdiag.analyses import entropy as en
    from bpdiag.figures.entropy import entropy_figure

    sink = results.CsvSink(
        out / "entropy.csv", en.COLUMNS, en.KEY, "entropy", resume=resume, point=en.KEY
    )
    res = en.entropy(sink=sink, progress=progress, **opts)
    return results.write_result(res.table, res.meta, out, "entropy", figure=entropy_figure)


def _run_lie(opts: dict, out: Path, *, resume: bool, jobs: int, progress: bool) -> dict:
    from bpdiag.analyses import lie as la
    from bpdiag.figures.lie import lie_figure
    from bpdiag.results.lie import write_lie

    return write_lie(la.lie(progress=progress, **opts), out, figure=lie_figure)


def _run_study(opts: dict, out: Path, *, resume: bool, jobs: int, progress: bool) -> dict:
    from bpdiag.analyses import study as st
    from bpdiag.results.study import study_sinks, write_study

    if "train" in opts:
        opts["train"] = dict(opts["train"])
    config = st.StudyConfig(**opts)
    runs, history = study_sinks(out, config.run_columns(), st.HISTORY_COLUMNS, resume=resume)
    res = st.study(config, sink=runs, history_sink=history, jobs=jobs, progress=progress)
    return write_study(res, out)


#: analysis name -> the one function that runs it into a result folder and writes it.
RUNNERS: dict[str, Runner] = {
    "variance": _run_variance,
    "noise": _run_noise,
    "entropy": _run_entropy,
    "lie": _run_lie,
    "study": _run_study,
}


def _tuples(options: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}


def run_experiment(
    exp: Experiment,
    out: str | Path,
    *,
    quick: bool = False,
    resume: bool = False,
    jobs: int = 1,
    progress: bool = False,
) -> dict[str, Path]:
    """Run one experiment into the result folder ``out`` through :data:`RUNNERS` (tables, JSON,
    the analysis's figure), then write ``out/reproduce.json`` (experiment file, size, options,
    command, wall time). Returns the paths written."""
    out = Path(out)
    t0 = time.perf_counter()
    run = RUNNERS[exp.analysis]
    paths = run(_tuples(exp.settings(quick)), out, resume=resume, jobs=jobs, progress=progress)
    info = {
        "experiment": exp.path.as_posix(),
        "analysis": exp.analysis,
        "size": "quick" if quick else "full",
        "options": exp.settings(quick),
        "command": exp.command(out, quick),
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    paths["provenance"] = write_provenance(info, out / PROVENANCE)
    return paths


def reproduce(
    configs: Sequence[str | Path] | None = None,
    out: str | Path = "results",
    *,
    quick: bool = False,
    resume: bool = False,
    jobs: int = 1,
    progress: bool = False,
    nested: bool | None = None,
) -> pd.DataFrame:
    """Run experiments (every ``analyses/*.toml`` when ``configs`` is empty).

    With one experiment file (and ``nested`` not True), ``out`` is its result folder; otherwise
    each experiment writes ``out/<file stem>``. Returns one row per experiment: ``experiment,
    analysis, size, out, seconds, command``.
    """
    exps = experiments(configs)
    if nested is None:
        nested = not configs or len(exps) > 1
    if not nested and len(exps) > 1:
        raise ValueError("several experiments need nested result folders (out/<name>)")
    rows = []
    for exp in exps:
        folder = Path(out) / exp.name if nested else Path(out)
        t0 = time.perf_counter()
        run_experiment(exp, folder, quick=quick, resume=resume, jobs=jobs, progress=progress)
        rows.append(
            {
                "experiment": exp.path.as_posix(),
                "analysis": exp.analysis,
                "size": "quick" if quick else "full",
                "out": folder.as_posix(),
                "seconds": round(time.perf_counter() - t0, 1),
                "command": exp.command(folder, quick),
            }
        )
    return pd.DataFrame(rows)
