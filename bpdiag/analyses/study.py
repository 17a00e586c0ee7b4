"""The systematic study: hybrid models against classical twins, and the quantum contribution.

The original study trained 4 circuit configurations x subsets of 100/500/1000 rows x 3 seeds for
20 epochs, each against a classical twin, and reported

    qc = 1 - q_avg / c_avg

with ``q_avg`` the mean test loss (MSE of the standardised target) of the hybrid models and
``c_avg`` that of their twins; negative means the circuit hurts. Here every run is an independent
point (a :class:`bpdiag.train.TrainConfig`), run in this process, in local worker processes, or on
a Dask cluster; each finished run goes to a sink at once (``runs.csv`` on disk: the CLI passes a
:class:`bpdiag.results.CsvSink`), and the final tables are sorted in grid order, so results do
not depend on scheduling and ``--resume`` skips what is done. :func:`study` returns a
:class:`~bpdiag.analyses._common.Result`: ``.table`` the runs, ``.tables["history"]`` their
epochs, ``.tables["qc"]`` the quantum contribution; writing is :mod:`bpdiag.results.study`.

Markets are an axis too: ``data`` may list several sources, each with a short label (see
:class:`StudyConfig`); the runs and qc tables then carry a ``market`` column, and each source's
features use its market's conventions (:data:`bpdiag.data.MARKETS`).

>>> cfg = StudyConfig.default()
>>> len(cfg.runs())  # 4 configs x 3 subsets x 10 seeds x (hybrid + identity twin)
240
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bpdiag._resources import as_axes
from bpdiag.analyses._common import MemorySink, Result, Sink, check_executor, run_grid

#: Columns of runs.csv that identify a run (all other columns are its results); a study over
#: several markets adds ``market`` after ``run_id`` (:func:`run_columns`).
RUN_KEYS = ["run_id", "ansatz", "n_qubits", "n_layers", "subset", "seed", "model"]
#: Every column of runs.csv, in order (losses on the standardised target; rmse, mae in rupees;
#: mape in percent). Wall times are in the meta, never in the table: same seed, same bytes.
RUN_COLUMNS = [
    *RUN_KEYS,
    "epochs_run",
    "best_epoch",
    "final_train_loss",
    "final_val_loss",
    "best_val_loss",
    "test_mse_scaled",
    "test_rmse",
    "test_mae",
    "test_mape",
    "test_r2",
    "n_params",
    "n_params_quantum",
    "qgrad_var_mean",
    "qgrad_var_per_epoch",
]
#: Columns of history.csv: one row per run and epoch.
HISTORY_COLUMNS = ["run_id", "epoch", "train_loss", "val_loss", "qgrad_var", "lr"]
#: Columns of qc.csv (``all`` marks an aggregated axis).
QC_COLUMNS = [
    "ansatz",
    "n_qubits",
    "n_layers",
    "subset",
    "twin",
    "q_avg",
    "c_avg",
    "qc",
    "qc_lo",
    "qc_hi",
    "n_seeds",
]
#: What the study compares: the test loss on the standardised target.
LOSS = "test_mse_scaled"
#: The market axis's column in runs.csv and qc.csv (present only when ``data`` is a list).
MARKET = "market"


def run_columns(markets: bool = False) -> list[str]:
    """The columns of runs.csv: :data:`RUN_COLUMNS`, with ``market`` after ``run_id`` when the
    study has a market axis."""
    return [RUN_COLUMNS[0], MARKET, *RUN_COLUMNS[1:]] if markets else list(RUN_COLUMNS)


def qc_columns(markets: bool = False) -> list[str]:
    """The columns of qc.csv: :data:`QC_COLUMNS`, with ``market`` first on a market axis."""
    return [MARKET, *QC_COLUMNS] if markets else list(QC_COLUMNS)


@dataclass(frozen=True)
class DataSource:
    """One entry of a study's ``data``: its short ``label`` (the ``market`` column), the option
    file or folder ``path`` (or ``"synthetic"``), and optional ``index`` / ``vix`` histories and
    ``rate`` / ``dividend_yield`` overrides (None: the market's, :data:`bpdiag.data.MARKETS`)."""

    label: str
    path: str
    index: str | None = None
    vix: str | None = None
    rate: float | None = None
    dividend_yield: float | None = None


#: What a label may be: short, no spaces (it prefixes run ids and labels figures).
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,15}")
_SOURCE_KEYS = tuple(f.name for f in dataclasses.fields(DataSource))


