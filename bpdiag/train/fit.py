"""Train one model and evaluate it against the baselines: :func:`fit`."""

from __future__ import annotations

import contextlib
import sys
import time
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from bpdiag.train.checkpoint import CheckpointSink, from_blob, to_blob
from bpdiag.train.config import DTYPES, TrainConfig
from bpdiag.train.loop import TrainState, _check_memory, _device, _evaluate, init_state, run_epoch


class TrainResult(NamedTuple):
    """What :func:`fit` returns.

    ``summary``: the one-row run summary (dict; columns in :func:`fit`); ``history``: one row per
    epoch (columns in :func:`bpdiag.train.run_epoch`); ``predictions``: test rows with prices in
    rupees; ``metrics``: test metrics of the model and the baselines, one row per model;
    ``state``: the final :class:`TrainState` (model holding the best weights).

    Like every analysis result it also reads as ``.table`` (the summary as a one-row DataFrame,
    without the wall time: what ``summary.csv`` holds), ``.meta`` (the summary with timings, and
    units) and ``.tables`` (``history``, ``predictions``, ``metrics``).
    """

    summary: dict
    history: pd.DataFrame
    predictions: pd.DataFrame
    metrics: pd.DataFrame
    state: TrainState

    @property
    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{k: v for k, v in self.summary.items() if k != "wall_s"}])

    @property
    def meta(self) -> dict:
        from bpdiag.data import MARKETS

        units = {m.currency: m.price_unit for m in MARKETS.values()}
        unit = units.get(self.summary.get("currency"), UNITS["rmse"])
        return {"summary": self.summary, "units": {**UNITS, "rmse": unit, "mae": unit}}

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {"history": self.history, "predictions": self.predictions, "metrics": self.metrics}


#: Units of the summary and history columns (rmse and mae: the market's price unit, rupees for
#: NIFTY and the synthetic default, dollars for SPX; see :data:`bpdiag.data.MARKETS`).
UNITS = {
    "rmse": "rupees",
    "mae": "rupees",
    "mape": "percent",
    "mse_scaled": "standardised",
    "lr": "per step",
    "qgrad_var": "rad^-2 (loss per radian, squared)",
}


# ------------------------------------------------------------------------------------ metrics


def metrics(price_true, price_pred, target_scale: float = 1.0) -> dict[str, float]:
    """Regression metrics of predicted prices (rupees), float arrays of equal shape [n].

    Returns ``mse_scaled`` (mean squared error of the standardised target: the error divided by
    ``target_scale``, the training-set standard deviation of the price), ``rmse`` and ``mae``
    (rupees), ``mape`` (percent: ``100 * mean(|pred - true| / max(|true|, eps))``, eps the
    float64 machine epsilon as in scikit-learn), ``r2`` (``1 - SS_res / SS_tot``).
    """
    t = np.asarray(price_true, dtype=np.float64)
    p = np.asarray(price_pred, dtype=np.float64)
    if t.shape != p.shape or t.ndim != 1 or len(t) == 0:
        raise ValueError(f"need two equal 1-d arrays, got shapes {t.shape} and {p.shape}")
    err = p - t
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    return {
        "mse_scaled": float(np.mean((err / target_scale) ** 2)),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "mape": float(100 * np.mean(np.abs(err) / np.maximum(np.abs(t), np.finfo(float).eps))),
        "r2": float(1 - np.sum(err**2) / ss_tot) if ss_tot > 0 else float("nan"),
    }


