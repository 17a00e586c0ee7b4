"""Features for pricing an option row, none of which uses that option's same-day prices.

The target is the option's close (or settle) that day, in rupees (or the file's currency).
Every feature is known before that price: the contract's terms, the underlying's close and
history up to that day, the volatility index, the rate, and the contract's *previous-day* close
and open interest. The option's own same-day open, high, low, close and settle are never read
(except ``close`` of strictly earlier days, for the lag).

Features (:data:`FEATURES`, float64, in this order):

====================  =======================================================================
spot                  underlying close that day (index points)
strike                strike (index points)
log_moneyness         ``ln(K / S)``
moneyness_abs         ``|ln(K / S)|``
tau_years             ``max(days_to_expiry, 0.25) / 365`` (an expiry day keeps a quarter day)
days_to_expiry        calendar days from the trade date to expiry
rate                  risk-free rate, annualised decimal (the table's ``rate`` column, else the
                      ``rate`` argument, by default the market's: 6.5 % for NIFTY, a 91-day T-bill
                      level; see :data:`bpdiag.data.MARKETS`)
is_call               1 for CE, 0 for PE
hv_5 … hv_63          annualised close-to-close volatility of the underlying over the last 5,
                      10, 21, 63 returns up to and including that day (``sqrt(252)·std``)
vix                   volatility index that day, points (13.2 = 13.2 %)
intrinsic             ``max(S − K, 0)`` for calls, ``max(K − S, 0)`` for puts
bs_price_hv           Black–Scholes price at ``sigma = hv_21`` and the dividend yield ``q``
                      (by default the market's: 0 for NIFTY, 1.3 % for SPX)
delta, gamma          Black–Scholes delta (dimensionless) and gamma (per point) at hv_21, q
vega, theta           per vol point, and per calendar day (price units), at hv_21, q
lag1_close            the contract's previous close (the table's ``prev_close``, else its row
                      on the latest earlier date); missing → ``bs_price_hv``
lag1_oi               previous open interest (``open_interest − oi_change``, else the earlier
                      row's); missing → 0
lag1_missing          1 where ``lag1_close`` was filled in
history_missing       1 where a volatility window or the volatility index had to be filled in
====================  =======================================================================

Missing history (a single-day chain, the first days of a series): a volatility window that
cannot be computed takes ``vix / 100``, or ``default_vol`` when there is no volatility index; a
missing volatility index takes ``100 · hv_21``. Such rows get ``history_missing = 1``.
An index history must cover every date of the chain that lacks an underlying price, and a
volatility-index history at least one of its dates: otherwise :class:`DataError`, one line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bpdiag.data._bs import bs_greeks, bs_price
from bpdiag.data._clean import attach_spot, main_symbol, no_spot_error
from bpdiag.data._loaders import DataError
from bpdiag.data._markets import conventions

__all__ = ["FEATURES", "HV_WINDOWS", "DEFAULT_VOL", "make_features", "hv_table"]

HV_WINDOWS = (5, 10, 21, 63)
DEFAULT_VOL = 0.15
TRADING_DAYS = 252

FEATURES = (
    "spot",
    "strike",
    "log_moneyness",
    "moneyness_abs",
    "tau_years",
    "days_to_expiry",
    "rate",
    "is_call",
    *(f"hv_{w}" for w in HV_WINDOWS),
    "vix",
    "intrinsic",
    "bs_price_hv",
    "delta",
    "gamma",
    "vega",
    "theta",
    "lag1_close",
    "lag1_oi",
    "lag1_missing",
    "history_missing",
)

_CONTRACT = ["underlying", "expiry", "strike", "option_type"]


def hv_table(closes: pd.DataFrame) -> pd.DataFrame:
    """Historical volatilities from daily closes.

    Args:
        closes: DataFrame with ``date`` and ``close`` (one row per trading day).

    Returns:
        DataFrame ``date, hv_5, hv_10, hv_21, hv_63`` (annualised decimals; NaN until a window
        has its full number of returns), sorted by date.
    """
    c = closes[["date", "close"]].dropna().drop_duplicates("date", keep="last")
    c = c.sort_values("date").reset_index(drop=True)
    lr = np.log(c["close"].astype(np.float64)).diff()
    out = pd.DataFrame({"date": c["date"].astype("datetime64[ns]")})
    for w in HV_WINDOWS:
        out[f"hv_{w}"] = lr.rolling(w, min_periods=w).std(ddof=1) * np.sqrt(TRADING_DAYS)
    return out


def _asof(dates: pd.Series, table: pd.DataFrame, max_gap_days: int) -> pd.DataFrame:
    """Rows of ``table`` (sorted ``date`` + values) at or before each date, within the gap."""
    left = pd.DataFrame(
        {"date": dates.astype("datetime64[ns]").to_numpy(), "_pos": np.arange(len(dates))}
    )
    left = left.sort_values("date", kind="stable")
    merged = pd.merge_asof(
        left, table, on="date", direction="backward", tolerance=pd.Timedelta(days=max_gap_days)
    )
    return merged.sort_values("_pos").drop(columns=["date", "_pos"]).reset_index(drop=True)


def _previous(options: pd.DataFrame, col: str) -> pd.Series:
    """The contract's value of ``col`` on its latest strictly earlier date (NaN if none)."""
    if col not in options.columns:
        return pd.Series(np.nan, index=options.index)
    keys = _CONTRACT + ["date"]
    per_day = options.groupby(keys, sort=True, dropna=True)[col].last()
    prev = per_day.groupby(level=_CONTRACT, dropna=True).shift(1).rename("_prev").reset_index()
    merged = options[keys].merge(prev, on=keys, how="left")
    return pd.Series(merged["_prev"].to_numpy(np.float64), index=options.index)