def data_sources(
    data: str | tuple, index: str | None = None, vix: str | None = None
) -> tuple[DataSource, ...]:
    """The data sources of a study's ``data`` (see :class:`StudyConfig`), checked: labels short
    and distinct, every path, index and vix present. Bad entries raise one-line ValueErrors."""
    from bpdiag.data import MARKETS

    if isinstance(data, str):
        return (
            _checked(DataSource("synthetic" if data == "synthetic" else "data", data, index, vix)),
        )
    if index is not None or vix is not None:
        raise ValueError(
            "index/vix apply to one data source; with a list of data give each entry its own: "
            'data = [{label = "spx", path = "...", index = "..."}]'
        )
    if not data:
        raise ValueError("data must not be empty")
    out = []
    for entry in data:
        if isinstance(entry, str) and entry == "synthetic":
            out.append(DataSource("synthetic", "synthetic"))
        elif isinstance(entry, str) and entry.lower() in MARKETS:
            raise ValueError(
                f'data: market {entry!r} has no data; give its chain: {{label = "{entry}", '
                'path = "<option file or folder>", index = "<index history>"}'
            )
        elif isinstance(entry, str):
            raise ValueError(
                f'data: {entry!r} needs a short label: {{label = "...", path = "{entry}"}}'
            )
        elif isinstance(entry, dict):
            unknown = sorted(set(entry) - set(_SOURCE_KEYS))
            if unknown:
                raise ValueError(
                    f"data: unknown key {unknown[0]!r} in {entry}; known: {', '.join(_SOURCE_KEYS)}"
                )
            if "label" not in entry:
                raise ValueError(f"data: entry {entry} has no label (a short name: label = ...)")
            if "path" not in entry:
                raise ValueError(
                    f'data: market {entry["label"]!r} has no data: give its path = "<option file '
                    'or folder>" (or "synthetic")'
                )
            out.append(DataSource(**entry))
        else:
            raise ValueError(f"data: each entry is a string or a table, got {entry!r}")
    labels = [s.label for s in out]
    dup = next((x for x in labels if labels.count(x) > 1), None)
    if dup is not None:
        raise ValueError(f"data: label {dup!r} is used twice; give each source its own label")
    return tuple(_checked(s) for s in out)


