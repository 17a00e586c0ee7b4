"""A :class:`~bpdiag.train.loop.TrainState` as a checkpoint, and the sink a run's checkpoints go
through.

A checkpoint is a plain dict of tensors and numbers (:func:`to_blob`); :func:`from_blob` rebuilds
the state. Nothing here writes: :func:`bpdiag.train.fit` hands each epoch's blob to a
:class:`CheckpointSink` (on disk: :class:`bpdiag.results.train.TrainWriter`, built by the CLI),
so a resumed run continues from exactly the state it stopped in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import torch

from bpdiag.train.config import TrainConfig
from bpdiag.train.loop import Best, TrainState, init_state

# config fields that may differ between a run and its resumption
_RESUMABLE = ("epochs", "out", "resume", "progress", "threads", "plots")


class CheckpointSink(Protocol):
    """Where :func:`bpdiag.train.fit` puts each finished epoch (see
    :class:`bpdiag.results.train.TrainWriter`)."""

    def load(self) -> dict | None:
        """The last checkpoint blob to resume from, or None to start afresh."""

    def begin(self, history: list[dict]) -> None:
        """The run starts after the epochs in ``history`` (empty: a fresh run): the logs must
        hold exactly those rows."""

    def epoch(self, row: dict, wall_s: float, blob: dict, best: bool) -> None:
        """One finished epoch: its history row, its wall time (seconds), the checkpoint blob of
        the state after it, and whether it is the best epoch so far."""


def to_blob(state: TrainState, config: TrainConfig) -> dict:
    """A :class:`TrainState` (and its config) as a dict ``torch.save`` can write."""
    return {
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


#: What every :func:`to_blob` dict holds.
_BLOB_KEYS = {"config", "epoch", "model", "optimizer", "scheduler", "scaler", "rng", "best"}


def from_blob(
    blob: dict, config: TrainConfig, n_features: int, *, where: str = "checkpoint"
) -> TrainState:
    """Rebuild a :class:`TrainState` from :func:`to_blob`'s dict.

    Raises ``ValueError`` if the blob was written for a different configuration (fields other
    than epochs, out, resume, progress, threads and plots); ``where`` names it in the message.
    """
    if not isinstance(blob, dict) or not _BLOB_KEYS <= set(blob):
        found = sorted(blob) if isinstance(blob, dict) else type(blob).__name__
        raise ValueError(f"{where} is not a bpdiag training checkpoint (holds {found})")
    saved = dict(blob["config"])
    now = config.to_dict()
    diff = [k for k in now if k not in _RESUMABLE and saved.get(k) != now[k]]
    if diff:
        k = diff[0]
        raise ValueError(f"{where} was written with {k}={saved.get(k)!r}, not {now[k]!r}")
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


def read_checkpoint(path: str | Path) -> dict:
    """The blob of a checkpoint file (``torch.load`` with ``weights_only``, onto the CPU).

    Raises ``ValueError`` naming the file if it is truncated or not a checkpoint at all."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except OSError:  # cannot be read: the error path names the file and why
        raise
    except Exception as exc:  # any unpickling failure: truncated, garbage, not torch's
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"checkpoint {path} is truncated or not a checkpoint ({msg})") from None


def load_checkpoint(path: str | Path, config: TrainConfig, n_features: int) -> TrainState:
    """Rebuild a :class:`TrainState` from a checkpoint file (``checkpoint_last.pt`` or
    ``checkpoint_best.pt`` of a run folder).

    Raises ``ValueError`` if the checkpoint was written for a different configuration (fields
    other than epochs, out, resume, progress, threads and plots).
    """
    return from_blob(read_checkpoint(path), config, n_features, where=f"checkpoint {path}")