def baseline_predictions(data, seed: int = 0) -> dict[str, np.ndarray]:
    """Test-set price predictions (rupees) of the two baselines, fitted on the training rows.

    ``black_scholes_hv``: the ``bs_price_hv`` feature (Black–Scholes at sigma = hv_21, q = 0),
    un-standardised. ``gbt``: ``HistGradientBoostingRegressor(random_state=seed,
    early_stopping=False)`` on the standardised features and target.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor

    out = {}
    names = list(data.feature_names)
    if "bs_price_hv" in names:
        raw = data.x_scaler.inverse_transform(data.X_test)
        out["black_scholes_hv"] = raw[:, names.index("bs_price_hv")]
    gbt = HistGradientBoostingRegressor(random_state=seed, early_stopping=False)
    gbt.fit(data.X_train, data.y_train)
    out["gbt"] = data.inverse_target(gbt.predict(data.X_test))
    return out


@contextlib.contextmanager
def _torch_settings(threads: int | None, cuda: bool):
    """Torch intra-op threads for the run; deterministic algorithms on CUDA (the CPU kernels
    used here are deterministic already, and switching the flag imports torch's compiler
    stack, seconds per process)."""
    prev_threads = torch.get_num_threads()
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        if threads:
            torch.set_num_threads(int(threads))
        if cuda and not prev_det:
            torch.use_deterministic_algorithms(True, warn_only=True)
        yield
    finally:
        torch.set_num_threads(prev_threads)
        if cuda and not prev_det:
            torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)


@contextlib.contextmanager
def _threads_limited(threads: int | None):
    """Limit OpenMP/BLAS threads (scikit-learn's tree) to ``threads``; a crowded machine makes
    idle OpenMP threads spin for seconds."""
    if not threads:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(threads)):
        yield


def load_data(config: TrainConfig):
    """The :class:`bpdiag.data.PreparedData` of a config (float64 arrays)."""
    from bpdiag.data import prepare

    return prepare(
        config.data,
        split=config.split,
        seed=config.seed,
        subset=config.subset,
        index=config.index,
        vix=config.vix,
        rate=config.rate,
        dividend_yield=config.dividend_yield,
    )


def fit(
    config: TrainConfig,
    data=None,
    *,
    baselines: dict | None = None,
    checkpoint: CheckpointSink | None = None,
) -> TrainResult:
    """Train one model and evaluate it and the baselines on the test rows (the trainer's entry
    point; like the analyses it returns a result with ``.table`` and ``.meta``).

    Args:
        config: the run (see :class:`TrainConfig`).
        data: a :class:`bpdiag.data.PreparedData` to use instead of preparing ``config.data``
            (a study can prepare each subset once); it must come from the same config.
        baselines: precomputed :func:`baseline_predictions` of ``data`` (a hybrid and its twins
            share them); by default they are computed here when ``config.baselines``.
        checkpoint: where each finished epoch goes (its history row, wall time and checkpoint)
            and where a resumed run starts from: a :class:`bpdiag.train.checkpoint.
            CheckpointSink`, e.g. :class:`bpdiag.results.train.TrainWriter` (what ``bpdiag
            train`` passes). By default none, unless ``config.out`` is set: then a
            ``TrainWriter(config.out, resume=config.resume)``. The final tables are written by
            the caller (:func:`bpdiag.results.train.write_train`).

    Returns:
        :class:`TrainResult`. ``summary`` columns: the config fields (``data``, ``n_qubits``,
        ``n_layers``, ``ansatz``, ``reupload``, ``subset``, ``split``, ``seed``, ``engine``,
        ``device``, ``twin``, ``batch_size``, ``lr``, ``lr_quantum``, ``weight_decay``,
        ``weight_decay_quantum``, ``hidden``, ``angle_scale``, ``dtype``, ...), ``model``
        (``quantum``, ``identity`` or ``matched``), ``n_train``/``n_val``/``n_test`` (rows),
        ``n_params`` (all trainable), ``n_params_quantum`` (the middle layer's), ``epochs_run``,
        ``stopped_early``, ``best_epoch``, ``final_train_loss``, ``final_val_loss``,
        ``best_val_loss``, ``test_mse_scaled``, ``test_rmse``, ``test_mae``, ``test_mape``,
        ``test_r2`` (the best-validation model on the test rows; units as :func:`metrics`),
        ``qgrad_var_first``/``qgrad_var_last``/``qgrad_var_mean`` (quantum-gradient variance,
        first/last epoch and mean over epochs), the same five metrics for the baselines as
        ``bs_*`` and ``gbt_*`` (NaN with ``baselines=False``), and ``wall_s`` (seconds; left out
        of ``summary.csv``, which stays byte-identical for a given seed).
    """
    t0 = time.perf_counter()
    if checkpoint is None and config.out is not None:
        from bpdiag.results.train import TrainWriter

        checkpoint = TrainWriter(config.out, resume=config.resume)
    eval_chunk = _check_memory(config)
    if data is None:
        data = load_data(config)
    dtype = DTYPES[config.dtype]
    device = _device(config)
    with _torch_settings(config.threads, device.type == "cuda"):
        tensors = {
            "X_train": torch.as_tensor(data.X_train, dtype=dtype, device=device),
            "y_train": torch.as_tensor(data.y_train, dtype=dtype, device=device),
            "X_val": torch.as_tensor(data.X_val, dtype=dtype, device=device),
            "y_val_np": np.asarray(data.y_val, dtype=np.float64),
            "X_test": torch.as_tensor(data.X_test, dtype=dtype, device=device),
            "eval_chunk": eval_chunk,
        }
        state = _start(config, data.X_train.shape[1], checkpoint)
        bar = _progress(config, state.epoch)
        while state.epoch < config.epochs and not state.stopped:
            t_epoch = time.perf_counter()
            state = run_epoch(state, tensors, config)
            row = state.history[-1]
            if checkpoint is not None:
                wall = time.perf_counter() - t_epoch
                checkpoint.epoch(row, wall, to_blob(state, config), bool(row["best"]))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(train=f"{row['train_loss']:.4f}", val=f"{row['val_loss']:.4f}")
        if bar is not None:
            bar.close()
        state.model.load_state_dict(state.best.state)
        test_pred = data.inverse_target(
            _evaluate(state.model, tensors["X_test"], tensors["eval_chunk"])
        )
    history = pd.DataFrame(state.history)
    price_true = np.asarray(data.test_rows["target"], dtype=np.float64)
    scale = float(np.atleast_1d(data.y_scaler.scale_)[0])
    preds = {"model": test_pred}
    if config.baselines:
        if baselines is None:
            with _threads_limited(config.threads):
                baselines = baseline_predictions(data, config.seed)
        preds.update(baselines)
    table = pd.DataFrame(
        [
            {"model": name, "split": "test", "n": len(price_true), **metrics(price_true, p, scale)}
            for name, p in preds.items()
        ]
    )
    summary = _summary(config, data, state, history, table)
    summary["wall_s"] = time.perf_counter() - t0
    return TrainResult(summary, history, _predictions(data, preds), table, state)


#: ``bpdiag.train.train`` reads like the other entry points (``variance``, ``study``, ...).
train = fit


def _start(config: TrainConfig, n_features: int, checkpoint: CheckpointSink | None) -> TrainState:
    """The state a run starts from: the sink's last checkpoint, or a fresh one; the sink's logs
    are brought in line with it."""
    blob = checkpoint.load() if checkpoint is not None else None
    if blob is not None:
        where = f"checkpoint {getattr(checkpoint, 'name', '')}".rstrip()
        state = from_blob(blob, config, n_features, where=where)
    else:
        state = init_state(config, n_features)
    if checkpoint is not None:
        checkpoint.begin(list(state.history))
    return state


def _progress(config: TrainConfig, start: int):
    if not config.progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=config.epochs, initial=start, desc="train", unit="epoch", file=sys.stderr)


_METRICS = ("mse_scaled", "rmse", "mae", "mape", "r2")


def _summary(config, data, state, history, table) -> dict:
    model = state.model
    names = {"qubits": "n_qubits", "layers": "n_layers"}  # options -> table columns
    s = {
        names.get(k, k): v
        for k, v in config.to_dict().items()
        if k not in ("out", "resume", "progress", "plots")
    }
    for k in ("market", "currency", "rate", "dividend_yield"):  # the values used (None: market's)
        s[k] = data.meta.get(k, s.get(k))
    s["model"] = model.kind
    s["n_train"], s["n_val"], s["n_test"] = len(data.X_train), len(data.X_val), len(data.X_test)
    s["n_params"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
    s["n_params_quantum"] = sum(p.numel() for p in model.middle_parameters())
    s["epochs_run"] = int(state.epoch)
    s["stopped_early"] = bool(state.stopped and state.epoch < config.epochs)
    s["best_epoch"] = int(state.best.epoch)
    s["final_train_loss"] = float(history["train_loss"].iloc[-1])
    s["final_val_loss"] = float(history["val_loss"].iloc[-1])
    s["best_val_loss"] = float(state.best.loss)
    by = table.set_index("model")
    for prefix, name in (("test", "model"), ("bs", "black_scholes_hv"), ("gbt", "gbt")):
        for m in _METRICS:
            s[f"{prefix}_{m}"] = float(by.loc[name, m]) if name in by.index else float("nan")
    q = history["qgrad_var"]
    s["qgrad_var_first"] = float(q.iloc[0])
    s["qgrad_var_last"] = float(q.iloc[-1])
    s["qgrad_var_mean"] = float(q.mean()) if q.notna().any() else float("nan")
    return s


def _predictions(data, preds: dict[str, np.ndarray]) -> pd.DataFrame:
    rows = data.test_rows
    keep = [
        c
        for c in ("date", "expiry", "strike", "option_type", "underlying_price")
        if c in rows.columns
    ]
    df = rows[keep].copy()
    df["price_true"] = np.asarray(rows["target"], dtype=np.float64)
    names = {"model": "price_pred", "black_scholes_hv": "price_bs_hv", "gbt": "price_gbt"}
    for key, p in preds.items():
        df[names[key]] = p
    df["error"] = df["price_pred"] - df["price_true"]
    return df.reset_index(drop=True)
