"""Loaders for real option and index files, all returning one canonical table.

Option formats (detected from the header; ``format=`` forces one):

=================  ==========================================================================
name               file
=================  ==========================================================================
legacy             NSE F&O bhavcopy, legacy layout (``INSTRUMENT,SYMBOL,EXPIRY_DT,...``),
                   with or without the trailing empty column or a leading pandas index column
udiff              NSE F&O bhavcopy, UDiFF layout (``TradDt,BizDt,Sgmt,...,TckrSymb,...``)
udiff_converted    UDiFF renamed into legacy-style names (``SYMBOL,...,TRADE_DATE,
                   UNDERLYING_PRICE,...CLOSE_PRICE``; DD-MM-YYYY dates)
canonical          this package's own table (``date,underlying,expiry,...``)
cboe               CBOE DataShop option end-of-day summary (``underlying_symbol,quote_date,
                   root,...``); settle = mid of the end-of-day bid/ask
polygon_aggs       Polygon/Massive options day aggregates with OCC tickers (``O:SPXW...``)
massive_snapshot   Massive/Polygon option chain snapshot (``snapshot_date,...,occ_ticker``);
                   a bar last updated on an earlier session counts as untraded (volume 0)
yahoo              yfinance option chains (``contractSymbol,...,spotPrice,timetoMaturity``);
                   close = last price, settle = bid/ask mid; date = expiry - timetoMaturity;
                   a last trade before that date counts as untraded (volume 0)
nse_chain          NSE option-chain snapshots (``timestamp,symbol,...,ltp``); close = LTP
dhan_intraday      Dhan rolling-option candles (``timestamp_ist,trade_date,...``) with spot
                   and India VIX
=================  ==========================================================================

A path may be a CSV file, a ``.gz`` file, a ``.zip`` archive (every CSV inside) or a folder
(every such file below it, read one at a time). Bad input raises :class:`DataError`, a
``ValueError`` whose one-line message names the file, the line and the column.

For US index options the underlying is the index, not the OCC root: SPX and SPXW both give
``SPX`` (ETF roots such as SPXU or SPXL keep their names). An AM-settled SPX and a PM-settled
SPXW contract with the same expiry and strike then share a key, and :func:`bpdiag.data.clean`
counts the earlier one as a duplicate.

Each format is one entry of :data:`OPTION_FORMATS`: the header columns that identify it, and a
table canonical column -> parse rule (:class:`Num`, :class:`Text`, :class:`Date`, :class:`Type`,
:class:`Strike`, :class:`Mid`, :class:`Const`, :class:`Occ`, or a :class:`Custom` function for
the few fields a file derives). The columns to read, their types (text or float64) and
auto-detection all follow from that entry, so adding a format is adding an entry.

Intraday formats keep every row: the rows of one contract on one day are duplicates that
:func:`bpdiag.data.clean` counts, keeping the latest.
"""

import csv
import gzip
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from bpdiag.data._formats import (
    _DATE_FORMATS,
    _NA,
    CANONICAL_COLUMNS,
    EXTRA_COLUMNS,
    OPTION_FORMATS,
    DataError,
    _Ctx,
    _Format,
    _frame,
    _parse_dates,
)

__all__ = [
    "DataError",
    "CANONICAL_COLUMNS",
    "EXTRA_COLUMNS",
    "OPTION_FORMATS",
    "load_options",
    "load_index",
    "load_vix",
    "detect_format",
]

# ---------------------------------------------------------------------------- sources


