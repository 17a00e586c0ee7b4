"""A deterministic synthetic NIFTY-like table of index option end-of-day rows.

The generator follows the facts measured on real NSE data (``shared/data/real/CALIBRATION.md``):

* **Calendar.** Weekdays from ``start`` for ``years`` years, less about 14 seeded exchange
  holidays a year. Weekly expiries fall on Thursday until 2025-08-31 and on Tuesday from
  2025-09-01 (as NSE moved them); an expiry on a holiday moves to the previous trading day. The
  monthly expiry is the last weekly expiry of the month. Lot size follows NSE's changes
  (50 → 25 on 2024-04-26 → 75 on 2024-11-20 → 65 on 2025-12-30).
* **Index.** Log returns with a three-state volatility regime (calm / normal / stressed), a
  mean-reverting log volatility that is negatively correlated with returns (leverage effect) and
  Poisson jumps (about 3 a year, mostly down) that lift volatility. Starts near 17,500.
* **Volatility index.** 100 × the 30-day at-the-money implied volatility of the surface below
  times 1.08 (the smile premium of a variance-swap index), so it moves with realised volatility:
  about 10–13 in calm regimes, 25–45 in stressed ones.
* **Rate.** A slow mean-reverting path near 6.5 % (5.5–7.5 %).
* **Surface.** ``iv(k) = atm(T) + b·k + c·k²`` in log-moneyness ``k = ln(K/F)``: ATM level from the
  latent volatility with a term structure towards 0.13 (rising in calm, inverted in stress), skew
  ``b ≈ −0.22·sqrt(atm/0.11)`` and curvature ``c = 0.35 / T`` (falling like 1/T).
* **Contracts.** Each day, the nearest two weeklies and the nearest two monthlies; strikes on the
  50-point grid. The rows kept each day are call/put pairs drawn without replacement with weight
  ``exp(-d²/4.5 - penalty(expiry))`` in the standardised distance ``d = |k| / (atm·sqrt(T))``
  (so mostly within 2–3 standard deviations, front expiry preferred), plus about one far out- or
  in-the-money pair a day (2.5 < d < 7) on the 100-point grid.
* **Prices.** Black–Scholes (``q = 0``) at the surface volatility plus a small volatility noise
  common to the call and the put (so put–call parity holds to about a point), plus a small price
  noise; rounded to the 0.05 tick, never below the discounted intrinsic value or 0.05. The settle
  price is the noise-free model price to the paisa. Open/high/low come from the same surface at
  the index open/high/low.
* **Volume and open interest.** Log-normal, concentrated near the money and at the front expiry;
  far strikes often do not trade (volume 0). As in real bhavcopies, an untraded row has
  open/high/low 0 and close equal to the previous close. Open interest is in units (a multiple of
  the lot size), volume in contracts.

Every noise term comes from a counter-based hash of (seed, day, expiry, strike, type), so the
previous-day close (``prev_close``) and ``oi_change`` are exactly consistent with the rows of the
day before, and a contract's quote does not depend on which other rows were drawn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from bpdiag.data._bs import bs_price
from bpdiag.data._formats import CANONICAL_COLUMNS

__all__ = ["synthesize", "SYNTH_COLUMNS", "EXPIRY_DAY_TAU_DAYS"]

EXPIRY_DAY_TAU_DAYS = 0.25  # calendar days of time value left on an expiry day's close

SYNTH_COLUMNS = (
    *CANONICAL_COLUMNS,  # what every loader returns, then the generator's extra columns
    "instrument",
    "prev_close",
    "oi_change",
    "lot_size",
    "vix",
    "rate",
)

_TUESDAY_FROM = pd.Timestamp("2025-09-01")
_LOT_SIZES = (  # (first day, lot size), NIFTY
    (pd.Timestamp("1990-01-01"), 50),
    (pd.Timestamp("2024-04-26"), 25),
    (pd.Timestamp("2024-11-20"), 75),
    (pd.Timestamp("2025-12-30"), 65),
)
_DT = 1.0 / 252.0
_LISTING_DAYS = 75  # calendar days before expiry that a contract is listed (two monthlies)
_LONG_VOL = 0.13
_TERM_YEARS = 0.25

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def _hash_uniform(seed: int, salt: int, *keys: np.ndarray) -> np.ndarray:
    """Uniform(0, 1) numbers, a pure function of (seed, salt, keys...); float64[broadcast]."""
    shape = np.broadcast_shapes(*(np.shape(k) for k in keys)) if keys else ()
    with np.errstate(over="ignore"):
        h = _mix(np.full(shape, np.uint64(seed) * _GOLD + np.uint64(salt), dtype=np.uint64))
        for k in keys:
            h = _mix(h ^ (np.asarray(k).astype(np.int64).astype(np.uint64) + _GOLD))
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def _hash_normal(seed: int, salt: int, *keys: np.ndarray) -> np.ndarray:
    return ndtri(_hash_uniform(seed, salt, *keys))


def _tick(x: np.ndarray) -> np.ndarray:
    """Round to the 0.05 tick (division keeps the result equal to the parsed decimal)."""
    return np.round(np.asarray(x) * 20.0) / 20.0


def _cent(x: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(x) * 100.0) / 100.0


def _calendar(start: pd.Timestamp, years: float, rng: np.random.Generator):
    end = start + pd.Timedelta(days=round(365.25 * years) - 1)
    weekdays = pd.bdate_range(start, end)
    n_hol = int(round(14 * years))
    hol_idx = np.sort(rng.choice(len(weekdays), size=min(n_hol, len(weekdays) // 4), replace=False))
    holidays = weekdays[hol_idx]
    days = weekdays.delete(hol_idx)
    # Weekly expiries from the first week up to ~6 months after the end.
    mondays = pd.date_range(
        start - pd.Timedelta(days=start.weekday()), end + pd.Timedelta(days=200), freq="7D"
    )
    nominal = pd.DatetimeIndex(
        [
            m + pd.Timedelta(days=1 if m + pd.Timedelta(days=1) >= _TUESDAY_FROM else 3)
            for m in mondays
        ]
    )
    hol_set = set(holidays)
    actual = []
    for d in nominal:
        while d in hol_set or d.weekday() >= 5:
            d -= pd.Timedelta(days=1)
        actual.append(d)
    weekly = pd.DatetimeIndex(actual)
    month_key = nominal.year * 12 + nominal.month
    is_last = np.r_[month_key[1:] != month_key[:-1], True]
    monthly = weekly[is_last]
    return days, weekly, monthly


def _lot_size(dates: pd.DatetimeIndex) -> np.ndarray:
    out = np.zeros(len(dates), dtype=np.int64)
    for first, lot in _LOT_SIZES:
        out[dates >= first] = lot
    return out


def _market(seed: int, days: pd.DatetimeIndex, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Index path, latent volatility, surface levels, rate and volatility index; float64[n_days]."""
    n = len(days)
    trans = np.array([[0.985, 0.012, 0.003], [0.020, 0.968, 0.012], [0.010, 0.050, 0.940]])
    level = np.log(np.array([0.10, 0.145, 0.30]))
    kappa, eta, rho, mu = 0.04, 0.05, -0.6, 0.10
    eps_v = rng.standard_normal(n)
    eps_i = rng.standard_normal(n)
    u_reg = rng.random(n)
    jump = rng.random(n) < 3.0 / 252.0
    jump_size = rng.normal(-0.025, 0.02, n)
    regime = np.zeros(n, dtype=np.int64)
    logvol = np.empty(n)
    x, reg = level[0], 0
    cum = np.cumsum(trans, axis=1)
    for t in range(n):
        reg = int(np.searchsorted(cum[reg], u_reg[t], side="right"))
        reg = min(reg, 2)
        x = x + kappa * (level[reg] - x) + eta * eps_v[t] + (0.5 if jump[t] else 0.0)
        regime[t], logvol[t] = reg, x
    sigma = np.exp(logvol)
    shock = rho * eps_v + np.sqrt(1.0 - rho * rho) * eps_i
    ret = (
        (mu - 0.5 * sigma**2) * _DT + sigma * np.sqrt(_DT) * shock + np.where(jump, jump_size, 0.0)
    )
    close = 17500.0 * np.exp(np.cumsum(ret))
    prev = np.r_[17500.0, close[:-1]]
    sd = sigma * np.sqrt(_DT)
    open_ = prev * np.exp(0.3 * ret + 0.2 * sd * rng.standard_normal(n))
    high = np.maximum(open_, close) * np.exp(np.abs(0.5 * sd * rng.standard_normal(n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(0.5 * sd * rng.standard_normal(n)))
    # Rate: slow mean reversion around 6.5 %.
    rate = np.empty(n)
    r = 0.060
    for t, z in enumerate(rng.standard_normal(n)):
        r = float(np.clip(r + 0.004 * (0.066 - r) + 0.0004 * z, 0.055, 0.075))
        rate[t] = r
    day_level = np.exp(0.03 * rng.standard_normal(n))  # common surface shift, per day
    skew = np.clip(-0.22 + 0.03 * rng.standard_normal(n), -0.35, -0.10)
    atm30 = _atm(sigma, day_level, 30.0 / 365.0)
    vix = 100.0 * atm30 * 1.08 * np.exp(0.02 * rng.standard_normal(n))
    return {
        "close": _cent(close),
        "open": _cent(open_),
        "high": _cent(high),
        "low": _cent(low),
        "sigma": sigma,
        "regime": regime,
        "rate": np.round(rate * 1e4) / 1e4,
        "day_level": day_level,
        "skew": skew,
        "vix": _cent(vix),
    }


def _atm(sigma: np.ndarray, day_level: np.ndarray, tau: np.ndarray | float) -> np.ndarray:
    w = np.exp(-np.asarray(tau) / _TERM_YEARS)
    return (_LONG_VOL + (sigma - _LONG_VOL) * w) * day_level


class _Model:
    """Quotes of any (day index, expiry, strike, type) from the market state; all vectorised."""

    def __init__(self, seed: int, days: pd.DatetimeIndex, mkt: dict[str, np.ndarray]):
        self.seed = seed
        self.day_num = (days.values.astype("datetime64[D]").astype(np.int64)).astype(np.float64)
        self.mkt = mkt
        self.lot = _lot_size(days)

    def state(self, t: np.ndarray, exp_num: np.ndarray, strike: np.ndarray):
        m = self.mkt
        s, r = m["close"][t], m["rate"][t]
        tau_days = exp_num - self.day_num[t]
        tau = np.maximum(tau_days, EXPIRY_DAY_TAU_DAYS) / 365.0
        atm = _atm(m["sigma"][t], m["day_level"][t], tau)
        atm = atm * np.exp(0.01 * _hash_normal(self.seed, 1, t, exp_num))
        fwd = s * np.exp(r * tau)
        k = np.log(strike / fwd)
        b = m["skew"][t] * np.sqrt(atm / 0.11)
        c = 0.35 / np.maximum(tau, 2.0 / 365.0)
        iv = np.clip(atm + b * k + c * k * k, 0.5 * atm, atm + 0.8)
        iv = iv + 0.002 * _hash_normal(self.seed, 2, t, exp_num, strike)
        dist = np.abs(k) / (atm * np.sqrt(tau))
        return s, r, tau, tau_days, iv, dist

    def quote(self, t, exp_num, strike, is_call):
        """Close (tick, noisy), settle (model, paisa) and the volume of a contract on day t."""
        s, r, tau, tau_days, iv, dist = self.state(t, exp_num, strike)
        model = bs_price(s, strike, tau, r, iv, is_call)
        noise = (0.15 + 0.002 * model) * _hash_normal(self.seed, 3, t, exp_num, strike, is_call)
        disc = strike * np.exp(-r * tau)
        bound = np.where(is_call, np.maximum(s - disc, 0.0), np.maximum(disc - s, 0.0))
        floor = np.maximum(np.ceil(bound * 20.0 - 1e-9) / 20.0, 0.05)
        close = np.maximum(_tick(model + noise), floor)
        settle = np.maximum(_cent(model), 0.05)
        itm = np.where(is_call, strike < s, strike > s)
        m_vol = (
            9.2
            - 0.9 * np.minimum(dist, 4.0) ** 2
            - 1.1 * np.log1p(tau_days / 7.0)
            - 0.8 * itm
            + 0.8 * (tau_days <= 2)
        )
        traded = _hash_uniform(self.seed, 4, t, exp_num, strike, is_call) > ndtr(-(m_vol - 3.0))
        vol = np.exp(m_vol + 1.1 * _hash_normal(self.seed, 5, t, exp_num, strike, is_call))
        volume = np.where(traded, np.maximum(np.round(vol), 1.0), 0.0)
        z_c = _hash_normal(self.seed, 6, exp_num, strike, is_call)  # contract-level, all days
        oi = self.lot[t] * np.round(np.exp(0.8 * m_vol + 2.5 + 0.7 * z_c))
        return {
            "close": close,
            "settle": settle,
            "iv": iv,
            "volume": volume,
            "oi": oi,
            "traded": traded,
            "dist": dist,
            "tau_days": tau_days,
        }

    def ohl(self, t, exp_num, strike, is_call, iv):
        """Open/high/low of a traded contract from the index open/high/low at the same iv."""
        m = self.mkt
        r = m["rate"][t]
        tau = np.maximum(exp_num - self.day_num[t], EXPIRY_DAY_TAU_DAYS) / 365.0
        o = bs_price(m["open"][t], strike, tau + 0.75 / 365.0, r, iv, is_call)
        o = o + (0.15 + 0.002 * o) * _hash_normal(self.seed, 7, t, exp_num, strike, is_call)
        up = np.where(is_call, m["high"][t], m["low"][t])
        dn = np.where(is_call, m["low"][t], m["high"][t])
        hi = bs_price(up, strike, tau + 0.4 / 365.0, r, iv, is_call)
        lo = bs_price(dn, strike, tau, r, iv, is_call)
        return np.maximum(_tick(o), 0.05), np.maximum(_tick(hi), 0.05), np.maximum(_tick(lo), 0.05)


def _carried(model: _Model, t, e, k, is_call, listed) -> np.ndarray:
    """Close carried by each contract on day ``t``: its latest traded quote since ``listed``."""
    out = np.full(len(t), np.nan)
    pending = np.ones(len(t), dtype=bool)
    lag = 0
    while pending.any():
        idx = np.flatnonzero(pending)
        day = t[idx] - lag
        q = model.quote(day, e[idx], k[idx], is_call[idx])
        hit = q["traded"] | (day <= listed[idx])
        out[idx[hit]] = np.where(q["traded"][hit], q["close"][hit], q["settle"][hit])
        pending[idx[hit]] = False
        lag += 1
    return out


def synthesize(
    seed: int = 0,
    *,
    years: float = 4.0,
    rows: int = 22_000,
    start: str = "2022-09-01",
) -> pd.DataFrame:
    """Generate the synthetic NIFTY-like option table.

    Args:
        seed: drives everything; the same seed gives an identical table.
        years: length of the calendar in years (about 247 trading days a year).
        rows: number of option rows (rounded down to even: calls and puts come in pairs).
        start: first calendar day (ISO date).

    Returns:
        DataFrame with ``rows`` rows and the columns :data:`SYNTH_COLUMNS`: the canonical option
        columns (``date``, ``expiry`` datetime64[ns]; prices in rupees on the 0.05 tick; volume
        in contracts; open interest in units), plus ``instrument`` ("OPTIDX"), ``prev_close``
        (the close the contract carried on the previous trading day, rupees; NaN on the
        first day and on the day a contract is listed),
        ``oi_change`` (units), ``lot_size``, ``vix`` (volatility index, points) and ``rate``
        (annualised decimal). ``underlying_price`` is the index close that day.

    >>> df = synthesize(seed=0, years=0.5, rows=2000)
    >>> len(df), sorted(df.option_type.unique())
    (2000, ['CE', 'PE'])
    """
    if rows < 2:
        raise ValueError(f"rows must be >= 2, got {rows}")
    if not 0.05 <= years <= 50:
        raise ValueError(f"years must be between 0.05 and 50, got {years}")
    rng = np.random.default_rng(seed)
    days, weekly, monthly = _calendar(pd.Timestamp(start), years, rng)
    n = len(days)
    mkt = _market(seed, days, rng)
    model = _Model(seed, days, mkt)
    day_num = model.day_num.astype(np.int64)

    # Pairs per day: the total split evenly, the remainder on seeded days; ~1 wing pair a day.
    pairs = rows // 2
    per_day = np.full(n, pairs // n, dtype=np.int64)
    per_day[rng.choice(n, size=pairs - per_day.sum(), replace=False)] += 1
    if per_day.min() < 1:
        raise ValueError(f"rows={rows} is too few for {n} trading days (need >= {2 * n})")
    wings = np.minimum(rng.binomial(2, 0.45, n), np.maximum(per_day - 2, 0))
    core = per_day - wings

    # Candidate (day, expiry, strike): nearest two weeklies and two monthlies, 50-point grid.
    w_num = weekly.values.astype("datetime64[D]").astype(np.int64)
    m_num = monthly.values.astype("datetime64[D]").astype(np.int64)
    iw = np.searchsorted(w_num, day_num)
    im = np.searchsorted(m_num, day_num)
    exps = np.stack([w_num[iw], w_num[iw + 1], m_num[im], m_num[im + 1]], axis=1)
    penalty = np.array([0.0, 0.8, 0.4, 1.5])
    dup = np.zeros_like(exps, dtype=bool)
    dup[:, 2] = (exps[:, 2] == exps[:, 0]) | (exps[:, 2] == exps[:, 1])
    dup[:, 3] = exps[:, 3] == exps[:, 1]
    offsets = np.arange(-120, 121)
    atm_k = np.round(mkt["close"] / 50.0) * 50.0
    t_idx = np.repeat(np.arange(n), 4 * len(offsets))
    e_col = np.tile(np.repeat(np.arange(4), len(offsets)), n)
    exp_num = exps[t_idx, e_col]
    strike = atm_k[t_idx] + 50.0 * np.tile(offsets, 4 * n)
    keep = ~dup[t_idx, e_col] & (strike > 0)
    t_idx, e_col, exp_num, strike = t_idx[keep], e_col[keep], exp_num[keep], strike[keep]
    dist = model.state(t_idx, exp_num, strike)[5]
    jitter = _hash_uniform(seed, 8, t_idx, exp_num, strike)

    def top(mask: np.ndarray, score: np.ndarray, count: np.ndarray) -> np.ndarray:
        idx = np.flatnonzero(mask)
        order = idx[np.lexsort((score[idx], t_idx[idx]))]
        tt = t_idx[order]
        first = np.searchsorted(tt, tt, side="left")
        rank = np.arange(len(order)) - first
        return order[rank < count[tt]]

    # Weighted sampling without replacement (Gumbel top-k): weight exp(-dist²/2·1.5² - penalty).
    gumbel_key = dist**2 / (2.0 * 1.5**2) + penalty[e_col] + np.log(-np.log(jitter))
    core_sel = top(np.ones(len(t_idx), dtype=bool), gumbel_key, core)
    wing_mask = (dist >= 2.5) & (dist <= 7.0) & (strike % 100 == 0) & (e_col != 1)
    wing_sel = top(wing_mask, jitter, wings)
    sel = np.unique(np.r_[core_sel, wing_sel])
    if len(sel) * 2 != rows // 2 * 2:
        raise ValueError(f"could not place {rows} rows on {n} days; lower rows or raise years")

    # Expand to call/put rows and quote them.
    t = np.repeat(t_idx[sel], 2)
    e = np.repeat(exp_num[sel], 2)
    k = np.repeat(strike[sel], 2)
    is_call = np.tile(np.array([True, False]), len(sel))
    q = model.quote(t, e, k, is_call)

    # A contract is listed from the first trading day within _LISTING_DAYS of its expiry. Its
    # carried close is the quote of its latest traded day since listing (the settle of the
    # listing day if it never traded), so an untraded row's close is exactly the previous close.
    listed = np.minimum(np.searchsorted(day_num, e - _LISTING_DAYS), t)
    has_prev = t - 1 >= listed
    prev_close = np.full(len(t), np.nan)
    prev_close[has_prev] = _carried(
        model, t[has_prev] - 1, e[has_prev], k[has_prev], is_call[has_prev], listed[has_prev]
    )
    oi_prev = np.where(t == 0, np.nan, 0.0)
    oi_prev[has_prev] = model.quote(t[has_prev] - 1, e[has_prev], k[has_prev], is_call[has_prev])[
        "oi"
    ]

    traded = q["traded"]
    close = np.where(traded, q["close"], np.where(np.isnan(prev_close), q["settle"], prev_close))
    o, h, lo = model.ohl(t, e, k, is_call, q["iv"])
    o, h, lo = (np.where(traded, a, 0.0) for a in (o, h, lo))
    h = np.where(traded, np.maximum.reduce([h, o, close]), 0.0)
    lo = np.where(traded, np.minimum.reduce([lo, o, close]), 0.0)

    date = days[t]
    out = pd.DataFrame(
        {
            "date": date.values.astype("datetime64[ns]"),
            "underlying": "NIFTY",
            "expiry": e.astype("datetime64[D]").astype("datetime64[ns]"),
            "strike": k,
            "option_type": np.where(is_call, "CE", "PE"),
            "open": o,
            "high": h,
            "low": lo,
            "close": close,
            "settle": q["settle"],
            "volume": q["volume"],
            "open_interest": q["oi"],
            "underlying_price": mkt["close"][t],
            "instrument": "OPTIDX",
            "prev_close": prev_close,
            "oi_change": q["oi"] - oi_prev,
            "lot_size": model.lot[t].astype(np.float64),
            "vix": mkt["vix"][t],
            "rate": mkt["rate"][t],
        }
    )
    return out.sort_values(["date", "expiry", "strike", "option_type"], ignore_index=True)
