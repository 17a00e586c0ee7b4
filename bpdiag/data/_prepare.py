"""Splits, nested subsets, scalers, the bundled default and :func:`prepare`."""

from __future__ import annotations

import functools
import gzip
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from bpdiag.data._clean import clean, main_symbol
from bpdiag.data._features import FEATURES, make_features
from bpdiag.data._loaders import (
    CANONICAL_COLUMNS,
    DataError,
    _load_one,
    load_index,
    load_options,
    load_vix,
)
from bpdiag.data._markets import conventions
from bpdiag.data._synth import SYNTH_COLUMNS, synthesize

__all__ = [
    "DEFAULT_FILE",
    "Split",
    "Scaler",
    "PreparedData",
    "split",
    "nested_subsets",
    "load_default",
    "prepare",
]

DEFAULT_FILE = "nifty_synthetic.csv.gz"


# ---------------------------------------------------------------------------- splits


class Split(NamedTuple):
    """Row positions (sorted int64 arrays) of the train, validation and test parts."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def split(
    df: pd.DataFrame | int,
    method: str = "random",
    seed: int = 0,
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
) -> Split:
    """Split rows into train / validation / test.

    Args:
        df: the table (needs ``date`` for ``method="time"``) or, for ``"random"``, a row count.
        method: ``"random"`` — a seeded permutation cut 60/20/20, as in the original study;
            ``"time"`` — whole trading days in date order: the earliest days (about 60 % of the
            rows) train, the next 20 % validate, the latest test; no day is split.
        seed: seed of the permutation (``"random"`` only).
        fractions: train, validation, test shares (sum 1).

    Returns:
        :class:`Split` of sorted int64 row positions; together they cover every row once.

    >>> s = split(10, seed=0)
    >>> len(s.train), len(s.val), len(s.test)
    (6, 2, 2)
    """
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"fractions must be three shares summing to 1, got {fractions}")
    n = df if isinstance(df, int) else len(df)
    if n < 3:
        raise ValueError(f"need at least 3 rows to split, got {n}")
    n_train = int(round(fractions[0] * n))
    n_val = int(round(fractions[1] * n))
    if method == "random":
        perm = np.random.default_rng(seed).permutation(n)
        parts = perm[:n_train], perm[n_train : n_train + n_val], perm[n_train + n_val :]
        return Split(*(np.sort(p).astype(np.int64) for p in parts))
    if method == "time":
        if isinstance(df, int):
            raise ValueError("a time split needs the table (with its date column), not a count")
        dates = pd.to_datetime(df["date"]).to_numpy()
        days, counts = np.unique(dates, return_counts=True)
        if len(days) < 3:
            raise ValueError(f"a time split needs at least 3 trading days, got {len(days)}")
        cum = np.cumsum(counts)
        i_train = int(np.clip(np.searchsorted(cum, n_train), 0, len(days) - 3))
        i_val = int(np.clip(np.searchsorted(cum, n_train + n_val), i_train + 1, len(days) - 2))
        cut1, cut2 = days[i_train], days[i_val]
        pos = np.arange(n)
        return Split(pos[dates <= cut1], pos[(dates > cut1) & (dates <= cut2)], pos[dates > cut2])
    raise ValueError(f"method must be 'random' or 'time', got {method!r}")


_split_rows = split  # prepare() takes an argument named ``split``


def nested_subsets(
    n_rows: int, sizes: tuple[int, ...] = (100, 500, 1000), seed: int = 0
) -> dict[int, np.ndarray]:
    """Seeded, nested row subsets: subset(100) ⊂ subset(500) ⊂ subset(1000).

    All sizes are prefixes of one seeded permutation of ``range(n_rows)``.

    Returns:
        ``{size: sorted int64 positions}``.

    >>> s = nested_subsets(2000, (10, 20), seed=1)
    >>> set(s[10]) <= set(s[20])
    True
    """
    sizes = tuple(int(s) for s in sizes)
    if any(s < 1 or s > n_rows for s in sizes):
        raise ValueError(f"subset sizes must be between 1 and {n_rows} rows, got {sizes}")
    perm = np.random.default_rng(seed).permutation(n_rows)
    return {s: np.sort(perm[:s]).astype(np.int64) for s in sizes}


# ---------------------------------------------------------------------------- scaler


@dataclass
class Scaler:
    """Standardise columns: ``(x - mean_) / scale_``, fitted on the training rows only.

    Works on float arrays of shape ``(n,)`` (a target) or ``(n, d)`` (features). A column with
    zero spread gets ``scale_ = 1``.
    """

    mean_: np.ndarray | None = None
    scale_: np.ndarray | None = None
    n_fit_: int = 0

    def fit(self, a: np.ndarray) -> Scaler:
        a = np.asarray(a, dtype=np.float64)
        if a.shape[0] == 0:
            raise ValueError("cannot fit a scaler on zero rows")
        self.mean_ = a.mean(axis=0)
        sd = a.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        self.n_fit_ = int(a.shape[0])
        return self

    def _check(self) -> None:
        if self.mean_ is None:
            raise ValueError("scaler is not fitted; call fit() on the training rows first")

    def transform(self, a: np.ndarray) -> np.ndarray:
        self._check()
        return (np.asarray(a, dtype=np.float64) - self.mean_) / self.scale_

    def inverse_transform(self, a: np.ndarray) -> np.ndarray:
        self._check()
        return np.asarray(a, dtype=np.float64) * self.scale_ + self.mean_

    def fit_transform(self, a: np.ndarray) -> np.ndarray:
        return self.fit(a).transform(a)


# ---------------------------------------------------------------------------- default data


@functools.lru_cache(maxsize=1)
def _default_table() -> pd.DataFrame:
    ref = resources.files("bpdiag.data").joinpath(DEFAULT_FILE)
    if ref.is_file():
        raw = gzip.decompress(ref.read_bytes())
        df, _ = _load_one(f"bpdiag/data/{DEFAULT_FILE}", raw, "canonical")
        df = df[list(SYNTH_COLUMNS)]
    else:  # a source tree without the shipped copy: build it (about a second)
        df = synthesize(seed=0)
    df.attrs["source"] = "synthetic"
    return df


def load_default() -> pd.DataFrame:
    """The bundled synthetic NIFTY-like table (``synthesize(seed=0)``), read once and cached.

    Returns a fresh copy each call; columns as :func:`bpdiag.data.synthesize`.
    """
    df = _default_table().copy()
    df.attrs = {"source": "synthetic"}
    return df


# ---------------------------------------------------------------------------- prepare


@dataclass(frozen=True)
class PreparedData:
    """Model-ready arrays.

    ``X_*``: dtype[n_part, n_features], features standardised with ``x_scaler`` (fitted on the
    training rows only). ``y_*``: dtype[n_part], the target price standardised with
    ``y_scaler`` (also train-only); :meth:`inverse_target` maps them back to rupees (or the
    file's currency). ``test_rows`` holds the cleaned canonical rows of the test part plus the
    target in rupees (column ``target``), in the order of ``X_test``. ``indices`` are positions
    into ``rows`` (the cleaned table the features were built from).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...]
    x_scaler: Scaler
    y_scaler: Scaler
    test_rows: pd.DataFrame
    indices: dict[str, np.ndarray]
    report: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    def inverse_target(self, y: np.ndarray) -> np.ndarray:
        """Scaled target values (any shape) → prices in rupees, float64."""
        return self.y_scaler.inverse_transform(np.asarray(y, dtype=np.float64))


