"""Training the hybrid regressor (and its classical twins): :func:`fit` is the one entry point.

``fit(TrainConfig(...))`` prepares the option data (:func:`bpdiag.data.prepare`: seeded subset,
60/20/20 split, scalers fitted on the training rows only), builds the model
(:func:`bpdiag.model.build_model`), trains it with AdamW (separate parameter groups, learning
rate and weight decay, for the classical layers and the quantum layer), ReduceLROnPlateau on the
validation loss and early stopping, keeps the best state on validation loss, and evaluates it on
the test rows against two baselines fitted on the same split: Black–Scholes at historical
volatility (the data layer's ``bs_price_hv`` feature, sigma = hv_21; Black & Scholes 1973) and
a gradient-boosted tree model (scikit-learn's ``HistGradientBoostingRegressor``).

The loss is the MSE on the standardised target. Metrics (:func:`metrics`): ``mse_scaled`` (MSE
on the standardised target), ``rmse`` and ``mae`` in rupees, ``mape`` in percent,
``r2`` (coefficient of determination).

Everything is a pure function of the config: the same seed gives the same numbers (torch is
seeded, a ``torch.Generator`` shuffles the mini-batches, the CPU kernels are deterministic and
deterministic algorithms are switched on for CUDA runs), and a run resumed from its last
checkpoint (``resume=True``) ends with the same numbers as an uninterrupted one. With ``out``
set, :func:`fit` writes into that folder:

* ``history.csv`` (one row per epoch, appended as epochs finish), ``log.jsonl`` (the same rows
  plus wall times), ``checkpoint_last.pt`` (every epoch) and ``checkpoint_best.pt``;
* ``predictions.csv``: the test rows with true and predicted prices in rupees (model, BS at hv,
  tree);
* ``metrics.csv``: test metrics of the model and the baselines (one row per model);
* ``summary.csv`` / ``summary.json``: the one-row run summary (timings only in the JSON);
* ``history.png`` / ``.pdf``: loss curves, gradient norms and learning rates.

>>> res = fit(TrainConfig(subset=100, epochs=2, baselines=False))  # doctest: +SKIP
>>> res.summary["test_rmse"]  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import re
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch

from bpdiag import results as _io
from bpdiag.model import ENGINES, TWINS, HybridModel, build_model

DTYPES = {"float32": torch.float32, "float64": torch.float64}
#: Torch device names ``device`` takes with the torch engine (also ``cuda:N``).
TORCH_DEVICES = ("cpu", "cuda", "auto")
_PL_DEFAULT = "default.qubit"
_CHECKPOINT_LAST = "checkpoint_last.pt"
_CHECKPOINT_BEST = "checkpoint_best.pt"
# config fields that may differ between a run and its resumption
_RESUMABLE = ("epochs", "out", "resume", "progress", "threads", "plots")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on.

    Data: ``data`` (``"synthetic"`` or a path any option loader reads), ``subset`` (rows drawn
    before splitting; None = all), ``split`` (``"random"`` or ``"time"``), ``seed`` (drives the
    subset, the split, the initial weights, the shuffling and the tree baseline).
    Model: ``qubits``, ``layers``, ``ansatz`` (``original``, ``dense``, ``sparse``, ``mcclean``),
    ``reupload``, ``twin`` (None for the hybrid, ``"identity"`` or ``"matched"``), ``engine``
    (``torch`` or ``pennylane``), ``device`` (the PennyLane device name, default
    ``default.qubit``, used by the pennylane engine; with the torch engine a torch device name,
    ``cpu``, ``cuda``, ``cuda:N`` or ``auto``, may be given here instead: it is stored as
    ``torch_device`` and ``device`` stays ``default.qubit``), ``hidden`` (width of the encoder
    and decoder), ``angle_scale`` (radians), ``dtype`` (``float32``: complex64 states;
    ``float64``: complex128).
    Optimiser: ``lr``/``weight_decay`` (classical group), ``lr_quantum``/
    ``weight_decay_quantum`` (quantum layer, or the twin's middle layer), ``batch_size``,
    ``epochs``, ReduceLROnPlateau ``plateau_patience``/``plateau_factor``/``min_lr``, early
    stopping ``patience`` (epochs without a better validation loss; 0 = off).
    Run: ``torch_device`` (where the torch tensors live: ``cpu``, ``cuda``, ``cuda:N`` or
    ``auto``; default ``auto`` with the pennylane engine on ``lightning.gpu``, else ``cpu``),
    ``amp`` (autocast + GradScaler, used on CUDA only), ``threads`` (torch intra-op threads
    during the run; None = leave as is), ``baselines``, ``out`` (folder for logs and
    checkpoints; None = nothing written), ``resume``, ``progress`` (a tqdm bar on stderr),
    ``plots`` (write the history figure).
    """

    data: str = "synthetic"
    qubits: int = 4
    layers: int = 2
    ansatz: str = "original"
    reupload: bool = False
    subset: int | None = 1000
    split: str = "random"
    epochs: int = 20
    seed: int = 0
    engine: str = "torch"
    device: str | None = None
    twin: str | None = None
    batch_size: int = 64
    lr: float = 1e-2
    lr_quantum: float = 1e-2
    weight_decay: float = 1e-4
    weight_decay_quantum: float = 0.0
    hidden: int = 32
    angle_scale: float = math.pi
    dtype: str = "float32"
    plateau_patience: int = 3
    plateau_factor: float = 0.5
    min_lr: float = 1e-5
    patience: int = 10
    torch_device: str | None = None
    amp: bool = True
    threads: int | None = 1
    baselines: bool = True
    out: str | None = None
    resume: bool = False
    progress: bool = False
    plots: bool = True

    def __post_init__(self) -> None:
        self._resolve_devices()
        checks = [
            (self.qubits >= 1, f"qubits must be >= 1, got {self.qubits}"),
            (self.layers >= 0, f"layers must be >= 0, got {self.layers}"),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.hidden >= 1, f"hidden must be >= 1, got {self.hidden}"),
            (
                self.subset is None or self.subset >= 10,
                f"subset must be >= 10 rows, got {self.subset}",
            ),
            (
                self.lr > 0 and self.lr_quantum > 0,
                f"learning rates must be > 0, got {self.lr}, {self.lr_quantum}",
            ),
            (
                self.weight_decay >= 0 and self.weight_decay_quantum >= 0,
                "weight decays must be >= 0",
            ),
            (
                0 < self.plateau_factor < 1,
                f"plateau_factor must be in (0, 1), got {self.plateau_factor}",
            ),
            (self.patience >= 0, f"patience must be >= 0, got {self.patience}"),
            (
                self.engine in ENGINES,
                f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}",
            ),
            (
                self.twin in (None, *TWINS),
                f"twin must be one of {', '.join(TWINS)}, got {self.twin!r}",
            ),
            (self.dtype in DTYPES, f"dtype must be float32 or float64, got {self.dtype!r}"),
            (
                _is_torch_device(self.torch_device),
                f"torch_device must be cpu, cuda, cuda:N or auto, got {self.torch_device!r}",
            ),
            (not self.resume or self.out is not None, "resume needs an output folder (out)"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(msg)

    def _resolve_devices(self) -> None:
        """Fill in ``device`` and ``torch_device`` (see the class docstring). ``device`` always
        ends up a PennyLane name (so ``dataclasses.replace(config, engine=...)`` stays valid):
        a torch device given as ``device`` with the torch engine moves to ``torch_device``."""
        dev, tdev = self.device, self.torch_device
        if dev is None:
            dev = _PL_DEFAULT
        elif _is_torch_device(dev):
            if self.engine != "torch":
                raise ValueError(
                    f"with engine {self.engine}, device names a PennyLane device (default.qubit, "
                    f"lightning.qubit, lightning.gpu, default.mixed), got {dev!r}; the torch "
                    "layers' device is torch_device"
                )
            if tdev is not None and tdev != dev:
                raise ValueError(
                    f"device {dev!r} and torch_device {tdev!r} disagree (with engine torch both "
                    "name the torch device)"
                )
            dev, tdev = _PL_DEFAULT, dev
        if tdev is None:
            tdev = "auto" if self.engine == "pennylane" and dev == "lightning.gpu" else "cpu"
        object.__setattr__(self, "device", dev)
        object.__setattr__(self, "torch_device", tdev)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _is_torch_device(name) -> bool:
    return isinstance(name, str) and (
        name in TORCH_DEVICES or re.fullmatch(r"cuda:\d+", name) is not None
    )


def resolve_torch_device(name: str, *, fallback: bool = False) -> str:
    """Check that torch device ``name`` (``cpu``, ``cuda``, ``cuda:N`` or ``auto``) exists here
    and return it; if it does not, raise ``ValueError`` (one line), or with ``fallback`` warn and
    return ``cpu``. ``auto`` is always available (CUDA when present, else the CPU)."""
    if not _is_torch_device(name):
        raise ValueError(f"torch device must be cpu, cuda, cuda:N or auto, got {name!r}")
    if name in ("cpu", "auto"):
        return name
    index = int(name.split(":")[1]) if ":" in name else 0
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if index < count:
        return name
    reason = "no CUDA device" if count == 0 else f"{count} CUDA device(s)"
    msg = f"torch device {name!r} is not available here ({reason})"
    if not fallback:
        raise ValueError(msg + "; use --fallback to run on cpu")
    warnings.warn(msg + "; falling back to cpu", stacklevel=2)
    return "cpu"


class Best(NamedTuple):
    """The best epoch so far on validation loss, and the model state at that epoch."""

    loss: float
    epoch: int
    state: dict


class TrainState(NamedTuple):
    """The whole state of a run between epochs (a checkpoint is this state serialised).

    ``epoch`` counts finished epochs; ``rng`` shuffles the mini-batches; ``bad_epochs`` counts
    epochs since the best validation loss; ``history`` holds one dict per finished epoch.
    """

    model: HybridModel
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau
    scaler: torch.amp.GradScaler
    epoch: int
    rng: torch.Generator
    best: Best
    bad_epochs: int
    history: list
    stopped: bool


class TrainResult(NamedTuple):
    """What :func:`fit` returns.

    ``summary``: the one-row run summary (dict; columns in :func:`fit`); ``history``: one row per
    epoch (columns in :func:`run_epoch`); ``predictions``: test rows with prices in rupees;
    ``metrics``: test metrics of the model and the baselines, one row per model; ``state``: the
    final :class:`TrainState` (model holding the best weights).
    """

    summary: dict
    history: pd.DataFrame
    predictions: pd.DataFrame
    metrics: pd.DataFrame
    state: TrainState


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


# ------------------------------------------------------------------------------------ training


def _layers(model: HybridModel) -> list[tuple[str, list[torch.nn.Parameter]]]:
    """(name, parameters) of every layer that has parameters: encoder_0, encoder_2, middle,
    decoder_0, decoder_2."""
    out = []
    for prefix, part in (("encoder", model.encoder), ("decoder", model.decoder)):
        for name, mod in part.named_children():
            ps = [p for p in mod.parameters() if p.requires_grad]
            if ps:
                out.append((f"{prefix}_{name}", ps))
    mid = model.middle_parameters()
    if mid:
        out.insert(2, ("middle", mid))
    return out


def _device(config: TrainConfig) -> torch.device:
    if config.torch_device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(resolve_torch_device(config.torch_device))


def init_state(config: TrainConfig, n_features: int) -> TrainState:
    """A fresh :class:`TrainState`: the model initialised from ``config.seed``."""
    torch.manual_seed(config.seed)
    device = _device(config)
    model = build_model(
        n_features,
        qubits=config.qubits,
        layers=config.layers,
        ansatz=config.ansatz,
        reupload=config.reupload,
        twin=config.twin,
        engine=config.engine,
        device=config.device,
        dtype=DTYPES[config.dtype],
        hidden=config.hidden,
        angle_scale=config.angle_scale,
        seed=config.seed,
    ).to(device)
    groups = [
        {
            "params": model.classical_parameters(),
            "lr": config.lr,
            "weight_decay": config.weight_decay,
            "name": "classical",
        }
    ]
    if model.middle_parameters():
        groups.append(
            {
                "params": model.middle_parameters(),
                "lr": config.lr_quantum,
                "weight_decay": config.weight_decay_quantum,
                "name": "quantum",
            }
        )
    optimizer = torch.optim.AdamW(groups)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer,
        mode="min",
        factor=config.plateau_factor,
        patience=config.plateau_patience,
        min_lr=config.min_lr,
    )
    scaler = torch.amp.GradScaler("cuda", enabled=_amp(config, device))
    rng = torch.Generator().manual_seed(config.seed)
    best = Best(float("inf"), -1, _copy_state(model))
    return TrainState(model, optimizer, scheduler, scaler, 0, rng, best, 0, [], False)


