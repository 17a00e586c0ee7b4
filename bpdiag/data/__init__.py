"""Option data: a bundled synthetic NIFTY-like default, loaders for real exchange files,
cleaning with a count per reason, leakage-free features, splits and scalers.

The one call most code needs is :func:`prepare`::

    >>> from bpdiag.data import prepare
    >>> d = prepare("synthetic", split="random", seed=0, subset=500)
    >>> d.X_train.shape, d.feature_names[:3]
    ((300, 23), ('spot', 'strike', 'log_moneyness'))

The pieces: :func:`synthesize` / :func:`load_default` (the bundled table),
:func:`load_options` / :func:`load_index` / :func:`load_vix` (real files),
:func:`clean` (rows out, and why), :func:`make_features` (X, y), :func:`split`,
:func:`nested_subsets` and :class:`Scaler`; :data:`MARKETS` / :func:`market_of` (each market's
rate, dividend yield, calendar and tick: the table is in ``bpdiag/data/_markets.py``). Bad input
raises :class:`DataError` (a ``ValueError`` with a one-line message naming file, line and
column).
"""

from __future__ import annotations

from bpdiag.data._bs import bs_greeks, bs_price, implied_vol
from bpdiag.data._clean import REASONS, clean, main_symbol
from bpdiag.data._features import (
    DEFAULT_VOL,
    FEATURES,
    HV_WINDOWS,
    hv_table,
    make_features,
)
from bpdiag.data._loaders import (
    CANONICAL_COLUMNS,
    EXTRA_COLUMNS,
    OPTION_FORMATS,
    DataError,
    detect_format,
    load_index,
    load_options,
    load_vix,
)
from bpdiag.data._markets import DEFAULT_RATE, MARKETS, Market, market_of
from bpdiag.data._prepare import (
    DEFAULT_FILE,
    PreparedData,
    Scaler,
    Split,
    load_default,
    nested_subsets,
    prepare,
    split,
)
from bpdiag.data._synth import SYNTH_COLUMNS, synthesize

__all__ = [
    "CANONICAL_COLUMNS",
    "DEFAULT_FILE",
    "DEFAULT_RATE",
    "DEFAULT_VOL",
    "EXTRA_COLUMNS",
    "FEATURES",
    "HV_WINDOWS",
    "MARKETS",
    "OPTION_FORMATS",
    "REASONS",
    "SYNTH_COLUMNS",
    "DataError",
    "Market",
    "PreparedData",
    "Scaler",
    "Split",
    "bs_greeks",
    "bs_price",
    "clean",
    "detect_format",
    "hv_table",
    "implied_vol",
    "load_default",
    "load_index",
    "load_options",
    "load_vix",
    "main_symbol",
    "make_features",
    "market_of",
    "nested_subsets",
    "prepare",
    "split",
    "synthesize",
]
