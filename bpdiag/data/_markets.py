"""Per-market conventions: which rate, dividend yield, calendar and tick a chain's features use.

A chain's market follows from its underlying (:func:`market_of`); :func:`bpdiag.data.prepare`
takes the market's ``rate`` and ``dividend_yield`` unless they are given (a table's own ``rate``
column wins over both), and records the market in its meta. The bundled synthetic table is
NIFTY-like and takes the ``nifty`` row.

=================  ==================================  ==================================
convention         nifty (NSE)                         spx (CBOE)
=================  ==================================  ==================================
underlyings        NIFTY, NIFTY50, BANKNIFTY,           SPX, SPXW, ^SPX, XSP
                   FINNIFTY, MIDCPNIFTY
currency           INR (rupees)                         USD
rate               0.065: the 91-day T-bill level,      0.045: US 3-month T-bill level; put–call
                   the original study's value (no      parity of the shared 2026-05-04 chain gives
                   T-bill series in the shared data)   ``r − q`` = 0.033, so r = 0.033 + q
dividend_yield     0 (the original study's ``q = 0``;  0.013: S&P 500 trailing yield 2024–26 (no
                   the features stay as they were)     dividend series in the shared data; the
                                                       chains fix only ``r − q``)
calendar           NSE: Mon–Fri less exchange           NYSE: Mon–Fri less exchange holidays,
                   holidays, 09:15–15:30 IST; weekly    09:30–16:00 ET; SPXW PM-settled daily
                   expiries (Thursday, Tuesday since    expiries, SPX AM-settled monthlies (the
                   2025), monthly and long-dated        third Friday)
annualisation      252 trading days for volatility,     the same
                   365 calendar days for ``tau``
tick               0.05 rupee                           0.05 below 3.00, 0.10 above
index history      NIFTY 50 daily (NSE or Yahoo         S&P 500 daily (Yahoo ^GSPC), e.g.
                   ``^NSEI``)                           ``lienc410_option_spx/sp500_index_daily_
                                                        gspc.csv``
volatility index   India VIX                            CBOE VIX (none in the shared data: the
                                                        features then take ``100 · hv_21``)
=================  ==================================  ==================================

A 2022 SPX chain wants a lower rate (parity of the 2022-05-06 trades gives ``r − q`` ≈ −0.003):
pass ``rate=`` for chains far from the table's years. An underlying in neither row (a stock, an
ETF) gets the package defaults (rate 0.065, no dividend yield) under the market name ``other``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_RATE", "Market", "MARKETS", "market_of", "conventions"]

#: The package's default risk-free rate (the original study's 6.5 %, a 91-day T-bill level).
DEFAULT_RATE = 0.065


@dataclass(frozen=True)
class Market:
    """One market's conventions (see the module table). ``rate`` and ``dividend_yield`` are
    annualised continuously compounded decimals; ``tick`` and ``price_unit`` (what prices and
    price errors are in: rupees, dollars) in the market's currency."""

    name: str
    underlyings: tuple[str, ...]
    currency: str
    price_unit: str
    rate: float
    dividend_yield: float
    calendar: str
    tick: str


MARKETS: dict[str, Market] = {
    "nifty": Market(
        name="nifty",
        underlyings=("NIFTY", "NIFTY50", "BANKNIFTY", "FINNIFTY", "MIDCPNIFTY"),
        currency="INR",
        price_unit="rupees",
        rate=DEFAULT_RATE,
        dividend_yield=0.0,
        calendar="NSE, Mon-Fri less holidays, 09:15-15:30 IST",
        tick="0.05",
    ),
    "spx": Market(
        name="spx",
        underlyings=("SPX", "SPXW", "^SPX", "XSP"),
        currency="USD",
        price_unit="dollars",
        rate=0.045,
        dividend_yield=0.013,
        calendar="NYSE, Mon-Fri less holidays, 09:30-16:00 ET",
        tick="0.05 below 3.00, 0.10 above",
    ),
}

_OTHER = Market(
    "other", (), "unknown", "the file's currency", DEFAULT_RATE, 0.0, "unknown", "unknown"
)


def market_of(symbol: str | None) -> Market:
    """The conventions of an underlying: the :data:`MARKETS` row listing it, else the package
    defaults under the name ``other``.

    >>> market_of("SPX").dividend_yield, market_of("NIFTY").name, market_of("RELIANCE").name
    (0.013, 'nifty', 'other')
    """
    sym = "" if symbol is None else str(symbol).upper()
    for m in MARKETS.values():
        if sym in m.underlyings:
            return m
    return _OTHER


def conventions(
    symbol: str | None, rate: float | None = None, dividend_yield: float | None = None
) -> tuple[Market, float, float]:
    """``(market, rate, dividend_yield)`` for an underlying: the given values, else the
    market's (the one place where a default rate or yield is chosen)."""
    m = market_of(symbol)
    r = m.rate if rate is None else float(rate)
    q = m.dividend_yield if dividend_yield is None else float(dividend_yield)
    return m, r, q