def _checked(src: DataSource) -> DataSource:
    """``src`` after checking its label, its paths and its numbers (one line each)."""
    if not isinstance(src.label, str) or not _LABEL.fullmatch(src.label):
        raise ValueError(
            f"data: label {src.label!r} must be short: 1-16 letters, digits or _.+- (no spaces)"
        )
    for key in ("path", "index", "vix"):
        value = getattr(src, key)
        if value is None or (key == "path" and value == "synthetic"):
            continue
        if not isinstance(value, str):
            raise ValueError(f"data {src.label!r}: {key} must be a path (a string), got {value!r}")
        if not Path(value).exists():
            raise ValueError(f"data {src.label!r}: {key} {value}: no such file or folder")
    for key in ("rate", "dividend_yield"):
        value = getattr(src, key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValueError(f"data {src.label!r}: {key} must be a number, got {value!r}")
    return src


@dataclass(frozen=True)
class StudyConfig:
    """The grid of a study; every axis can be set from a TOML file (see :meth:`from_toml`).

    ``train`` holds further :class:`bpdiag.train.TrainConfig` fields shared by every run
    (``batch_size``, ``lr``, ``lr_quantum``, ``hidden``, ``split``, ``reupload``, ...).

    ``data`` is one source (``"synthetic"`` or a path any option loader reads), with ``index``
    and ``vix`` the paths of its index and volatility-index histories (for chains without an
    underlying price: ``bpdiag train --index``), or a list of sources, the market axis, each a
    table with a short label (1-16 characters, no spaces; ``"synthetic"`` may stand alone)::

        data = [
          "synthetic",
          {label = "nifty", path = "chains/nifty/"},
          {label = "spx", path = "spx_chain.csv.gz", index = "sp500_daily.csv"},
        ]

    An entry may also set ``vix``, ``rate`` and ``dividend_yield`` (default: the market's,
    :data:`bpdiag.data.MARKETS`). With a list, runs.csv and qc.csv get a ``market`` column
    (the labels), run ids start with the label, and qc is given per market and overall. A
    market named without its data (``"spx"``, or a table without ``path``), a path that does not
    exist or a repeated label is refused in one line.
    """

    ansatz: tuple[str, ...] = ("original",)
    circuit: tuple[str, ...] = ()
    qubits: tuple[int, ...] = (2, 4)
    layers: tuple[int, ...] = (1, 2)
    subsets: tuple[int, ...] = (100, 500, 1000)
    seeds: tuple[int, ...] = tuple(range(10))
    epochs: int = 20
    twins: tuple[str, ...] = ("identity",)
    data: str | tuple[str | dict, ...] = "synthetic"
    index: str | None = None
    vix: str | None = None
    bootstrap: int = 2000
    diagnosis_samples: int = 200
    train: dict = field(default_factory=dict)

    @classmethod
    def default(cls) -> StudyConfig:
        """The original grid: qubits {2, 4} x layers {1, 2}, ``original`` circuit, subsets
        100/500/1000, 20 epochs, identity twins, the bundled data, with 10 seeds (0-9; the
        original study had 3, too few to tell families apart)."""
        return cls()

    @classmethod
    def from_toml(cls, path: str | Path) -> StudyConfig:
        """Read a study from TOML: top-level keys are the fields of this class; a ``[train]``
        table passes further TrainConfig fields. Unknown keys, values of the wrong type, an empty
        file and a folder are errors (one line)."""
        import tomllib
        import typing

        from bpdiag.analyses._common import check_types
        from bpdiag.train import TrainConfig

        path = Path(path)
        if path.is_dir():
            raise ValueError(f"study config {path} is a folder: give a TOML file")
        try:
            raw = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"study config {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML ({exc})") from None
        raw = raw.get("study", raw)
        if not raw:
            raise ValueError(
                f"{path}: sets no study option; write the grid out, or use --config default "
                "for the original grid"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - names)
        if unknown:
            raise ValueError(
                f"{path}: unknown key {unknown[0]!r}; known: {', '.join(sorted(names))}"
            )
        check_types(f"{path}: ", raw, typing.get_type_hints(cls))
        check_types(f"{path}: [train] ", raw.get("train", {}), typing.get_type_hints(TrainConfig))
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
        return cls(**kw)

    def __post_init__(self) -> None:
        from bpdiag.train import TrainConfig

        as_axes(self, ("ansatz", "qubits", "layers", "subsets", "seeds", "twins"), "study axis ")
        circuit = (self.circuit,) if isinstance(self.circuit, str) else tuple(self.circuit)
        object.__setattr__(self, "circuit", circuit)
        object.__setattr__(self, "_families", self._resolve_families())
        if isinstance(self.data, list):
            object.__setattr__(self, "data", tuple(self.data))
        object.__setattr__(self, "_sources", data_sources(self.data, self.index, self.vix))
        if self.bootstrap < 100:
            raise ValueError(f"bootstrap must be >= 100 resamples, got {self.bootstrap}")
        fields = {f.name for f in dataclasses.fields(TrainConfig)}
        bad = sorted(set(self.train) - fields)
        if bad:
            raise ValueError(f"unknown train option {bad[0]!r}")
        axes = {"data", "qubits", "layers", "ansatz", "circuit", "subset", "seed", "epochs"}
        axes |= {"twin", "reupload"}
        clash = sorted(set(self.train) & axes)
        if clash:
            raise ValueError(f"train option {clash[0]!r} is set by the study grid, not in [train]")
        # Validate one run of each kind now, so a bad grid fails before any training.
        for fam in self.families():
            for twin in (None, *self.twins):
                self.train_config(
                    fam, self.qubits[0], self.layers[0], self.subsets[0], self.seeds[0], twin
                )

    def _resolve_families(self) -> dict[str, dict]:
        """label -> the TrainConfig fields of that circuit family (see :meth:`families`)."""
        from bpdiag.circuits import ANSATZE
        from bpdiag.train import TrainConfig

        out: dict[str, dict] = {}
        for name in self.ansatz:
            base, _, extra = str(name).partition("+")
            if base not in ANSATZE or extra not in ("", "reupload"):
                raise ValueError(
                    f"unknown circuit family {name!r}; choose from {', '.join(ANSATZE)}, each "
                    "optionally with +reupload (e.g. original+reupload), or give your circuit as "
                    'circuit = ["SPEC"] (bpdiag study --circuit SPEC)'
                )
            out[name] = {"ansatz": base, "reupload": extra == "reupload"}
        for spec in self.circuit:
            if not isinstance(spec, str) or not spec.strip():
                raise ValueError(f"circuit: each entry is a circuit spec (a string), got {spec!r}")
            opts = {k: v for k, v in self.train.items() if k == "data_params"}
            try:
                label = TrainConfig(circuit=spec, baselines=False, **opts).ansatz
            except (ValueError, ImportError, AttributeError, FileNotFoundError) as exc:
                raise ValueError(f"circuit {spec!r}: {exc}") from None
            out[label] = {"circuit": spec}
        dup = [k for k in self.circuit if k in self.ansatz]
        if dup or len(out) < len(self.ansatz) + len(self.circuit):
            raise ValueError("circuit families: each family once (a label is repeated)")
        return out

    def families(self) -> tuple[str, ...]:
        """The circuit families, the study's ``ansatz`` column: the built-in ``ansatz`` entries
        (``original``, ``dense``, ``sparse``, ``mcclean``, each optionally ``+reupload``: the
        data re-uploaded before every layer), then each ``circuit`` spec's family label (your
        circuit as the quantum layer, :mod:`bpdiag.frontends`), in that order."""
        return tuple(self._families)

    def with_circuits(self, specs: tuple[str, ...]) -> StudyConfig:
        """This config with circuit families ``specs`` added (``bpdiag study --circuit``)."""
        if not specs:
            return self
        return dataclasses.replace(self, circuit=(*self.circuit, *specs), train=dict(self.train))

    def sources(self) -> tuple[DataSource, ...]:
        """The data sources, in grid order (one, labelled ``synthetic`` or ``data``, when
        ``data`` is a single string)."""
        return self._sources

    @property
    def markets(self) -> bool:
        """Whether the study has a market axis (``data`` is a list): a ``market`` column."""
        return isinstance(self.data, tuple)

    def with_data(self, index: str | None = None, vix: str | None = None) -> StudyConfig:
        """This config with the index / volatility-index history of its one data source set
        (``bpdiag study --index``); a list of sources is refused (each has its own)."""
        if index is None and vix is None:
            return self
        return dataclasses.replace(
            self, index=index or self.index, vix=vix or self.vix, train=dict(self.train)
        )

    def run_columns(self) -> list[str]:
        """The columns of this study's runs.csv (:func:`run_columns`)."""
        return run_columns(self.markets)

    def train_config(self, ansatz, qubits, layers, subset, seed, twin, source=None):
        from bpdiag.train import TrainConfig

        src = self._sources[0] if source is None else source
        opts = {"baselines": False, "threads": 1, **self.train}
        family = self._families.get(ansatz) if hasattr(self, "_families") else None
        if family is None:
            raise ValueError(f"unknown circuit family {ansatz!r}")
        opts.update(family)
        for key in ("index", "vix", "rate", "dividend_yield"):
            if getattr(src, key) is not None:
                opts[key] = getattr(src, key)
        return TrainConfig(
            data=src.path,
            qubits=int(qubits),
            layers=int(layers),
            subset=int(subset),
            seed=int(seed),
            epochs=int(self.epochs),
            twin=twin,
            **opts,
        )

    def runs(self) -> list[dict[str, Any]]:
        """Every run in grid order: dicts with the RUN_KEYS (and ``market`` on a market axis,
        the outermost loop) and the ``config``."""
        import itertools

        out = []
        grid = itertools.product(
            self._sources, self.families(), self.qubits, self.layers, self.subsets, self.seeds
        )
        for src, a, n, L, s, seed in grid:
            for twin in (None, *self.twins):
                model = "quantum" if twin is None else twin
                rid = f"{a}-n{n}-L{L}-s{s}-seed{seed}-{model}"
                run = dict(run_id=f"{src.label}-{rid}" if self.markets else rid)
                if self.markets:
                    run[MARKET] = src.label
                run.update(
                    ansatz=a,
                    n_qubits=n,
                    n_layers=L,
                    subset=s,
                    seed=seed,
                    model=model,
                    config=self.train_config(a, n, L, s, seed, twin, src),
                )
                out.append(run)
        return out

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def __reduce__(self):  # resolved families stay out of the pickle (rebuilt from the fields)
        return (_rebuild_study, (self.to_dict(),))


