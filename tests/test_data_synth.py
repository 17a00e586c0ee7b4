"""The synthetic NIFTY-like generator: determinism, the shipped copy, and market realism."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import pytest

from bpdiag.data import (
    DEFAULT_FILE,
    SYNTH_COLUMNS,
    clean,
    hv_table,
    implied_vol,
    load_default,
    load_options,
    synthesize,
)
from bpdiag.results.data import save_options

KEY = ["underlying", "expiry", "strike", "option_type"]


@pytest.fixture(scope="module")
def synth() -> pd.DataFrame:
    return synthesize(seed=0)


@pytest.fixture(scope="module")
def traded(synth) -> pd.DataFrame:
    return synth[synth["volume"] > 0]


def _tau(df: pd.DataFrame) -> np.ndarray:
    return np.maximum((df["expiry"] - df["date"]).dt.days.to_numpy(float), 0.25) / 365.0


def test_same_seed_same_table_other_seed_differs():
    a = synthesize(seed=3, years=0.5, rows=2000)
    b = synthesize(seed=3, years=0.5, rows=2000)
    c = synthesize(seed=4, years=0.5, rows=2000)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert len(c) == len(a)
    assert not np.allclose(a["underlying_price"], c["underlying_price"])


def test_shipped_copy_equals_fresh_generation(synth):
    ref = resources.files("bpdiag.data").joinpath(DEFAULT_FILE)
    assert ref.is_file(), "the bundled default must ship with the package"
    assert len(ref.read_bytes()) < 2_000_000
    shipped = load_default()
    pd.testing.assert_frame_equal(shipped, synth, check_exact=False, rtol=1e-12, atol=1e-12)


def test_shape_and_columns(synth):
    assert tuple(synth.columns) == SYNTH_COLUMNS
    assert len(synth) == 22_000
    assert synth["date"].nunique() > 900  # ~4 years of trading days
    years = (synth["date"].max() - synth["date"].min()).days / 365.25
    assert 3.8 < years < 4.1
    assert set(synth["option_type"]) == {"CE", "PE"}
    assert (synth["expiry"] >= synth["date"]).all()
    assert synth["date"].dt.weekday.max() <= 4


def test_rows_parameter_is_honoured():
    df = synthesize(seed=1, years=1.0, rows=3000)
    assert len(df) == 3000
    assert (df.groupby("date").size() >= 2).all()


def test_prices_on_tick_and_above_intrinsic(traded):
    for col in ("open", "high", "low", "close"):
        x = traded[col].to_numpy()
        assert np.allclose(x * 20, np.round(x * 20), atol=1e-6), col
        assert x.min() >= 0.05
    assert (traded["low"] <= traded["close"]).all() and (traded["close"] <= traded["high"]).all()
    s, k = traded["underlying_price"].to_numpy(), traded["strike"].to_numpy()
    disc = k * np.exp(-traded["rate"].to_numpy() * _tau(traded))
    call = traded["option_type"].eq("CE").to_numpy()
    bound = np.where(call, np.maximum(s - disc, 0), np.maximum(disc - s, 0))
    assert (traded["close"].to_numpy() >= bound - 1e-9).all()


def test_put_call_parity_is_flat(traded):
    wide = traded.pivot_table(
        index=["date", "expiry", "strike"], columns="option_type", values="close"
    ).dropna()
    wide = wide.reset_index()
    mkt = traded.groupby("date")[["underlying_price", "rate"]].first()
    wide = wide.join(mkt, on="date")
    tau = np.maximum((wide["expiry"] - wide["date"]).dt.days, 0.25) / 365.0
    resid = wide["CE"] - wide["PE"] + wide["strike"] * np.exp(-wide["rate"] * tau)
    resid = resid - wide["underlying_price"]
    assert len(wide) > 3000
    atm_premium = traded["close"].median()
    assert np.median(np.abs(resid)) < 2.0  # index points, as in real chains
    assert np.percentile(np.abs(resid), 99) < 0.1 * atm_premium


def test_smile_has_negative_skew_and_curvature_falls_with_expiry(traded):
    iv = implied_vol(
        traded["close"],
        traded["underlying_price"],
        traded["strike"],
        _tau(traded),
        traded["rate"],
        traded["option_type"].eq("CE"),
    )
    k = np.log(traded["strike"] / traded["underlying_price"]).to_numpy()
    otm = np.where(traded["option_type"].eq("CE"), k > 0, k < 0)
    d = pd.DataFrame({"iv": iv, "k": k, "date": traded["date"], "exp": traded["expiry"]})
    d["days"] = (d["exp"] - d["date"]).dt.days
    d = d[otm & np.isfinite(iv) & (np.abs(k) < 0.06) & (d["days"] >= 3)]
    slopes, curv = [], {"short": [], "long": []}
    for _, g in d.groupby(["date", "exp"]):
        if len(g) >= 5 and g["k"].std() > 0.004:
            c, b, _ = np.polyfit(g["k"], g["iv"], 2)
            slopes.append(b)
            days = g["days"].iloc[0]
            if days <= 8:
                curv["short"].append(c)
            elif days >= 20:
                curv["long"].append(c)
    assert len(slopes) > 100
    assert np.median(slopes) < -0.05  # puts dearer than calls
    assert np.median(curv["short"]) > np.median(curv["long"]) > 0


def test_volatility_index_moves_with_realised_vol(synth):
    days = synth.groupby("date").first().reset_index()
    hv = hv_table(days[["date"]].assign(close=days["underlying_price"]))
    both = pd.DataFrame({"vix": days["vix"], "hv": hv["hv_21"]}).dropna()
    assert both["vix"].corr(both["hv"]) > 0.5
    assert 7 < both["vix"].min() and both["vix"].max() < 90
    assert both["vix"].max() > 1.8 * both["vix"].min()  # calm and stressed regimes
    assert days["rate"].between(0.055, 0.075).all()


def test_atm_iv_in_calm_regime_matches_calibration(traded):
    calm = traded[traded["vix"] < 12.5]
    tau = _tau(calm)
    k = np.log(calm["strike"] / calm["underlying_price"])
    near = calm[(np.abs(k) < 0.004).to_numpy() & (tau > 10 / 365) & (tau < 40 / 365)]
    iv = implied_vol(
        near["close"],
        near["underlying_price"],
        near["strike"],
        _tau(near),
        near["rate"],
        near["option_type"].eq("CE"),
    )
    assert len(near) > 50
    assert 0.08 < np.nanmedian(iv) < 0.13


def test_expiry_calendar_weekly_thursday_then_tuesday(synth):
    exp = pd.Series(synth["expiry"].unique())
    before = exp[exp < "2025-09-01"].dt.weekday.value_counts()
    after = exp[exp >= "2025-09-01"].dt.weekday.value_counts()
    assert before.idxmax() == 3 and after.idxmax() == 1
    assert set(before.index) <= {0, 1, 2, 3} and set(after.index) <= {0, 1}
    # a monthly (last expiry of its month) is listed on most days
    month_last = exp.groupby(exp.dt.to_period("M")).transform("max") == exp
    monthlies = set(exp[month_last])
    share = synth.groupby("date")["expiry"].apply(lambda e: bool(set(e) & monthlies)).mean()
    assert share > 0.9


def test_strike_grid_volume_and_open_interest(synth):
    assert (synth["strike"] % 50 == 0).all()
    vol = synth["volume"][synth["volume"] > 0]
    assert np.percentile(vol, 99) > 20 * np.median(vol)  # heavy tailed
    assert (synth["open_interest"] % synth["lot_size"] == 0).all()
    assert set(synth["lot_size"]) <= {25.0, 50.0, 65.0, 75.0}
    # volume concentrates at the front expiry and near the money
    near = np.abs(np.log(synth["strike"] / synth["underlying_price"])) < 0.01
    assert synth.loc[near, "volume"].median() > synth.loc[~near, "volume"].median()


def test_untraded_rows_carry_previous_close(synth):
    untraded = synth[(synth["volume"] == 0) & synth["prev_close"].notna()]
    assert len(untraded) > 100
    assert (untraded[["open", "high", "low"]] == 0).all().all()
    assert np.array_equal(untraded["close"], untraded["prev_close"])


def test_prev_close_and_oi_change_match_the_previous_day(synth):
    days = np.sort(synth["date"].unique())
    prev_day = dict(zip(days[1:], days[:-1], strict=True))
    cur = synth[synth["date"] > days[0]].copy()
    cur["pdate"] = cur["date"].map(prev_day)
    prev = synth[KEY + ["date", "close", "open_interest"]].rename(
        columns={"date": "pdate", "close": "pclose", "open_interest": "poi"}
    )
    m = cur.merge(prev, on=KEY + ["pdate"], how="inner")
    assert len(m) > 500
    assert np.allclose(m["prev_close"], m["pclose"])
    assert np.allclose(m["open_interest"] - m["oi_change"], m["poi"])


def test_save_and_reload_round_trip(tmp_path):
    df = synthesize(seed=2, years=0.3, rows=1200)
    path = save_options(df, tmp_path / "s.csv.gz")
    back = load_options(path)
    pd.testing.assert_frame_equal(back[list(SYNTH_COLUMNS)], df, check_exact=False, rtol=1e-12)
    rows, report = clean(back)
    assert int(report["count"].sum()) == len(back) - len(rows)


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="rows"):
        synthesize(rows=1)
    with pytest.raises(ValueError, match="too few"):
        synthesize(years=1.0, rows=100)
