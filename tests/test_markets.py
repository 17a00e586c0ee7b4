"""A second market: index histories for chains without an underlying price (``--index``), the
per-market conventions, the real SPX files, and markets as a study axis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _real import REAL, real  # noqa: E402,F401
from click.testing import CliRunner

from bpdiag.analyses.study import RUN_COLUMNS, StudyConfig, quantum_contribution, study
from bpdiag.cli import main
from bpdiag.data import (
    MARKETS,
    DataError,
    clean,
    load_index,
    load_options,
    load_vix,
    make_features,
    market_of,
    prepare,
)

SPX_DIR = "lienc410_option_spx/"
SNAPSHOT = SPX_DIR + "spx_option_snapshot_2026-05-04.csv.gz"
AGGS = SPX_DIR + "spx_spxw_option_day_aggs_2022-05-06.csv"
SP500 = SPX_DIR + "sp500_index_daily_gspc.csv"
YAHOO = "palbence_pinns_fin_math/spx_options_v{}_2026-03-1{}.csv"
NIFTY_2015_2025 = "rushimmehta_volatality_modelling/nifty50_daily.csv"
INDIA_VIX_2015_2025 = "rushimmehta_volatality_modelling/india_vix_daily.csv"

#: The real SPX files, their format, trade date and the S&P 500 close that day (SOURCES.md 3d).
SPX_FILES = [
    (AGGS, "polygon_aggs", "2022-05-06", 4123.34),
    (SNAPSHOT, "massive_snapshot", "2026-05-04", 7200.75),
    (YAHOO.format(1, 3), "yahoo", "2026-03-13", 6632.19),
    (YAHOO.format(2, 6), "yahoo", "2026-03-13", 6632.19),
]


@pytest.fixture(scope="module")
def sp500():
    return load_index(real(SP500))


def _realised_vol(closes: pd.Series, day: str, window: int) -> float:
    """Annualised close-to-close volatility of the last ``window`` returns up to ``day``."""
    c = closes.loc[:day].to_numpy(np.float64)
    return float(np.std(np.diff(np.log(c[-window - 1 :])), ddof=1) * np.sqrt(252))


# ---------------------------------------------------------------------------- conventions


def test_market_table_and_lookup():
    assert set(MARKETS) == {"nifty", "spx"}
    assert market_of("SPXW") is MARKETS["spx"] and market_of("^spx") is MARKETS["spx"]
    assert market_of("BANKNIFTY") is MARKETS["nifty"]
    other = market_of("RELIANCE")
    assert other.name == "other" and other.rate == MARKETS["nifty"].rate
    # The synthetic default keeps the original study's conventions: NIFTY, q = 0, rupees.
    d = prepare(subset=60, seed=0)
    assert (d.meta["market"], d.meta["dividend_yield"], d.meta["target_unit"]) == (
        "nifty",
        0.0,
        "rupees",
    )


@pytest.mark.parametrize(
    "rel,fmt,day,close", SPX_FILES, ids=["aggs", "snapshot", "yahoo1", "yahoo2"]
)
def test_every_real_spx_file_prepares_with_the_sp500_index(sp500, rel, fmt, day, close):
    path = real(rel)
    d = prepare(path, index=sp500, split="random", seed=0)
    assert d.meta["symbol"] == "SPX" and d.meta["market"] == "spx"
    assert d.meta["target_unit"] == "dollars" and d.meta["currency"] == "USD"
    assert d.meta["dividend_yield"] == MARKETS["spx"].dividend_yield
    raw = d.x_scaler.inverse_transform(d.X_test)
    X = pd.DataFrame(raw, columns=d.feature_names)
    # The spot is the S&P 500 close of the trade date (yfinance's own spotPrice for Yahoo).
    assert np.allclose(X["spot"], close, atol=0.01)
    closes = sp500.set_index("date")["close"]
    assert closes.loc[day] == pytest.approx(close, abs=0.01)
    # Realised volatility comes from the index history, recomputed here from its closes.
    for w in (5, 21, 63):
        assert np.allclose(X[f"hv_{w}"], _realised_vol(closes, day, w), rtol=1e-9)
    assert np.isfinite(d.X_train).all() and len(d.X_train) >= 100
    # The targets are the chain's own prices, in dollars.
    assert (d.test_rows["target"] > 0).all() and (d.test_rows["date"] == pd.Timestamp(day)).all()


def test_spx_features_use_the_dividend_yield_put_call_parity(sp500):
    rows, _ = clean(load_options(real(SNAPSHOT)), "SPX", index=sp500)
    spx = MARKETS["spx"]
    X, _ = make_features(rows, sp500)
    assert (X["rate"] == spx.rate).all()
    # Black–Scholes prices at the same sigma satisfy C − P = S e^{−qT} − K e^{−rT} (closed form).
    keyed = pd.concat([rows[["expiry", "option_type"]], X], axis=1)
    wide = keyed.pivot_table(
        index=["expiry", "strike"], columns="option_type", values="bs_price_hv", aggfunc="first"
    ).dropna()
    first = keyed.drop_duplicates(["expiry", "strike"]).set_index(["expiry", "strike"])
    first = first.loc[wide.index]
    S, K, T = first["spot"], wide.index.get_level_values("strike"), first["tau_years"]
    parity = S * np.exp(-spx.dividend_yield * T) - K * np.exp(-spx.rate * T)
    assert len(wide) > 500
    assert np.allclose(wide["CE"] - wide["PE"], parity, atol=1e-6 * S.max())
    X0, _ = make_features(rows, sp500, dividend_yield=0.0)
    assert not np.allclose(X0["bs_price_hv"], X["bs_price_hv"])


def test_spx_table_carry_matches_put_call_parity_of_the_real_chain(sp500):
    """``r − q`` of the spx row against the forward implied by the traded 2026-05-04 chain:
    per expiry (30 days or more), fit C − P = a − b·K near the money; F = a / b = S e^{(r−q)T}."""
    df = load_options(real(SNAPSHOT))
    df = df[(df["underlying"] == "SPX") & (df["volume"] > 0)]
    spot = sp500.set_index("date")["close"].loc["2026-05-04"]
    carries = []
    for expiry, g in df.groupby("expiry"):
        tau = (expiry - pd.Timestamp("2026-05-04")).days / 365
        g = g.drop_duplicates(["strike", "option_type"], keep="last")
        wide = g.pivot_table(index="strike", columns="option_type", values="close").dropna()
        wide = wide[np.abs(np.log(wide.index / spot)) < 0.05]
        if tau < 30 / 365 or len(wide) < 8:
            continue
        k = wide.index.to_numpy()
        (a, b), *_ = np.linalg.lstsq(np.c_[np.ones_like(k), -k], wide["CE"] - wide["PE"])
        carries.append(np.log(a / b / spot) / tau)
    assert len(carries) >= 15
    spx = MARKETS["spx"]
    assert np.median(carries) == pytest.approx(spx.rate - spx.dividend_yield, abs=0.01)


# ---------------------------------------------------------------------------- bad histories


def test_index_that_does_not_cover_the_chain_or_is_not_an_index(sp500):
    chain = real(SNAPSHOT)
    with pytest.raises(DataError, match="no underlying price for 2026-05-04 .pass an index"):
        prepare(chain)
    with pytest.raises(DataError, match="covers 2015-01-05 to 2025-12-30, not 2026-05-04 of"):
        prepare(chain, index=real(NIFTY_2015_2025))
    with pytest.raises(DataError, match=r"an option file \(format polygon_aggs\), not an index"):
        load_index(real(AGGS))
    with pytest.raises(DataError, match=r"an option file \(format massive_snapshot\), not a vol"):
        load_vix(chain)
    with pytest.raises(DataError, match="covers 2015-01-01 to 2025-12-30, none of the dates"):
        prepare(chain, index=sp500, vix=real(INDIA_VIX_2015_2025))


def _cli(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize(
    "index, message",
    [
        (NIFTY_2015_2025, "covers 2015-01-05 to 2025-12-30, not 2026-05-04"),
        (AGGS, "not an index history"),
        (None, "pass an index history, --index"),
    ],
)
def test_cli_bad_index_exits_2(tmp_path, index, message):
    extra = [] if index is None else ["--index", real(index)]
    for args in (
        ["train", "--data", real(SNAPSHOT), "--out", tmp_path / "t"],
        ["data", "features", real(SNAPSHOT), "--out", tmp_path / "f.csv"],
    ):
        r = _cli(*args, *extra)
        assert r.exit_code == 2, r.output
        assert message in r.output and "Traceback" not in r.output
        assert len([x for x in r.output.splitlines() if x.startswith("Error:")]) == 1


# ---------------------------------------------------------------------------- end to end


def test_cli_data_features_on_the_spx_chain(tmp_path):
    out = tmp_path / "f.csv"
    r = _cli("data", "features", real(SNAPSHOT), "--index", real(SP500), "--out", out)
    assert r.exit_code == 0, r.output
    table = pd.read_csv(out)
    assert np.allclose(table["spot"], 7200.75) and (table["rate"] == MARKETS["spx"].rate).all()
    r = _cli(
        "data", "features", real(SNAPSHOT), "--index", real(SP500), "--rate", "0.02",
        "--dividend-yield", "0", "--out", out,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert (pd.read_csv(out)["rate"] == 0.02).all()


def _check_spx_run(summary, predictions: pd.DataFrame) -> None:
    """A train run on the 2026-05-04 SPX chain (subset 60): spx conventions, and test prices
    that are the chain's own day closes of those contracts, in dollars."""
    s = summary
    assert (s["market"], s["currency"], s["n_train"], s["n_test"]) == ("spx", "USD", 36, 12)
    assert (s["rate"], s["dividend_yield"]) == (MARKETS["spx"].rate, MARKETS["spx"].dividend_yield)
    assert s["index"].endswith("sp500_index_daily_gspc.csv")
    chain = load_options(real(SNAPSHOT))
    chain = chain[(chain["underlying"] == "SPX") & (chain["volume"] > 0)].drop_duplicates(
        ["expiry", "strike", "option_type"], keep="last"
    )
    pred = predictions.assign(expiry=pd.to_datetime(predictions["expiry"]))
    both = pred.merge(chain, on=["expiry", "strike", "option_type"])
    assert len(both) == len(pred) == 12
    assert np.allclose(both["price_true"], both["close"])
    assert np.allclose(pred["underlying_price"], 7200.75)


