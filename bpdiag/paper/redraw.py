"""Redraw the paper's figures from result folders alone (CSV + JSON; nothing is recomputed)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bpdiag.figures.paper import figure_data, polish
from bpdiag.paper.registry import FIGURES, PROVENANCE, Figure, captions, experiments, figure_spec
from bpdiag.paper.reproduce import run_experiment
from bpdiag.results import paper as _write

__all__ = ["draw", "figures", "find_folder", "load_tables", "save_figure", "write_index"]


def find_folder(results_dir: str | Path, spec: Figure) -> Path | None:
    """The folder holding ``spec``'s source table: ``results_dir/<folder>``, or ``results_dir``
    itself when it is named like the folder (a single result folder was given)."""
    results_dir = Path(results_dir)
    for folder in (results_dir / spec.folder, results_dir):
        if folder is results_dir and results_dir.name != spec.folder:
            continue
        if all((folder / t).is_file() for t in spec.tables):
            return folder
    return None


def load_tables(folder: Path, spec: Figure) -> tuple[list[pd.DataFrame], dict]:
    """The tables of ``spec`` read from ``folder`` and its JSON metadata (``{}`` if none).

    Raises ``ValueError`` naming the file when a table is empty or not CSV, or its JSON is
    corrupt."""
    tables = [_read_table(folder / t) for t in spec.tables]
    meta = {}
    if spec.meta and (folder / spec.meta).is_file():
        path = folder / spec.meta
        try:
            meta = json.loads(path.read_text())
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            raise ValueError(f"{path}: not valid JSON ({exc})") from None
    return tables, meta


def _read_table(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: empty table, no columns") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        msg = str(exc).strip().splitlines()[0]
        raise ValueError(f"{path}: not a readable CSV table ({msg})") from None


def draw(spec: Figure, folder: str | Path):
    """Draw ``spec`` from the result folder ``folder``; returns the matplotlib Figure."""
    import matplotlib

    matplotlib.use("Agg")
    tables, meta = load_tables(Path(folder), spec)
    fn = spec.draw_function()
    try:
        if spec.call == "tables":
            return fn(*tables)
        return fn(tables[0], meta)
    except KeyError as exc:  # a short or foreign table: name the file and the column
        where = " or ".join(str(Path(folder) / t) for t in spec.tables)
        raise ValueError(
            f"{where}: no column {exc.args[0]!r} (figure {spec.name} needs a complete "
            f"{spec.folder} result)"
        ) from None


def save_figure(fig, out_dir: str | Path, name: str) -> dict[str, Path]:
    """Write ``name.png`` (200 dpi), ``name.pdf`` (vector) and the data sidecar
    ``name.data.csv`` (:func:`~bpdiag.figures.paper.figure_data`) into ``out_dir``."""
    return _write.save_figure(fig, out_dir, name, figure_data(fig))


def write_index(df: pd.DataFrame, out_dir: str | Path, results_dir: str | Path) -> Path:
    """Write ``out_dir/index.md`` for the figures table ``df`` (with the registry's captions)."""
    return _write.write_index(df, out_dir, results_dir, captions())


def _provenance(folder: Path) -> dict:
    path = folder / PROVENANCE
    return json.loads(path.read_text()) if path.is_file() else {}


def _select(results_dir: Path, only: Sequence[str] | None) -> list[Figure]:
    specs = [figure_spec(n) for n in only] if only else list(FIGURES)
    if not only and not (results_dir / results_dir.name).is_dir():  # one result folder given
        own = [s for s in specs if s.folder == results_dir.name]
        specs = own or specs
    return specs


def _run_missing(results_dir: Path, specs: list[Figure], configs) -> None:
    """Run, at their ``[quick]`` size, the experiments whose result folder is missing."""
    wanted = {s.folder for s in specs}
    for exp in experiments(configs):
        if exp.name in wanted and not any(
            find_folder(results_dir, s) for s in specs if s.folder == exp.name
        ):
            run_experiment(exp, results_dir / exp.name, quick=True)


def _one(spec: Figure, results_dir: Path, out_dir: Path) -> dict | str:
    """Draw and save one figure: its row of the figures table, or why it was skipped."""
    folder = find_folder(results_dir, spec)
    if folder is None:
        return f"{spec.name}: no {spec.folder}/{spec.source} under {results_dir}"
    tables, _ = load_tables(folder, spec)
    if not spec.applies(tables[0]):
        return f"{spec.name}: {folder / spec.source} has no {spec.requires} rows"
    fig = draw(spec, folder)
    polish(fig)
    paths = save_figure(fig, out_dir, spec.name)
    prov = _provenance(folder)
    return {
        "figure": spec.name,
        "source": (folder / spec.source).as_posix(),
        "command": prov.get("command", f"(no {PROVENANCE}: see {folder / spec.source})"),
        "function": spec.function.replace(":", "."),
        "size": prov.get("size", "unknown"),
        "seconds": prov.get("wall_s"),
        "files": ";".join(p.name for p in paths.values()),
    }


def figures(
    results_dir: str | Path,
    out_dir: str | Path,
    quick: bool = False,
    *,
    only: Sequence[str] | None = None,
    configs: Sequence[str | Path] | None = None,
    index: bool = True,
) -> pd.DataFrame:
    """Redraw every registered figure whose result folder is under ``results_dir`` into
    ``out_dir`` (PNG, PDF, data sidecar) and write ``out_dir/index.md``.

    ``quick=True`` first runs, at their ``[quick]`` size, the experiments (of ``configs``, default
    ``analyses/*.toml``) whose result folder is missing, so that every figure can be drawn from
    nothing in seconds (CI). ``only`` restricts to some figure names. Figures whose results are
    missing are skipped with a warning (listed in ``df.attrs["skipped"]``); finding none is an
    error. Returns one row per figure written: ``figure, source, command, function, size,
    files``.
    """
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    specs = _select(results_dir, only)
    if quick:
        _run_missing(results_dir, specs, configs)
    done = [_one(spec, results_dir, out_dir) for spec in specs]
    rows = [d for d in done if isinstance(d, dict)]
    skipped = [d for d in done if isinstance(d, str)]
    for s in skipped:
        warnings.warn(f"skipped figure {s}", stacklevel=2)
    if not rows:
        raise FileNotFoundError(
            f"no result folders under {results_dir}; run `bpdiag reproduce --out {results_dir}` "
            "(or --quick) first"
        )
    df = pd.DataFrame(rows)
    df.attrs["skipped"] = skipped
    if index:
        write_index(df, out_dir, results_dir)
    return df
