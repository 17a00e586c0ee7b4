"""Cleaning option rows, with a count for every reason a row is removed.

Each removed row is counted once, under the first reason (in the order below) that applies:

==========================  ====================================================================
reason                      rule
==========================  ====================================================================
other_symbol                the underlying is not ``symbol`` (also rows left out while loading)
future                      a futures row (instrument FUT*, or no CE/PE option type)
expired                     expiry before the trade date
no_trades                   volume 0 or missing (the close of an untraded NSE contract is only
                            the previous close)
missing_or_zero_price       the target price (close or settle) missing or <= 0
non_finite_price            the target price or the underlying price is +-inf, or the strike is
                            not finite (a missing underlying price is not counted: see below)
non_positive_price          the strike or the underlying price is <= 0
duplicate                   the same (date, underlying, expiry, strike, type) seen again; the
                            row *later* in file order wins (the latest intraday snapshot)
below_intrinsic             price below a lenient no-arbitrage lower bound by more than
                            ``intrinsic_tol`` × spot; the bound is ``S·e^(−0.03T) − K`` for calls
                            and ``K·e^(−0.10T) − S`` for puts (any dividend yield up to 3 %, any
                            rate up to 10 %), floored at 0
extreme_moneyness           ``|ln(K/S)| > max_log_moneyness``
==========================  ====================================================================

Rows without an underlying price (and no ``index`` to take it from) skip the last two checks.
With an ``index``, a kept row whose date it does not cover (no close on that day or at most
:data:`SPOT_GAP_DAYS` before) is an error (:func:`no_spot_error`), not a silent gap.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bpdiag.data._loaders import DataError

__all__ = ["REASONS", "SPOT_GAP_DAYS", "clean", "main_symbol", "attach_spot", "no_spot_error"]

REASONS = (
    "other_symbol",
    "future",
    "no_trades",
    "missing_or_zero_price",
    "non_finite_price",
    "non_positive_price",
    "duplicate",
    "below_intrinsic",
    "extreme_moneyness",
    "expired",
)
KEY = ["date", "underlying", "expiry", "strike", "option_type"]
#: How stale (calendar days) an index close may be to stand in for a missing underlying price.
SPOT_GAP_DAYS = 5


def main_symbol(df: pd.DataFrame) -> str:
    """The most frequent underlying among the option (CE/PE) rows of ``df``."""
    opt = df.loc[df["option_type"].isin(["CE", "PE"]), "underlying"]
    if opt.empty:
        raise DataError(f"{df.attrs.get('source', '<table>')}: no option (CE/PE) rows")
    return str(opt.value_counts().index[0])


def attach_spot(
    df: pd.DataFrame, index: pd.DataFrame | None, max_gap_days: int = SPOT_GAP_DAYS
) -> pd.Series:
    """Underlying price per row: the row's own, else the index close of that date (or the
    latest close at most ``max_gap_days`` before). Returns float64[n_rows], NaN where unknown."""
    spot = df["underlying_price"].astype(np.float64)
    if index is None or not spot.isna().any():
        return spot
    idx = index[["date", "close"]].dropna().sort_values("date")
    need = df.loc[spot.isna(), ["date"]].reset_index()
    need = need.sort_values("date")
    got = pd.merge_asof(
        need, idx, on="date", direction="backward", tolerance=pd.Timedelta(days=max_gap_days)
    ).set_index("index")["close"]
    return spot.fillna(got)


def no_spot_error(df: pd.DataFrame, missing: np.ndarray, index: pd.DataFrame | None) -> DataError:
    """The one-line error for rows of ``df`` without an underlying price (``missing``: bool[n],
    at least one True): pass an index history, or the one passed does not cover the date."""
    source = df.attrs.get("source", "<table>")
    day = pd.Timestamp(df["date"].iloc[int(np.flatnonzero(missing)[0])]).date()
    if index is None:
        return DataError(
            f"{source}: no underlying price for {day} (pass an index history, --index)"
        )
    dates = index["date"][index["close"].notna()]
    span = f"{dates.min().date()} to {dates.max().date()}" if len(dates) else "no closes"
    return DataError(
        f"{index.attrs.get('source', 'index history')}: the index history covers {span}, not "
        f"{day} of {source} (no close on that day or up to {SPOT_GAP_DAYS} days before)"
    )


def clean(
    df: pd.DataFrame,
    symbol: str | Sequence[str] | None = "NIFTY",
    *,
    target: str = "close",
    index: pd.DataFrame | None = None,
    intrinsic_tol: float = 0.002,
    max_log_moneyness: float = 0.3,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Remove unusable option rows and count why.

    Args:
        df: canonical option table (from a loader or :func:`bpdiag.data.synthesize`).
        symbol: underlying(s) to keep; ``None`` keeps every underlying.
        target: the price column the model will predict (``"close"`` or ``"settle"``).
        index: optional index history (``date, close``) to fill a missing underlying price.
        intrinsic_tol: tolerance below the no-arbitrage bound, as a fraction of spot.
        max_log_moneyness: rows with ``|ln(K/S)|`` above this are removed.

    Returns:
        ``(cleaned, report)``: the kept rows (same columns, fresh 0..n-1 index, underlying price
        filled from ``index`` where it was missing) and a DataFrame with columns ``reason``
        (the 10 :data:`REASONS`) and ``count``. ``report.attrs`` holds ``rows_in`` and
        ``rows_out``; the counts add up to ``rows_in - rows_out``. ``rows_in`` includes rows
        left out by ``load_options(..., symbol=...)``.

    >>> from bpdiag.data import synthesize
    >>> rows, report = clean(synthesize(seed=0, years=0.5, rows=2000))
    >>> int(report["count"].sum()) == 2000 - len(rows)
    True
    """
    if target not in ("close", "settle"):
        raise ValueError(f"target must be 'close' or 'settle', got {target!r}")
    missing = [c for c in KEY + [target, "volume"] if c not in df.columns]
    if missing:
        raise DataError(f"{df.attrs.get('source', '<table>')}: missing column {missing[0]}")
    n_in = len(df)
    data = df.reset_index(drop=True)
    counts = dict.fromkeys(REASONS, 0)
    counts["other_symbol"] += int(df.attrs.get("load_dropped", {}).get("other_symbol", 0))
    alive = np.ones(n_in, dtype=bool)

    def drop(reason: str, mask: np.ndarray) -> None:
        hit = alive & np.asarray(mask, dtype=bool)
        counts[reason] += int(hit.sum())
        alive[hit] = False

    if symbol is not None:
        symbols = [symbol] if isinstance(symbol, str) else list(symbol)
        drop("other_symbol", ~data["underlying"].isin(symbols).to_numpy())
    instr = data["instrument"] if "instrument" in data else pd.Series("", index=data.index)
    is_future = instr.fillna("").astype(str).str.upper().str.startswith("FUT")
    drop("future", (is_future | ~data["option_type"].isin(["CE", "PE"])).to_numpy())
    drop("expired", (data["expiry"] < data["date"]).to_numpy())
    vol = data["volume"].astype(np.float64)
    drop("no_trades", (vol.isna() | (vol <= 0)).to_numpy())
    price = data[target].astype(np.float64)
    drop("missing_or_zero_price", (price.isna() | (price <= 0)).to_numpy())
    # Prices that cannot be priced: +-inf anywhere, a non-positive strike or spot (NaN spot is
    # "unknown", handled below).
    spot = attach_spot(data, index)
    s = spot.to_numpy()
    if index is not None and (alive & np.isnan(s)).any():
        raise no_spot_error(data, alive & np.isnan(s), index)
    k = data["strike"].astype(np.float64).to_numpy()
    drop("non_finite_price", np.isinf(price.to_numpy()) | ~np.isfinite(k) | np.isinf(s))
    drop("non_positive_price", (k <= 0) | (s <= 0))
    # Duplicates among the rows still alive: keep the last occurrence.
    live = data.loc[alive, KEY]
    dup = live.duplicated(keep="last")
    mask = np.zeros(n_in, dtype=bool)
    mask[np.flatnonzero(alive)[dup.to_numpy()]] = True
    drop("duplicate", mask)

    tau = np.maximum((data["expiry"] - data["date"]).dt.days.to_numpy(np.float64), 0.25) / 365.0
    call = data["option_type"].eq("CE").to_numpy()
    bound = np.where(call, s * np.exp(-0.03 * tau) - k, k * np.exp(-0.10 * tau) - s)
    bound = np.maximum(bound, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        below = price.to_numpy() < bound - intrinsic_tol * s
        logm = np.abs(np.log(k / s))
    drop("below_intrinsic", below & np.isfinite(s))
    drop("extreme_moneyness", (logm > max_log_moneyness) & np.isfinite(s))

    out = data.loc[alive].copy()
    out["underlying_price"] = spot[alive].to_numpy()
    out = out.reset_index(drop=True)
    out.attrs = {k: v for k, v in df.attrs.items() if k != "load_dropped"}
    n_in_total = n_in + int(df.attrs.get("load_dropped", {}).get("other_symbol", 0))
    report = pd.DataFrame({"reason": list(REASONS), "count": [counts[r] for r in REASONS]})
    report.attrs = {"rows_in": n_in_total, "rows_out": len(out)}
    return out, report