def _rebuild_study(fields: dict) -> StudyConfig:
    return StudyConfig(**fields)


# ---------------------------------------------------------------------------------------------
# Running one point


@functools.lru_cache(maxsize=32)
def _prepared(cfg):
    """Prepared data shared by a hybrid and its twins (same data, histories, split, seed and
    subset): :func:`bpdiag.train.load_data` of ``cfg``'s data fields, cached by them."""
    from bpdiag.train import load_data

    return load_data(cfg)


_DATA_FIELDS = ("data", "index", "vix", "rate", "dividend_yield", "split", "seed", "subset")
#: What prepared data depends on (hashable, the cache key of :func:`_prepared`); read by
#: :func:`bpdiag.train.load_data` like a TrainConfig.
_DataKey = collections.namedtuple("_DataKey", _DATA_FIELDS)


def run_one(run: dict[str, Any]) -> dict[str, Any]:
    """Train one run and return its runs.csv row (plus ``history``: per-epoch rows)."""
    from bpdiag.train import fit

    t0 = time.perf_counter()
    cfg = run["config"]
    key = _DataKey(*(getattr(cfg, k) for k in _DATA_FIELDS))
    result = fit(cfg, data=_prepared(key))
    s = result.summary
    h = result.history
    row = {k: run[k] for k in run_columns(MARKET in run) if k in run}
    row.update(
        epochs_run=s["epochs_run"],
        best_epoch=s["best_epoch"],
        final_train_loss=s["final_train_loss"],
        final_val_loss=s["final_val_loss"],
        best_val_loss=s["best_val_loss"],
        test_mse_scaled=s["test_mse_scaled"],
        test_rmse=s["test_rmse"],
        test_mae=s["test_mae"],
        test_mape=s["test_mape"],
        test_r2=s["test_r2"],
        n_params=s["n_params"],
        n_params_quantum=s["n_params_quantum"],
        qgrad_var_mean=s["qgrad_var_mean"],
        qgrad_var_per_epoch=";".join(f"{v:.6g}" for v in h["qgrad_var"].fillna(np.nan)),
        wall_s=time.perf_counter() - t0,
        price_unit=result.meta["units"]["rmse"],
    )
    hist = h[[c for c in HISTORY_COLUMNS[1:] if c in h]].copy()
    hist.insert(0, "run_id", run["run_id"])
    row["history"] = hist
    return row


