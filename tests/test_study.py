"""The systematic study: qc arithmetic, config parsing, scheduling independence, resume, CLI."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from bpdiag.analyses.study import (
    HISTORY_COLUMNS,
    RUN_COLUMNS,
    StudyConfig,
    quantum_contribution,
    study,
)
from bpdiag.analyses.study import (
    LOSS as LOSS_COL,
)
from bpdiag.cli import main
from bpdiag.results.study import study_sinks, write_study


def _fake_runs(q, c, subset=100):
    rows = []
    for seed, (lq, lc) in enumerate(zip(q, c)):
        for model, loss in (("quantum", lq), ("identity", lc)):
            rows.append(
                dict(
                    run_id=f"{subset}-{seed}-{model}",
                    ansatz="original",
                    n_qubits=2,
                    n_layers=1,
                    subset=subset,
                    seed=seed,
                    model=model,
                    test_mse_scaled=loss,
                )
            )
    return pd.DataFrame(rows)


def test_qc_of_a_hand_made_runs_table_with_a_bootstrap_interval():
    # subset 100: q = 0.9, 1.2, 1.5 (mean 1.2), c = 0.3, 0.4, 0.5 (mean 0.4): qc = 1 - 3 = -2
    # subset 500: q = 0.2, 0.3, 0.4 (mean 0.3), c = 0.4, 0.5, 0.6 (mean 0.5): qc = 1 - 0.6 = 0.4
    # both subsets: q_avg = 0.75, c_avg = 0.45: qc = 1 - 5/3 = -2/3
    small = _fake_runs([0.9, 1.2, 1.5], [0.3, 0.4, 0.5])
    large = _fake_runs([0.2, 0.3, 0.4], [0.4, 0.5, 0.6], subset=500)
    runs = pd.concat([small, large], ignore_index=True)
    qc = quantum_contribution(runs, n_boot=4000).set_index("subset")
    assert list(qc.columns[:2]) == ["ansatz", "n_qubits"] and qc["n_layers"].iloc[0] == 1
    expected = {100: (1.2, 0.4, -2.0), 500: (0.3, 0.5, 0.4)}
    for subset, (q_avg, c_avg, value) in expected.items():
        row = qc.loc[subset]
        assert (row["q_avg"], row["c_avg"], row["qc"]) == pytest.approx((q_avg, c_avg, value))
        assert row["qc_lo"] < value < row["qc_hi"] and row["n_seeds"] == 3
    both = qc[qc["n_qubits"] == 2].loc["all"]  # the configuration over both subsets
    overall = qc[qc["ansatz"] == "all"].iloc[0]
    for row in (both, overall):
        assert (row["q_avg"], row["c_avg"], row["qc"]) == pytest.approx((0.75, 0.45, -2 / 3))
        assert row["qc_lo"] < -2 / 3 < row["qc_hi"]
    # Paired resampling: with q = 3c exactly every draw is 1 - 3 = -2, and with q = c every draw
    # is 0, so a paired interval has zero width (an unpaired one would not).
    c = [0.3, 0.4, 0.5]
    qc3 = quantum_contribution(_fake_runs([0.9, 1.2, 1.5], c), n_boot=500)
    assert np.allclose(qc3[["qc", "qc_lo", "qc_hi"]].to_numpy(), -2.0)
    qc1 = quantum_contribution(_fake_runs(c, c), n_boot=500)
    assert np.allclose(qc1[["qc", "qc_lo", "qc_hi"]].to_numpy(), 0.0, atol=1e-15)


def test_default_grid_is_the_original_study():
    cfg = StudyConfig.default()
    runs = cfg.runs()
    hybrids = [r for r in runs if r["model"] == "quantum"]
    assert len(hybrids) == 4 * 3 * 10 and len(runs) == 240  # 10 seeds by default
    assert {r["seed"] for r in runs} == set(range(10))
    assert {(r["n_qubits"], r["n_layers"]) for r in hybrids} == {(2, 1), (2, 2), (4, 1), (4, 2)}
    assert {r["config"].epochs for r in runs} == {20}
    assert len({r["run_id"] for r in runs}) == len(runs)


def test_toml_config_and_its_errors(tmp_path):
    good = tmp_path / "s.toml"
    good.write_text(
        "qubits = [3]\nlayers = [2]\nsubsets = [50]\nseeds = [0]\nepochs = 1\n"
        'twins = ["identity", "matched"]\n[train]\nbatch_size = 16\n'
    )
    cfg = StudyConfig.from_toml(good)
    assert cfg.qubits == (3,) and cfg.train == {"batch_size": 16} and len(cfg.runs()) == 3
    bad = tmp_path / "b.toml"
    bad.write_text("qbits = [3]\n")
    with pytest.raises(ValueError, match="unknown key 'qbits'"):
        StudyConfig.from_toml(bad)
    bad.write_text("qubits = [0]\n")
    with pytest.raises(ValueError, match="qubits must be >= 1"):
        StudyConfig.from_toml(bad)


SMALL = dict(
    qubits=(2,),
    layers=(1,),
    subsets=(60,),
    seeds=(0, 1),
    epochs=2,
    bootstrap=200,
    train={"batch_size": 12},
)


def _results(path):
    return pd.read_csv(path / "runs.csv")


def _study(cfg, out, *, resume=False, **kw):
    """What `bpdiag study` does: sinks on disk, the study, its files."""
    runs, history = study_sinks(out, RUN_COLUMNS, HISTORY_COLUMNS, resume=resume)
    res = study(cfg, sink=runs, history_sink=history, **kw)
    write_study(res, out)
    return res


def test_results_do_not_depend_on_scheduling_and_resume_completes_a_killed_run(tmp_path):
    cfg = StudyConfig(**SMALL)
    res = _study(cfg, tmp_path / "serial")
    serial, qc = res.table, res.tables["qc"]
    assert len(serial) == 4 and set(serial["model"]) == {"quantum", "identity"}
    assert np.isfinite(qc["qc"]).all()
    # The original circuit's quantum parameters never move the readout: zero gradient variance.
    assert (serial[serial["model"] == "quantum"]["qgrad_var_mean"].abs() < 1e-12).all()
    _study(cfg, tmp_path / "procs", jobs=2)
    pd.testing.assert_frame_equal(_results(tmp_path / "serial"), _results(tmp_path / "procs"))
    # A run killed after one finished run and half a line: resume ends with the same table.
    killed = tmp_path / "killed"
    killed.mkdir()
    text = (tmp_path / "serial/runs.csv").read_text().splitlines(keepends=True)
    (killed / "runs.csv").write_text(text[0] + text[1] + text[2][:20])
    seen = []
    _study(cfg, killed, resume=True, on_run=seen.append)
    assert len(seen) == 3  # the finished run was not repeated
    pd.testing.assert_frame_equal(_results(tmp_path / "serial"), _results(killed))
    # In memory (no sinks): the same table, and the history of every run
    mem = study(cfg)
    pd.testing.assert_frame_equal(serial, mem.table, check_dtype=False)
    assert len(mem.tables["history"]) == 4 * cfg.epochs
    assert mem.meta["runs"] == 4 and mem.meta["config"]["seeds"] == (0, 1)


def test_dask_local_cluster_gives_the_same_results(tmp_path):
    pytest.importorskip("dask.distributed")
    cfg = StudyConfig(**{**SMALL, "seeds": (0,)})
    _study(cfg, tmp_path / "a")
    _study(cfg, tmp_path / "b", executor="dask", jobs=1)
    pd.testing.assert_frame_equal(_results(tmp_path / "a"), _results(tmp_path / "b"))


def test_cli_writes_tables_and_figures(tmp_path):
    conf = tmp_path / "s.toml"
    conf.write_text(
        "qubits = [2]\nlayers = [1]\nsubsets = [60]\nseeds = [0, 1]\nepochs = 1\nbootstrap = 200\n"
    )
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["study", "--config", str(conf), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "qc = 1 - q_avg / c_avg" in r.output
    for name in (
        "runs.csv",
        "history.csv",
        "qc.csv",
        "qc.json",
        "qc.png",
        "study_loss.png",
        "study_qgrad.pdf",
    ):
        assert (out / name).stat().st_size > 0, name
    qc = pd.read_csv(out / "qc.csv")
    runs = pd.read_csv(out / "runs.csv")
    q = runs[runs.model == "quantum"].test_mse_scaled.mean()
    c = runs[runs.model == "identity"].test_mse_scaled.mean()
    overall = qc[qc.ansatz == "all"].iloc[0]
    assert (overall.q_avg, overall.c_avg) == pytest.approx((q, c), rel=1e-9)
    assert {"n_qubits", "n_layers"} <= set(runs) and {"qubits", "layers"}.isdisjoint(runs)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--config", "nope.toml"], "does not exist"),
        (["--jobs", "0"], "--jobs"),
        (["--executor", "ray"], "--executor"),
    ],
)
def test_cli_errors_exit_2(args, message, tmp_path):
    r = CliRunner().invoke(main, ["study", "--out", str(tmp_path)] + args)
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output


def test_circuit_families_axis_with_twins_for_each(tmp_path):
    import pickle

    cfg = StudyConfig(
        **{**SMALL, "seeds": (0,), "twins": ("identity", "matched")},
        ansatz=("original", "dense", "original+reupload"),
        circuit=("pennylane:BasicEntanglerLayers",),
    )
    assert cfg.families() == (
        "original", "dense", "original+reupload", "pennylane:BasicEntanglerLayers"
    )  # fmt: skip
    runs = cfg.runs()
    assert len(runs) == 4 * 3
    by = {(r["ansatz"], r["model"]): r["config"] for r in runs}
    assert (
        by["original+reupload", "quantum"].reupload
        and by["original+reupload", "quantum"].ansatz == "original"
    )
    assert (
        by["pennylane:BasicEntanglerLayers", "matched"].circuit == "pennylane:BasicEntanglerLayers"
    )
    assert pickle.loads(pickle.dumps(cfg)).runs()[-1]["config"] == runs[-1]["config"]
    res = study(cfg)
    t = res.table.set_index(["ansatz", "model"])
    # every family has its own matched twin with the quantum layer's parameter count
    for fam in cfg.families():
        assert t.loc[(fam, "matched"), "n_params"] == t.loc[(fam, "quantum"), "n_params"]
    # identity twins are trained once: the same numbers as training each family's twin itself
    from bpdiag.analyses.study import run_one

    own = run_one(next(r for r in runs if r["ansatz"] == "dense" and r["model"] == "identity"))
    assert own["test_mse_scaled"] == t.loc[("dense", "identity"), "test_mse_scaled"]
    assert set(res.tables["qc"]["ansatz"]) == {*cfg.families(), "all"}
    # the families' hybrids differ (the dense layer moves the readout, the original cannot)
    assert t.loc[("dense", "quantum"), "qgrad_var_mean"] > 1e-8
    assert abs(t.loc[("original", "quantum"), "qgrad_var_mean"]) < 1e-12


def test_unknown_family_is_one_line_exit_2(tmp_path):
    with pytest.raises(ValueError, match="unknown circuit family 'densse'"):
        StudyConfig(ansatz=("densse",))
    with pytest.raises(ValueError, match="unknown circuit family 'dense\\+x'"):
        StudyConfig(ansatz=("dense+x",))
    conf = tmp_path / "s.toml"
    conf.write_text('ansatz = ["original", "sprase"]\nseeds = [0]\n')
    r = CliRunner().invoke(main, ["study", "--config", str(conf), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "unknown circuit family 'sprase'" in r.output
    assert r.output.strip().splitlines()[-1].startswith("Error: unknown circuit family")
    r = CliRunner().invoke(main, ["study", "--circuit", "nope.qasm", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "nope.qasm" in r.output and "Traceback" not in r.output


def test_paired_statistics_against_scipy_and_by_hand():
    import itertools
    import math

    from scipy import stats

    from bpdiag.analyses.study import paired_comparison, paired_stats

    a = np.array([0.50, 0.61, 0.47, 0.72, 0.55, 0.66, 0.58])
    b = np.array([0.40, 0.52, 0.49, 0.60, 0.41, 0.50, 0.45])
    d = a - b
    s = paired_stats(a, b, n_boot=4000)
    assert s["diff"] == pytest.approx(d.mean(), rel=1e-12) and s["n_pairs"] == 7
    # paired t by hand: t = mean / (sd / sqrt(n)), two-sided, n - 1 degrees of freedom
    t = d.mean() / (d.std(ddof=1) / math.sqrt(7))
    assert s["ttest_p"] == pytest.approx(2 * stats.t.sf(abs(t), 6), rel=1e-10)
    # exact Wilcoxon by brute force over the 2^7 sign patterns of the ranks (no ties)
    ranks = stats.rankdata(np.abs(d))
    w = ranks[d > 0].sum()
    sums = [
        sum(r for r, sg in zip(ranks, signs) if sg) for signs in itertools.product([0, 1], repeat=7)
    ]
    mu = ranks.sum() / 2
    p = np.mean([abs(x - mu) >= abs(w - mu) - 1e-12 for x in sums])
    assert s["wilcoxon_p"] == pytest.approx(p, rel=1e-12)
    assert s["diff_lo"] < d.mean() < s["diff_hi"] and s["diff_lo"] > 0  # a worse throughout
    # a constant difference: a zero-width interval; no spread: no t-test; all equal: no Wilcoxon
    c = paired_stats(b + 0.1, b, n_boot=200)
    assert c["diff_lo"] == pytest.approx(0.1) and c["diff_hi"] == pytest.approx(0.1)
    assert math.isnan(c["ttest_p"]) and math.isnan(paired_stats(b, b)["wilcoxon_p"])
    # planted runs: family "dense" beats "original" by 0.1 in every pair; twins paired too
    rows = []
    for seed in range(5):
        for fam, model, loss in (
            ("original", "quantum", 1.0 + seed / 10),
            ("dense", "quantum", 0.9 + seed / 10),
            ("original", "identity", 0.8 + seed / 10),
            ("dense", "identity", 0.8 + seed / 10),
        ):
            rows.append(dict(run_id=f"{fam}-{seed}-{model}", ansatz=fam, n_qubits=2, n_layers=1,
                             subset=100, seed=seed, model=model, test_mse_scaled=loss))  # fmt: skip
    table = paired_comparison(pd.DataFrame(rows), n_boot=300)
    row = table[(table.a == "original") & (table.b == "dense") & (table.subset == 100)].iloc[0]
    assert row["diff"] == pytest.approx(0.1) and row["n_pairs"] == 5
    assert row["diff_lo"] == pytest.approx(0.1) and row["diff_hi"] == pytest.approx(0.1)
    assert row["wilcoxon_p"] == pytest.approx(stats.wilcoxon([0.1] * 5).pvalue)
    twin = table[(table.a == "dense") & (table.b == "dense/identity")].iloc[0]
    assert twin["diff"] == pytest.approx(0.1) and twin["loss_b"] == pytest.approx(1.0)
    assert set(table["subset"].astype(str)) == {"100", "all"}


def test_study_writes_paired_qgrad_and_diagnosis(tmp_path):
    from bpdiag.analyses.variance import variance
    from bpdiag.model import hybrid_circuit

    cfg = StudyConfig(**{**SMALL, "seeds": (0, 1, 2)}, ansatz=("original", "dense"),
                      diagnosis_samples=50)  # fmt: skip
    res = _study(cfg, tmp_path)
    paired = pd.read_csv(tmp_path / "paired.csv")
    runs = res.table.set_index(["ansatz", "model", "seed"])[LOSS_COL]
    row = paired[(paired.a == "original") & (paired.b == "dense") & (paired.subset == "60")]
    diffs = [runs["original", "quantum", s] - runs["dense", "quantum", s] for s in range(3)]
    assert row["diff"].iloc[0] == pytest.approx(np.mean(diffs), rel=1e-6)
    qgrad = pd.read_csv(tmp_path / "qgrad.csv")
    hist = res.tables["history"]
    dense = hist[hist.run_id.str.startswith("dense-") & hist.run_id.str.endswith("quantum")]
    first = qgrad[(qgrad.ansatz == "dense") & (qgrad.epoch == 1)].iloc[0]
    assert first["qgrad_var"] == pytest.approx(dense[dense.epoch == 1].qgrad_var.mean(), rel=1e-6)
    assert first["n_runs"] == 3
    diag = pd.read_csv(tmp_path / "diagnosis.csv").set_index(["ansatz", "cost"])
    ref = variance(circuit=hybrid_circuit("dense", 2, 1), qubits=(2,), layers=(1,),
                   cost=("local",), param="all", samples=50, engine="fast")  # fmt: skip
    assert diag.loc[("dense", "local"), "var"] == pytest.approx(ref.table["var"].iloc[0], rel=1e-6)
    assert diag.loc[("original", "local"), "var"] == pytest.approx(0, abs=1e-20)


def test_bad_market_data_is_one_line_exit_2(tmp_path):
    from tests._real import real

    spx = real("lienc410_option_spx/spx_option_snapshot_2026-05-04.csv.gz")
    nifty = real("rushimmehta_volatality_modelling/nifty50_daily.csv")  # ends 2025-12-30
    for entry, message in (
        (f'{{label = "spx", path = "{spx}", index = "{nifty}"}}', "data 'spx': "),
        (f'{{label = "spx", path = "{spx}", index = "{nifty}"}}', "not 2026-05-04"),
        ('"spx"', "market 'spx' has no data"),
    ):
        conf = tmp_path / "s.toml"
        conf.write_text(f'qubits = [2]\nlayers = [1]\nseeds = [0]\ndata = ["synthetic", {entry}]\n')
        r = CliRunner().invoke(main, ["study", "--config", str(conf), "--out", str(tmp_path / "o")])
        assert r.exit_code == 2, r.output
        assert message in r.output and "Traceback" not in r.output
        assert len([x for x in r.output.splitlines() if x.startswith("Error:")]) == 1
