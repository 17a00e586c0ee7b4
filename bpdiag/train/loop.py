"""One epoch of training with an explicit state: :class:`TrainState` goes into
:func:`train_step` / :func:`run_epoch` and comes out updated; nothing is global."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import torch

from bpdiag.engines._batch import batched
from bpdiag.model import HybridModel, build_model
from bpdiag.train.config import DTYPES, TrainConfig, resolve_torch_device


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
        circuit=config.user_circuit(),
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
    grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in mid]  # unused: zero
    stats["qgrad"] = torch.cat([g.detach().double().flatten() for g in grads]) if mid else None
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
    with torch.no_grad():  # the one batching loop; no padding, so no row is evaluated twice
        return batched(lambda xb: model(xb).double().cpu().numpy(), X, chunk=batch, pad=False)


def qgrad_stats(qgrads: list[torch.Tensor]) -> tuple[float, float]:
    """``(qgrad_var, qgrad_mean_abs)`` of an epoch's quantum-layer gradients (one float64
    [n_params] tensor per optimiser step): the unbiased variance of all ``steps x n_params``
    entries pooled together (the spread of a partial derivative over the epoch's parameters
    and batches, the quantity ``bpdiag variance`` predicts at initialisation), and their mean
    absolute value. Defined with a single step (a 100-row subset) as long as there are two
    entries; NaN without quantum parameters (or with one entry in all)."""
    if not qgrads:
        return float("nan"), float("nan")
    g = torch.cat([q.flatten() for q in qgrads])
    var = float(g.var(unbiased=True)) if g.numel() > 1 else float("nan")
    return var, float(g.abs().mean())


def run_epoch(state: TrainState, tensors: dict, config: TrainConfig) -> TrainState:
    """Train one epoch, evaluate on the validation rows, step the scheduler and early stopping.

    Appends one row to ``state.history`` with columns: ``epoch`` (1-based), ``train_loss``
    (mean mini-batch MSE, standardised target), ``val_loss`` (MSE on the validation rows),
    ``lr`` and ``lr_quantum`` (learning rates used this epoch; NaN without a quantum group),
    ``grad_norm`` and ``grad_norm_<layer>`` (mean over the epoch's steps of the L2 gradient
    norm), ``qgrad_var`` and ``qgrad_mean_abs`` (:func:`qgrad_stats`: the variance of the
    quantum-layer gradients pooled over the epoch's steps and parameters), ``best`` (1 if this
    epoch is the best so far). Returns the new state.
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
    row["qgrad_var"], row["qgrad_mean_abs"] = qgrad_stats(qgrads)
    improved = val_loss < state.best.loss
    best = Best(val_loss, epoch, _copy_state(state.model)) if improved else state.best
    bad = 0 if improved else state.bad_epochs + 1
    row["best"] = int(improved)
    state.scheduler.step(val_loss)
    stopped = bool(config.patience and bad >= config.patience)
    return state._replace(
        epoch=epoch, best=best, bad_epochs=bad, history=[*state.history, row], stopped=stopped
    )