def _iter_sources(path: str | Path) -> Iterator[tuple[str, bytes]]:
    """Yield (label, bytes) for every CSV in a file, .gz, .zip or folder, one at a time."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file or folder")
    if p.is_dir():
        files = sorted(
            f
            for f in p.rglob("*")
            if f.is_file() and f.name.lower().endswith((".csv", ".gz", ".zip"))
        )
        if not files:
            raise DataError(f"{p}: folder holds no .csv, .csv.gz or .zip file")
        for f in files:
            yield from _iter_sources(f)
        return
    name = p.name.lower()
    if name.endswith(".zip"):
        try:
            with zipfile.ZipFile(p) as zf:
                members = [
                    m
                    for m in zf.namelist()
                    if m.lower().endswith(".csv") and not m.startswith("__MACOSX")
                ]
                if not members:
                    found = ", ".join(zf.namelist()[:5]) or "nothing"
                    raise DataError(f"{p}: zip archive holds no CSV file (found: {found})")
                for m in sorted(members):
                    try:
                        raw = zf.read(m)
                    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                        msg = f"{p}:{m}: corrupt member of the zip archive ({exc})"
                        raise DataError(msg) from None
                    yield f"{p}:{m}", raw
        except zipfile.BadZipFile:
            raise DataError(f"{p}: not a valid zip archive") from None
        return
    raw = p.read_bytes()
    if name.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError):
            raise DataError(f"{p}: not a valid gzip file") from None
    yield str(p), raw


def _check_head(label: str, raw: bytes) -> bytes:
    """Reject empty and UTF-16 input with a one-line message; strip a UTF-8 BOM."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in raw[:4096]:
        raise DataError(f"{label}: line 1: the file is UTF-16 or binary, not UTF-8 CSV text")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw or raw.isspace():
        raise DataError(f"{label}: line 1: empty file")
    return raw


