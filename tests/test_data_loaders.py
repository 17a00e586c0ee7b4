"""Loaders: every real file in shared/data/real, the container formats, and bad input."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _real import REAL, real  # noqa: E402,F401

from bpdiag.data import (
    CANONICAL_COLUMNS,
    EXTRA_COLUMNS,
    DataError,
    clean,
    detect_format,
    load_index,
    load_options,
    load_vix,
)
from bpdiag.data._loaders import _header

UDIFF = "shayakbanerjee99_nifty_options_elt/BhavCopy_NSE_FO_20260813_NIFTY_only.csv"
CONVERTED = "jgoetzmann_nse_options_valuation/converted_bhavcopy_NIFTY_20250814.csv"
LEGACY = "keziyakurian13_qode_fno_database/legacy_fo_bhavcopy_sample_20190801.csv"
POLYGON = "lienc410_option_spx/spx_spxw_option_day_aggs_2022-05-06.csv"
MASSIVE = "lienc410_option_spx/spx_option_snapshot_2026-05-04.csv.gz"
YAHOO = ("palbence_pinns_fin_math/spx_options_v1_2026-03-13.csv",
         "palbence_pinns_fin_math/spx_options_v2_2026-03-16.csv")  # fmt: skip
CHAIN = "chiragaibooks_option_chain_parquet/nifty_option_chain_snapshots_2026082{}.csv.gz"
DHAN = "kd6669_nifty_options_vrp_research/nifty_gold_sample_intraday.csv.gz"


def _raw_rows(path: Path) -> int:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip()) - 1


def _check_canonical(df: pd.DataFrame) -> None:
    assert tuple(df.columns[: len(CANONICAL_COLUMNS)]) == CANONICAL_COLUMNS
    assert set(EXTRA_COLUMNS) <= set(df.columns)
    assert df["date"].dtype == "datetime64[ns]" and df["expiry"].dtype == "datetime64[ns]"
    assert set(df["option_type"].dropna()) <= {"CE", "PE"}
    opt = df[df["option_type"].notna()]
    assert (opt["strike"] > 0).all()
    assert (opt["expiry"] >= opt["date"]).mean() > 0.99


# ---------------------------------------------------------------------------- real option files

REAL_OPTIONS = [
    (UDIFF, "udiff", "2026-08-13", "NIFTY"),
    (CONVERTED, "udiff_converted", "2025-08-14", "NIFTY"),
    (LEGACY, "legacy", "2019-08-01", "BANKNIFTY"),
    (POLYGON, "polygon_aggs", "2022-05-06", "SPX"),
    (MASSIVE, "massive_snapshot", "2026-05-04", "SPX"),
    (YAHOO[0], "yahoo", "2026-03-13", "SPX"),
    (YAHOO[1], "yahoo", "2026-03-13", "SPX"),
    (CHAIN.format(0), "nse_chain", "2026-08-20", "NIFTY"),
    (CHAIN.format(1), "nse_chain", "2026-08-21", "NIFTY"),
    (DHAN, "dhan_intraday", None, "NIFTY"),
]


@pytest.mark.parametrize("rel,fmt,day,symbol", REAL_OPTIONS, ids=[r[1] for r in REAL_OPTIONS])
def test_every_real_option_file_loads(rel, fmt, day, symbol):
    path = real(rel)
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    assert detect_format(_header(raw)) == fmt
    df = load_options(path)
    _check_canonical(df)
    assert len(df) == _raw_rows(path)  # nothing dropped silently
    if day is not None:
        assert set(df["date"]) == {pd.Timestamp(day)}
    assert df["underlying"].value_counts().index[0] == symbol


def test_udiff_fields_and_parity():
    df = load_options(real(UDIFF))
    assert df["instrument"].value_counts().to_dict() == {"OPTIDX": 1714, "FUTIDX": 3}
    assert (df["underlying_price"] == 24395.85).all()
    assert (df["lot_size"] == 65).all()
    untraded = df[(df["volume"] == 0) & df["option_type"].notna()]
    assert len(untraded) == 917  # the file's zero-volume rows (SOURCES.md)
    assert np.array_equal(untraded["close"], untraded["prev_close"])
    # Put-call parity on the front expiry is flat across strikes: CE and PE are not swapped.
    front = df[(df["expiry"] == df["expiry"].min()) & (df["volume"] > 0)]
    wide = front.pivot_table(index="strike", columns="option_type", values="close").dropna()
    wide = wide[np.abs(wide.index / 24395.85 - 1) < 0.02]
    fwd = wide["CE"] - wide["PE"] + wide.index * np.exp(-0.06 * 5 / 365)
    assert len(wide) >= 10
    assert fwd.std() < 5.0
    assert abs(fwd.median() - 24395.85) < 150


def test_converted_chain_fields():
    df = load_options(real(CONVERTED))
    assert df["expiry"].nunique() == 18
    assert df["expiry"].min() == pd.Timestamp("2025-08-14")
    assert df["expiry"].max() == pd.Timestamp("2030-06-25")
    assert (df["underlying_price"] == 24631.3).all()
    assert (df["volume"] == 0).sum() == 708
    assert df["strike"].min() == 12000 and df["strike"].max() == 31000


def test_legacy_sample_and_trailing_comma_variant(tmp_path):
    path = real(LEGACY)
    df = load_options(path)
    assert df["instrument"].value_counts().to_dict() == {"OPTIDX": 520, "FUTSTK": 471, "FUTIDX": 9}
    assert set(df.loc[df["instrument"] == "OPTIDX", "underlying"]) == {"BANKNIFTY"}
    assert df.loc[df["instrument"].str.startswith("FUT"), "option_type"].isna().all()
    fut = df["instrument"].str.startswith("FUT")
    assert df.loc[fut, "expiry"].min() == pd.Timestamp("2019-08-29")
    assert df.loc[~fut, "expiry"].min() == pd.Timestamp("2019-08-01")  # a weekly, expiry day
    # The real NSE layout: no pandas index column, and every line ends with a comma.
    lines = path.read_text().splitlines()
    nse = "\n".join(line.split(",", 1)[1] + "," for line in lines) + "\n"
    (tmp_path / "fo01AUG2019bhav.csv").write_text(nse)
    again = load_options(tmp_path / "fo01AUG2019bhav.csv")
    pd.testing.assert_frame_equal(again, df)


def test_polygon_occ_tickers_and_roots():
    df = load_options(real(POLYGON))
    first = df.iloc[0]
    assert (first["strike"], first["option_type"]) == (3750.0, "CE")
    assert first["expiry"] == pd.Timestamp("2022-05-20")
    # SPX and SPXW roots both map to the SPX index; the ETF roots (SPXU, SPXL...) stay apart.
    counts = df["underlying"].value_counts()
    assert counts["SPX"] == 2018 + 5349
    assert df["underlying_price"].isna().all()
    _, report = clean(df, "SPX")
    assert report.set_index("reason").loc["other_symbol", "count"] == len(df) - counts["SPX"]


def test_massive_snapshot_marks_stale_bars_untraded():
    df = load_options(real(MASSIVE))
    assert df["expiry"].nunique() == 56
    assert (df["open_interest"] >= 0).all()
    assert (df.loc[df["close"].isna(), "volume"] == 0).all()
    assert 0 < (df["volume"] > 0).sum() < len(df)


def test_yahoo_chain_date_and_spot():
    df = load_options(real(YAHOO[0]))
    assert np.allclose(df["underlying_price"], 6632.19, atol=0.01)
    assert (df["settle"].dropna() > 0).all()  # bid/ask mid
    s = df["settle"]
    assert s.notna().mean() > 0.5


def test_intraday_snapshots_keep_rows_and_clean_keeps_latest():
    path = real(CHAIN.format(0))
    df = load_options(path)
    assert len(df) == _raw_rows(path)
    rows, report = clean(df, "NIFTY", max_log_moneyness=1.0)
    counts = report.set_index("reason")["count"]
    assert counts["duplicate"] > 0
    assert rows.duplicated(["date", "expiry", "strike", "option_type"]).sum() == 0


def test_dhan_intraday_has_spot_and_vix():
    df = load_options(real(DHAN))
    assert df["date"].nunique() == 3
    assert df["underlying_price"].notna().all()
    assert "vix" in df.columns and df["vix"].notna().sum() == len(df) - 247


# ---------------------------------------------------------------------------- index and VIX

INDEX_FILES = [
    ("rushimmehta_volatality_modelling/nifty50_daily.csv", 2706),
    ("mohit11kmr_nifty_research/nifty_history.csv", 495),
    ("lienc410_option_spx/sp500_index_daily_gspc.csv", 6814),
]
VIX_FILES = [
    ("rushimmehta_volatality_modelling/india_vix_daily.csv", 2697),
    ("priyashhagulati_option_hedging_rl/india_vix_daily.csv", 3790),
    ("mohit11kmr_nifty_research/india_vix.csv", 244),
]


@pytest.mark.parametrize("rel,n", INDEX_FILES)
def test_index_files(rel, n):
    df = load_index(real(rel))
    assert list(df.columns) == ["date", "open", "high", "low", "close"]
    assert len(df) == n
    assert df["date"].is_monotonic_increasing and not df["date"].duplicated().any()
    assert (df["high"] >= df["low"]).all()


@pytest.mark.parametrize("rel,n", VIX_FILES)
def test_vix_files(rel, n):
    df = load_vix(real(rel))
    assert len(df) == n
    assert df["close"].between(5, 100).all()


def test_index_closes_match_the_option_files():
    nifty = load_index(real(INDEX_FILES[0][0])).set_index("date")["close"]
    chain = load_options(real(CONVERTED))
    assert nifty.loc["2025-08-14"] == pytest.approx(chain["underlying_price"].iloc[0], abs=0.5)
    spx = load_index(real(INDEX_FILES[2][0])).set_index("date")["close"]
    assert spx.loc["2022-05-06"] == pytest.approx(4123.34, abs=0.01)
    yahoo = load_options(real(YAHOO[0]))
    assert spx.loc["2026-03-13"] == pytest.approx(yahoo["underlying_price"].iloc[0], abs=0.5)


def test_nse_style_index_csv(tmp_path):
    text = (
        "Date ,Open ,High ,Low ,Close ,Shares Traded ,Turnover (₹ Cr)\n"
        '05-JAN-2024,"21,705.75","21,749.60","21,629.20","21,710.80",277957477,"26,452.55"\n'
        '08-JAN-2024,"21,747.60","21,763.95","21,492.90","21,513.00",270341165,"25,125.72"\n'
    )
    (tmp_path / "nifty.csv").write_text(text, encoding="utf-8")
    df = load_index(tmp_path / "nifty.csv")
    assert df["close"].tolist() == [21710.80, 21513.00]
    assert df["date"].iloc[0] == pd.Timestamp("2024-01-05")


def test_index_duplicate_date_names_the_line(tmp_path):
    (tmp_path / "v.csv").write_text("date,close\n2024-01-02,13\n2024-01-03,14\n2024-01-02,15\n")
    with pytest.raises(DataError, match=r"v\.csv: line 4, column date: duplicate date"):
        load_vix(tmp_path / "v.csv")


# ---------------------------------------------------------------------------- containers


def test_zip_gz_and_folder(tmp_path):
    udiff, conv = real(UDIFF), real(CONVERTED)
    one = load_options(udiff)
    with zipfile.ZipFile(tmp_path / "day.zip", "w") as zf:
        zf.write(udiff, arcname="BhavCopy_NSE_FO_0_0_0_20260813_F_0000.csv")
        zf.writestr("readme.txt", "not data")
    pd.testing.assert_frame_equal(load_options(tmp_path / "day.zip"), one)
    (tmp_path / "day.csv.gz").write_bytes(gzip.compress(udiff.read_bytes()))
    pd.testing.assert_frame_equal(load_options(tmp_path / "day.csv.gz"), one)
    folder = tmp_path / "days"
    folder.mkdir()
    (folder / "a.csv").write_bytes(conv.read_bytes())
    (folder / "b.csv").write_bytes(udiff.read_bytes())
    both = load_options(folder)
    assert len(both) == len(one) + len(load_options(conv))
    assert both["date"].nunique() == 2


def test_symbol_filter_while_loading_is_counted():
    path = real(LEGACY)
    full = load_options(path)
    kept = load_options(path, symbol="BANKNIFTY")
    dropped = len(full) - len(kept)
    assert kept["underlying"].eq("BANKNIFTY").all()
    assert kept.attrs["load_dropped"]["other_symbol"] == dropped > 0
    expect = full[full["underlying"] == "BANKNIFTY"].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, expect)  # the byte-level pre-filter keeps the same rows
    rows, report = clean(kept, "BANKNIFTY")
    counts = report.set_index("reason")["count"]
    assert counts["other_symbol"] == dropped
    assert report.attrs["rows_in"] == len(full)
    assert counts.sum() == report.attrs["rows_in"] - len(rows)


def test_cboe_eod_format(tmp_path):
    header = (
        "underlying_symbol,quote_date,root,expiration,strike,option_type,open,high,low,close,"
        "trade_volume,bid_size_1545,bid_1545,ask_size_1545,ask_1545,underlying_bid_1545,"
        "underlying_ask_1545,bid_size_eod,bid_eod,ask_size_eod,ask_eod,underlying_bid_eod,"
        "underlying_ask_eod,vwap,open_interest,delivery_code"
    )
    rows = [
        "^SPX,2022-05-06,SPXW,2022-05-20,4100.000,C,80.00,95.00,70.00,88.40,1200,5,88.0,5,89.0,"
        "4120.0,4121.0,10,88.10,10,88.90,4123.00,4123.68,85.0,5400,0",
        "^SPX,2022-05-06,SPX,2022-05-20,4100.000,p,60.00,70.00,55.00,64.20,0,5,64.0,5,65.0,"
        "4120.0,4121.0,10,64.00,10,64.60,4123.00,4123.68,0,3100,0",
    ]
    (tmp_path / "UnderlyingOptionsEODQuotes_2022-05-06.csv").write_text(
        header + "\n" + "\n".join(rows) + "\n"
    )
    df = load_options(tmp_path / "UnderlyingOptionsEODQuotes_2022-05-06.csv")
    _check_canonical(df)
    assert df["underlying"].tolist() == ["SPX", "SPX"]
    assert df["option_type"].tolist() == ["CE", "PE"]
    assert df["settle"].tolist() == pytest.approx([88.5, 64.3])
    assert df["underlying_price"].tolist() == pytest.approx([4123.34, 4123.34])


# ---------------------------------------------------------------------------- bad input


def _legacy_lines() -> list[str]:
    return real(LEGACY).read_text().splitlines()


def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and isinstance(exc.value, ValueError)
    return msg


def test_missing_column(tmp_path):
    lines = _legacy_lines()
    cols = lines[0].split(",")
    drop = cols.index("CLOSE")
    out = [",".join(c for i, c in enumerate(line.split(",")) if i != drop) for line in lines]
    (tmp_path / "f.csv").write_text("\n".join(out) + "\n")
    with pytest.raises(DataError) as exc:
        load_options(tmp_path / "f.csv")
    msg = _one_line(exc)
    assert "f.csv" in msg and "line 1" in msg and "CLOSE" in msg


@pytest.mark.parametrize(
    "column,value,what",
    [
        ("TIMESTAMP", "31-FOO-2019", "date"),
        ("EXPIRY_DT", "", "date"),
        ("STRIKE_PR", "abc", "number"),
    ],
)
def test_bad_value_names_line_and_column(tmp_path, column, value, what):
    lines = _legacy_lines()
    i = lines[0].split(",").index(column)
    fields = lines[6].split(",")
    fields[i] = value
    lines[6] = ",".join(fields)  # line 7 of the file
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as exc:
        load_options(tmp_path / "bad.csv")
    msg = _one_line(exc)
    assert "bad.csv: line 7" in msg and column in msg and what in msg
    symbol = fields[lines[0].split(",").index("SYMBOL")]
    with pytest.raises(DataError) as exc:  # same message through the symbol pre-filter
        load_options(tmp_path / "bad.csv", symbol=symbol)
    assert str(exc.value) == msg


def test_ragged_row(tmp_path):
    lines = _legacy_lines()
    lines[9] += ",1,2"
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"r\.csv: line 10"):
        load_options(tmp_path / "r.csv")


def test_empty_and_header_only(tmp_path):
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(DataError, match="empty file"):
        load_options(tmp_path / "e.csv")
    (tmp_path / "h.csv").write_text(_legacy_lines()[0] + "\n")
    with pytest.raises(DataError, match="no data rows"):
        load_options(tmp_path / "h.csv")


def test_wrong_encodings(tmp_path):
    lines = _legacy_lines()
    lines[2] = lines[2].replace("BANKNIFTY", "BANKNIFTÉ")
    (tmp_path / "latin1.csv").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    with pytest.raises(DataError) as exc:
        load_options(tmp_path / "latin1.csv")
    msg = _one_line(exc)
    assert "line 3" in msg and "SYMBOL" in msg and "UTF-8" in msg
    (tmp_path / "utf16.csv").write_bytes(("\n".join(lines[:5]) + "\n").encode("utf-16"))
    with pytest.raises(DataError, match="UTF-16"):
        load_options(tmp_path / "utf16.csv")


def test_bad_containers(tmp_path):
    with zipfile.ZipFile(tmp_path / "nocsv.zip", "w") as zf:
        zf.writestr("notes.txt", "hello")
    with pytest.raises(DataError, match="no CSV"):
        load_options(tmp_path / "nocsv.zip")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(DataError, match="not a valid zip"):
        load_options(tmp_path / "broken.zip")
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(DataError, match="no .csv"):
        load_options(tmp_path / "empty_dir")
    with pytest.raises(DataError, match="no such file"):
        load_options(tmp_path / "missing.csv")


def test_a_new_format_is_one_table_entry(tmp_path, monkeypatch):
    from bpdiag.data import _formats as L

    fmt = L._Format(
        "toy",
        ("day", "sym", "mat", "k", "cp", "px"),
        {
            "date": L.Date("day", ("%d.%m.%Y",)),
            "underlying": L.Text("sym", "upper"),
            "expiry": L.Date("mat", ("%d.%m.%Y",)),
            "strike": L.Strike("k"),
            "option_type": L.Type("cp", futures_ok=False),
            "close": L.Num("px"),
            "settle": L.Mid("b", "a"),
        },
    )
    monkeypatch.setitem(L.OPTION_FORMATS, "toy", fmt)
    (tmp_path / "t.csv").write_text(
        "day,sym,mat,k,cp,px,b,a\n02.01.2024,nifty,25.01.2024,21000,call,310.5,309,311\n"
        "02.01.2024,nifty,25.01.2024,21000,P,120,,121\n"
    )
    df = load_options(tmp_path / "t.csv")  # detected from the header
    _check_canonical(df)
    assert df["underlying"].tolist() == ["NIFTY", "NIFTY"]
    assert df["option_type"].tolist() == ["CE", "PE"]
    assert df["expiry"].iloc[0] == pd.Timestamp("2024-01-25")
    assert df["settle"].iloc[0] == 310.0 and np.isnan(df["settle"].iloc[1])
    assert df["instrument"].tolist() == ["OPTIDX", "OPTIDX"]  # from the option type
    (tmp_path / "bad.csv").write_text("day,sym,mat,k,cp,px\n02.01.2024,X,2024-01-25,1,C,1\n")
    with pytest.raises(DataError, match=r"bad\.csv: line 2, column mat: cannot parse"):
        load_options(tmp_path / "bad.csv")


def test_unrecognised_header(tmp_path):
    (tmp_path / "x.csv").write_text("a,b,c\n1,2,3\n")
    with pytest.raises(DataError, match="not recognised"):
        load_options(tmp_path / "x.csv")
    with pytest.raises(DataError, match="unknown format"):
        load_options(tmp_path / "x.csv", format="bogus")