def test_train_on_the_spx_chain_with_the_sp500_index():
    from bpdiag.train import TrainConfig, fit

    cfg = TrainConfig(
        data=str(real(SNAPSHOT)), index=str(real(SP500)), subset=60, epochs=1, qubits=2,
        layers=1, hidden=8, batch_size=16, baselines=False, plots=False,
    )  # fmt: skip
    res = fit(cfg)
    _check_spx_run(res.summary, res.predictions)
    assert res.meta["units"]["rmse"] == "dollars"
    assert np.isfinite(res.history["train_loss"]).all()


@pytest.mark.slow
def test_cli_train_on_the_spx_chain_with_the_sp500_index(tmp_path):
    out = tmp_path / "spx"
    r = _cli(
        "train", "--data", real(SNAPSHOT), "--index", real(SP500), "--subset", "60",
        "--epochs", "1", "--qubits", "2", "--layers", "1", "--hidden", "8",
        "--batch-size", "16", "--no-baselines", "--out", out,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "rmse, mae in dollars" in r.output
    _check_spx_run(pd.read_csv(out / "summary.csv").iloc[0], pd.read_csv(out / "predictions.csv"))


# ---------------------------------------------------------------------------- the market axis


def _two_markets(tmp_path, **extra) -> str:
    spx = f'{{label = "spx", path = "{real(SNAPSHOT)}", index = "{real(SP500)}"}}'
    text = (
        "qubits = [2]\nlayers = [1]\nsubsets = [60]\nseeds = [0, 1]\nepochs = 1\n"
        f'bootstrap = 100\ndata = ["synthetic", {spx}]\n'
        + "".join(f"{k} = {v}\n" for k, v in extra.items())
        + "[train]\nbatch_size = 16\nhidden = 8\n"
    )
    path = tmp_path / "markets.toml"
    path.write_text(text)
    return path


def _check_two_markets(runs: pd.DataFrame, qc: pd.DataFrame) -> None:
    """runs and qc of the two-market study: a market column, labelled run ids, and qc per
    market (and pooled) equal to 1 − mean(hybrid loss) / mean(twin loss) over its runs."""
    assert list(runs.columns) == ["run_id", "market", *RUN_COLUMNS[1:]]
    assert runs.groupby("market").size().to_dict() == {"spx": 4, "synthetic": 4}
    assert all(r.startswith(f"{m}-") for r, m in zip(runs["run_id"], runs["market"]))
    assert runs["test_mse_scaled"].notna().all()
    assert list(qc.columns[:2]) == ["market", "ansatz"]
    for market in ("synthetic", "spx", "all"):
        g = runs if market == "all" else runs[runs["market"] == market]
        q = g.loc[g["model"] == "quantum", "test_mse_scaled"].mean()
        c = g.loc[g["model"] == "identity", "test_mse_scaled"].mean()
        row = qc[(qc["market"] == market) & (qc["ansatz"] == "all")].iloc[0]
        assert row["qc"] == pytest.approx(1 - q / c, rel=1e-9)


def test_study_over_two_markets(tmp_path):
    cfg = StudyConfig.from_toml(_two_markets(tmp_path))
    assert cfg.markets and [s.label for s in cfg.sources()] == ["synthetic", "spx"]
    # The spx runs are train runs on that chain with that index: the axis only labels them.
    spx_run = cfg.runs()[4]["config"]
    assert (spx_run.data, spx_run.index) == (str(real(SNAPSHOT)), str(real(SP500)))
    assert cfg.runs()[0]["config"].data == "synthetic" and cfg.runs()[0]["config"].index is None
    res = study(cfg)
    _check_two_markets(res.table, res.tables["qc"])
    assert res.meta["units"]["price_unit"] == {"spx": "dollars", "synthetic": "rupees"}


@pytest.mark.slow
def test_cli_study_over_two_markets(tmp_path):
    out = tmp_path / "out"
    r = _cli("study", "--config", _two_markets(tmp_path), "--out", out)
    assert r.exit_code == 0, r.output
    _check_two_markets(pd.read_csv(out / "runs.csv"), pd.read_csv(out / "qc.csv"))
    meta = (out / "study.json").read_text()
    assert '"spx": "dollars"' in meta and '"synthetic": "rupees"' in meta
    assert (out / "qc.png").stat().st_size > 0


def test_one_data_source_keeps_the_old_tables(tmp_path):
    cfg = StudyConfig(qubits=(2,), layers=(1,), subsets=(60,), seeds=(0,), epochs=1)
    assert not cfg.markets and cfg.run_columns() == RUN_COLUMNS
    assert cfg.runs()[0]["run_id"] == "original-n2-L1-s60-seed0-quantum"
    runs = pd.DataFrame(
        {"seed": [0, 0], "model": ["quantum", "identity"], "test_mse_scaled": [2.0, 1.0]}
    ).assign(ansatz="original", n_qubits=2, n_layers=1, subset=60)
    assert "market" not in quantum_contribution(runs, n_boot=100).columns


def _spx_toml(tmp_path) -> str:
    conf = tmp_path / "spx.toml"
    conf.write_text(
        f'data = "{real(SNAPSHOT)}"\nqubits = [2]\nlayers = [1]\nsubsets = [40]\nseeds = [0]\n'
        "epochs = 1\nbootstrap = 100\n[train]\nbatch_size = 16\nhidden = 8\n"
    )
    return conf


def test_study_of_one_spx_chain_takes_the_index_from_the_cli(tmp_path):
    conf = _spx_toml(tmp_path)
    r = _cli("study", "--config", conf, "--out", tmp_path / "a")
    assert r.exit_code == 2 and "pass an index history, --index" in r.output
    cfg = StudyConfig.from_toml(conf).with_data(index=str(real(SP500)))
    assert not cfg.markets and cfg.runs()[0]["config"].index == str(real(SP500))
    res = study(cfg)
    assert list(res.table.columns) == RUN_COLUMNS and len(res.table) == 2
    assert res.meta["units"]["test_rmse"] == "dollars"
    with pytest.raises(ValueError, match="index/vix apply to one data source"):
        StudyConfig.from_toml(_two_markets(tmp_path)).with_data(index=str(real(SP500)))


@pytest.mark.slow
def test_cli_study_index_option(tmp_path):
    r = _cli("study", "--config", _spx_toml(tmp_path), "--index", real(SP500), "--out", tmp_path)
    assert r.exit_code == 0, r.output
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert list(runs.columns) == RUN_COLUMNS and len(runs) == 2
    assert '"test_rmse": "dollars"' in (tmp_path / "study.json").read_text()


@pytest.mark.parametrize(
    "data, extra, message",
    [
        ('["synthetic", "spx"]', "", "market 'spx' has no data"),
        ('["synthetic", {label = "spx"}]', "", "market 'spx' has no data: give its path"),
        ('["synthetic", {label = "nifty", path = "nope/"}]', "", "path nope/: no such file"),
        ('["synthetic", "chain.csv"]', "", "needs a short label"),
        ('["synthetic", {label = "a b", path = "synthetic"}]', "", "must be short"),
        ('["synthetic", "synthetic"]', "", "label 'synthetic' is used twice"),
        ('["synthetic", {label = "x", path = "synthetic", idx = "y"}]', "", "unknown key 'idx'"),
        ('["synthetic"]', 'index = "sp.csv"', "index/vix apply to one data source"),
        ("[]", "", "data must not be empty"),
    ],
)
def test_bad_market_axis_exits_2(tmp_path, data, extra, message):
    conf = tmp_path / "bad.toml"
    conf.write_text(f"qubits = [2]\ndata = {data}\n{extra}\n")
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        StudyConfig.from_toml(conf)
    r = _cli("study", "--config", conf, "--out", tmp_path / "out")
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output