def _check_utf8(label: str, raw: bytes) -> None:
    """Reject bytes that are not UTF-8, naming the line and the column of the first one."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        start = raw.rfind(b"\n", 0, exc.start) + 1
        field = raw.count(b",", start, exc.start)
        header = _header(raw)
        col = header[field] if field < len(header) else f"#{field + 1}"
        raise DataError(
            f"{label}: line {line}, column {col}: byte 0x{raw[exc.start]:02x} is not UTF-8 "
            "(re-save the file as UTF-8)"
        ) from None


def _check_text(label: str, raw: bytes) -> bytes:
    """:func:`_check_head` then :func:`_check_utf8`; returns the bytes without a BOM."""
    raw = _check_head(label, raw)
    _check_utf8(label, raw)
    return raw


def _prefilter(raw: bytes, symbol: str) -> tuple[bytes, np.ndarray, int]:
    """Keep the header and the lines holding a field equal to ``symbol`` (a cheap superset of
    the rows of that underlying). Returns the bytes, the kept rows' labels (line number − 2)
    and the number of non-blank data lines left out."""
    sym = symbol.encode("utf-8")
    header_end = raw.find(b"\n")
    if header_end < 0:
        return raw, np.zeros(0, dtype=np.int64), 0
    spans = {}
    for needle, off in ((b"," + sym + b",", 0), (b"\n" + sym + b",", 1)):
        pos = raw.find(needle, header_end)
        while pos != -1:
            start = raw.rfind(b"\n", 0, pos + off) + 1
            end = raw.find(b"\n", pos + 1)
            end = len(raw) if end < 0 else end
            spans[start] = end
            pos = raw.find(needle, end)
    starts = np.array(sorted(spans), dtype=np.int64)
    buf = np.frombuffer(raw, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    line_idx = np.searchsorted(newlines, starts)  # 0-based line of each kept row
    body = b"\n".join([raw[:header_end], *(raw[a : spans[a]] for a in starts.tolist())]) + b"\n"
    # Data lines: every line after the header but empty ones (or a lone "\r" or space).
    first = np.r_[0, newlines + 1]
    length = np.r_[newlines, len(raw)] - first
    one = length == 1
    blank = (length == 0) | (one & np.isin(buf[np.minimum(first, len(raw) - 1)], (13, 32, 9)))
    n_data = int((~blank[1:]).sum())
    return body, line_idx - 1, n_data - len(starts)


def _header(raw: bytes, strip: bool = True) -> list[str]:
    first = raw.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")
    names = next(csv.reader([first]), [])
    return [c.strip() for c in names] if strip else names


def _check_fields(label: str, raw: bytes, n_header: int) -> None:
    """Every line must have the header's number of fields (one more if it ends with a comma).

    Vectorised over the bytes; skipped for files with quoted fields.
    """
    if b'"' in raw:
        return
    buf = np.frombuffer(raw, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    if len(ends) == 0 or ends[-1] != len(buf) - 1:
        ends = np.r_[ends, len(buf)]
    starts = np.r_[0, ends[:-1] + 1]
    commas = np.flatnonzero(buf == 44)
    fields = np.diff(np.searchsorted(commas, np.r_[starts, ends[-1]]))[: len(starts)] + 1
    stop = np.clip(ends - 1, 0, len(buf) - 1)
    last = buf[stop]
    last = np.where((last == 13) & (stop > starts), buf[np.clip(stop - 1, 0, None)], last)
    empty = (ends - starts) <= 1
    ok = (fields == n_header) | ((fields == n_header + 1) & (last == 44)) | empty
    ok[0] = True
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise DataError(f"{label}: line {i + 1}: expected {n_header} fields, saw {fields[i]}")


def detect_format(header: list[str] | tuple[str, ...], label: str = "<input>") -> str:
    """Name of the option format whose required columns the header holds.

    Raises :class:`DataError` naming the first missing column when a format matches partly
    (at least 60 % of its required columns), or saying the header is not recognised.
    """
    cols = set(header)
    scored = []
    for f in OPTION_FORMATS.values():
        hit = sum(c in cols for c in f.required)
        scored.append((hit / len(f.required), hit, f.name))
    frac, _, name = max(scored, key=lambda x: (x[0], x[1]))
    if frac == 1.0:
        return name
    if frac >= 0.6:
        missing = [c for c in OPTION_FORMATS[name].required if c not in cols]
        raise DataError(f"{label}: line 1, column {missing[0]}: missing column for format {name}")
    raise DataError(
        f"{label}: line 1: header not recognised as an option file "
        f"(first columns: {', '.join(list(header)[:4])})"
    )


def _read_table(
    label: str, raw: bytes, usecols: list[str], text: set[str], labels: np.ndarray | None = None
) -> pd.DataFrame:
    """Read the columns ``usecols`` (text columns as str, others float64) with line-aware errors.

    ``usecols`` are header names stripped of spaces; the result's columns are those names.
    """
    raw_names = _header(raw, strip=False)
    _check_fields(label, raw, len(raw_names))
    wanted = set(usecols)
    use = [r for r in dict.fromkeys(raw_names) if r.strip() in wanted]
    dtype = {r: ("str" if r.strip() in text else np.float64) for r in use}
    kw = dict(
        usecols=use,
        skip_blank_lines=False,
        index_col=False,
        keep_default_na=False,
        na_values=_NA,
        low_memory=False,
    )
    try:
        df = pd.read_csv(io.BytesIO(raw), dtype=dtype, **kw)
    except pd.errors.ParserError as exc:
        raise DataError(f"{label}: {_parser_message(exc)}") from None
    except (ValueError, TypeError, OverflowError):
        df = pd.read_csv(io.BytesIO(raw), dtype=str, **kw)
        df.columns = [c.strip() for c in df.columns]
        for c in usecols:
            if c in text or c not in df.columns:
                continue
            s = df[c].str.strip()
            val = pd.to_numeric(s.where(~s.isin(_NA) & s.notna()), errors="coerce")
            bad = val.isna() & s.notna() & ~s.isin(_NA)
            if bad.any():
                i = bad.idxmax()
                raise DataError(
                    f"{label}: line {i + 2}, column {c}: cannot parse {df[c].loc[i]!r} as a number"
                ) from None
        raise DataError(f"{label}: could not read the file as CSV") from None
    df.columns = [c.strip() for c in df.columns]
    if labels is not None:
        df.index = labels[: len(df)]
    blank = df.isna().all(axis=1)
    if blank.any():
        df = df[~blank]
    return df


def _parser_message(exc: Exception) -> str:
    msg = str(exc).strip().splitlines()[-1]
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if m:
        return f"line {m.group(2)}: expected {m.group(1)} fields, saw {m.group(3)}"
    return msg


def _load_one(
    label: str, raw: bytes, fmt: str, symbol: str | None = None
) -> tuple[pd.DataFrame, int]:
    """One CSV's bytes → (canonical rows, rows left out by the symbol pre-filter)."""
    raw = _check_head(label, raw)
    header = _header(raw)
    name = detect_format(header, label) if fmt == "auto" else fmt
    if name not in OPTION_FORMATS:
        raise DataError(
            f"unknown format {fmt!r}; choose auto or one of {', '.join(OPTION_FORMATS)}"
        )
    spec = OPTION_FORMATS[name]
    missing = [c for c in spec.required if c not in header]
    if missing:
        raise DataError(f"{label}: line 1, column {missing[0]}: missing column for format {name}")
    usecols = [c for c in dict.fromkeys(spec.required + spec.optional) if c in header]
    if symbol is not None and spec.symbol_col and b'"' not in raw:
        # Fast path for big all-symbol files: parse only the lines that can hold the symbol.
        body, labels, n_out = _prefilter(raw, symbol)
        try:
            _check_utf8(label, body)
            return _build(
                spec, label, _read_table(label, body, usecols, set(spec.text), labels)
            ), n_out
        except DataError:
            pass  # read the whole file again, for a message with the file's own line numbers
    _check_utf8(label, raw)
    return _build(spec, label, _read_table(label, raw, usecols, set(spec.text))), 0