# ---------------------------------------------------------------------------------------------
# The study


def study(
    config: StudyConfig | None = None,
    *,
    sink: Sink | None = None,
    history_sink: Sink | None = None,
    jobs: int = 1,
    executor: str = "local",
    address: str | None = None,
    progress: bool = False,
    on_run: Callable[[dict], None] | None = None,
) -> Result:
    """Run every point of ``config``; return a :class:`~bpdiag.analyses._common.Result`.

    ``.table``: the runs, one row per run in grid order (:data:`RUN_COLUMNS`: RUN_KEYS, losses,
    test metrics in rupees, parameter counts, the quantum gradient variance per epoch).
    ``.tables["history"]``: one row per run and epoch (:data:`HISTORY_COLUMNS`).
    ``.tables["qc"]``: see :func:`quantum_contribution`. ``.meta``: config, loss, definition,
    run count, wall time and per-run ``timing`` (seconds, runs computed by this call).

    Each finished run is put into ``sink`` (and its epochs into ``history_sink``) at once; runs
    whose ``run_id`` the sink already holds are skipped (resume). Both default to in-memory
    sinks; on disk the caller passes :class:`bpdiag.results.CsvSink` s keyed by ``run_id`` and by
    ``(run_id, epoch)``. ``on_run(row)`` is called after each finished run.
    """
    t0 = time.perf_counter()
    config = config or StudyConfig.default()
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    columns = config.run_columns()
    if sink is None:
        sink = MemorySink(columns, ["run_id"])
    if history_sink is None:
        history_sink = MemorySink(HISTORY_COLUMNS, ["run_id", "epoch"])
    runs = config.runs()
    check_data(config)
    done = {key[0] for key in sink.done()}
    history_sink.done()  # drops a half-written line of a killed run, checks the columns
    todo = [r for r in runs if r["run_id"] not in done]
    check_executor(executor, jobs, address)
    timing: list[dict] = []  # wall times live in the meta (JSON), never in a table
    units: dict[str, str] = {}  # each market's price unit (rupees, dollars)
    from tqdm.auto import tqdm

    bar = tqdm(
        total=len(runs),
        initial=len(runs) - len(todo),
        desc="study",
        unit="run",
        disable=not progress,
        leave=False,
    )

    # Identity twins of the built-in families are the same model (no middle layer, the same
    # encoder width, seed and data): each is trained once and its row given to every family.
    groups: dict[Any, list[dict]] = {}
    for r in todo:
        groups.setdefault(_compute_config(r), []).append(r)
    tasks = [dict(members[0], config=cfg) for cfg, members in groups.items()]
    members = list(groups.values())

    def arrived(i: int, result: dict) -> None:
        hist0 = result.pop("history")
        wall = result.pop("wall_s")
        units[result.get(MARKET, "all")] = result.pop("price_unit")
        for run in members[i]:
            row = dict(result)
            row.update({k: run[k] for k in columns if k in run})
            hist = hist0.assign(run_id=run["run_id"])
            timing.append({"run_id": row["run_id"], "wall_s": wall if run is members[i][0] else 0})
            history_sink.append(hist)  # first: a run counts as finished once its row is in
            sink.append(pd.DataFrame([row], columns=columns))
            if on_run is not None:
                on_run(row)
            bar.update(1)

    try:
        run_grid(run_one, tasks, arrived, executor=executor, jobs=jobs, address=address)
    finally:
        bar.close()
    order = {r["run_id"]: i for i, r in enumerate(runs)}
    table = _in_grid_order(sink.read(), order, ["_o"], ["run_id"])
    history = _in_grid_order(history_sink.read(), order, ["_o", "epoch"], ["run_id", "epoch"])
    # epochs of a run killed before its row was written are recomputed: keep the finished runs'
    history = history[history["run_id"].isin(table["run_id"])].reset_index(drop=True)
    qc = quantum_contribution(table, n_boot=config.bootstrap, seed=0)
    paired = paired_comparison(table, n_boot=config.bootstrap, seed=0)
    qgrad = qgrad_per_epoch(table, history)
    diagnosis = initial_diagnosis(config, samples=config.diagnosis_samples)
    meta = {
        "analysis": "study",
        "config": config.to_dict(),
        "loss": LOSS,
        "definition": "qc = 1 - q_avg / c_avg (mean test loss of hybrids over their twins)",
        "units": _units(units, config.markets),
        "runs": len(table),
        "wall_s": time.perf_counter() - t0,
        "timing": timing,
    }
    tables = {"history": history, "qc": qc, "paired": paired, "qgrad": qgrad}
    return Result(table, meta, {**tables, "diagnosis": diagnosis})