def _as_table(x: pd.DataFrame | str | Path | None, loader) -> pd.DataFrame | None:
    if x is None or isinstance(x, pd.DataFrame):
        return x
    return loader(x)


def prepare(
    source: str | Path | pd.DataFrame = "synthetic",
    *,
    split: str = "random",
    seed: int = 0,
    subset: int | None = None,
    symbol: str | None = None,
    index: pd.DataFrame | str | Path | None = None,
    vix: pd.DataFrame | str | Path | None = None,
    target: str = "close",
    rate: float | None = None,
    dividend_yield: float | None = None,
    dtype: type = np.float64,
) -> PreparedData:
    """Load, clean, featurise, subset, split and scale option rows in one call.

    Args:
        source: ``"synthetic"`` (the bundled default), a path any option loader reads, or a
            canonical DataFrame.
        split: ``"random"`` (seeded 60/20/20) or ``"time"`` (earlier days train, later test).
        seed: drives the subset and the random split.
        subset: if given, a nested seeded subset of this many cleaned rows is drawn *before*
            splitting (as the original study did with 100/500/1000 rows).
        symbol: underlying to keep; default NIFTY for the synthetic table, else the most
            frequent option underlying in the file.
        index, vix: optional histories (DataFrame or path) for spot, historical volatility and
            the volatility index; ``index`` must cover every date that lacks an underlying price.
        target: ``"close"`` or ``"settle"``.
        rate: risk-free rate where the table has none (annualised decimal); None: the market's
            (:func:`bpdiag.data.market_of` the symbol, :data:`bpdiag.data.MARKETS`).
        dividend_yield: the underlying's dividend yield for the Black–Scholes features; None:
            the market's.
        dtype: dtype of the returned arrays (float64 or float32).

    Returns:
        :class:`PreparedData`; features as :data:`bpdiag.data.FEATURES`. ``meta`` records the
        ``market`` (its name), ``currency``, ``rate`` and ``dividend_yield`` used.

    >>> d = prepare(subset=100, seed=0)
    >>> d.X_train.shape, d.X_val.shape, d.X_test.shape
    ((60, 23), (20, 23), (20, 23))
    """
    if isinstance(source, pd.DataFrame):
        table, label = source, source.attrs.get("source", "<table>")
    elif str(source) == "synthetic":
        table, label = load_default(), "synthetic"
    else:
        table, label = load_options(source, symbol=symbol), str(source)
    index_df = _as_table(index, load_index)
    vix_df = _as_table(vix, load_vix)
    sym = (
        symbol if symbol is not None else ("NIFTY" if label == "synthetic" else main_symbol(table))
    )
    market, rate, q = conventions(sym, rate, dividend_yield)
    rows, report = clean(table, sym, target=target, index=index_df)
    if len(rows) < 3:
        raise DataError(f"{label}: only {len(rows)} usable rows after cleaning (need >= 3)")
    X, y = make_features(rows, index_df, vix_df, rate=rate, dividend_yield=q, target=target)
    if not np.isfinite(X.to_numpy()).all():
        bad = X.columns[~np.isfinite(X.to_numpy()).all(axis=0)][0]
        raise DataError(f"{label}: feature {bad} is not finite for some rows")
    pos = np.arange(len(rows))
    if subset is not None:
        pos = nested_subsets(len(rows), (int(subset),), seed)[int(subset)]
    parts = _split_rows(rows.iloc[pos], split, seed)
    idx = {name: pos[getattr(parts, name)] for name in ("train", "val", "test")}
    xs = Scaler().fit(X.to_numpy()[idx["train"]])
    ys = Scaler().fit(y.to_numpy()[idx["train"]])

    def arr(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a, dtype=dtype)

    Xn, yn = X.to_numpy(), y.to_numpy()
    test_rows = rows.iloc[idx["test"]][list(CANONICAL_COLUMNS)].reset_index(drop=True)
    test_rows["target"] = yn[idx["test"]]
    return PreparedData(
        X_train=arr(xs.transform(Xn[idx["train"]])),
        y_train=arr(ys.transform(yn[idx["train"]])),
        X_val=arr(xs.transform(Xn[idx["val"]])),
        y_val=arr(ys.transform(yn[idx["val"]])),
        X_test=arr(xs.transform(Xn[idx["test"]])),
        y_test=arr(ys.transform(yn[idx["test"]])),
        feature_names=tuple(FEATURES),
        x_scaler=xs,
        y_scaler=ys,
        test_rows=test_rows,
        indices=idx,
        report=report,
        meta={
            "source": label,
            "symbol": sym,
            "split": split,
            "seed": seed,
            "subset": subset,
            "target": target,
            "target_unit": market.price_unit,
            "currency": market.currency,
            "market": market.name,
            "rate": rate,
            "dividend_yield": q,
            "index": None if index_df is None else index_df.attrs.get("source", "<table>"),
            "vix": None if vix_df is None else vix_df.attrs.get("source", "<table>"),
            "rows_clean": len(rows),
            "rows_used": len(pos),
        },
    )
