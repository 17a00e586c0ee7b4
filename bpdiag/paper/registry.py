"""The paper's registry: which table makes which figure with which function (:data:`FIGURES`),
and the experiments (``analyses/*.toml``) that write those tables (:class:`Experiment`).

Nothing here runs an analysis or writes a file: :mod:`bpdiag.paper.reproduce` runs experiments,
:mod:`bpdiag.paper.draw` draws figures and :mod:`bpdiag.results.paper` writes them.

>>> [f.name for f in FIGURES][:3]
['variance', 'noise', 'entropy']
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = [
    "ANALYSES",
    "FIGURES",
    "PROVENANCE",
    "Experiment",
    "Figure",
    "default_config_dir",
    "experiments",
    "figure_spec",
    "load_experiment",
    "registry",
]

ANALYSES = ("variance", "noise", "entropy", "lie", "study")
#: The file every :func:`bpdiag.paper.reproduce` run leaves in its result folder.
PROVENANCE = "reproduce.json"


# ---------------------------------------------------------------------------------------------
# Figures


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

    def applies(self, table: pd.DataFrame) -> bool:
        """Whether the source ``table`` holds the rows this figure needs (:attr:`requires`)."""
        if self.requires is None:
            return True
        column, value = self.requires
        return column in table and bool((table[column] == value).any())


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
        "bpdiag.figures.exact:variance_method_figure",
        "Exact gradient variances (lines, no sampling error) against sampled ones (points), "
        "with the shot-noise floor of N-shot parameter-shift gradients.",
        meta="variance.json",
        requires=("method", "exact"),
    ),
    Figure(
        "shots",
        "exact",
        ("variance_shots.csv",),
        "bpdiag.figures.exact:shots_figure",
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


def captions() -> dict[str, str]:
    """Figure name -> caption, for ``index.md``."""
    return {f.name: f.caption for f in FIGURES}


# ---------------------------------------------------------------------------------------------
# Experiments: analyses/*.toml


def default_config_dir() -> Path:
    """``./analyses`` if it exists, else the ``analyses/`` folder of the source checkout."""
    here = Path("analyses")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "analyses"


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


def _hints(obj, drop: set[str] = frozenset()) -> dict:
    """Option name -> type annotation of a config dataclass's fields or a function's keywords."""
    hints = typing.get_type_hints(obj)
    if dataclasses.is_dataclass(obj):
        names = {f.name for f in dataclasses.fields(obj)}
    else:
        names = set(inspect.signature(obj).parameters)
    return {k: hints.get(k, object) for k in sorted(names - drop)}


def _variance_options() -> dict:
    from bpdiag.analyses.variance import VarianceConfig

    return _hints(VarianceConfig, {"memory_budget"})


def _noise_options() -> dict:
    from bpdiag.analyses.variance import noise_variance

    named = _hints(noise_variance, {"out", "resume", "sink", "progress", "options"})
    return {**_variance_options(), **named}


def _entropy_options() -> dict:
    from bpdiag.analyses.entropy import EntropyConfig

    return _hints(EntropyConfig, {"memory_budget"})


def _lie_options() -> dict:
    from bpdiag.analyses.lie import LieConfig

    return _hints(LieConfig)


def _study_options() -> dict:
    from bpdiag.analyses.study import StudyConfig

    return _hints(StudyConfig)


#: analysis -> the options an experiment table may set (its keyword arguments) and their types.
OPTIONS: dict[str, Callable[[], dict]] = {
    "variance": _variance_options,
    "noise": _noise_options,
    "entropy": _entropy_options,
    "lie": _lie_options,
    "study": _study_options,
}


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate one experiment file (unknown analyses or options: one-line ValueError)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    from bpdiag.analyses._common import check_types

    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder: give an experiment file (analyses/NAME.toml)")
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
    if not options:
        raise ValueError(
            f"{path}: [{analysis}] sets no option; write the grid out (an empty experiment "
            "would run the whole default grid)"
        )
    allowed = OPTIONS[analysis]()
    for where, table in (("", options), ("[quick] ", quick)):
        if not isinstance(table, dict):
            raise ValueError(f"{path}: {where.strip() or analysis} must be a table")
        bad = sorted(set(table) - set(allowed))
        if bad:
            raise ValueError(
                f"{path}: {where}unknown {analysis} option {bad[0]!r}; "
                f"known: {', '.join(sorted(allowed))}"
            )
        check_types(f"{path}: {where}", table, allowed)
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