def make_features(
    options: pd.DataFrame,
    index: pd.DataFrame | None = None,
    vix: pd.DataFrame | None = None,
    *,
    rate: float | None = None,
    dividend_yield: float | None = None,
    target: str = "close",
    default_vol: float = DEFAULT_VOL,
    max_gap_days: int = 7,
) -> tuple[pd.DataFrame, pd.Series]:
    """Build the feature matrix and the target for option rows (usually cleaned ones).

    Args:
        options: canonical option table, n rows.
        index: optional daily index history (``date, close``) for spot and historical vols;
            without it they come from the table's own ``underlying_price`` per date.
        vix: optional volatility-index history (``date, close`` in points); used where the
            table has no ``vix`` column.
        rate: risk-free rate (annualised decimal) where the table has no ``rate`` column;
            None: the market's (:data:`bpdiag.data.MARKETS`, by the most frequent underlying).
        dividend_yield: continuous dividend yield ``q`` of the underlying (annualised decimal)
            for the Black–Scholes features; None: the market's.
        target: ``"close"`` or ``"settle"``.
        default_vol: volatility used when neither history nor a volatility index exists.
        max_gap_days: how stale (calendar days) an index or VIX value may be.

    Returns:
        ``(X, y)``: X is a float64 DataFrame[n, len(FEATURES)] with columns :data:`FEATURES`
        and the same index as ``options``; y is float64 Series[n], the option's same-day
        ``target`` price (rupees), named ``target_<target>``.

    Raises:
        DataError: a row whose underlying price is unknown (pass ``index=``), an ``index``
            that does not cover such a row's date, or a ``vix`` that covers none of the dates.

    >>> from bpdiag.data import synthesize
    >>> X, y = make_features(synthesize(seed=0, years=0.5, rows=2000))
    >>> X.shape
    (2000, 23)
    """
    if target not in ("close", "settle"):
        raise ValueError(f"target must be 'close' or 'settle', got {target!r}")
    df = options
    n = len(df)
    if n == 0:
        raise DataError(f"{df.attrs.get('source', '<table>')}: no rows to build features from")
    spot = attach_spot(df, index).to_numpy(np.float64)
    if np.isnan(spot).any():
        raise no_spot_error(df, np.isnan(spot), index)
    strike = df["strike"].to_numpy(np.float64)
    days = (df["expiry"] - df["date"]).dt.days.to_numpy(np.float64)
    tau = np.maximum(days, 0.25) / 365.0
    is_call = df["option_type"].eq("CE").to_numpy()
    sym = main_symbol(df) if rate is None or dividend_yield is None else None
    _, rate, q = conventions(sym, rate, dividend_yield)
    r = np.full(n, rate)
    if "rate" in df.columns:
        r = df["rate"].fillna(rate).to_numpy(np.float64)

    if index is not None:
        closes = index[["date", "close"]]
    else:
        closes = (
            pd.DataFrame({"date": df["date"].to_numpy(), "close": spot})
            .groupby("date", as_index=False)["close"]
            .median()
        )
    hv = _asof(df["date"], hv_table(closes), max_gap_days)

    v = df["vix"].to_numpy(np.float64) if "vix" in df.columns else np.full(n, np.nan)
    if vix is not None and np.isnan(v).any():
        vt = vix[["date", "close"]].dropna().sort_values("date")
        vt = vt.assign(date=vt["date"].astype("datetime64[ns]"))
        from_table = _asof(df["date"], vt, max_gap_days)["close"].to_numpy(np.float64)
        if np.isnan(from_table).all():
            span = f"{vt['date'].min().date()} to {vt['date'].max().date()}" if len(vt) else "none"
            first, last = df["date"].min().date(), df["date"].max().date()
            raise DataError(
                f"{vix.attrs.get('source', 'volatility-index history')}: the volatility-index "
                f"history covers {span}, none of the dates of {df.attrs.get('source', '<table>')} "
                f"({first} to {last})"
            )
        v = np.where(np.isnan(v), from_table, v)

    missing = np.isnan(v)
    fill_vol = np.where(np.isnan(v), default_vol, v / 100.0)
    hvs = {}
    for w in HV_WINDOWS:
        h = hv[f"hv_{w}"].to_numpy(np.float64)
        missing |= np.isnan(h)
        hvs[w] = np.where(np.isnan(h), fill_vol, h)
    v = np.where(np.isnan(v), 100.0 * hvs[21], v)

    sigma = hvs[21]
    bs = bs_price(spot, strike, tau, r, sigma, is_call, q)
    greeks = bs_greeks(spot, strike, tau, r, sigma, is_call, q)

    lag_close = (
        df["prev_close"].to_numpy(np.float64) if "prev_close" in df.columns else np.full(n, np.nan)
    )
    lag_close = np.where(np.isnan(lag_close), _previous(df, "close").to_numpy(), lag_close)
    lag_missing = np.isnan(lag_close) | (lag_close <= 0)
    lag_close = np.where(lag_missing, bs, lag_close)
    lag_oi = np.full(n, np.nan)
    if {"open_interest", "oi_change"} <= set(df.columns):
        lag_oi = (df["open_interest"] - df["oi_change"]).to_numpy(np.float64)
    lag_oi = np.where(np.isnan(lag_oi), _previous(df, "open_interest").to_numpy(), lag_oi)
    lag_oi = np.nan_to_num(lag_oi, nan=0.0)

    logm = np.log(strike / spot)
    X = pd.DataFrame(
        {
            "spot": spot,
            "strike": strike,
            "log_moneyness": logm,
            "moneyness_abs": np.abs(logm),
            "tau_years": tau,
            "days_to_expiry": days,
            "rate": r,
            "is_call": is_call.astype(np.float64),
            **{f"hv_{w}": hvs[w] for w in HV_WINDOWS},
            "vix": v,
            "intrinsic": np.where(
                is_call, np.maximum(spot - strike, 0), np.maximum(strike - spot, 0)
            ),
            "bs_price_hv": bs,
            **greeks,
            "lag1_close": lag_close,
            "lag1_oi": lag_oi,
            "lag1_missing": lag_missing.astype(np.float64),
            "history_missing": missing.astype(np.float64),
        },
        index=df.index,
    )
    X = X[list(FEATURES)].astype(np.float64)
    y = pd.Series(df[target].to_numpy(np.float64), index=df.index, name=f"target_{target}")
    return X, y