def _build(spec: _Format, label: str, df: pd.DataFrame) -> pd.DataFrame:
    if len(df) == 0:
        empty = _frame(pd.RangeIndex(0))
        empty["date"] = empty["date"].astype("datetime64[ns]")
        empty["expiry"] = empty["expiry"].astype("datetime64[ns]")
        return empty
    if spec.sort_by and spec.sort_by in df.columns:
        df = df.sort_values(spec.sort_by, kind="stable")
    out = spec.build(_Ctx(label, df))
    return out.reset_index(drop=True)


def load_options(
    path: str | Path, format: str = "auto", *, symbol: str | None = None
) -> pd.DataFrame:
    """Load option rows from a file, a .gz, a .zip or a folder into the canonical table.

    Args:
        path: a CSV file, ``.csv.gz``, ``.zip`` (every CSV inside) or a folder (every such file
            below it, one at a time, so memory stays bounded by the rows kept).
        format: ``"auto"`` (from each file's header) or one of :data:`OPTION_FORMATS`.
        symbol: if given, keep only rows of this underlying while reading (e.g. "NIFTY");
            the count of rows left out is kept in ``df.attrs["load_dropped"]["other_symbol"]``
            and reported by :func:`bpdiag.data.clean`. For NSE bhavcopies only the lines
            holding that symbol are parsed (a year of full daily files then loads in seconds);
            lines of other symbols are counted, not checked.

    Returns:
        DataFrame[n_rows] with :data:`CANONICAL_COLUMNS` then :data:`EXTRA_COLUMNS` (plus
        ``lot_size``/``vix``/``rate`` when a file has them), in file order.

    Raises:
        DataError: a missing column, an unparseable date or number, an empty file, a wrong
            encoding, a zip without CSV: one line naming file, line and column.
    """
    if format != "auto" and format not in OPTION_FORMATS:
        raise DataError(
            f"unknown format {format!r}; choose auto or one of {', '.join(OPTION_FORMATS)}"
        )
    parts, dropped = [], 0
    for label, raw in _iter_sources(path):
        df, n_out = _load_one(label, raw, format, symbol)
        dropped += n_out
        if symbol is not None:
            keep = df["underlying"].eq(symbol).to_numpy()
            dropped += int((~keep).sum())
            df = df[keep]
        parts.append(df)
    nonempty = [p for p in parts if len(p)]
    out = pd.concat(nonempty, ignore_index=True) if nonempty else parts[0].iloc[:0]
    if len(out) == 0 and dropped == 0:
        raise DataError(f"{path}: line 2: no data rows")
    out.attrs["load_dropped"] = {"other_symbol": dropped} if dropped else {}
    out.attrs["source"] = str(path)
    return out


# ---------------------------------------------------------------------------- index / VIX

_DATE_COLS = ("date", "timestamp", "indexdate", "tradedate", "datetime", "historicaldate")
_OHLC = {
    "open": ("open", "openprice", "openindexvalue", "vixopen"),
    "high": ("high", "highprice", "highindexvalue", "vixhigh"),
    "low": ("low", "lowprice", "lowindexvalue", "vixlow"),
    "close": ("close", "closeprice", "closingindexvalue", "closeindexvalue", "adjclose"),
}
_VIX_CLOSE = ("vixclose", "indiavix", "vix", "close", "closeprice", "closingindexvalue")


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _not_options(label: str, header: list[str], kind: str) -> None:
    """Refuse an option file given as an index or volatility-index history (one line)."""
    try:
        fmt = detect_format(header, label)
    except DataError:
        return
    what = "a volatility-index" if kind == "vix" else "an index"
    raise DataError(
        f"{label}: line 1: an option file (format {fmt}), not {what} history (one date, close "
        "per day)"
    )