def check_data(config: StudyConfig) -> None:
    """Prepare every market's data once before any training, so a chain its index history does
    not cover (or any other data error) stops the study at once, in one line naming the
    market, instead of inside a worker."""
    first: dict[str, Any] = {}
    for run in config.runs():
        first.setdefault(run.get(MARKET, ""), run["config"])
    for label, cfg in first.items():
        try:
            _prepared(_DataKey(*(getattr(cfg, k) for k in _DATA_FIELDS)))
        except (ValueError, OSError) as exc:
            where = f"data {label!r}: " if label else ""
            raise type(exc)(f"{where}{exc}") from None


def _compute_config(run: dict):
    """The TrainConfig that computes ``run``: an identity twin of a built-in family is the
    ``original`` family's (the same model and numbers, trained once)."""
    cfg = run["config"]
    if run["model"] == "identity" and cfg.circuit is None:
        return dataclasses.replace(cfg, ansatz="original", reupload=False)
    return cfg


def _units(units: dict[str, str], markets: bool) -> dict:
    """The units of runs.csv: test_rmse/test_mae in the price unit (per market on a market
    axis: ``price_unit`` maps label -> unit; a resumed run with nothing new says 'rupees')."""
    one = set(units.values())
    unit = one.pop() if len(one) == 1 else "the market's price unit (price_unit)"
    out = {"test_rmse": unit, "test_mae": unit, "test_mape": "percent"}
    if not units:
        out.update(test_rmse="rupees", test_mae="rupees")
    if markets:
        out["price_unit"] = dict(sorted(units.items()))
    return out


def _in_grid_order(
    df: pd.DataFrame, order: dict[str, int], by: list[str], unique: list[str]
) -> pd.DataFrame:
    """The rows of the grid's runs, sorted in grid order (independent of scheduling), each
    ``unique`` key once (the last written: a recomputed run replaces a partial one)."""
    df = df[df["run_id"].isin(order)].drop_duplicates(unique, keep="last")
    return (
        df.assign(_o=df["run_id"].map(order))
        .sort_values(by, kind="stable")
        .drop(columns="_o")
        .reset_index(drop=True)
    )


