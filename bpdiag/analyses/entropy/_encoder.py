"""Data preparation for the entropy analysis: option rows, the seeded random torch encoder
(``Linear -> ReLU -> Linear(n) -> Tanh``, times pi: angles in [-pi, pi]) and the angles a trained
``bpdiag train`` checkpoint's own encoder gives its rows (read through :mod:`bpdiag.train`).
Nothing here writes a file.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import NamedTuple

import numpy as np

from bpdiag._resources import point_seed
from bpdiag.circuits import Circuit

ENCODER = (
    "Linear(F, {hidden}) -> ReLU -> Linear(n or 2**n) -> Tanh, times pi;"
    " PyTorch default init, seeded per n"
)


def load_features(config) -> tuple[np.ndarray, dict]:
    """Scaled features float64[rows, F] of the training split of ``config.data`` (``synthetic``
    or a file any option loader reads): ``config.rows`` rows drawn without replacement (seeded),
    or every training row if there are fewer. Returns (features, description)."""
    from bpdiag.data import prepare

    d = prepare(config.data, split="random", seed=config.seed)
    X = np.asarray(d.X_train, dtype=np.float64)
    rng = np.random.default_rng(point_seed(config.seed, "rows"))
    take = min(config.rows, len(X))
    pick = np.sort(rng.choice(len(X), size=take, replace=False))
    info = {
        "source": config.data,
        "split": "train (random 60/20/20)",
        "rows_available": int(len(X)),
        "rows_used": int(take),
        "features": list(d.feature_names),
    }
    return X[pick], info


def random_encoder(n_features: int, n_out: int, *, hidden: int = 16, seed=0):
    """A torch encoder ``Linear(F, hidden) → ReLU → Linear(hidden, n_out) → Tanh`` (float64) with
    PyTorch's default Linear initialisation, ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` for weights
    and biases, drawn from a ``torch.Generator`` seeded by ``seed`` (an int or a SeedSequence).
    Its output times pi gives angles in [-pi, pi]."""
    import torch

    if isinstance(seed, np.random.SeedSequence):
        seed = int(seed.generate_state(1, dtype=np.uint64)[0] & 0x7FFFFFFFFFFFFFFF)
    g = torch.Generator().manual_seed(int(seed))
    net = torch.nn.Sequential(
        torch.nn.Linear(n_features, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, n_out),
        torch.nn.Tanh(),
    ).to(torch.float64)
    with torch.no_grad():
        for layer in (net[0], net[2]):
            bound = 1.0 / math.sqrt(layer.in_features)
            layer.weight.uniform_(-bound, bound, generator=g)
            layer.bias.uniform_(-bound, bound, generator=g)
    return net


def encode_angles(features: np.ndarray, encoder) -> np.ndarray:
    """``pi * encoder(features)``: float64[rows, n_out], radians in [-pi, pi]."""
    import torch

    with torch.no_grad():
        out = encoder(torch.as_tensor(np.asarray(features, dtype=np.float64)))
    return np.pi * out.numpy().astype(np.float64)


class Trained(NamedTuple):
    """A trained hybrid model's quantum layer and the angles its encoder gives the rows.

    circuit: the model's own circuit (:func:`bpdiag.model.hybrid_circuit`); params:
    float64[n_params] (its trained weights, radians); angles: float64[rows, n] (radians);
    point: the grid point ``("trained", "angle" | "reupload", ansatz, n, L)``; info: for the
    JSON.
    """

    circuit: Circuit
    params: np.ndarray
    angles: np.ndarray
    point: tuple
    info: dict


def load_trained(path: str | Path, rows: int, *, seed: int = 0) -> Trained:
    """Load a ``bpdiag train`` checkpoint (a ``.pt`` file, or a run folder holding
    ``checkpoint_best.pt``) with :func:`bpdiag.train.load_checkpoint`, keep the weights of its
    best validation epoch, and encode ``rows`` training rows (seeded draw) of the run's own data
    (same features, subset, split and scaler as in training) into angles."""
    import torch

    from bpdiag.train import TrainConfig, load_checkpoint, load_data

    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint_best.pt"
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} not found")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        saved = dict(blob["config"])
    except Exception as exc:  # torch raises several types for a file that is not a checkpoint
        raise ValueError(
            f"{path} is not a bpdiag train checkpoint ({type(exc).__name__})"
        ) from None
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    cfg = TrainConfig(**{k: v for k, v in saved.items() if k in names})
    if cfg.twin is not None:
        raise ValueError(f"checkpoint {path} is a classical twin ({cfg.twin}): it has no circuit")
    if cfg.qubits < 2:
        raise ValueError(f"n_qubits must be >= 2, got {cfg.qubits} (checkpoint {path})")
    data = load_data(cfg)
    state = load_checkpoint(path, cfg, data.X_train.shape[1])
    model = state.model
    model.load_state_dict(state.best.state)
    model.eval()
    X = np.asarray(data.X_train, dtype=np.float64)
    rng = np.random.default_rng(point_seed(seed, "trained-rows"))
    take = min(int(rows), len(X))
    pick = np.sort(rng.choice(len(X), size=take, replace=False))
    dtype = next(model.parameters()).dtype
    with torch.no_grad():
        angles = model.angles(torch.as_tensor(X[pick], dtype=dtype)).double().numpy()
        layer = model.middle
        weights = layer.weights if hasattr(layer, "weights") else layer.fn.weights
        params = weights.detach().double().numpy().copy()
    circuit = layer.circuit
    point = ("trained", "reupload" if cfg.reupload else "angle", cfg.ansatz, cfg.qubits, cfg.layers)
    info = {
        "checkpoint": str(path),
        "best_epoch": int(state.best.epoch),
        "train_config": cfg.to_dict(),
        "rows_available": int(len(X)),
        "rows_used": int(take),
    }
    return Trained(circuit, params, angles, point, info)
