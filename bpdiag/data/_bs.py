"""Black–Scholes price, greeks and implied volatility, vectorised over numpy arrays.

European options on an index with a continuous dividend yield ``q`` (Black & Scholes 1973,
Merton 1973). Every argument broadcasts against the others; prices are in the units of
``spot``/``strike`` (rupees or index points), ``tau`` in years, ``rate``/``q``/``sigma``
annualised decimals (0.065 = 6.5 %). ``is_call`` is a boolean (or 0/1) array.

>>> float(bs_price(100.0, 100.0, 1.0, 0.0, 0.2, True))  # doctest: +ELLIPSIS
7.965...
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr

__all__ = ["bs_price", "bs_greeks", "implied_vol", "TAU_FLOOR", "SIGMA_FLOOR"]

TAU_FLOOR = 1e-6  # years; below this an option is priced at (discounted) intrinsic value
SIGMA_FLOOR = 1e-6

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _prep(spot, strike, tau, rate, sigma, is_call, q):
    s = np.asarray(spot, dtype=np.float64)
    k = np.asarray(strike, dtype=np.float64)
    t = np.maximum(np.asarray(tau, dtype=np.float64), TAU_FLOOR)
    r = np.asarray(rate, dtype=np.float64)
    v = np.maximum(np.asarray(sigma, dtype=np.float64), SIGMA_FLOOR)
    c = np.asarray(is_call).astype(bool)
    qq = np.asarray(q, dtype=np.float64)
    return s, k, t, r, v, c, qq


def _d1d2(s, k, t, r, v, qq):
    sqrt_t = np.sqrt(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = (np.log(s / k) + (r - qq + 0.5 * v * v) * t) / (v * sqrt_t)
    return d1, d1 - v * sqrt_t, sqrt_t


def bs_price(
    spot: ArrayLike,
    strike: ArrayLike,
    tau: ArrayLike,
    rate: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    q: ArrayLike = 0.0,
) -> np.ndarray:
    """Black–Scholes price of a European call or put.

    All inputs broadcast; returns float64 of the broadcast shape, in the units of ``spot``.
    ``tau`` is floored at :data:`TAU_FLOOR` years and ``sigma`` at :data:`SIGMA_FLOOR`.
    """
    s, k, t, r, v, c, qq = _prep(spot, strike, tau, rate, sigma, is_call, q)
    d1, d2, _ = _d1d2(s, k, t, r, v, qq)
    df_s = s * np.exp(-qq * t)
    df_k = k * np.exp(-r * t)
    call = df_s * ndtr(d1) - df_k * ndtr(d2)
    put = df_k * ndtr(-d2) - df_s * ndtr(-d1)
    return np.where(c, call, put)


def bs_greeks(
    spot: ArrayLike,
    strike: ArrayLike,
    tau: ArrayLike,
    rate: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    q: ArrayLike = 0.0,
) -> dict[str, np.ndarray]:
    """Delta, gamma, vega and theta of a European option.

    Returns a dict of float64 arrays (broadcast shape):

    * ``delta``: d price / d spot (dimensionless; calls in [0, 1], puts in [-1, 0]);
    * ``gamma``: d delta / d spot, per index point;
    * ``vega``: price change for a 1 vol-point (0.01) rise in ``sigma``, in price units;
    * ``theta``: price change per calendar day (1/365 year) of passing time, in price units
      (usually negative).
    """
    s, k, t, r, v, c, qq = _prep(spot, strike, tau, rate, sigma, is_call, q)
    d1, d2, sqrt_t = _d1d2(s, k, t, r, v, qq)
    eq = np.exp(-qq * t)
    er = np.exp(-r * t)
    pdf = _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)
    delta = np.where(c, eq * ndtr(d1), -eq * ndtr(-d1))
    gamma = eq * pdf / (s * v * sqrt_t)
    vega = s * eq * pdf * sqrt_t
    common = -s * eq * pdf * v / (2.0 * sqrt_t)
    theta_call = common - r * k * er * ndtr(d2) + qq * s * eq * ndtr(d1)
    theta_put = common + r * k * er * ndtr(-d2) - qq * s * eq * ndtr(-d1)
    theta = np.where(c, theta_call, theta_put)
    return {"delta": delta, "gamma": gamma, "vega": vega / 100.0, "theta": theta / 365.0}


def implied_vol(
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    tau: ArrayLike,
    rate: ArrayLike,
    is_call: ArrayLike,
    q: ArrayLike = 0.0,
    *,
    lo: float = 1e-4,
    hi: float = 5.0,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> np.ndarray:
    """Black–Scholes implied volatility (annualised decimal) by safeguarded Newton iteration.

    Newton steps that leave the bracket ``[lo, hi]`` are replaced by bisection, so the
    iteration always converges where a solution exists. Returns float64 of the broadcast shape,
    NaN where the price lies outside the no-arbitrage bounds (at or below the lower bound, or at
    or above the upper bound) or the inputs are not finite.
    """
    p, s, k, t, r, c, qq = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (price, spot, strike, tau, rate, is_call, q))
    )
    c = c.astype(bool)
    t = np.maximum(t, TAU_FLOOR)
    lower = np.where(
        c,
        np.maximum(s * np.exp(-qq * t) - k * np.exp(-r * t), 0.0),
        np.maximum(k * np.exp(-r * t) - s * np.exp(-qq * t), 0.0),
    )
    upper = np.where(c, s * np.exp(-qq * t), k * np.exp(-r * t))
    ok = np.isfinite(p) & np.isfinite(s) & np.isfinite(k) & (p > lower) & (p < upper)
    a = np.full(p.shape, lo)
    b = np.full(p.shape, hi)
    x = np.full(p.shape, 0.2)
    active = ok.copy()
    for _ in range(max_iter):
        if not active.any():
            break
        f = bs_price(s, k, t, r, x, c, qq) - p
        vega = bs_greeks(s, k, t, r, x, c, qq)["vega"] * 100.0
        a = np.where(active & (f < 0), x, a)
        b = np.where(active & (f > 0), x, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = x - f / vega
        bad = ~np.isfinite(step) | (step <= a) | (step >= b)
        new = np.where(bad, 0.5 * (a + b), step)
        done = np.abs(new - x) < tol * np.maximum(1.0, x)
        x = np.where(active, new, x)
        active = active & ~done
    return np.where(ok, x, np.nan)
