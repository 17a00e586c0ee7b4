"""The systematic study: qc arithmetic, config parsing, scheduling independence, resume, CLI."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from bpdiag.analyses.study import StudyConfig, quantum_contribution, study
from bpdiag.cli import main


def _fake_runs(q, c):
    rows = []
    for seed, (lq, lc) in enumerate(zip(q, c)):
        for model, loss in (("quantum", lq), ("identity", lc)):
            rows.append(
                dict(
                    run_id=f"{seed}-{model}",
                    ansatz="original",
                    qubits=2,
                    layers=1,
                    subset=100,
                    seed=seed,
                    model=model,
                    test_mse_scaled=loss,
                )
            )
    return pd.DataFrame(rows)


def test_qc_is_one_minus_the_ratio_of_mean_losses_with_a_bootstrap_interval():
    q, c = [0.9, 1.2, 1.5], [0.3, 0.4, 0.5]
    qc = quantum_contribution(_fake_runs(q, c), n_boot=4000)
    overall = qc[qc["ansatz"] == "all"].iloc[0]
    assert overall["qc"] == pytest.approx(1 - np.mean(q) / np.mean(c))  # = -2.0
    assert overall["qc_lo"] <= overall["qc"] <= overall["qc_hi"]
    # Paired resampling: each bootstrap draw is 1 - mean(q[i])/mean(c[i]); with q = 3c exactly
    # every draw gives -2, so a paired interval has zero width (an unpaired one would not).
    qc3 = quantum_contribution(_fake_runs([3 * v for v in c], c), n_boot=500)
    assert np.allclose(qc3[["qc", "qc_lo", "qc_hi"]].to_numpy(), -2.0)


def test_default_grid_is_the_original_study():
    cfg = StudyConfig.default()
    runs = cfg.runs()
    hybrids = [r for r in runs if r["model"] == "quantum"]
    assert len(hybrids) == 36 and len(runs) == 72
    assert {(r["qubits"], r["layers"]) for r in hybrids} == {(2, 1), (2, 2), (4, 1), (4, 2)}
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
    return pd.read_csv(path / "runs.csv").drop(columns="wall_s")


def test_results_do_not_depend_on_scheduling_and_resume_completes_a_killed_run(tmp_path):
    cfg = StudyConfig(**SMALL)
    serial, qc = study(cfg, out=tmp_path / "serial")
    assert len(serial) == 4 and set(serial["model"]) == {"quantum", "identity"}
    assert np.isfinite(qc["qc"]).all()
    # The original circuit's quantum parameters never move the readout: zero gradient variance.
    assert (serial[serial["model"] == "quantum"]["qgrad_var_mean"].abs() < 1e-12).all()
    study(cfg, out=tmp_path / "procs", jobs=2)
    pd.testing.assert_frame_equal(_results(tmp_path / "serial"), _results(tmp_path / "procs"))
    # A run killed after one finished run and half a line: resume ends with the same table.
    killed = tmp_path / "killed"
    killed.mkdir()
    text = (tmp_path / "serial/runs.csv").read_text().splitlines(keepends=True)
    (killed / "runs.csv").write_text(text[0] + text[1] + text[2][:20])
    seen = []
    study(cfg, out=killed, resume=True, on_run=seen.append)
    assert len(seen) == 3  # the finished run was not repeated
    pd.testing.assert_frame_equal(_results(tmp_path / "serial"), _results(killed))


def test_dask_local_cluster_gives_the_same_results(tmp_path):
    pytest.importorskip("dask.distributed")
    cfg = StudyConfig(**{**SMALL, "seeds": (0,)})
    a, _ = study(cfg, out=tmp_path / "a")
    b, _ = study(cfg, out=tmp_path / "b", executor="dask", jobs=1)
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
    assert overall.qc == pytest.approx(1 - q / c, rel=1e-9)


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
