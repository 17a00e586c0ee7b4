"""The paper's figures: which experiment writes which result table, and which table makes which
figure with which function.

Two steps, each one function (and one command):

1. :func:`reproduce` runs the experiments described by ``analyses/*.toml`` (one file per
   experiment; a ``[quick]`` table gives a small size for CI) and writes one result folder each:
   ``bpdiag reproduce --out results`` (or ``bpdiag reproduce analyses/variance.toml --out
   results/variance`` for one experiment).
2. :func:`figures` redraws every figure of the paper from those result folders alone (CSV + JSON,
   nothing is recomputed) in one publication style (:func:`bpdiag.figures.style`; vector PDF and
   PNG at column width, error bars everywhere), writes beside each figure a data sidecar
   ``<name>.data.csv`` with the points actually plotted (read back from the figure's artists), and
   an ``index.md`` saying which command and which result produced each figure:
   ``bpdiag figures --results results --out figures``.

An experiment file has one table named after its analysis (``[variance]``, ``[noise]``,
``[entropy]``, ``[lie]`` or ``[study]``) holding the keyword arguments of that analysis, and an
optional ``[quick]`` table of overrides:

.. code-block:: toml

    [variance]
    qubits = [2, 3, 4, 5, 6, 7, 8]
    ansatz = ["dense", "sparse"]

    [quick]
    qubits = [2, 3, 4]

>>> [f.name for f in FIGURES][:3]
['variance', 'noise', 'entropy']
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bpdiag import results as _io

ANALYSES = ("variance", "noise", "entropy", "lie", "study")
#: The file every :func:`reproduce` run leaves in its result folder (how and at what size).
PROVENANCE = "reproduce.json"
#: Columns of the data sidecar ``<figure>.data.csv`` (one row per plotted point).
DATA_COLUMNS = [
    "panel",
    "title",
    "xlabel",
    "ylabel",
    "series",
    "kind",
    "point",
    "x",
    "y",
    "yerr_lo",
    "yerr_hi",
]


# ---------------------------------------------------------------------------------------------
# The registry: which table makes which figure


@dataclass(frozen=True)
class Figure:
    """One figure of the paper.

    ``folder``: the result folder (under the results directory) that holds its ``tables``; the
    first table is *the* source table. ``function``: ``"module:function"`` drawing it, called as
    ``function(table, meta)`` (``call="table_meta"``, with the JSON ``meta`` beside the table) or
    ``function(*tables)`` (``call="tables"``). ``requires``: a column value the source table must
    contain for the figure to apply, e.g. ``("method", "exact")``.
    """

    name: str
    folder: str
    tables: tuple[str, ...]
    function: str
    caption: str
    meta: str | None = None
    call: str = "table_meta"
    requires: tuple[str, str] | None = None

    @property
    def source(self) -> str:
        return self.tables[0]

    def draw_function(self) -> Callable:
        module, name = self.function.split(":")
        return getattr(importlib.import_module(module), name)


FIGURES: tuple[Figure, ...] = (
    Figure(
        "variance",
        "variance",
        ("variance.csv",),
        "bpdiag.figures.variance:variance_figure",
        "Barren plateaus: Var[dC/dθ] against qubits (fits Var ∝ 2^(-b n)) and depth, dense vs "
        "sparse HEA, global vs local cost (McClean et al. 2018; Cerezo et al. 2021).",
        meta="variance.json",
    ),
    Figure(
        "noise",
        "noise",
        ("noise.csv",),
        "bpdiag.figures.noise:noise_figure",
        "Noise-induced barren plateaus: Var[dC/dθ] against depth for several depolarizing "
        "strengths, and the fitted decay rate against the bound of Wang et al. 2021.",
        meta="noise.json",
    ),
    Figure(
        "entropy",
        "entropy",
        ("entropy.csv",),
        "bpdiag.figures.entropy:entropy_figure",
        "Entanglement of data-encoded states against the Page curve (Page 1993): entropy "
        "against cut size, and half-cut entropy against qubits.",
        meta="entropy.json",
    ),
    Figure(
        "lie",
        "lie",
        ("lie.csv",),
        "bpdiag.figures.lie:lie_figure",
        "Lie audit of the regressor's circuits: cost variance predicted by the dynamical Lie "
        "algebra (Ragone et al. 2024) next to the sampled one, and the DLA dimension.",
        meta="lie.json",
    ),
    Figure(
        "study_qc",
        "study",
        ("qc.csv",),
        "bpdiag.figures.study:qc_figure",
        "The 36-model study: qc = 1 - q_avg/c_avg per configuration with its 95% bootstrap "
        "interval over seeds; below 0 the quantum layer hurts.",
        meta="qc.json",
    ),
    Figure(
        "study_loss",
        "study",
        ("runs.csv", "history.csv"),
        "bpdiag.figures.study:loss_figure",
        "The 36-model study: test loss against training-set size, hybrids and their classical "
        "twins (mean over seeds ± standard error).",
        call="tables",
    ),
    Figure(
        "study_qgrad",
        "study",
        ("runs.csv", "history.csv"),
        "bpdiag.figures.study:qgrad_figure",
        "The 36-model study: variance of the quantum parameters' gradients during training.",
        call="tables",
    ),
    Figure(
        "exact",
        "exact",
        ("variance.csv",),
        "bpdiag.analyses.exact:variance_method_figure",
        "Exact gradient variances (lines, no sampling error) against sampled ones (points), "
        "with the shot-noise floor of N-shot parameter-shift gradients.",
        meta="variance.json",
        requires=("method", "exact"),
    ),
    Figure(
        "shots",
        "exact",
        ("variance_shots.csv",),
        "bpdiag.analyses.exact:shots_figure",
        "Shots per circuit needed for the gradient's spread to exceed its shot noise.",
        meta="variance_shots.json",
    ),
)


def figure_spec(name: str) -> Figure:
    """The registered :class:`Figure` called ``name``."""
    for f in FIGURES:
        if f.name == name:
            return f
    raise ValueError(f"unknown figure {name!r}; choose from {', '.join(f.name for f in FIGURES)}")


def registry() -> pd.DataFrame:
    """The registry as a table: figure, folder, source table, other tables, function, caption."""
    return pd.DataFrame(
        [
            {
                "figure": f.name,
                "folder": f.folder,
                "source": f.source,
                "tables": ";".join(f.tables),
                "function": f.function,
                "caption": f.caption,
            }
            for f in FIGURES
        ]
    )


# ---------------------------------------------------------------------------------------------
# Experiments: analyses/*.toml


def default_config_dir() -> Path:
    """``./analyses`` if it exists, else the ``analyses/`` folder of the source checkout."""
    here = Path("analyses")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parent.parent / "analyses"


@dataclass(frozen=True)
class Experiment:
    """One ``analyses/*.toml`` file: the analysis it runs, its options, and the quick overrides."""

    path: Path
    analysis: str
    options: dict
    quick: dict

    @property
    def name(self) -> str:
        return self.path.stem

    def settings(self, quick: bool = False) -> dict:
        """The options at full size, or with the ``[quick]`` overrides (tables merged)."""
        out = dict(self.options)
        if quick:
            for k, v in self.quick.items():
                out[k] = {**out.get(k, {}), **v} if isinstance(v, dict) else v
        return out

    def command(self, out: str | Path, quick: bool = False) -> str:
        """The one command that writes this experiment's result folder ``out``."""
        return f"bpdiag reproduce {self.path.as_posix()} --out {Path(out).as_posix()}" + (
            " --quick" if quick else ""
        )


def _allowed(analysis: str) -> set[str]:
    """Option names an experiment table may set (the analysis function's keyword arguments)."""
    fields = lambda cls: {f.name for f in dataclasses.fields(cls)}  # noqa: E731
    if analysis == "variance":
        from bpdiag.analyses.variance import VarianceConfig

        return fields(VarianceConfig) - {"memory_budget"}
    if analysis == "noise":
        from bpdiag.analyses.noise import sweep
        from bpdiag.analyses.variance import VarianceConfig

        named = set(inspect.signature(sweep).parameters) - {"out", "resume", "progress", "options"}
        return named | fields(VarianceConfig) - {"memory_budget", "noise_where"} | {"min_layers"}
    if analysis == "entropy":
        from bpdiag.analyses.entropy import EntropyConfig

        return fields(EntropyConfig) - {"memory_budget"}
    if analysis == "lie":
        from bpdiag.analyses.lie import LieConfig

        return fields(LieConfig)
    from bpdiag.analyses.study import StudyConfig

    return fields(StudyConfig)


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate one experiment file (unknown analyses or options: one-line ValueError)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"experiment file {path} does not exist")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    quick = raw.pop("quick", {})
    tables = [k for k, v in raw.items() if isinstance(v, dict)]
    if len(tables) != 1 or tables[0] not in ANALYSES or len(raw) != 1:
        raise ValueError(
            f"{path}: needs exactly one table named after its analysis "
            f"({', '.join(ANALYSES)}) and an optional [quick] table, found {sorted(raw) or 'none'}"
        )
    analysis = tables[0]
    options = raw[analysis]
    allowed = _allowed(analysis)
    for where, table in (("", options), ("[quick] ", quick)):
        bad = sorted(set(table) - allowed)
        if bad:
            raise ValueError(
                f"{path}: {where}unknown {analysis} option {bad[0]!r}; "
                f"known: {', '.join(sorted(allowed))}"
            )
    return Experiment(path, analysis, options, quick)


def experiments(configs: Sequence[str | Path] | None = None) -> list[Experiment]:
    """The experiments of ``configs`` (files), or every ``*.toml`` of :func:`default_config_dir`
    in the order of :data:`ANALYSES` (then by name)."""
    if not configs:
        directory = default_config_dir()
        paths = sorted(directory.glob("*.toml"))
        if not paths:
            raise FileNotFoundError(f"no experiment files (*.toml) in {directory}")
    else:
        paths = [Path(p) for p in configs]
    exps = [load_experiment(p) for p in paths]
    if not configs:
        exps.sort(key=lambda e: (ANALYSES.index(e.analysis), e.name != e.analysis, e.name))
    return exps


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
    """Run one experiment into the result folder ``out`` with its analysis's own ``write``
    (tables, JSON, the analysis's figure), then write ``out/reproduce.json`` (experiment file,
    size, options, command, wall time). Returns the paths written."""
    out = Path(out)
    opts = _tuples(exp.settings(quick))
    t0 = time.perf_counter()
    if exp.analysis == "variance":
        from bpdiag.analyses import variance as va

        df = va.variance(out=out, resume=resume, progress=progress, **opts)
        paths = va.write(df, out)
    elif exp.analysis == "noise":
        from bpdiag.analyses import noise as nz

        min_layers = int(opts.pop("min_layers", 1))
        df = nz.sweep(out=out, resume=resume, progress=progress, **opts)
        paths = nz.write(df, out, min_layers=min_layers)
    elif exp.analysis == "entropy":
        from bpdiag.analyses import entropy as en

        df = en.entropy(out=out, resume=resume, progress=progress, **opts)
        paths = en.write(df, out)
    elif exp.analysis == "lie":
        from bpdiag.analyses import lie as la

        paths = la.write(la.lie(progress=progress, **opts), out)
    else:
        from bpdiag.analyses import study as st

        if "train" in opts:
            opts["train"] = dict(opts["train"])
        config = st.StudyConfig(**opts)
        runs, qc = st.study(config, out=out, resume=resume, jobs=jobs, progress=progress)
        paths = st.write(runs, qc, out, wall_s=time.perf_counter() - t0)
    wall = time.perf_counter() - t0
    info = {
        "experiment": exp.path.as_posix(),
        "analysis": exp.analysis,
        "size": "quick" if quick else "full",
        "options": exp.settings(quick),
        "command": exp.command(out, quick),
        "wall_s": round(wall, 1),
        "versions": _io.package_versions(),
    }
    paths["provenance"] = out / PROVENANCE
    _io.write_json(info, paths["provenance"])
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


# ---------------------------------------------------------------------------------------------
# Figures from result folders


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
    """The tables of ``spec`` read from ``folder`` and its JSON metadata (``{}`` if none)."""
    tables = [pd.read_csv(folder / t) for t in spec.tables]
    meta = {}
    if spec.meta and (folder / spec.meta).is_file():
        meta = json.loads((folder / spec.meta).read_text())
    return tables, meta


def _applies(spec: Figure, table: pd.DataFrame) -> bool:
    if spec.requires is None:
        return True
    column, value = spec.requires
    return column in table and bool((table[column] == value).any())


def draw(spec: Figure, folder: str | Path):
    """Draw ``spec`` from the result folder ``folder``; returns the matplotlib Figure."""
    import matplotlib

    matplotlib.use("Agg")
    tables, meta = load_tables(Path(folder), spec)
    fn = spec.draw_function()
    if spec.call == "tables":
        return fn(*tables)
    return fn(tables[0], meta)


def figure_data(fig) -> pd.DataFrame:
    """The points a matplotlib figure plots, read back from its artists: one row per point of
    every error bar (``kind="errorbar"``, with ``yerr_lo``/``yerr_hi``) and every line
    (``kind="line"``), with its panel (axes index), the panel's title and axis labels and the
    series' legend label. Columns :data:`DATA_COLUMNS`; x and y in data units."""
    from matplotlib.container import ErrorbarContainer

    rows = []
    for p, ax in enumerate(fig.axes):
        head = {
            "panel": p,
            "title": ax.get_title(),
            "xlabel": ax.get_xlabel(),
            "ylabel": ax.get_ylabel(),
        }
        owned = set()
        for cont in ax.containers:
            if not isinstance(cont, ErrorbarContainer):
                continue
            line, caps, bars = cont.lines
            owned.update(id(a) for a in (line, *caps) if a is not None)
            lo = hi = None
            if cont.has_yerr and bars:
                segs = bars[-1].get_segments()  # one vertical segment per point (empty: NaN)
                lo = np.array([s[0][1] if len(s) == 2 else np.nan for s in segs], float)
                hi = np.array([s[1][1] if len(s) == 2 else np.nan for s in segs], float)
            if line is not None:
                x = np.asarray(line.get_xdata(), float)
                y = np.asarray(line.get_ydata(), float)
            elif lo is not None:
                x = np.array(
                    [s[0][0] if len(s) == 2 else np.nan for s in bars[-1].get_segments()], float
                )
                y = (lo + hi) / 2
            else:
                continue
            if lo is None or len(lo) != len(y):
                lo = hi = np.full(len(y), np.nan)
            series = cont.get_label() or ""
            for i in range(len(x)):
                rows.append(
                    head
                    | {
                        "series": "" if series.startswith("_") else series,
                        "kind": "errorbar",
                        "point": i,
                        "x": x[i],
                        "y": y[i],
                        "yerr_lo": y[i] - lo[i],
                        "yerr_hi": hi[i] - y[i],
                    }
                )
        for line in ax.get_lines():
            if id(line) in owned:
                continue
            x = np.asarray(line.get_xdata(), float)
            y = np.asarray(line.get_ydata(), float)
            label = line.get_label() or ""
            for i in range(min(len(x), len(y))):
                rows.append(
                    head
                    | {
                        "series": "" if label.startswith("_") else label,
                        "kind": "line",
                        "point": i,
                        "x": x[i],
                        "y": y[i],
                        "yerr_lo": np.nan,
                        "yerr_hi": np.nan,
                    }
                )
    return pd.DataFrame(rows, columns=DATA_COLUMNS)


def polish(fig) -> None:
    """The one touch the paper adds to every analysis's figure (nothing plotted changes): a log x
    axis over a few integer positions (layers, training-set sizes) is ticked at exactly those
    positions in plain numbers, instead of overlapping ``2×10^0`` minor labels."""
    from matplotlib.ticker import NullFormatter

    for ax in fig.axes:
        if ax.get_xscale() != "log":
            continue
        xs = {
            float(v)
            for line in ax.get_lines()
            for v in np.asarray(line.get_xdata(), float)
            if np.isfinite(v) and v > 0
        }
        if 1 < len(xs) <= 12 and all(x.is_integer() for x in xs):
            ticks = sorted(xs)
            ax.set_xticks(ticks, [f"{x:g}" for x in ticks])
            ax.xaxis.set_minor_formatter(NullFormatter())


def save_figure(fig, out_dir: str | Path, name: str) -> dict[str, Path]:
    """Write ``name.png`` (200 dpi), ``name.pdf`` (vector) and the data sidecar
    ``name.data.csv`` (:func:`figure_data`) into ``out_dir``; byte-stable for equal inputs."""
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for ext in ("png", "pdf"):
        paths[ext] = out_dir / f"{name}.{ext}"
        fig.savefig(paths[ext], dpi=200, bbox_inches="tight", metadata=_io._fig_metadata(ext))
    paths["data"] = out_dir / f"{name}.data.csv"
    _io.write_csv(figure_data(fig), paths["data"])
    plt.close(fig)
    return paths


def _provenance(folder: Path) -> dict:
    path = folder / PROVENANCE
    return json.loads(path.read_text()) if path.is_file() else {}


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
    specs = [figure_spec(n) for n in only] if only else list(FIGURES)
    if not only and not (results_dir / results_dir.name).is_dir():  # one result folder given
        own = [s for s in specs if s.folder == results_dir.name]
        specs = own or specs
    if quick:
        wanted = {s.folder for s in specs}
        for exp in experiments(configs):
            folder = results_dir / exp.name
            if exp.name in wanted and not any(
                find_folder(results_dir, s) for s in specs if s.folder == exp.name
            ):
                run_experiment(exp, folder, quick=True)
    rows, skipped = [], []
    for spec in specs:
        folder = find_folder(results_dir, spec)
        if folder is None:
            skipped.append(f"{spec.name}: no {spec.folder}/{spec.source} under {results_dir}")
            continue
        tables, _ = load_tables(folder, spec)
        if not _applies(spec, tables[0]):
            skipped.append(f"{spec.name}: {folder / spec.source} has no {spec.requires} rows")
            continue
        fig = draw(spec, folder)
        polish(fig)
        paths = save_figure(fig, out_dir, spec.name)
        prov = _provenance(folder)
        rows.append(
            {
                "figure": spec.name,
                "source": (folder / spec.source).as_posix(),
                "command": prov.get("command", f"(no {PROVENANCE}: see {folder / spec.source})"),
                "function": spec.function.replace(":", "."),
                "size": prov.get("size", "unknown"),
                "seconds": prov.get("wall_s"),
                "files": ";".join(p.name for p in paths.values()),
            }
        )
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


_KIND = {"png": "PNG", "pdf": "PDF (vector)", "data.csv": "plotted points (CSV)"}


def write_index(df: pd.DataFrame, out_dir: str | Path, results_dir: str | Path) -> Path:
    """Write ``out_dir/index.md``: for every figure, its files, what it shows, the result table
    it was drawn from, the command that produced that table, at which size, and the function
    that drew it."""
    out_dir, results_dir = Path(out_dir), Path(results_dir)
    lines = [
        "# Figures",
        "",
        "Generated by `bpdiag figures --results "
        f"{results_dir.as_posix()} --out {out_dir.as_posix()}`: do not edit, rerun it. Each "
        "figure is drawn from its result table alone; `<figure>.data.csv` lists the points it "
        "plots (read back from the figure), so they can be checked against the table. Result "
        "folders are not committed: the command in each row rewrites them (seeded, so the same "
        "numbers). Size *full* is the paper's size; *quick* is the small CI size; seconds are the "
        "wall time of the run that wrote the result folder.",
        "",
    ]
    captions = {f.name: f.caption for f in FIGURES}
    for i, r in enumerate(df.itertuples(index=False), start=1):
        links = ", ".join(f"[{_KIND.get(f.split('.', 1)[1], f)}]({f})" for f in r.files.split(";"))
        seconds = "" if r.seconds is None or pd.isna(r.seconds) else f", {r.seconds:.0f} s"
        lines += [
            f"## Figure {i}: `{r.figure}`",
            "",
            f"![{r.figure}]({r.figure}.png)",
            "",
            captions.get(r.figure, ""),
            "",
            f"- files: {links}",
            f"- result table: `{r.source}`",
            f"- made by: `{r.command}` (size: {r.size}{seconds})",
            f"- drawn by: `{r.function}` via `bpdiag figures`",
            "",
        ]
    path = out_dir / "index.md"
    path.write_text("\n".join(lines))
    return path


__all__ = [
    "ANALYSES",
    "DATA_COLUMNS",
    "FIGURES",
    "Experiment",
    "Figure",
    "draw",
    "experiments",
    "figure_data",
    "figure_spec",
    "figures",
    "find_folder",
    "load_experiment",
    "load_tables",
    "polish",
    "registry",
    "reproduce",
    "run_experiment",
    "save_figure",
    "write_index",
]
