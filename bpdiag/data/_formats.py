"""The option file formats as one table: :data:`OPTION_FORMATS` maps a format name to the header
columns that identify it and a table canonical column -> parse rule (source column(s) and how to
read them). The columns a loader reads, their types (text or float64) and auto-detection all follow
from an entry, so adding a format is adding an entry. Also: the canonical columns, the typed-table
context rules read through (:class:`_Ctx`, whose errors name file, line and column), and
:class:`DataError`.

Nothing here opens a file: :mod:`bpdiag.data._loaders` reads the bytes and the CSV.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

CANONICAL_COLUMNS = (
    "date",
    "underlying",
    "expiry",
    "strike",
    "option_type",
    "open",
    "high",
    "low",
    "close",
    "settle",
    "volume",
    "open_interest",
    "underlying_price",
)
"""Columns every option loader returns, in this order. ``date``/``expiry`` are
datetime64[ns] (midnight); ``option_type`` is "CE"/"PE" (missing for futures); prices and
``strike`` in the file's currency (rupees, dollars); ``volume`` in contracts."""

EXTRA_COLUMNS = ("instrument", "prev_close", "oi_change")
"""Always present after the canonical ones (NaN/missing where the file has no such field):
``instrument`` (OPTIDX, FUTIDX, OPTSTK, FUTSTK), the previous-day close, the change in open
interest. Files that carry them also give ``lot_size``, ``vix`` and ``rate``."""