def _load_series(path: str | Path, kind: str) -> pd.DataFrame:
    parts = []
    for label, raw in _iter_sources(path):
        raw = _check_text(label, raw)
        header = _header(raw)
        _not_options(label, header, kind)
        norm = {_norm(h): h for h in header if h}
        date_col = next((norm[c] for c in _DATE_COLS if c in norm), None)
        what = "a volatility-index" if kind == "vix" else "an index"
        if date_col is None:
            raise DataError(
                f"{label}: line 1, column date: missing column (no date column: not {what} "
                "history of date, close)"
            )
        close_names = _VIX_CLOSE if kind == "vix" else _OHLC["close"]
        close_col = next((norm[c] for c in close_names if c in norm), None)
        if close_col is None:
            raise DataError(
                f"{label}: line 1, column close: missing column (no close column: not {what} "
                "history of date, close)"
            )
        cols = {"close": close_col}
        for k in ("open", "high", "low"):
            col = next((norm[c] for c in _OHLC[k] if c in norm), None)
            if col is not None:
                cols[k] = col
        wanted = {date_col, *cols.values()}
        df = pd.read_csv(
            io.BytesIO(raw),
            dtype=str,
            keep_default_na=False,
            index_col=False,
            skip_blank_lines=False,
            usecols=lambda c, wanted=wanted: c.strip() in wanted,
        )
        df.columns = [c.strip() for c in df.columns]
        df = df[~(df.apply(lambda s: s.str.strip().eq("")).all(axis=1))]
        ctx = _Ctx(label, df)
        s = ctx.text(date_col)
        # yfinance-style timestamps ("2024-08-08 00:00:00+05:30"): keep the calendar date.
        s = s.str.slice(0, 10).where(s.str.match(r"^\d{4}-\d{2}-\d{2}[ T]"), s)
        out = pd.DataFrame({"date": _parse_dates(ctx, s, date_col, _DATE_FORMATS)})
        for k in ("open", "high", "low", "close"):
            if k not in cols:
                out[k] = np.nan
                continue
            col = cols[k]
            t = ctx.text(col).str.replace(",", "", regex=False)
            val = pd.to_numeric(t.where(~t.isin(_NA)), errors="coerce")
            bad = val.isna() & ~t.isin(_NA)
            if bad.any():
                i = bad.idxmax()
                raise ctx.fail(i, col, f"cannot parse {df[col].loc[i]!r} as a number")
            out[k] = val.astype(np.float64)
        out["line"] = df.index + 2
        out["label"] = label
        parts.append(out)
    out = pd.concat(parts, ignore_index=True).sort_values("date", kind="stable")
    dup = out["date"].duplicated()
    if dup.any():
        row = out[dup].iloc[0]
        raise DataError(
            f"{row['label']}: line {row['line']}, column date: duplicate date {row['date'].date()}"
        )
    if len(out) == 0:
        raise DataError(f"{path}: line 2: no data rows")
    out = out.drop(columns=["line", "label"]).reset_index(drop=True)
    out.attrs["source"] = str(path)
    return out


def load_index(path: str | Path) -> pd.DataFrame:
    """Load a daily index history (NSE, Yahoo or similar CSV, or a zip/folder of them).

    Column names are matched loosely (case, spaces and punctuation ignored): a date column
    (``date``/``Date``/``timestamp``/``Index Date``) and ``close`` (plus open/high/low when
    present). Thousands separators are accepted. Dates may be ISO, ``05-JAN-2024``,
    ``05 Jan 2024``, ``05-01-2024`` or ``20240105``.

    Returns:
        DataFrame[n_days] with ``date`` (datetime64[ns]) and ``open, high, low, close`` (index
        points, float64; NaN where absent), sorted by date. Duplicate dates raise
        :class:`DataError`.
    """
    return _load_series(path, "index")


def load_vix(path: str | Path) -> pd.DataFrame:
    """Load a daily volatility-index history (India VIX, CBOE VIX, ...).

    Same rules as :func:`load_index`; the close may be named ``close``, ``VIX_CLOSE``,
    ``india_vix`` or ``vix``. Returns ``date, open, high, low, close`` in index points
    (e.g. 13.2 means 13.2 % annualised).
    """
    return _load_series(path, "vix")
