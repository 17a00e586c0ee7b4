"""Black–Scholes helpers, cleaning, leakage-free features, splits, subsets, scalers, prepare()."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _real import REAL, real  # noqa: E402,F401

from bpdiag.data import (
    FEATURES,
    REASONS,
    DataError,
    Scaler,
    bs_greeks,
    bs_price,
    clean,
    implied_vol,
    load_default,
    load_index,
    load_options,
    load_vix,
    make_features,
    nested_subsets,
    prepare,
    split,
    synthesize,
)

PRICE_COLS = ["open", "high", "low", "close", "settle"]


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return synthesize(seed=5, years=1.0, rows=4000)


@pytest.fixture(scope="module")
def cleaned() -> pd.DataFrame:
    return clean(load_default())[0]


# ---------------------------------------------------------------------------- Black–Scholes


def test_bs_textbook_values():
    """Hull, Options, Futures and Other Derivatives, Example 15.6 (S=42, K=40, r=10 %,
    sigma=20 %, T=0.5): call 4.76, put 0.81 (quoted to the cent)."""
    call = float(bs_price(42.0, 40.0, 0.5, 0.10, 0.20, True))
    put = float(bs_price(42.0, 40.0, 0.5, 0.10, 0.20, False))
    assert round(call, 2) == 4.76 and round(put, 2) == 0.81
    # the same from the normal CDF written out with math.erf (independent of scipy's ndtr)
    from math import erf, exp, log, sqrt

    d1 = (log(42 / 40) + (0.10 + 0.02) * 0.5) / (0.20 * sqrt(0.5))
    d2 = d1 - 0.20 * sqrt(0.5)
    n = lambda x: 0.5 * (1 + erf(x / sqrt(2)))  # noqa: E731
    assert call == pytest.approx(42 * n(d1) - 40 * exp(-0.05) * n(d2), rel=1e-12)
    assert put == pytest.approx(40 * exp(-0.05) * n(-d2) - 42 * n(-d1), rel=1e-12)


def test_bs_parity_greeks_and_implied_vol():
    rng = np.random.default_rng(0)
    n = 200
    s = rng.uniform(15000, 25000, n)
    k = s * np.exp(rng.uniform(-0.2, 0.2, n))
    tau = rng.uniform(2 / 365, 1.0, n)
    r = rng.uniform(0.05, 0.08, n)
    sig = rng.uniform(0.08, 0.6, n)
    call = bs_price(s, k, tau, r, sig, True)
    put = bs_price(s, k, tau, r, sig, False)
    assert np.allclose(call - put, s - k * np.exp(-r * tau), atol=1e-6)
    g = bs_greeks(s, k, tau, r, sig, True)
    h = 1e-5 * s
    fd_delta = (bs_price(s + h, k, tau, r, sig, True) - bs_price(s - h, k, tau, r, sig, True)) / (
        2 * h
    )
    fd_vega = (
        bs_price(s, k, tau, r, sig + 1e-5, True) - bs_price(s, k, tau, r, sig - 1e-5, True)
    ) / (2e-5)
    assert np.allclose(g["delta"], fd_delta, atol=1e-5)
    assert np.allclose(g["vega"] * 100, fd_vega, rtol=1e-4, atol=1e-4)
    ok = call > 1e-3 * s
    iv = implied_vol(call[ok], s[ok], k[ok], tau[ok], r[ok], True)
    assert np.allclose(iv, sig[ok], atol=1e-6)
    assert np.isnan(implied_vol(0.0, 100.0, 100.0, 0.5, 0.05, True))  # below the bound


# ---------------------------------------------------------------------------- cleaning


def _one_of_each(base: pd.DataFrame) -> pd.DataFrame:
    row = base[(base["volume"] > 0)].iloc[[0]]
    s = float(row["underlying_price"].iloc[0])
    bad = {
        "other_symbol": {"underlying": "BANKNIFTY"},
        "future": {"instrument": "FUTIDX", "option_type": np.nan},
        "no_trades": {"volume": 0.0},
        "missing_or_zero_price": {"close": np.nan},
        "non_finite_price": {"close": np.inf},
        "non_positive_price": {"underlying_price": -1.0},
        "duplicate": {},
        "below_intrinsic": {"option_type": "CE", "strike": s - 1000, "close": 1.0},
        "extreme_moneyness": {"option_type": "CE", "strike": round(s * 1.6, -2), "close": 0.05},
        "expired": {"expiry": row["date"].iloc[0] - pd.Timedelta(days=3)},
    }
    parts = [base]
    for reason in REASONS:
        r = row.copy()
        for col, v in bad[reason].items():
            r[col] = v
        parts.append(r)
    return pd.concat(parts, ignore_index=True)


def test_clean_counts_each_reason_once(small):
    base, base_report = clean(small)
    table = _one_of_each(base)
    rows, report = clean(table)
    counts = report.set_index("reason")["count"]
    assert list(report["reason"]) == list(REASONS)
    assert (counts == 1).all(), counts.to_dict()
    assert len(rows) == len(base)
    assert counts.sum() == report.attrs["rows_in"] - report.attrs["rows_out"]
    assert base_report.set_index("reason")["count"]["no_trades"] == (small["volume"] == 0).sum()


@pytest.mark.parametrize(
    "rel,futures,no_trades",
    [
        ("shayakbanerjee99_nifty_options_elt/BhavCopy_NSE_FO_20260813_NIFTY_only.csv", 3, 917),
        ("jgoetzmann_nse_options_valuation/converted_bhavcopy_NIFTY_20250814.csv", 0, 708),
    ],
)
def test_clean_real_chains(rel, futures, no_trades):
    df = load_options(real(rel))
    rows, report = clean(df, "NIFTY")
    counts = report.set_index("reason")["count"]
    assert counts["future"] == futures  # SOURCES.md: 3 IDF rows in the UDiFF file
    assert counts["no_trades"] == no_trades  # SOURCES.md: zero-volume rows
    assert counts["other_symbol"] == 0 and counts["duplicate"] == 0
    assert counts.sum() == len(df) - len(rows)
    assert (rows["volume"] > 0).all()
    assert (np.abs(np.log(rows["strike"] / rows["underlying_price"])) <= 0.3).all()


# ---------------------------------------------------------------------------- features


def test_features_shape_and_finite(cleaned):
    X, y = make_features(cleaned)
    assert tuple(X.columns) == FEATURES and len(FEATURES) >= 19
    assert X.shape == (len(cleaned), len(FEATURES))
    assert np.isfinite(X.to_numpy()).all()
    assert y.name == "target_close" and np.array_equal(y.to_numpy(), cleaned["close"].to_numpy())
    assert set(np.unique(X["is_call"])) == {0.0, 1.0}
    assert (X["lag1_missing"] == 0).mean() > 0.95


def test_no_leakage_shuffling_same_day_prices(cleaned):
    X, _ = make_features(cleaned)
    rng = np.random.default_rng(1)
    shuffled = cleaned.copy()
    for col in PRICE_COLS:
        shuffled[col] = rng.permutation(shuffled[col].to_numpy())
    X2, y2 = make_features(shuffled)
    pd.testing.assert_frame_equal(X, X2, check_exact=True)
    assert not np.array_equal(y2.to_numpy(), cleaned["close"].to_numpy())


def test_no_leakage_without_prev_close_column(small):
    table = clean(small)[0].drop(columns=["prev_close"])
    X, _ = make_features(table)
    days = np.sort(table["date"].unique())
    day = days[len(days) // 2]
    bumped = table.copy()
    on_day = bumped["date"] == day
    for col in PRICE_COLS:
        bumped.loc[on_day, col] = bumped.loc[on_day, col] * 3 + 7
    X2, _ = make_features(bumped)
    upto = (table["date"] <= day).to_numpy()
    pd.testing.assert_frame_equal(X[upto], X2[upto], check_exact=True)
    # later rows of the same contracts see the change only through their lag
    changed = (X != X2).any(axis=0)
    assert set(changed[changed].index) == {"lag1_close"}


def test_lag_from_previous_row_and_exchange_prev_close(small):
    table = clean(small)[0]
    X, _ = make_features(table.drop(columns=["prev_close"]))
    key = ["expiry", "strike", "option_type"]
    srt = table.sort_values(key + ["date"])
    prev = srt.groupby(key)["close"].shift(1)
    have = prev.notna()
    assert have.sum() > 100
    assert np.allclose(X.loc[have[have].index, "lag1_close"], prev[have])
    udiff = load_options(
        real("shayakbanerjee99_nifty_options_elt/BhavCopy_NSE_FO_20260813_NIFTY_only.csv")
    )
    rows = clean(udiff, "NIFTY")[0]
    Xu, _ = make_features(rows)
    assert np.allclose(Xu["lag1_close"], rows["prev_close"])
    assert np.allclose(Xu["lag1_oi"], rows["open_interest"] - rows["oi_change"])


def test_historical_vol_matches_a_direct_computation(cleaned):
    X, _ = make_features(cleaned)
    closes = cleaned.groupby("date")["underlying_price"].first()
    lr = np.log(closes).diff().dropna()
    day = closes.index[300]
    window = lr.loc[:day].iloc[-21:]
    expect = window.std(ddof=1) * np.sqrt(252)
    got = X.loc[(cleaned["date"] == day).to_numpy(), "hv_21"]
    assert np.allclose(got, expect, rtol=1e-12)
    early = (cleaned["date"] == closes.index[2]).to_numpy()
    assert (X.loc[early, "history_missing"] == 1).all()
    assert np.allclose(X.loc[early, "hv_63"], X.loc[early, "vix"] / 100)


def test_single_day_chain_with_and_without_history():
    chain = clean(
        load_options(
            real("jgoetzmann_nse_options_valuation/converted_bhavcopy_NIFTY_20250814.csv")
        ),
        "NIFTY",
    )[0]
    X0, _ = make_features(chain)
    assert (X0["history_missing"] == 1).all()
    assert np.allclose(X0["hv_21"], 0.15)  # default volatility without index or VIX
    index = load_index(real("rushimmehta_volatality_modelling/nifty50_daily.csv"))
    vix = load_vix(real("rushimmehta_volatality_modelling/india_vix_daily.csv"))
    X1, _ = make_features(chain, index, vix)
    assert (X1["history_missing"] == 0).all()
    v = vix.set_index("date").loc["2025-08-14", "close"]
    assert np.allclose(X1["vix"], v)
    assert 0.03 < X1["hv_21"].iloc[0] < 0.4 and X1["hv_21"].nunique() == 1
    assert np.isfinite(X1.to_numpy()).all()


def test_spx_trades_take_spot_from_the_index():
    aggs = load_options(real("lienc410_option_spx/spx_spxw_option_day_aggs_2022-05-06.csv"))
    with pytest.raises(DataError, match="no underlying price"):
        make_features(aggs[aggs["underlying"] == "SPX"])
    index = load_index(real("lienc410_option_spx/sp500_index_daily_gspc.csv"))
    rows, _ = clean(aggs, "SPX", index=index)
    X, _ = make_features(rows, index)
    assert np.allclose(X["spot"], 4123.34)
    assert (X["history_missing"] == 1).all()  # no VIX given
    assert np.isfinite(X.to_numpy()).all()


# ---------------------------------------------------------------------------- splits, subsets


def test_random_split_is_seeded_disjoint_and_complete():
    a, b = split(1000, seed=3), split(1000, seed=3)
    c = split(1000, seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a.train, c.train)
    assert (len(a.train), len(a.val), len(a.test)) == (600, 200, 200)
    allpos = np.concatenate(a)
    assert np.array_equal(np.sort(allpos), np.arange(1000))


def test_time_split_orders_days(cleaned):
    s = split(cleaned, "time")
    d = cleaned["date"].to_numpy()
    assert d[s.train].max() < d[s.val].min() and d[s.val].max() < d[s.test].min()
    assert abs(len(s.train) / len(cleaned) - 0.6) < 0.02
    with pytest.raises(ValueError, match="3 trading days"):
        split(cleaned[cleaned["date"] == cleaned["date"].iloc[0]], "time")


def test_nested_subsets():
    s = nested_subsets(20_000, (100, 500, 1000), seed=7)
    assert set(s[100]) < set(s[500]) < set(s[1000])
    assert [len(v) for v in s.values()] == [100, 500, 1000]
    assert not np.array_equal(s[100], nested_subsets(20_000, (100,), seed=8)[100])
    with pytest.raises(ValueError):
        nested_subsets(50, (100,))


def test_scaler_round_trip_and_constant_column():
    a = np.c_[np.arange(10.0), np.full(10, 3.0)]
    sc = Scaler().fit(a)
    z = sc.transform(a)
    assert np.allclose(z.mean(axis=0), 0) and np.allclose(sc.scale_[1], 1.0)
    assert np.allclose(sc.inverse_transform(z), a)
    with pytest.raises(ValueError, match="not fitted"):
        Scaler().transform(a)


# ---------------------------------------------------------------------------- prepare


def test_prepare_scalers_are_fitted_on_train_only(cleaned):
    d = prepare("synthetic", seed=0)
    X, y = make_features(cleaned)
    Xn, yn = X.to_numpy(), y.to_numpy()
    tr = d.indices["train"]
    assert np.allclose(d.x_scaler.mean_, Xn[tr].mean(axis=0))
    assert np.allclose(d.y_scaler.mean_, yn[tr].mean())
    assert not np.allclose(d.x_scaler.mean_, Xn.mean(axis=0), rtol=1e-9, atol=0)
    assert np.allclose(d.X_train.mean(axis=0), 0, atol=1e-9)
    assert np.allclose(d.inverse_target(d.y_test), d.test_rows["target"])
    assert np.allclose(d.test_rows["target"], yn[d.indices["test"]])
    assert d.feature_names == FEATURES
    n = len(cleaned)
    assert (len(d.X_train), len(d.X_val), len(d.X_test)) == (
        round(0.6 * n),
        round(0.2 * n),
        n - round(0.6 * n) - round(0.2 * n),
    )


def test_prepare_subsets_are_nested_and_split_60_20_20():
    parts = {n: prepare(subset=n, seed=2) for n in (100, 500, 1000)}
    used = {n: np.concatenate(list(p.indices.values())) for n, p in parts.items()}
    assert set(used[100]) < set(used[500]) < set(used[1000])
    p = parts[100]
    assert (p.X_train.shape, p.X_val.shape, p.X_test.shape) == ((60, 23), (20, 23), (20, 23))
    assert p.y_train.shape == (60,)


def test_prepare_time_split_float32_and_real_file():
    d = prepare(split="time", dtype=np.float32)
    assert d.X_train.dtype == np.float32 and d.y_test.dtype == np.float32
    rows = load_default()
    assert d.test_rows["date"].min() > rows["date"].iloc[0]
    udiff = real("shayakbanerjee99_nifty_options_elt/BhavCopy_NSE_FO_20260813_NIFTY_only.csv")
    r = prepare(udiff, seed=1)
    assert r.meta["symbol"] == "NIFTY"
    assert len(r.X_train) + len(r.X_val) + len(r.X_test) == r.meta["rows_clean"]
    assert np.isfinite(r.X_train).all()