_OPTIONAL_EXTRAS = ("lot_size", "vix", "rate")
#: Numeric columns every loader returns as float64 (besides ``strike``).
_PRICE_COLUMNS = (
    "open",
    "high",
    "low",
    "close",
    "settle",
    "volume",
    "open_interest",
    "underlying_price",
    "prev_close",
    "oi_change",
)
_NA = ["", " ", "-", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"]
_ROOTS = {"SPXW": "SPX", "SPXPM": "SPX", "NDXP": "NDX", "RUTW": "RUT", "VIXW": "VIX"}
_OCC = r"^(?:O:)?([A-Z][A-Z0-9]{0,5})(\d{6})([CP])(\d{8})$"


class DataError(ValueError):
    """Bad input data: the message is one line naming the file, the line and the column."""


# ---------------------------------------------------------------------------- parsing helpers


@dataclass
class _Ctx:
    label: str
    raw: pd.DataFrame  # typed columns; index = data row number (line = index + 2)

    def fail(self, row: int, col: str, what: str) -> DataError:
        return DataError(f"{self.label}: line {int(row) + 2}, column {col}: {what}")

    def has(self, col: str) -> bool:
        return col in self.raw.columns

    def num(self, col: str) -> pd.Series:
        if col not in self.raw.columns:
            return pd.Series(np.nan, index=self.raw.index)
        return self.raw[col].astype(np.float64)

    def text(self, col: str, case: str | None = None) -> pd.Series:
        """The column as stripped text (object dtype; NaN where empty), optionally upper- or
        lower-cased (``case="upper"``/``"lower"``)."""
        if col not in self.raw.columns:
            return pd.Series(np.nan, index=self.raw.index, dtype=object)
        conv = {"upper": str.upper, "lower": str.lower}.get(case or "", str)
        return _umap(self.raw[col], lambda v: conv(v.strip()) or np.nan)

    def dates(self, col: str, formats: tuple[str, ...], *, required: bool = True) -> pd.Series:
        return _parse_dates(self, self.text(col), col, formats, required=required)

    def option_type(self, col: str, futures_ok: bool = True) -> pd.Series:
        """CE/PE from CE/PE/C/P/CALL/PUT (any case); NaN for futures (XX, FF, empty)."""

        def kind(v):
            v = str(v).strip().upper()
            if v in _TYPE_MAP:
                return _TYPE_MAP[v]
            return "" if v in _FUT_TYPES and futures_ok else "?"

        raw = self.raw[col] if col in self.raw.columns else pd.Series(np.nan, index=self.raw.index)
        out = _umap(raw, kind, na="" if futures_ok else "?")
        bad = out.eq("?")
        if bad.any():
            i = bad.idxmax()
            raise self.fail(i, col, f"unknown option type {raw.loc[i]!r}")
        return out.replace("", np.nan)

    def strike(self, col: str, opt: pd.Series) -> pd.Series:
        k = self.num(col)
        bad = opt.notna() & ~(k > 0)
        if bad.any():
            i = bad.idxmax()
            raise self.fail(i, col, f"option row needs a positive strike, got {k.loc[i]!r}")
        return k


def _umap(s: pd.Series, func, na=np.nan) -> pd.Series:
    """Apply ``func`` to each distinct non-missing value of ``s`` (fast for repetitive text).

    Returns an object Series on ``s.index``; missing values become ``na``.
    """
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    vals = np.empty(len(uniq), dtype=object)
    vals[:] = [func(u) for u in uniq]
    out = np.empty(len(s), dtype=object)
    out[:] = na
    ok = codes >= 0
    out[ok] = vals[codes[ok]]
    return pd.Series(out, index=s.index, dtype=object)


_TYPE_MAP = {"CE": "CE", "PE": "PE", "C": "CE", "P": "PE", "CALL": "CE", "PUT": "PE"}
_FUT_TYPES = {"XX", "FF", "FUT", ""}

_DATE_FORMATS = ("%Y-%m-%d", "%d-%b-%Y", "%d-%m-%Y", "%d %b %Y", "%d/%m/%Y", "%Y%m%d", "%d%b%Y")


def _parse_dates(
    ctx: _Ctx, s: pd.Series, col: str, formats: tuple[str, ...], *, required: bool = True
) -> pd.Series:
    """Parse a text column of dates with the first format that reads every value."""
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    if required and (codes < 0).any():
        raise ctx.fail(s.index[int(np.argmax(codes < 0))], col, "empty date")
    uniq = pd.Series(uniq, dtype=object)
    best, best_ok, best_fmt = None, -1, formats[0]
    for fmt in formats:
        parsed = pd.to_datetime(uniq, format=fmt, errors="coerce")
        n_ok = int(parsed.notna().sum())
        if n_ok == len(uniq):
            best = parsed
            break
        if n_ok > best_ok:
            best_ok, best_fmt = n_ok, fmt
    if best is None:
        parsed = pd.to_datetime(uniq, format=best_fmt, errors="coerce")
        first_bad = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        i = s.index[int(np.argmax(codes == first_bad))]
        raise ctx.fail(i, col, f"cannot parse {s.loc[i]!r} as a date")
    values = best.to_numpy().astype("datetime64[ns]")
    out = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = codes >= 0
    out[ok] = values[codes[ok]]
    return pd.Series(out, index=s.index).dt.normalize()


def _parse_occ(ctx: _Ctx, col: str) -> pd.DataFrame:
    s = ctx.text(col)
    m = s.str.extract(_OCC)
    bad = m[0].isna()
    if bad.any():
        i = bad.idxmax()
        raise ctx.fail(
            i, col, f"{s.loc[i]!r} is not an OCC option ticker like O:SPXW220520C03750000"
        )
    root = m[0].astype("str")
    return pd.DataFrame(
        {
            "root": root,
            "underlying": root.map(lambda r: _ROOTS.get(r, r)).astype("str"),
            "expiry": pd.to_datetime(m[1], format="%y%m%d").astype("datetime64[ns]"),
            "option_type": m[2].map({"C": "CE", "P": "PE"}).astype("str"),
            "strike": m[3].astype(np.int64) / 1000.0,
        },
        index=ctx.raw.index,
    )


def _mid(bid: pd.Series, ask: pd.Series) -> pd.Series:
    ok = (bid > 0) & (ask > 0) & (ask >= bid)
    return ((bid + ask) / 2.0).where(ok)


def _frame(index: pd.Index, **cols) -> pd.DataFrame:
    out = {}
    for c in CANONICAL_COLUMNS + EXTRA_COLUMNS + _OPTIONAL_EXTRAS:
        if c in cols:
            out[c] = cols[c]
        elif c in CANONICAL_COLUMNS + EXTRA_COLUMNS:
            out[c] = np.nan
    df = pd.DataFrame(out, index=index)
    for c in ("underlying", "option_type", "instrument"):
        df[c] = df[c].astype("str")
    for c in ("strike",) + _PRICE_COLUMNS + _OPTIONAL_EXTRAS:
        if c in df.columns:
            df[c] = df[c].astype(np.float64)
    return df


def _instrument_from_type(opt: pd.Series) -> pd.Series:
    return pd.Series(np.where(opt.notna(), "OPTIDX", "FUTIDX"), index=opt.index, dtype="str")


# ---------------------------------------------------------------------------- formats
#
# Each format is one table entry: canonical column -> a parse rule naming its source column(s).
# A canonical column a format does not map is NaN (``instrument``: OPTIDX/FUTIDX from the option
# type); the optional extras (lot_size, vix, rate) appear only when mapped (and, for rules marked
# ``if_present``, only when the file has the column). Adding a format is adding an entry to
# :data:`OPTION_FORMATS`.


@dataclass(frozen=True)
class _Rule:
    """How one canonical column is read. ``text``/``num``: the source columns it reads as text or
    as float64; ``if_present``: leave the column out (as if unmapped) when a source is absent."""

    def read(self, c: _Ctx, env: dict) -> pd.Series:
        raise NotImplementedError

    @property
    def text(self) -> tuple[str, ...]:
        return ()

    @property
    def num(self) -> tuple[str, ...]:
        return ()

    if_present = False


@dataclass(frozen=True)
class Num(_Rule):
    """A number; further columns fill where the first is missing."""

    cols: tuple[str, ...]
    if_present: bool = False

    def __init__(self, *cols: str, if_present: bool = False):
        object.__setattr__(self, "cols", cols)
        object.__setattr__(self, "if_present", if_present)

    @property
    def num(self) -> tuple[str, ...]:
        return self.cols

    def read(self, c: _Ctx, env: dict) -> pd.Series:
        out = c.num(self.cols[0])
        for col in self.cols[1:]:
            out = out.fillna(c.num(col))
        return out


@dataclass(frozen=True)
class Text(_Rule):
    """Stripped text (``case`` "upper"/"lower"), optional value ``replace`` map and leading
    ``strip`` characters; ``default`` is the constant used when the file lacks the column."""

    col: str
    case: str | None = None
    replace: tuple[tuple[str, str], ...] = ()
    strip: str = ""
    default: str | None = None
    if_present: bool = False

    @property
    def text(self) -> tuple[str, ...]:
        return (self.col,)

    def read(self, c: _Ctx, env: dict) -> pd.Series:
        if self.default is not None and not c.has(self.col):
            return pd.Series(self.default, index=c.raw.index)
        out = c.text(self.col, self.case)
        if self.strip:
            out = out.str.lstrip(self.strip)
        return out.replace(dict(self.replace)) if self.replace else out


@dataclass(frozen=True)
class Date(_Rule):
    """A date column, read with the first of ``formats`` (default: the format's own) that reads
    every value; ``head`` keeps only the first characters (e.g. 8 for ``YYYYMMDD...``)."""

    col: str
    formats: tuple[str, ...] = ()
    head: int | None = None

    @property
    def text(self) -> tuple[str, ...]:
        return (self.col,)

    def read(self, c: _Ctx, env: dict) -> pd.Series:
        fmts = self.formats or env["dates"]
        s = c.text(self.col)
        if self.head is not None:
            s = s.str.slice(0, self.head)
        return _parse_dates(c, s, self.col, fmts)


@dataclass(frozen=True)
class Type(_Rule):
    """CE/PE from CE/PE/C/P/CALL/PUT; futures (XX, FF, empty) are NaN unless ``futures_ok`` is
    False (then they are an error)."""

    col: str
    futures_ok: bool = True

    @property
    def text(self) -> tuple[str, ...]:
        return (self.col,)

    def read(self, c: _Ctx, env: dict) -> pd.Series:
        return c.option_type(self.col, self.futures_ok)


@dataclass(frozen=True)
class Strike(_Rule):
    """A strike, positive on every option row."""

    col: str

    @property
    def num(self) -> tuple[str, ...]:
        return (self.col,)

    def read(self, c: _Ctx, env: dict) -> pd.Series:
        return c.strike(self.col, env["option_type"])


@dataclass(frozen=True)
class Mid(_Rule):
    """The bid/ask mid where both are positive and ask >= bid."""

    bid: str
    ask: str

    @property
    def num(self) -> tuple[str, ...]:
        return (self.bid, self.ask)

    def read(self, c: _Ctx, env: dict) -> pd.Series:
        return _mid(c.num(self.bid), c.num(self.ask))


@dataclass(frozen=True)
class Const(_Rule):
    """The same value on every row."""

    value: str

    def read(self, c: _Ctx, env: dict) -> pd.Series:
        return pd.Series(self.value, index=c.raw.index, dtype="str")


@dataclass(frozen=True)
class Occ(_Rule):
    """A field (root, underlying, expiry, option_type, strike) of the format's OCC ticker."""

    field: str

    def read(self, c: _Ctx, env: dict) -> pd.Series:
        return env["occ"][self.field]


@dataclass(frozen=True)
class Custom(_Rule):
    """A rule of its own: ``func(ctx, env) -> Series`` reading the columns ``text`` and ``num``."""

    func: Callable[[_Ctx, dict], pd.Series]
    reads_text: tuple[str, ...] = ()
    reads_num: tuple[str, ...] = ()

    @property
    def text(self) -> tuple[str, ...]:
        return self.reads_text

    @property
    def num(self) -> tuple[str, ...]:
        return self.reads_num

    def read(self, c: _Ctx, env: dict) -> pd.Series:
        return self.func(c, env)


_UDIFF_INSTR = {"IDO": "OPTIDX", "IDF": "FUTIDX", "STO": "OPTSTK", "STF": "FUTSTK"}


def _udiff_instrument(c: _Ctx, env: dict) -> pd.Series:
    if not c.has("FinInstrmTp"):
        return _instrument_from_type(env["option_type"])
    tp = c.text("FinInstrmTp", "upper")
    return tp.map(_UDIFF_INSTR).fillna(tp).astype("str")


def _cboe_underlying_price(c: _Ctx, env: dict) -> pd.Series:
    und = c.num("active_underlying_price_1545")
    for b, a in (
        ("underlying_bid_eod", "underlying_ask_eod"),
        ("underlying_bid_1545", "underlying_ask_1545"),
    ):
        und = und.fillna(_mid(c.num(b), c.num(a)))
    return und


def _polygon_date(c: _Ctx, env: dict) -> pd.Series:
    ws = c.text("window_start")
    ns = pd.to_numeric(ws, errors="coerce")
    if ns.isna().any():
        i = ns.isna().idxmax()
        raise c.fail(i, "window_start", f"cannot parse {ws.loc[i]!r} as nanoseconds")
    ts = pd.to_datetime(ns.astype(np.int64), unit="ns", utc=True).dt.tz_convert("America/New_York")
    return ts.dt.tz_localize(None).dt.normalize().astype("datetime64[ns]")


def _contract_type(c: _Ctx, env: dict) -> pd.Series:
    ctype = c.text("contract_type", "lower").map({"call": "CE", "put": "PE"})
    if ctype.isna().any():
        i = ctype.isna().idxmax()
        raise c.fail(i, "contract_type", f"unknown contract type {c.raw['contract_type'].loc[i]!r}")
    return ctype.astype("str")


def _massive_underlying(c: _Ctx, env: dict) -> pd.Series:
    if not c.has("underlying_ticker"):
        return env["occ"]["underlying"]
    und = c.text("underlying_ticker").str.replace(r"^I:", "", regex=True)
    return und.fillna(env["occ"]["underlying"]).astype("str")


def _massive_volume(c: _Ctx, env: dict) -> pd.Series:
    """Day volume; a bar last updated on an earlier session counts as untraded (0)."""
    volume = c.num("day_volume").fillna(0.0)
    if c.has("day_last_updated_et"):
        same_day = c.text("day_last_updated_et").str.slice(0, 10) == c.text("snapshot_date")
        volume = volume.where(same_day.fillna(False), 0.0)
    return volume


def _yahoo_date(c: _Ctx, env: dict) -> pd.Series:
    """The quote date: expiry minus the (rounded) days to maturity."""
    ttm = c.num("timetoMaturity")
    if ttm.isna().any():
        i = ttm.isna().idxmax()
        raise c.fail(i, "timetoMaturity", "missing days to maturity")
    days = pd.to_timedelta(ttm.round().astype(np.int64), unit="D")
    return (env["occ"]["expiry"] - days).astype("datetime64[ns]")


def _yahoo_volume(c: _Ctx, env: dict) -> pd.Series:
    """Volume; a last trade before the quote date counts as untraded (0)."""
    volume = c.num("volume").fillna(0.0)
    if c.has("lastTradeDate"):
        last = pd.to_datetime(c.text("lastTradeDate"), utc=True, errors="coerce", format="ISO8601")
        last_day = last.dt.tz_convert("America/New_York").dt.tz_localize(None).dt.normalize()
        volume = volume.where(~(last_day < env["date"]).fillna(True), 0.0)
    return volume


_OPTIDX = Const("OPTIDX")
_OCC_COLUMNS = {
    "underlying": Occ("underlying"),
    "expiry": Occ("expiry"),
    "option_type": Occ("option_type"),
}


@dataclass(frozen=True)
class _Format:
    """One option file format: the header columns that identify it (``required``, in the order
    errors name them), canonical column -> rule (``columns``), the date formats its date rules
    try (``dates``), an OCC ticker column parsed before the rules (``occ``), a column ordering
    intraday rows (``sort_by``, latest last) and the verbatim underlying column that enables the
    symbol pre-filter (``symbol_col``)."""

    name: str
    required: tuple[str, ...]
    columns: dict[str, _Rule]
    dates: tuple[str, ...] = ("%Y-%m-%d",)
    occ: str | None = None
    sort_by: str | None = None
    symbol_col: str | None = None

    @property
    def numeric(self) -> tuple[str, ...]:
        """Source columns read as float64."""
        return tuple(dict.fromkeys(c for r in self.columns.values() for c in r.num))

    @property
    def optional(self) -> tuple[str, ...]:
        """Source columns read when present (every one a rule or the ordering names)."""
        sources = [c for r in self.columns.values() for c in (*r.text, *r.num)]
        sources += [c for c in (self.occ, self.sort_by) if c]
        return tuple(c for c in dict.fromkeys(sources) if c not in self.required)

    @property
    def text(self) -> tuple[str, ...]:
        """Source columns read as text (every read column that is not numeric)."""
        num = set(self.numeric)
        return tuple(c for c in self.required + self.optional if c not in num)

    def build(self, c: _Ctx) -> pd.DataFrame:
        """The canonical rows of the typed source table ``c.raw``."""
        env: dict = {"dates": self.dates}
        if self.occ:
            env["occ"] = _parse_occ(c, self.occ)
        cols: dict[str, pd.Series] = {}
        order = ("option_type", "date") + tuple(
            k for k in self.columns if k not in ("option_type", "date")
        )
        for name in order:
            rule = self.columns.get(name)
            if rule is None or (rule.if_present and not all(map(c.has, (*rule.text, *rule.num)))):
                continue
            cols[name] = env[name] = rule.read(c, env)
        if "instrument" not in cols:
            cols["instrument"] = _instrument_from_type(cols["option_type"])
        return _frame(c.raw.index, **cols)


_LEGACY_DATES = ("%d-%b-%Y", "%d-%m-%Y", "%Y-%m-%d", "%d%b%Y", "%d/%m/%Y")

OPTION_FORMATS: dict[str, _Format] = {
    f.name: f
    for f in (
        _Format(
            "udiff",
            ("TradDt", "TckrSymb", "XpryDt", "StrkPric", "OptnTp", "ClsPric"),
            {
                "date": Date("TradDt"),
                "underlying": Text("TckrSymb"),
                "expiry": Date("XpryDt"),
                "strike": Strike("StrkPric"),
                "option_type": Type("OptnTp"),
                "open": Num("OpnPric"),
                "high": Num("HghPric"),
                "low": Num("LwPric"),
                "close": Num("ClsPric"),
                "settle": Num("SttlmPric"),
                "volume": Num("TtlTradgVol"),
                "open_interest": Num("OpnIntrst"),
                "underlying_price": Num("UndrlygPric"),
                "instrument": Custom(_udiff_instrument, reads_text=("FinInstrmTp",)),
                "prev_close": Num("PrvsClsgPric"),
                "oi_change": Num("ChngInOpnIntrst"),
                "lot_size": Num("NewBrdLotQty"),
            },
            dates=("%Y-%m-%d", "%d-%b-%Y", "%d-%m-%Y", "%Y%m%d"),
            symbol_col="TckrSymb",
        ),
        _Format(
            "legacy",
            ("INSTRUMENT", "SYMBOL", "EXPIRY_DT", "STRIKE_PR", "OPTION_TYP", "CLOSE", "TIMESTAMP"),
            {
                "date": Date("TIMESTAMP"),
                "underlying": Text("SYMBOL"),
                "expiry": Date("EXPIRY_DT"),
                "strike": Strike("STRIKE_PR"),
                "option_type": Type("OPTION_TYP"),
                "open": Num("OPEN"),
                "high": Num("HIGH"),
                "low": Num("LOW"),
                "close": Num("CLOSE"),
                "settle": Num("SETTLE_PR"),
                "volume": Num("CONTRACTS"),
                "open_interest": Num("OPEN_INT"),
                "instrument": Text("INSTRUMENT", "upper"),
                "oi_change": Num("CHG_IN_OI"),
            },
            dates=_LEGACY_DATES,
            symbol_col="SYMBOL",
        ),
        _Format(
            "udiff_converted",
            ("SYMBOL", "EXPIRY_DT", "STRIKE_PR", "OPTION_TYP", "CLOSE_PRICE", "TRADE_DATE"),
            {
                "date": Date("TRADE_DATE"),
                "underlying": Text("SYMBOL"),
                "expiry": Date("EXPIRY_DT"),
                "strike": Strike("STRIKE_PR"),
                "option_type": Type("OPTION_TYP"),
                "open": Num("OPEN_PRICE"),
                "high": Num("HIGH_PRICE"),
                "low": Num("LOW_PRICE"),
                "close": Num("CLOSE_PRICE"),
                "settle": Num("SETTLE_PR"),
                "volume": Num("VOLUME"),
                "open_interest": Num("OPEN_INT"),
                "underlying_price": Num("UNDERLYING_PRICE"),
                "oi_change": Num("CHG_IN_OI"),
            },
            dates=("%d-%m-%Y", "%Y-%m-%d", "%d-%b-%Y"),
            symbol_col="SYMBOL",
        ),
        _Format(
            "canonical",
            ("date", "underlying", "expiry", "strike", "option_type", "close"),
            {
                "date": Date("date"),
                "underlying": Text("underlying"),
                "expiry": Date("expiry"),
                "strike": Strike("strike"),
                "option_type": Type("option_type"),
                **{k: Num(k) for k in _PRICE_COLUMNS},
                "instrument": Text("instrument", if_present=True),
                **{k: Num(k, if_present=True) for k in _OPTIONAL_EXTRAS},
            },
            dates=("%Y-%m-%d", "ISO8601"),
            symbol_col="underlying",
        ),
        _Format(
            "cboe",
            (
                "underlying_symbol",
                "quote_date",
                "root",
                "expiration",
                "strike",
                "option_type",
                "close",
            ),
            {
                "date": Date("quote_date"),
                "underlying": Text("underlying_symbol", strip="^"),
                "expiry": Date("expiration"),
                "strike": Strike("strike"),
                "option_type": Type("option_type", futures_ok=False),
                "open": Num("open"),
                "high": Num("high"),
                "low": Num("low"),
                "close": Num("close"),
                "settle": Mid("bid_eod", "ask_eod"),
                "volume": Num("trade_volume"),
                "open_interest": Num("open_interest"),
                "underlying_price": Custom(
                    _cboe_underlying_price,
                    reads_num=(
                        "active_underlying_price_1545",
                        "underlying_bid_eod",
                        "underlying_ask_eod",
                        "underlying_bid_1545",
                        "underlying_ask_1545",
                    ),
                ),
                "instrument": _OPTIDX,
            },
            dates=("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d"),
        ),
        _Format(
            "polygon_aggs",
            ("ticker", "close", "window_start"),
            {
                "date": Custom(_polygon_date, reads_text=("window_start",)),
                **_OCC_COLUMNS,
                "strike": Occ("strike"),
                "open": Num("open"),
                "high": Num("high"),
                "low": Num("low"),
                "close": Num("close"),
                "volume": Num("volume"),
                "instrument": _OPTIDX,
            },
            occ="ticker",
        ),
        _Format(
            "massive_snapshot",
            (
                "snapshot_date",
                "occ_ticker",
                "contract_type",
                "expiration_date",
                "strike_price",
                "day_close",
            ),
            {
                "date": Date("snapshot_date"),
                "underlying": Custom(_massive_underlying, reads_text=("underlying_ticker",)),
                "expiry": Date("expiration_date"),
                "strike": Strike("strike_price"),
                "option_type": Custom(_contract_type, reads_text=("contract_type",)),
                "open": Num("day_open"),
                "high": Num("day_high"),
                "low": Num("day_low"),
                "close": Num("day_close"),
                "volume": Custom(
                    _massive_volume,
                    reads_text=("day_last_updated_et", "snapshot_date"),
                    reads_num=("day_volume",),
                ),
                "open_interest": Num("open_interest"),
                "underlying_price": Num("underlying_price"),
                "instrument": _OPTIDX,
                "prev_close": Num("day_previous_close"),
            },
            occ="occ_ticker",
        ),
        _Format(
            "yahoo",
            ("contractSymbol", "strike", "lastPrice", "bid", "ask", "spotPrice", "timetoMaturity"),
            {
                "date": Custom(_yahoo_date, reads_num=("timetoMaturity",)),
                **_OCC_COLUMNS,
                "strike": Strike("strike"),
                "close": Num("lastPrice"),
                "settle": Mid("bid", "ask"),
                "volume": Custom(
                    _yahoo_volume, reads_text=("lastTradeDate",), reads_num=("volume",)
                ),
                "open_interest": Num("openInterest"),
                "underlying_price": Num("spotPrice"),
                "instrument": _OPTIDX,
            },
            occ="contractSymbol",
        ),
        _Format(
            "nse_chain",
            ("timestamp", "symbol", "expiry", "strike", "option_type", "ltp"),
            {
                "date": Date("timestamp", ("%Y%m%d",), head=8),
                "underlying": Text(
                    "symbol", "upper", replace=(("NIFTY50", "NIFTY"), ("NIFTY 50", "NIFTY"))
                ),
                "expiry": Date("expiry", ("%d-%b-%Y", "%Y-%m-%d", "%d-%m-%Y")),
                "strike": Strike("strike"),
                "option_type": Type("option_type", futures_ok=False),
                "open": Num("open"),
                "high": Num("high"),
                "low": Num("low"),
                "close": Num("ltp"),
                "volume": Num("volume"),
                "open_interest": Num("oi"),
                "underlying_price": Num("spot"),
                "instrument": _OPTIDX,
                "oi_change": Num("oi_chg"),
            },
            sort_by="timestamp",
        ),
        _Format(
            "dhan_intraday",
            ("trade_date", "strike", "option_type", "close", "actual_expiry_date"),
            {
                "date": Date("trade_date"),
                "underlying": Text("underlying", default="NIFTY"),
                "expiry": Date("actual_expiry_date"),
                "strike": Strike("strike"),
                "option_type": Type("option_type", futures_ok=False),
                "open": Num("open"),
                "high": Num("high"),
                "low": Num("low"),
                "close": Num("close"),
                "volume": Num("volume"),
                "open_interest": Num("open_interest"),
                "underlying_price": Num("independent_nifty_spot", "provider_spot"),
                "instrument": _OPTIDX,
                "vix": Num("india_vix", if_present=True),
            },
            sort_by="timestamp_ist",
        ),
    )
}