def quantum_contribution(
    runs: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> pd.DataFrame:
    """``qc = 1 - q_avg / c_avg`` per (configuration, subset), per configuration, and overall.

    ``q_avg``/``c_avg``: mean test loss of hybrid/twin runs in the group (one twin kind at a
    time). The interval is a percentile bootstrap over seeds: seeds are resampled with
    replacement (the same draw for hybrids and twins, so pairs stay paired), ``n_boot`` times.
    Columns (:data:`QC_COLUMNS`): ``ansatz, n_qubits, n_layers, subset, twin, q_avg, c_avg, qc,
    qc_lo, qc_hi, n_seeds``
    (``all`` marks an aggregated axis). With a ``market`` column (a market axis) every group is
    also per market, ``market`` comes first (:func:`qc_columns`), and the last row pools the
    markets (seeds are resampled jointly across them).
    """
    rng = np.random.default_rng(seed)
    twins = [m for m in runs["model"].unique() if m != "quantum"]
    seeds = np.array(sorted(runs["seed"].unique()))
    rows = []
    by = [MARKET] if MARKET in runs.columns else []
    columns = qc_columns(bool(by))
    config = ["ansatz", "n_qubits", "n_layers"]
    groupings = [[*by, *config, "subset"], [*by, *config], *([by] if by else []), []]
    for twin in twins:
        for keys in groupings:
            groups = runs.groupby(keys, sort=False) if keys else [((), runs)]
            for key, g in groups:
                key = key if isinstance(key, tuple) else (key,)
                pivot = g.pivot_table(index="seed", columns="model", values=LOSS, aggfunc="mean")
                if "quantum" not in pivot or twin not in pivot:
                    continue
                pivot = pivot.reindex(seeds)[["quantum", twin]].dropna()
                q, c = pivot["quantum"].to_numpy(), pivot[twin].to_numpy()
                qc = 1 - q.mean() / c.mean()
                idx = rng.integers(0, len(q), size=(n_boot, len(q)))
                boot = 1 - q[idx].mean(axis=1) / c[idx].mean(axis=1)
                lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
                row = {k: "all" for k in columns[: len(by) + 4]}
                row.update(dict(zip(keys, key)))
                row.update(
                    twin=twin,
                    q_avg=q.mean(),
                    c_avg=c.mean(),
                    qc=qc,
                    qc_lo=lo,
                    qc_hi=hi,
                    n_seeds=len(q),
                )
                rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def summary_table(qc: pd.DataFrame) -> pd.DataFrame:
    """A readable view of qc with its interval."""
    view = qc.copy()
    view["qc [95% CI]"] = [
        f"{v:+.3f} [{lo:+.3f}, {hi:+.3f}]"
        for v, lo, hi in zip(view["qc"], view["qc_lo"], view["qc_hi"])
    ]
    cols = list(qc.columns)
    return view[[*cols[: cols.index("c_avg") + 1], "qc [95% CI]", "n_seeds"]]


#: Columns of paired.csv (``all`` marks an aggregated axis; a market axis adds ``market`` first).
PAIRED_COLUMNS = [
    "n_qubits",
    "n_layers",
    "subset",
    "a",
    "b",
    "n_pairs",
    "loss_a",
    "loss_b",
    "diff",
    "diff_lo",
    "diff_hi",
    "wilcoxon_p",
    "ttest_p",
]


def _arm(row) -> str:
    """A model's label in paired.csv: its family (a hybrid) or ``family/twin``."""
    return row["ansatz"] if row["model"] == "quantum" else f"{row['ansatz']}/{row['model']}"


def paired_stats(a, b, *, n_boot: int = 2000, rng=None, level: float = 0.95) -> dict:
    """Paired comparison of test losses ``a`` and ``b`` (float[n], the same splits in the same
    order): ``diff`` = mean(a - b) (negative: a is better), its percentile bootstrap interval
    over the pairs (``n_boot`` resamples), the Wilcoxon signed-rank p-value (two-sided, exact
    for small n; NaN when every difference is 0 or n < 2) and the paired t-test p-value
    (two-sided, scipy; NaN for n < 2 or differences equal to rounding)."""
    from scipy import stats

    rng = np.random.default_rng(0) if rng is None else rng
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = a - b
    n = len(d)
    out = dict(n_pairs=n, loss_a=a.mean(), loss_b=b.mean(), diff=d.mean())
    idx = rng.integers(0, n, size=(n_boot, n))
    lo, hi = np.quantile(d[idx].mean(axis=1), [(1 - level) / 2, (1 + level) / 2])
    out.update(diff_lo=lo, diff_hi=hi, wilcoxon_p=np.nan, ttest_p=np.nan)
    if n >= 2 and np.any(d != 0):
        out["wilcoxon_p"] = float(stats.wilcoxon(a, b).pvalue)
    if n >= 2 and np.ptp(d) > 1e-12 * max(1.0, float(np.abs(d).max())):  # rounding is no spread
        out["ttest_p"] = float(stats.ttest_rel(a, b).pvalue)
    return out


def paired_comparison(
    runs: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> pd.DataFrame:
    """Families compared on the same splits: for every pair of hybrid families ``a``, ``b`` (in
    grid order), and for every family against each of its twins (``b`` = ``family/twin``),
    the test losses paired by seed (same seed: same subset, split and initial encoder), per
    (configuration, subset) and pooled over subsets (``subset = all``: pairs are (subset, seed)),
    per market on a market axis. Columns :data:`PAIRED_COLUMNS` (see :func:`paired_stats`)."""
    rng = np.random.default_rng(seed)
    by = [MARKET] if MARKET in runs.columns else []
    columns = [*by, *PAIRED_COLUMNS]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    runs = runs.assign(_arm=[_arm(r) for _, r in runs.iterrows()])
    families = list(dict.fromkeys(runs.loc[runs["model"] == "quantum", "ansatz"]))
    twins = [m for m in dict.fromkeys(runs["model"]) if m != "quantum"]
    pairs = [(f, g) for i, f in enumerate(families) for g in families[i + 1 :]]
    pairs += [(f, f"{f}/{t}") for f in families for t in twins]
    rows = []
    config = ["n_qubits", "n_layers"]
    for keys in ([*by, *config, "subset"], [*by, *config]):
        for key, g in runs.groupby(keys, sort=False):
            key = key if isinstance(key, tuple) else (key,)
            wide = g.pivot_table(
                index=["subset", "seed"], columns="_arm", values=LOSS, aggfunc="mean", sort=True
            )
            for a, b in pairs:
                if a not in wide or b not in wide:
                    continue
                both = wide[[a, b]].dropna()
                if both.empty:
                    continue
                row = {"subset": "all", **dict(zip(keys, key)), "a": a, "b": b}
                row.update(paired_stats(both[a], both[b], n_boot=n_boot, rng=rng, level=level))
                rows.append(row)
    return pd.DataFrame(rows, columns=columns)


#: Columns of qgrad.csv: the quantum-gradient variance per epoch and family (hybrid runs).
QGRAD_COLUMNS = [
    "ansatz",
    "n_qubits",
    "n_layers",
    "subset",
    "epoch",
    "qgrad_var",
    "qgrad_var_lo",
    "qgrad_var_hi",
    "n_runs",
]


def qgrad_per_epoch(runs: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Quantum-gradient variance per epoch per family (and configuration, subset, market): the
    mean of the hybrid runs' ``qgrad_var`` (pooled over each epoch's steps and parameters,
    :func:`bpdiag.train.loop.qgrad_stats`) over seeds, with its min and max over seeds as
    ``qgrad_var_lo``/``_hi``. Columns :data:`QGRAD_COLUMNS` (``market`` first on a market axis)."""
    by = [MARKET] if MARKET in runs.columns else []
    keys = [*by, "ansatz", "n_qubits", "n_layers", "subset"]
    columns = [*by, *QGRAD_COLUMNS]
    hybrids = runs.loc[runs["model"] == "quantum", ["run_id", *keys]]
    h = history.merge(hybrids, on="run_id")
    if h.empty:
        return pd.DataFrame(columns=columns)
    out = h.groupby([*keys, "epoch"], sort=False)["qgrad_var"].agg(
        qgrad_var="mean", qgrad_var_lo="min", qgrad_var_hi="max", n_runs="count"
    )
    return out.reset_index()[columns]


#: Columns of diagnosis.csv: ``bpdiag variance`` of each family's quantum layer at initialisation.
DIAGNOSIS_COLUMNS = ["ansatz", "n_qubits", "n_layers", "cost", "samples", "var", "var_se"]


def initial_diagnosis(config: StudyConfig, *, samples: int = 200) -> pd.DataFrame:
    """The ``bpdiag variance`` prediction at initialisation for every family and (n, L) of the
    study: Var[dC/dtheta] over uniform random weights in [0, 2pi) and data angles in [-pi, pi)
    (the encoder's range), averaged over all trainable parameters (``param = "all"``), for the
    ``local`` (mean <Z_i>, the hybrid's readout) and ``global`` costs, on the quantum layer's
    exact circuit (encoding included: :func:`bpdiag.model.hybrid_circuit`). Columns
    :data:`DIAGNOSIS_COLUMNS`."""
    from bpdiag.analyses.variance import variance
    from bpdiag.model import hybrid_circuit

    rows = []
    for fam in config.families():
        for n in config.qubits:
            for L in config.layers:
                cfg = config.train_config(fam, n, L, config.subsets[0], config.seeds[0], None)
                circ = hybrid_circuit(
                    cfg.ansatz, cfg.qubits, cfg.layers, reupload=cfg.reupload,
                    seed=cfg.seed, circuit=cfg.user_circuit(),
                )  # fmt: skip
                res = variance(
                    circuit=circ, qubits=(circ.n_qubits,), layers=(cfg.layers,),
                    cost=("local", "global"), param="all", samples=samples, engine="fast",
                    seed=0,
                )  # fmt: skip
                for _, r in res.table.iterrows():
                    rows.append(
                        dict(ansatz=fam, n_qubits=cfg.qubits, n_layers=cfg.layers, cost=r["cost"],
                             samples=int(r["samples"]), var=r["var"], var_se=r["var_se"])
                    )  # fmt: skip
    return pd.DataFrame(rows, columns=DIAGNOSIS_COLUMNS)