def _amp(config: TrainConfig, device: torch.device) -> bool:
    return bool(config.amp and device.type == "cuda")


def _copy_state(model: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def train_step(state: TrainState, xb: torch.Tensor, yb: torch.Tensor) -> tuple[TrainState, dict]:
    """One optimiser step on a mini-batch: xb float[B, F], yb float[B] (standardised target).

    Returns the state (its model and optimiser updated in place) and step statistics: ``loss``
    (MSE on the standardised target, before the step), ``grad_norm`` (L2 norm of all
    gradients), ``grad_norm_<layer>`` per layer (see :func:`_layers`), and ``qgrad`` (the
    middle layer's gradient, float64[n_params], or None). Gradients are unscaled before they are
    measured when mixed precision is on.
    """
    model, opt, scaler = state.model, state.optimizer, state.scaler
    model.train()
    opt.zero_grad(set_to_none=True)
    with torch.autocast(xb.device.type, enabled=scaler.is_enabled()):
        pred = model(xb)
    loss = torch.mean((pred.float() - yb.float()) ** 2)
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    stats: dict[str, Any] = {"loss": float(loss.detach())}
    total = 0.0
    for name, ps in _layers(model):
        sq = sum(float(p.grad.detach().double().square().sum()) for p in ps if p.grad is not None)
        stats[f"grad_norm_{name}"] = math.sqrt(sq)
        total += sq
    stats["grad_norm"] = math.sqrt(total)
    mid = model.middle_parameters()
    stats["qgrad"] = torch.cat([p.grad.detach().double().flatten() for p in mid]) if mid else None
    scaler.step(opt)
    scaler.update()
    return state, stats


def _check_memory(config: TrainConfig) -> int:
    """Predict the statevector memory of a training step (each fused operation keeps a state of
    ``2**n`` complex amplitudes per row for the backward pass); raise ``MemoryError`` (one line)
    if a mini-batch cannot fit, and return the evaluation chunk (rows) that fits."""
    from bpdiag._resources import plan_chunk

    if config.twin is not None:
        return 4096
    item = 8 if config.dtype == "float32" else 16
    n, L = config.qubits, config.layers
    if config.ansatz == "original" and not config.reupload:  # product state + one phase run
        n_states = 16
    else:  # about one dense block per qubit and layer, one phase run per layer, 3 saved each
        n_states = 3 * (n * L + L + 2) + 8
    row = float(2**n) * item * n_states
    what = f"a {config.qubits}-qubit training batch"
    fits = plan_chunk(config.batch_size, row, what=what)
    if fits < config.batch_size:
        raise MemoryError(
            f"{what} of {config.batch_size} rows needs about {row * config.batch_size / 2**30:.1f}"
            f" GiB; use --batch-size {fits} or fewer qubits"
        )
    return plan_chunk(4096, row / 4, what=what)


def _evaluate(model: HybridModel, X: torch.Tensor, batch: int = 4096) -> np.ndarray:
    """Predictions float64[n] (standardised target), in eval mode without gradients."""
    model.eval()
    with torch.no_grad():
        parts = [model(X[i : i + batch]).double().cpu() for i in range(0, len(X), batch)]
    return torch.cat(parts).numpy()


def run_epoch(state: TrainState, tensors: dict, config: TrainConfig) -> TrainState:
    """Train one epoch, evaluate on the validation rows, step the scheduler and early stopping.

    Appends one row to ``state.history`` with columns: ``epoch`` (1-based), ``train_loss``
    (mean mini-batch MSE, standardised target), ``val_loss`` (MSE on the validation rows),
    ``lr`` and ``lr_quantum`` (learning rates used this epoch; NaN without a quantum group),
    ``grad_norm`` and ``grad_norm_<layer>`` (mean over the epoch's steps of the L2 gradient
    norm), ``qgrad_var`` (variance over the epoch's steps of each quantum-layer parameter's
    gradient, averaged over parameters; NaN without quantum parameters or with one step),
    ``qgrad_mean_abs`` (mean absolute quantum gradient), ``best`` (1 if this epoch is the best
    so far). Returns the new state.
    """
    Xtr, ytr = tensors["X_train"], tensors["y_train"]
    n = len(Xtr)
    lrs = {g.get("name", str(i)): g["lr"] for i, g in enumerate(state.optimizer.param_groups)}
    perm = torch.randperm(n, generator=state.rng).to(Xtr.device)
    sums: dict[str, float] = {}
    qgrads = []
    loss_sum = 0.0
    steps = 0
    for start in range(0, n, config.batch_size):
        idx = perm[start : start + config.batch_size]
        state, stats = train_step(state, Xtr[idx], ytr[idx])
        loss_sum += stats.pop("loss") * len(idx)
        q = stats.pop("qgrad")
        if q is not None:
            qgrads.append(q)
        for k, v in stats.items():
            sums[k] = sums.get(k, 0.0) + v
        steps += 1
    val_pred = _evaluate(state.model, tensors["X_val"], tensors["eval_chunk"])
    val_loss = float(np.mean((val_pred - tensors["y_val_np"]) ** 2))
    epoch = state.epoch + 1
    row: dict[str, Any] = {
        "epoch": epoch,
        "train_loss": loss_sum / n,
        "val_loss": val_loss,
        "lr": lrs["classical"],
        "lr_quantum": lrs.get("quantum", float("nan")),
        "grad_norm": sums.pop("grad_norm") / steps,
    }
    row.update({k: v / steps for k, v in sums.items()})
    if qgrads and len(qgrads) > 1:
        g = torch.stack(qgrads)
        row["qgrad_var"] = float(g.var(dim=0, unbiased=True).mean())
        row["qgrad_mean_abs"] = float(g.abs().mean())
    else:
        row["qgrad_var"] = float("nan")
        row["qgrad_mean_abs"] = float(torch.stack(qgrads).abs().mean()) if qgrads else float("nan")
    improved = val_loss < state.best.loss
    best = Best(val_loss, epoch, _copy_state(state.model)) if improved else state.best
    bad = 0 if improved else state.bad_epochs + 1
    row["best"] = int(improved)
    state.scheduler.step(val_loss)
    stopped = bool(config.patience and bad >= config.patience)
    return state._replace(
        epoch=epoch, best=best, bad_epochs=bad, history=[*state.history, row], stopped=stopped
    )


# ------------------------------------------------------------------------------- checkpoints


def save_checkpoint(state: TrainState, config: TrainConfig, path: str | Path) -> None:
    """Serialise a :class:`TrainState` (and its config) with ``torch.save``."""
    blob = {
        "config": config.to_dict(),
        "epoch": state.epoch,
        "model": state.model.state_dict(),
        "optimizer": state.optimizer.state_dict(),
        "scheduler": state.scheduler.state_dict(),
        "scaler": state.scaler.state_dict(),
        "rng": state.rng.get_state(),
        "best": {"loss": state.best.loss, "epoch": state.best.epoch, "state": state.best.state},
        "bad_epochs": state.bad_epochs,
        "history": state.history,
        "stopped": state.stopped,
    }
    path = Path(path)
    tmp = path.with_suffix(".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)


def load_checkpoint(path: str | Path, config: TrainConfig, n_features: int) -> TrainState:
    """Rebuild a :class:`TrainState` from a checkpoint written by :func:`save_checkpoint`.

    Raises ``ValueError`` if the checkpoint was written for a different configuration (fields
    other than epochs, out, resume, progress and threads).
    """
    blob = torch.load(path, map_location="cpu", weights_only=True)
    saved = dict(blob["config"])
    now = config.to_dict()
    diff = [k for k in now if k not in _RESUMABLE and saved.get(k) != now[k]]
    if diff:
        k = diff[0]
        raise ValueError(f"checkpoint {path} was written with {k}={saved.get(k)!r}, not {now[k]!r}")
    state = init_state(config, n_features)
    device = next(state.model.parameters()).device
    state.model.load_state_dict(blob["model"])
    state.optimizer.load_state_dict(blob["optimizer"])
    state.scheduler.load_state_dict(blob["scheduler"])
    state.scaler.load_state_dict(blob["scaler"])
    state.rng.set_state(blob["rng"])
    best_state = {k: v.to(device) for k, v in blob["best"]["state"].items()}
    best = Best(float(blob["best"]["loss"]), int(blob["best"]["epoch"]), best_state)
    return state._replace(
        epoch=int(blob["epoch"]),
        best=best,
        bad_epochs=int(blob["bad_epochs"]),
        history=list(blob["history"]),
        stopped=bool(blob["stopped"]),
    )


# ---------------------------------------------------------------------------------------- fit


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

    return prepare(config.data, split=config.split, seed=config.seed, subset=config.subset)


def fit(config: TrainConfig, data=None, *, baselines: dict | None = None) -> TrainResult:
    """Train one model and evaluate it and the baselines on the test rows.

    Args:
        config: the run (see :class:`TrainConfig`).
        data: a :class:`bpdiag.data.PreparedData` to use instead of preparing ``config.data``
            (a study can prepare each subset once); it must come from the same config.
        baselines: precomputed :func:`baseline_predictions` of ``data`` (a hybrid and its twins
            share them); by default they are computed here when ``config.baselines``.

    Returns:
        :class:`TrainResult`. ``summary`` columns: the config fields (``data``, ``qubits``,
        ``layers``, ``ansatz``, ``reupload``, ``subset``, ``split``, ``seed``, ``engine``,
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
    out = Path(config.out) if config.out is not None else None
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
        n_features = data.X_train.shape[1]
        last = out / _CHECKPOINT_LAST if out is not None else None
        if config.resume and last is not None and last.exists():
            state = load_checkpoint(last, config, n_features)
        else:
            state = init_state(config, n_features)
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)
                for name in ("history.csv", "log.jsonl"):
                    (out / name).unlink(missing_ok=True)
        if out is not None and state.history:  # resumed: the logs hold exactly the finished rows
            _io.write_csv(pd.DataFrame(state.history), out / "history.csv")
            log = out / "log.jsonl"
            lines = log.read_text().splitlines() if log.exists() else []
            kept = [ln for ln in lines if json.loads(ln)["epoch"] <= state.epoch]
            log.write_text("".join(ln + "\n" for ln in kept))
        bar = _progress(config, state.epoch)
        while state.epoch < config.epochs and not state.stopped:
            t_epoch = time.perf_counter()
            state = run_epoch(state, tensors, config)
            row = state.history[-1]
            if out is not None:
                _io.append_csv(pd.DataFrame([row]), out / "history.csv")
                with open(out / "log.jsonl", "a") as fh:
                    fh.write(json.dumps({**row, "wall_s": time.perf_counter() - t_epoch}) + "\n")
                save_checkpoint(state, config, last)
                if row["best"]:
                    save_checkpoint(state, config, out / _CHECKPOINT_BEST)
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
    predictions = _predictions(data, preds)
    result = TrainResult(summary, history, predictions, table, state)
    if out is not None:
        write(result, out, plots=config.plots)
    return result


def _progress(config: TrainConfig, start: int):
    if not config.progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=config.epochs, initial=start, desc="train", unit="epoch", file=sys.stderr)


_METRICS = ("mse_scaled", "rmse", "mae", "mape", "r2")


def _summary(config, data, state, history, table) -> dict:
    model = state.model
    s = {
        k: v for k, v in config.to_dict().items() if k not in ("out", "resume", "progress", "plots")
    }
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


def write(result: TrainResult, out: str | Path, *, plots: bool = True) -> dict[str, Path]:
    """Write predictions, metrics, the summary and (with ``plots``) the history figure into
    ``out``."""
    out = Path(out)
    _io.write_csv(result.predictions, out / "predictions.csv")
    _io.write_csv(result.metrics, out / "metrics.csv")
    summary = {k: v for k, v in result.summary.items() if k != "wall_s"}
    meta = {
        "summary": result.summary,
        "units": {
            "rmse": "rupees",
            "mae": "rupees",
            "mape": "percent",
            "mse_scaled": "standardised",
            "lr": "per step",
            "qgrad_var": "rad^-2 (loss per radian, squared)",
        },
    }
    paths = _io.write_result(pd.DataFrame([summary]), meta, out, "summary")
    paths.update(
        {
            f"history_{k}": v
            for k, v in _io.write_result(
                result.history,
                {"config": result.summary},
                out,
                "history",
                figure=history_figure if plots else None,
            ).items()
        }
    )
    return paths


def history_figure(df: pd.DataFrame, meta: dict | None = None):
    """Loss curves (train, validation), gradient norms (total and per layer) and learning rates
    against epoch, three panels side by side."""
    import matplotlib.pyplot as plt

    from bpdiag.figures._style import COLUMN_WIDTH, _colors, style

    style()
    fig, axes = plt.subplots(1, 3, figsize=(2.2 * COLUMN_WIDTH, 0.75 * COLUMN_WIDTH))
    ep = df["epoch"]
    ax = axes[0]
    ax.plot(ep, df["train_loss"], label="train")
    ax.plot(ep, df["val_loss"], label="validation")
    ax.set(xlabel="epoch", ylabel="MSE (standardised)", yscale="log", title="loss")
    ax.legend()
    ax = axes[1]
    cols = ["grad_norm"] + [c for c in df.columns if c.startswith("grad_norm_")]
    for c, color in zip(cols, _colors(len(cols))):
        y = df[c].where(df[c] > 0)
        ax.plot(
            ep,
            y,
            label=c.replace("grad_norm_", "") if c != "grad_norm" else "total",
            color=color,
            lw=1.6 if c == "grad_norm" else 1.0,
        )
    ax.set(xlabel="epoch", ylabel="L2 norm", yscale="log", title="gradient norms")
    ax.legend(ncol=2)
    ax = axes[2]
    ax.plot(ep, df["lr"], label="classical")
    if df["lr_quantum"].notna().any():
        ax.plot(ep, df["lr_quantum"], ls="--", label="quantum")
    ax.set(xlabel="epoch", ylabel="learning rate", yscale="log", title="learning rate")
    ax.legend()
    fig.tight_layout()
    return fig
