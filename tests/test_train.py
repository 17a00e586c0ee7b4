"""The trainer: determinism, resume, twins, metrics, leakage, baselines and the CLI."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from sklearn.metrics import (
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    r2_score,
)

from bpdiag.cli import main
from bpdiag.data import bs_price
from bpdiag.model import build_model, hybrid_circuit
from bpdiag.results.train import TrainWriter, write_train
from bpdiag.train import TrainConfig, fit, load_data, metrics

SMALL = TrainConfig(subset=150, epochs=3, batch_size=32, hidden=8, baselines=False, plots=False)


@pytest.fixture(scope="module")
def small_data():
    return load_data(SMALL)


def test_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    t = rng.uniform(1, 500, 200)
    p = t + rng.normal(0, 20, 200)
    m = metrics(t, p, target_scale=7.0)
    assert m["rmse"] == pytest.approx(math.sqrt(mean_squared_error(t, p)), rel=1e-12)
    assert m["mae"] == pytest.approx(mean_absolute_error(t, p), rel=1e-12)
    assert m["mape"] == pytest.approx(100 * mean_absolute_percentage_error(t, p), rel=1e-12)
    assert m["r2"] == pytest.approx(r2_score(t, p), rel=1e-12)
    assert m["mse_scaled"] == pytest.approx(mean_squared_error(t / 7.0, p / 7.0), rel=1e-12)


def test_same_seed_same_metrics_other_seed_differs(small_data):
    a = fit(SMALL, data=small_data)
    b = fit(SMALL, data=small_data)
    pd.testing.assert_frame_equal(a.history, b.history)
    pd.testing.assert_frame_equal(a.predictions, b.predictions)
    keys = [k for k in a.summary if k != "wall_s"]
    pd.testing.assert_series_equal(
        pd.Series({k: a.summary[k] for k in keys}), pd.Series({k: b.summary[k] for k in keys})
    )
    c = fit(dataclasses.replace(SMALL, seed=1), data=small_data)
    assert c.summary["final_train_loss"] != a.summary["final_train_loss"]


def test_resume_gives_the_same_final_metrics(tmp_path, small_data):
    cfg = dataclasses.replace(SMALL, epochs=4)
    full = fit(cfg, data=small_data, checkpoint=TrainWriter(tmp_path / "full"))
    write_train(full, tmp_path / "full")
    part = tmp_path / "part"
    fit(dataclasses.replace(cfg, epochs=2), data=small_data, checkpoint=TrainWriter(part))
    # "killed" after 2 epochs, while epoch 3 was being logged, before its checkpoint was written
    with open(part / "history.csv", "a") as fh:
        fh.write((part / "history.csv").read_text().splitlines()[-1].replace("2,", "3,", 1) + "\n")
    with open(part / "log.jsonl", "a") as fh:
        fh.write('{"epoch": 3, "train_loss": 0.0}\n')
    resumed = fit(cfg, data=small_data, checkpoint=TrainWriter(part, resume=True))
    write_train(resumed, part)
    pd.testing.assert_frame_equal(full.history, resumed.history)
    assert resumed.summary["test_rmse"] == full.summary["test_rmse"]
    for name in ("history.csv", "summary.csv", "predictions.csv", "metrics.csv"):
        assert (tmp_path / "full" / name).read_bytes() == (part / name).read_bytes(), name
    assert len((part / "log.jsonl").read_text().splitlines()) == 4
    with pytest.raises(ValueError, match="checkpoint"):
        bad = dataclasses.replace(cfg, lr=0.5)
        fit(bad, data=small_data, checkpoint=TrainWriter(part, resume=True))
    # the config's out/resume still build the same writer (the library's short form)
    again = fit(dataclasses.replace(cfg, out=str(part), resume=True), data=small_data)
    pd.testing.assert_frame_equal(full.history, again.history)


def test_result_reads_like_an_analysis_result(small_data):
    res = fit(SMALL, data=small_data)
    assert list(res.table.columns) == [k for k in res.summary if k != "wall_s"]
    assert res.table.loc[0, "n_qubits"] == SMALL.qubits
    assert res.table.loc[0, "n_layers"] == SMALL.layers
    assert "qubits" not in res.table and "layers" not in res.table
    assert res.meta["summary"]["wall_s"] > 0 and res.meta["units"]["rmse"] == "rupees"
    assert res.tables["history"] is res.history and len(res.history) == SMALL.epochs


@pytest.mark.parametrize(
    "ansatz, n, layers",
    [("original", 2, 1), ("original", 4, 3), ("dense", 3, 2), ("mcclean", 4, 2)],
)
def test_twins_have_matching_parameter_counts(ansatz, n, layers):
    F, h = 23, 16
    expected_quantum = {"original": n * layers, "dense": 2 * n * layers, "mcclean": n * layers}[
        ansatz
    ]
    classical = (F * h + h) + (h * n + n) + (n * h + h) + (h + 1)
    counts = {}
    for twin in (None, "identity", "matched"):
        m = build_model(F, qubits=n, layers=layers, ansatz=ansatz, twin=twin, hidden=h)
        counts[twin] = (
            sum(p.numel() for p in m.parameters()),
            sum(p.numel() for p in m.middle_parameters()),
        )
    assert counts[None] == (classical + expected_quantum, expected_quantum)
    assert counts["matched"] == counts[None]
    assert counts["identity"] == (classical, 0)


def test_matched_twin_starts_as_identity():
    torch.manual_seed(0)
    a = build_model(5, qubits=3, layers=2, twin="matched", hidden=4)
    torch.manual_seed(0)
    b = build_model(5, qubits=3, layers=2, twin="identity", hidden=4)
    x = torch.randn(6, 5)
    torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)


def test_reupload_inserts_the_encoding_before_every_layer():
    n, L = 3, 4
    c = hybrid_circuit("dense", n, L, reupload=True)
    data_gates = [g for g, s in enumerate(c.sources) if s and s[0].kind == "data"]
    assert len(data_gates) == n * L
    for layer in range(L):  # the n encoding gates come right before the layer's first RY(param)
        first = next(
            g
            for g, s in enumerate(c.sources)
            if s and s[0].kind == "param" and s[0].index == 2 * n * layer
        )
        assert data_gates[layer * n : (layer + 1) * n] == list(range(first - n, first))


def test_short_run_reduces_the_loss(small_data):
    res = fit(dataclasses.replace(SMALL, epochs=6, twin="identity"), data=small_data)
    h = res.history
    assert h["val_loss"].min() < 0.5 * h["val_loss"].iloc[0]
    assert h["train_loss"].iloc[-1] < h["train_loss"].iloc[0]
    assert res.summary["test_mse_scaled"] < 1.0  # better than predicting the training mean


def test_original_hybrid_logs_vanishing_quantum_gradients(small_data):
    res = fit(SMALL, data=small_data)
    assert res.summary["n_params_quantum"] == 8
    assert (res.history["qgrad_mean_abs"] < 1e-6).all()  # exactly zero analytically
    dense = fit(dataclasses.replace(SMALL, ansatz="dense"), data=small_data)
    assert (dense.history["qgrad_mean_abs"] > 1e-4).all()


def test_no_test_leakage(small_data):
    # Scalers are fitted on the training rows only, and nothing the model sees depends on the
    # test targets: scrambling them changes the metrics but not the training or the predictions.
    raw_train = small_data.x_scaler.inverse_transform(small_data.X_train)
    np.testing.assert_allclose(small_data.x_scaler.mean_, raw_train.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(small_data.X_train.mean(axis=0), 0, atol=1e-10)
    rows = small_data.test_rows.copy()
    rows["target"] = rows["target"].to_numpy()[::-1] * 3 + 1
    scrambled = dataclasses.replace(
        small_data, test_rows=rows, y_test=small_data.y_test[::-1] * 3 + 1
    )
    a = fit(SMALL, data=small_data)
    b = fit(SMALL, data=scrambled)
    pd.testing.assert_frame_equal(a.history, b.history)
    np.testing.assert_array_equal(a.predictions["price_pred"], b.predictions["price_pred"])
    assert a.summary["test_rmse"] != b.summary["test_rmse"]


def test_predictions_are_rupees_and_baselines_are_independent(tmp_path, small_data):
    cfg = dataclasses.replace(SMALL, baselines=True, epochs=1)
    res = fit(cfg, data=small_data, checkpoint=TrainWriter(tmp_path))
    write_train(res, tmp_path, plots=True)
    pred = pd.read_csv(tmp_path / "predictions.csv")
    np.testing.assert_allclose(pred["price_true"], small_data.test_rows["target"], rtol=1e-10)
    # Black–Scholes at sigma = hv_21 recomputed from the raw features
    names = list(small_data.feature_names)
    raw = small_data.x_scaler.inverse_transform(small_data.X_test)
    col = {
        k: raw[:, names.index(k)]
        for k in ("spot", "strike", "tau_years", "rate", "hv_21", "is_call")
    }
    bs = bs_price(
        col["spot"],
        col["strike"],
        col["tau_years"],
        col["rate"],
        col["hv_21"],
        col["is_call"] > 0.5,
    )
    np.testing.assert_allclose(pred["price_bs_hv"], bs, rtol=1e-6, atol=1e-6)
    # summary metrics recomputed from the CSV with scikit-learn
    s = res.summary
    assert s["test_rmse"] == pytest.approx(
        math.sqrt(mean_squared_error(pred["price_true"], pred["price_pred"])), rel=1e-9
    )
    assert s["bs_mae"] == pytest.approx(
        mean_absolute_error(pred["price_true"], pred["price_bs_hv"]), rel=1e-9
    )
    assert s["gbt_r2"] == pytest.approx(r2_score(pred["price_true"], pred["price_gbt"]), rel=1e-9)
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert len(summary) == 1 and "wall_s" not in summary.columns
    hist = pd.read_csv(tmp_path / "history.csv")
    assert {"lr", "lr_quantum", "grad_norm", "grad_norm_middle", "qgrad_var"} <= set(hist)
    assert (tmp_path / "history.png").stat().st_size > 1000


def test_pennylane_engine_trains_like_the_torch_engine(small_data):
    cfg = dataclasses.replace(SMALL, epochs=2, dtype="float64", ansatz="dense", qubits=3, layers=1)
    a = fit(cfg, data=small_data)
    b = fit(dataclasses.replace(cfg, engine="pennylane"), data=small_data)
    cols = ["train_loss", "val_loss", "grad_norm", "qgrad_mean_abs"]
    np.testing.assert_allclose(a.history[cols], b.history[cols], rtol=1e-8, atol=1e-10)


def test_cli_train_runs_and_reports(tmp_path):
    r = CliRunner().invoke(
        main,
        [
            "train",
            "--subset",
            "100",
            "--epochs",
            "2",
            "--qubits",
            "2",
            "--layers",
            "1",
            "--no-baselines",
            "--out",
            str(tmp_path),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "Test metrics" in r.output and "quantum" in r.output
    assert (tmp_path / "summary.csv").exists() and (tmp_path / "checkpoint_best.pt").exists()
    again = CliRunner().invoke(
        main,
        [
            "train",
            "--subset",
            "100",
            "--epochs",
            "2",
            "--qubits",
            "3",
            "--layers",
            "1",
            "--out",
            str(tmp_path),
            "--resume",
        ],
    )
    assert again.exit_code == 2 and "qubits" in again.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--qubits", "0"], "--qubits"),
        (["--ansatz", "nope"], "--ansatz"),
        (["--twin", "quantum"], "--twin"),
        (["--data", "/does/not/exist.csv"], "exist"),
        (["--engine", "pennylane", "--device", "no.such.device"], "no.such.device"),
        (["--qubits", "40"], "needs about"),
    ],
)
def test_cli_bad_input_exits_2(tmp_path, args, message):
    r = CliRunner().invoke(main, ["train", "--out", str(tmp_path), *args])
    assert r.exit_code == 2
    assert message in r.output and "Traceback" not in r.output


def test_early_stopping_and_plateau_schedule(small_data):
    stop = fit(dataclasses.replace(SMALL, epochs=40, patience=1), data=small_data)
    h, s = stop.history, stop.summary
    assert s["stopped_early"] and s["epochs_run"] < 40
    assert s["epochs_run"] == s["best_epoch"] + 1  # patience 1: the first worse epoch stops it
    assert h["best"].iloc[:-1].all() and not h["best"].iloc[-1]
    cfg = dataclasses.replace(
        SMALL, epochs=25, patience=0, plateau_patience=0, lr=0.05, lr_quantum=0.02
    )
    h = fit(cfg, data=small_data).history
    assert len(h) == 25  # patience 0: no early stopping
    # ReduceLROnPlateau(patience=0, factor=0.5, rel. threshold 1e-4), re-derived from val_loss
    best, lr, lrq, halvings = math.inf, 0.05, 0.02, 0
    for _, row in h.iterrows():
        assert row["lr"] == pytest.approx(lr) and row["lr_quantum"] == pytest.approx(lrq)
        if row["val_loss"] < best * (1 - 1e-4):
            best = row["val_loss"]
        else:
            lr, lrq, halvings = max(lr * 0.5, 1e-5), max(lrq * 0.5, 1e-5), halvings + 1
    assert halvings >= 1


def test_mixed_precision_is_off_on_cpu():
    from bpdiag.train import init_state

    state = init_state(dataclasses.replace(SMALL, amp=True), 23)
    assert not state.scaler.is_enabled()
    assert {g["name"]: g["weight_decay"] for g in state.optimizer.param_groups} == {
        "classical": SMALL.weight_decay,
        "quantum": SMALL.weight_decay_quantum,
    }


# ------------------------------------------------------------------------------ devices

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")


def test_device_names_the_torch_device_with_the_torch_engine():
    from bpdiag.train import init_state

    cuda = TrainConfig(engine="torch", device="cuda")
    assert (cuda.device, cuda.torch_device) == ("default.qubit", "cuda")
    assert cuda == TrainConfig(torch_device="cuda")  # the alias: one config, one checkpoint
    # the default run is the one older checkpoints were written with
    legacy = {"device": "default.qubit", "torch_device": "cpu"}
    for cfg in (TrainConfig(), TrainConfig(device="cpu"), TrainConfig(torch_device="cpu")):
        assert {k: cfg.to_dict()[k] for k in legacy} == legacy
    assert TrainConfig(engine="pennylane", device="lightning.gpu").torch_device == "auto"
    assert TrainConfig(engine="pennylane", device="lightning.qubit").torch_device == "cpu"
    assert dataclasses.replace(cuda, engine="pennylane").torch_device == "cuda"
    with pytest.raises(ValueError, match="disagree"):
        TrainConfig(device="cuda", torch_device="cpu")
    with pytest.raises(ValueError, match="names a PennyLane device"):
        TrainConfig(engine="pennylane", device="cuda")
    with pytest.raises(ValueError, match="torch_device must be"):
        TrainConfig(torch_device="tpu")
    state = init_state(dataclasses.replace(SMALL, device="cpu"), 23)
    assert next(state.model.parameters()).device.type == "cpu"


def test_resolve_torch_device(monkeypatch):
    from bpdiag.train import resolve_torch_device

    assert resolve_torch_device("cpu") == "cpu" and resolve_torch_device("auto") == "auto"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"'cuda' is not available here .*--fallback"):
        resolve_torch_device("cuda")
    with pytest.warns(UserWarning, match="falling back to cpu"):
        assert resolve_torch_device("cuda", fallback=True) == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_torch_device("cuda") == "cuda" and resolve_torch_device("cuda:0") == "cuda:0"
    with pytest.raises(ValueError, match=r"'cuda:1' is not available here \(1 CUDA"):
        resolve_torch_device("cuda:1")


def test_resume_with_device_cpu_accepts_a_default_checkpoint(tmp_path, small_data):
    cfg = dataclasses.replace(SMALL, epochs=2, out=str(tmp_path))
    full = fit(cfg, data=small_data)
    fit(dataclasses.replace(cfg, epochs=1, out=str(tmp_path / "part")), data=small_data)
    again = fit(
        dataclasses.replace(cfg, out=str(tmp_path / "part"), device="cpu", resume=True),
        data=small_data,
    )
    pd.testing.assert_frame_equal(full.history, again.history)


@NO_CUDA
@pytest.mark.parametrize("option", ["--device", "--torch-device"])
def test_cli_cuda_without_gpu_exits_2_or_falls_back_to_cpu(tmp_path, option):
    args = ["train", "--subset", "40", "--epochs", "1", "--qubits", "2", "--layers", "1"]
    args += ["--no-baselines"]
    r = CliRunner().invoke(main, [*args, option, "cuda", "--out", str(tmp_path / "a")])
    assert r.exit_code == 2, r.output
    errors = [line for line in r.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "'cuda' is not available here" in errors[0]
    assert "--fallback" in errors[0] and "Traceback" not in r.output
    r = CliRunner().invoke(
        main, [*args, option, "cuda", "--fallback", "--out", str(tmp_path / "f")]
    )
    assert r.exit_code == 0, r.output
    assert "falling back to cpu" in r.output
    r = CliRunner().invoke(main, [*args, "--device", "cpu", "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    for name in ("summary.csv", "history.csv", "predictions.csv"):
        assert (tmp_path / "f" / name).read_bytes() == (tmp_path / "c" / name).read_bytes()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--device", "lightning.qubit"], "PennyLane devices need --engine pennylane"),
        (["--device", "cpu", "--torch-device", "auto"], "disagree"),
        (["--engine", "pennylane", "--device", "cuda"], "names a PennyLane device"),
        (["--engine", "pennylane", "--device", "cuda", "--fallback"], "names a PennyLane device"),
    ],
)
def test_cli_device_mixups_exit_2(tmp_path, args, message):
    r = CliRunner().invoke(main, ["train", "--out", str(tmp_path), *args])
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output
    assert not (tmp_path / "summary.csv").exists()


@pytest.mark.parametrize("device", ["lightning.qubit", "default.mixed"])
def test_pennylane_devices_train_like_the_torch_engine(small_data, device):
    """The same run on other PennyLane devices. PennyLane's torch interface hands lightning's
    results back in float32, and default.mixed's backprop path loses a few digits too (about
    1e-8 and 1e-7 relative per step), hence the looser tolerance than on default.qubit."""
    cfg = dataclasses.replace(SMALL, epochs=2, dtype="float64", ansatz="dense", qubits=3, layers=1)
    a = fit(cfg, data=small_data)
    b = fit(dataclasses.replace(cfg, engine="pennylane", device=device), data=small_data)
    assert b.summary["device"] == device and b.summary["torch_device"] == "cpu"
    cols = ["train_loss", "val_loss", "grad_norm", "qgrad_mean_abs"]
    np.testing.assert_allclose(a.history[cols], b.history[cols], rtol=1e-5)


def test_qgrad_var_is_pooled_over_steps_and_parameters():
    from bpdiag.train.loop import qgrad_stats

    rng = np.random.default_rng(3)
    steps = [torch.tensor(rng.normal(size=5)) for _ in range(3)]
    var, mean_abs = qgrad_stats(steps)
    flat = np.concatenate([s.numpy() for s in steps])
    assert var == pytest.approx(np.var(flat, ddof=1), rel=1e-12)
    assert mean_abs == pytest.approx(np.mean(np.abs(flat)), rel=1e-12)
    one, _ = qgrad_stats(steps[:1])  # one optimiser step: the spread over parameters
    assert one == pytest.approx(np.var(steps[0].numpy(), ddof=1), rel=1e-12)
    assert all(math.isnan(v) for v in qgrad_stats([]))


def test_qgrad_var_is_finite_with_one_step_per_epoch():
    # 100 rows -> 60 training rows, one mini-batch of 64: one optimiser step per epoch
    cfg = dataclasses.replace(SMALL, subset=100, batch_size=64, epochs=2, ansatz="dense")
    res = fit(cfg)
    assert res.history["qgrad_var"].notna().all() and (res.history["qgrad_var"] > 0).all()
    assert math.isfinite(res.summary["qgrad_var_mean"])
