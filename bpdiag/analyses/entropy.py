"""Entanglement of data-encoded states against the Page curve: volume law or area law?

Pipeline (one grid point = state kind, encoding, ansatz, n_qubits, n_layers):
option rows (:func:`bpdiag.data.prepare`, scaled features) → a torch encoder
``Linear → ReLU → Linear(n) → Tanh`` scaled to angles in [-pi, pi] (seeded random init) →
an encoding from :mod:`bpdiag.circuits.encodings` (``angle``, ``zz``, ``reupload``, ``amplitude``) →
optionally ``n_layers`` ansatz layers with random parameters → states by the JAX engine →
entanglement entropies of every contiguous cut ``A = {0..m-1}``, ``m = 1..n//2`` (and, on
request, of random qubit subsets of each size), averaged over rows with standard errors.
Reference states for calibration: ``product`` (Haar-random single-qubit states), ``ghz`` and
``haar`` (Haar-random n-qubit states).

Entropies of the reduced state ``rho_A`` with eigenvalues ``p``: von Neumann
``S = -sum p ln p`` and Rényi-2 ``S_2 = -ln Tr rho_A^2``, in nats (or bits). Beside each
measurement: the exact Page value (Page, PRL 71, 1291 (1993); proved by Foong & Kanno 1994,
Sánchez-Ruiz 1995, Sen 1996), the maximum ``m ln 2``, and ``volume_fraction = S / S_Page``.
Per configuration :func:`verdicts` fits the half-cut entropy against n and says whether it grows
like the volume law or saturates like an area law, with the fit's uncertainty.

>>> round(page_entropy(2, 1), 12)  # two qubits: 1/3 nat
0.333333333333
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.special import digamma

from bpdiag import results as _io
from bpdiag._resources import as_axes, plan_chunk, point_seed
from bpdiag.circuits import ANSATZE, Circuit

STATES = ("data", "product", "ghz", "haar", "trained")
UNITS = ("nats", "bits")
PARAMS = ("shared", "row")
ENGINES = ("jax", "pennylane")
COLUMNS = [
    "state",
    "encoding",
    "ansatz",
    "n_qubits",
    "n_layers",
    "cut",
    "cut_size",
    "entropy",
    "entropy_se",
    "renyi2",
    "renyi2_se",
    "page",
    "page_renyi2",
    "max_entropy",
    "volume_fraction",
    "rows",
    "unit",
]
_KEY = ["state", "encoding", "ansatz", "n_qubits", "n_layers"]
#: Register shared by every small circuit, so one compiled program serves n = 2..8.
_SMALL_REGISTER = 8
LN2 = math.log(2.0)


# ---------------------------------------------------------------------------------------------
# Theory


def _check_cut(n: int, m: int) -> None:
    if int(n) != n or n < 1:
        raise ValueError(f"n_qubits must be >= 1, got {n}")
    if int(m) != m or not 0 <= m <= n:
        raise ValueError(f"cut size must be in 0..{n}, got {m}")


@functools.lru_cache(maxsize=1024)
def page_entropy(n: int, m: int) -> float:
    """Exact mean von Neumann entropy (nats) of ``m`` qubits of a Haar-random ``n``-qubit state.

    Page 1993: with ``d_A = 2**min(m, n-m) <= d_B = 2**max(m, n-m)``,
    ``S = sum_{k = d_B + 1}^{d_A d_B} 1/k - (d_A - 1) / (2 d_B)``
    ``  = psi(d_A d_B + 1) - psi(d_B + 1) - (d_A - 1) / (2 d_B)`` (psi: digamma).

    >>> round(page_entropy(4, 2), 10)
    0.9223956599
    """
    _check_cut(n, m)
    k = min(m, n - m)
    if k == 0:
        return 0.0
    dA, dB = 2.0**k, 2.0 ** (n - k)
    if n <= 20:  # the harmonic sum itself, compensated: exact to rounding
        return math.fsum(1.0 / np.arange(dB + 1, dA * dB + 1)) - (dA - 1) / (2 * dB)
    return float(digamma(dA * dB + 1) - digamma(dB + 1) - (dA - 1) / (2 * dB))


def page_purity(n: int, m: int) -> float:
    """Exact mean purity ``E Tr rho_A^2 = (d_A + d_B) / (d_A d_B + 1)`` of ``m`` qubits of a
    Haar-random ``n``-qubit state (Lubkin, J. Math. Phys. 19, 1028 (1978)).

    ``-ln page_purity`` is the "annealed" Rényi-2 Page value: by Jensen's inequality it is a
    lower bound on the mean Rényi-2 entropy (tight for large ``d_A d_B``).
    """
    _check_cut(n, m)
    dA, dB = 2.0**m, 2.0 ** (n - m)
    return (dA + dB) / (dA * dB + 1)


def max_entropy(n: int, m: int) -> float:
    """Largest possible entanglement entropy of ``m`` of ``n`` qubits: ``min(m, n-m) ln 2``."""
    _check_cut(n, m)
    return min(m, n - m) * LN2


# ---------------------------------------------------------------------------------------------
# Entropies


class Entropies(NamedTuple):
    """Per-row entropies, float64[batch, n_cuts] each: von Neumann and Rényi-2."""

    vn: np.ndarray
    renyi2: np.ndarray


def contiguous_cuts(n_qubits: int) -> list[tuple[int, ...]]:
    """The contiguous cuts ``(0, .., m-1)`` for ``m = 1..n//2``."""
    return [tuple(range(m)) for m in range(1, n_qubits // 2 + 1)]


def random_cuts(n_qubits: int, per_size: int, *, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """``per_size`` random qubit subsets (sorted tuples) of each size ``m = 1..n//2``, drawn
    without replacement within a subset; ordered by size."""
    return [
        tuple(sorted(int(q) for q in rng.choice(n_qubits, size=m, replace=False)))
        for m in range(1, n_qubits // 2 + 1)
        for _ in range(per_size)
    ]


def _side(n: int, cut: tuple[int, ...]) -> tuple[int, ...]:
    """The smaller side of the bipartition (both sides have the same spectrum)."""
    side = tuple(sorted(cut))
    if len(side) > n - len(side):
        side = tuple(q for q in range(n) if q not in side)
    return side


def _grams(states: np.ndarray, n: int, sides: list[tuple[int, ...]]) -> dict:
    """Reduced density matrices ``rho_S = M M^dagger`` (M: states reshaped to [B, d_S, d_rest])
    for each side S. Prefix sides share one product: smaller prefixes are partial traces of the
    largest one."""
    B = states.shape[0]
    out: dict[tuple[int, ...], np.ndarray] = {}
    prefixes = sorted({s for s in sides if s == tuple(range(len(s)))}, key=len, reverse=True)
    if prefixes:
        k = len(prefixes[0])
        M = states.reshape(B, 2**k, 2 ** (n - k))
        G = M @ M.conj().swapaxes(1, 2)
        out[prefixes[0]] = G
        for p in prefixes[1:]:
            j = len(p)
            r = 2 ** (k - j)
            out[p] = G.reshape(B, 2**j, r, 2**j, r).trace(axis1=2, axis2=4)
    tensor = None
    for s in sides:
        if s in out:
            continue
        if tensor is None:
            tensor = states.reshape((B,) + (2,) * n)
        rest = [q for q in range(n) if q not in s]
        M = tensor.transpose((0,) + tuple(q + 1 for q in s) + tuple(q + 1 for q in rest))
        M = M.reshape(B, 2 ** len(s), 2 ** len(rest))
        out[s] = M @ M.conj().swapaxes(1, 2)
    return out


def _chunk_entropies(states: np.ndarray, n: int, cuts: list, sides: list) -> tuple:
    grams = _grams(states, n, sorted(set(sides)))
    vn = np.empty((states.shape[0], len(cuts)))
    r2 = np.empty_like(vn)
    cache: dict = {}
    for c, side in enumerate(sides):
        if side not in cache:
            G = grams[side]
            p = np.clip(np.linalg.eigvalsh(G), 0.0, None)
            logp = np.log(np.where(p > 0, p, 1.0))
            purity = np.sum(np.abs(G) ** 2, axis=(1, 2))
            cache[side] = (-np.sum(p * logp, axis=1), np.maximum(-np.log(purity), 0.0))
        vn[:, c], r2[:, c] = cache[side]
    return vn, r2


def _chunk_density_entropies(rhos: np.ndarray, n: int, cuts: list) -> tuple:
    """Entropies of the reduced states ``rho_A = Tr_rest rho`` of density matrices
    complex[B, 2**n, 2**n], for each cut A itself (for a mixed state the two sides differ)."""
    B = rhos.shape[0]
    tensor = rhos.reshape((B,) + (2,) * (2 * n))
    vn = np.empty((B, len(cuts)))
    r2 = np.empty_like(vn)
    cache: dict = {}
    for c, cut in enumerate(cuts):
        a = tuple(sorted(cut))
        if a not in cache:
            rest = [q for q in range(n) if q not in a]
            order = (
                (0,)
                + tuple(q + 1 for q in a)
                + tuple(q + 1 for q in rest)
                + tuple(q + 1 + n for q in a)
                + tuple(q + 1 + n for q in rest)
            )
            dA, dR = 2 ** len(a), 2 ** len(rest)
            R = tensor.transpose(order).reshape(B, dA, dR, dA, dR)
            G = np.einsum("bijkj->bik", R)
            G = 0.5 * (G + G.conj().swapaxes(1, 2))
            p = np.clip(np.linalg.eigvalsh(G), 0.0, None)
            logp = np.log(np.where(p > 0, p, 1.0))
            purity = np.sum(np.abs(G) ** 2, axis=(1, 2))
            cache[a] = (-np.sum(p * logp, axis=1), np.maximum(-np.log(purity), 0.0))
        vn[:, c], r2[:, c] = cache[a]
    return vn, r2


def _blas_single_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return nullcontext()
    return threadpool_limits(1, user_api="blas")


def entanglement_entropies(
    states: np.ndarray,
    n_qubits: int,
    cuts: Sequence[Sequence[int]] | None = None,
    *,
    unit: str = "nats",
    memory_budget: float | None = None,
    workers: int | None = None,
) -> Entropies:
    """Von Neumann and Rényi-2 entanglement entropies of pure states, batched.

    states: complex[batch, 2**n] (wire 0 most significant; normalised), or density matrices
    complex[batch, 2**n, 2**n] (as PennyLane's ``default.mixed`` returns; then ``rho_A`` is the
    partial trace of each over the complement of A, and the entropies are those of subsystem A
    itself, which for a pure state equal the entanglement entropies). cuts: subsystems A as
    sequences of qubit indices (default :func:`contiguous_cuts`). Returns :class:`Entropies` of
    float64[batch, n_cuts] in ``unit`` (``nats`` or ``bits``).

    For each cut the smaller side S of the bipartition is taken (both sides have one spectrum);
    ``rho_S = M M^dagger`` with M the state as a [d_S, d_rest] matrix, one batched product and
    one batched ``eigvalsh`` per cut and batch (contiguous cuts share one product: smaller ones
    are partial traces of the largest). ``S = -sum p ln p``; ``S_2 = -ln ||rho_S||_F^2``. Rows run
    in chunks that fit the memory budget (:func:`bpdiag._resources.plan_chunk`), each chunk split
    over ``workers`` threads (default: the CPU count) with single-threaded BLAS.

    >>> ghz = np.zeros((1, 8)); ghz[0, [0, 7]] = 2**-0.5
    >>> entanglement_entropies(ghz, 3, [(0,), (1,)], unit="bits").vn
    array([[1., 1.]])
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
    n = int(n_qubits)
    states = np.asarray(states)
    if states.ndim == 1:
        states = states[None]
    density = states.ndim == 3
    if states.shape[1:] not in ((2**n,), (2**n, 2**n)):
        raise ValueError(
            f"states must have shape [batch, {2**n}] (or [batch, {2**n}, {2**n}] density "
            f"matrices) for {n} qubits, got {states.shape}"
        )
    cuts = contiguous_cuts(n) if cuts is None else [tuple(int(q) for q in c) for c in cuts]
    for c in cuts:
        if not c or len(set(c)) != len(c) or min(c) < 0 or max(c) >= n or len(c) == n:
            raise ValueError(f"a cut must be a proper, non-empty subset of 0..{n - 1}, got {c}")
    sides = [_side(n, c) for c in cuts]
    B = states.shape[0]
    if not cuts or B == 0:
        return Entropies(np.zeros((B, len(cuts))), np.zeros((B, len(cuts))))
    itemsize = 16
    blocks = {tuple(sorted(c)) for c in cuts} if density else set(sides)
    gram_bytes = sum(4 ** len(s) for s in blocks) * itemsize
    per_row = (4**n if density else 2**n) * itemsize * 2 + 3 * gram_bytes
    chunk = plan_chunk(B, per_row, what=f"entropies of {n}-qubit states", budget=memory_budget)
    workers = max(1, workers or os.cpu_count() or 1)
    vn = np.empty((B, len(cuts)))
    r2 = np.empty_like(vn)
    with _blas_single_thread(), ThreadPoolExecutor(workers) as pool:
        for i in range(0, B, chunk):
            block = states[i : i + chunk]
            bounds = np.linspace(0, len(block), min(workers, len(block)) + 1).astype(int)
            parts = [block[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
            if density:
                results = pool.map(lambda s: _chunk_density_entropies(s, n, cuts), parts)
            else:
                results = pool.map(lambda s: _chunk_entropies(s, n, cuts, sides), parts)
            for (a, b), (v, r) in zip(zip(bounds[:-1], bounds[1:]), results):
                vn[i + a : i + b], r2[i + a : i + b] = v, r
    if unit == "bits":
        vn, r2 = vn / LN2, r2 / LN2
    return Entropies(vn, r2)


# ---------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class EntropyConfig:
    """Everything that determines an entropy run's numbers (written to the JSON)."""

    qubits: tuple[int, ...] = tuple(range(2, 11))
    encoding: tuple[str, ...] = ("angle", "zz")
    layers: tuple[int, ...] = (0, 1, 2, 5)
    rows: int = 500
    state: tuple[str, ...] = ("data",)
    ansatz: str = "original"
    params: str = "shared"
    data: str = "synthetic"
    hidden: int = 16
    random_cuts: int = 0
    pairs: str = "linear"
    unit: str = "nats"
    seed: int = 0
    dtype: str = "complex128"
    checkpoint: str | None = None
    engine: str = "jax"
    device: str = "default.qubit"
    memory_budget: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        from bpdiag.circuits.encodings import ENCODINGS, PAIRS

        as_axes(self, ("qubits", "encoding", "layers", "state"))
        object.__setattr__(self, "data", str(self.data))
        if min(self.qubits) < 2:
            raise ValueError(f"n_qubits must be >= 2, got {min(self.qubits)}")
        if min(self.layers) < 0:
            raise ValueError(f"n_layers must be >= 0, got {min(self.layers)}")
        if self.rows < 2:
            raise ValueError(f"rows must be >= 2 (for a standard error), got {self.rows}")
        for e in self.encoding:
            if e not in ENCODINGS:
                raise ValueError(f"unknown encoding {e!r}; choose from {', '.join(ENCODINGS)}")
        for s in self.state:
            if s not in STATES:
                raise ValueError(f"unknown state {s!r}; choose from {', '.join(STATES)}")
        if self.ansatz not in ANSATZE:
            raise ValueError(f"unknown ansatz {self.ansatz!r}; choose from {', '.join(ANSATZE)}")
        if self.params not in PARAMS:
            raise ValueError(f"params must be one of {', '.join(PARAMS)}, got {self.params!r}")
        if self.pairs not in PAIRS:
            raise ValueError(f"pairs must be one of {', '.join(PAIRS)}, got {self.pairs!r}")
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {self.unit!r}")
        if self.hidden < 1:
            raise ValueError(f"hidden must be >= 1, got {self.hidden}")
        if self.random_cuts < 0:
            raise ValueError(f"random_cuts must be >= 0, got {self.random_cuts}")
        if self.dtype not in ("complex128", "complex64"):
            raise ValueError(f"dtype must be complex128 or complex64, got {self.dtype!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if self.engine == "pennylane":
            if self.dtype != "complex128":
                raise ValueError(
                    f"dtype {self.dtype} is for the jax engine; "
                    "the pennylane engine runs complex128"
                )
            if "data" in self.state and "amplitude" in self.encoding:
                raise ValueError(
                    "encoding 'amplitude' runs on the jax engine only; the pennylane engine runs "
                    "the circuit encodings (angle, zz, reupload)"
                )
        if self.checkpoint is not None:
            object.__setattr__(self, "checkpoint", str(self.checkpoint))
            if "trained" not in self.state:
                object.__setattr__(self, "state", self.state + ("trained",))
        elif "trained" in self.state:
            raise ValueError("state 'trained' needs a checkpoint of `bpdiag train` (--checkpoint)")
        if (
            "data" in self.state
            and "amplitude" in self.encoding
            and self.params == "row"
            and max(self.layers) > 0
        ):
            raise ValueError(
                "amplitude encoding with an ansatz needs params='shared' (one parameter vector "
                "for all rows)"
            )


def _points(config: EntropyConfig, trained: Trained | None = None) -> list[tuple]:
    """Grid points (state, encoding, ansatz, n_qubits, n_layers): data first, then the trained
    model's one point, then references."""
    pts = []
    if "data" in config.state:
        for enc in config.encoding:
            for n in config.qubits:
                for L in config.layers:
                    pts.append(("data", enc, config.ansatz, n, L))
    if trained is not None:
        pts.append(trained.point)
    for s in config.state:
        if s not in ("data", "trained"):
            pts.extend((s, "none", "none", n, 0) for n in config.qubits)
    return pts


# ---------------------------------------------------------------------------------------------
# Rows → angles


def load_features(config: EntropyConfig) -> tuple[np.ndarray, dict]:
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


# ---------------------------------------------------------------------------------------------
# Circuits and states of a grid point


def _product_circuit(n: int) -> Circuit:
    """RY(x_i) then RZ(x_{n+i}) on every wire: any product state, from 2n data angles."""
    from bpdiag.circuits import X

    gates = ("RY",) * n + ("RZ",) * n
    wires = tuple((w,) for w in range(n)) * 2
    sources = tuple(X(j) for j in range(2 * n))
    return Circuit(n, gates, wires, sources, 0, 2 * n, "product")


def _ghz_circuit(n: int) -> Circuit:
    """H on wire 0, then CNOT(i, i+1): (|0..0> + |1..1>)/sqrt(2)."""
    gates = ("H",) + ("CNOT",) * (n - 1)
    wires = ((0,),) + tuple((i, i + 1) for i in range(n - 1))
    return Circuit(n, gates, wires, ((),) * n, 0, 0, "ghz")


def _circuit(config: EntropyConfig, point, trained: Trained | None = None) -> Circuit | None:
    from bpdiag.circuits.encodings import encoded_circuit

    state, enc, ansatz, n, L = point
    if state == "trained":
        return trained.circuit
    if state == "data":
        return encoded_circuit(enc, n, L, ansatz=ansatz, seed=config.seed, pairs=config.pairs)
    if state == "product":
        return _product_circuit(n)
    if state == "ghz":
        return _ghz_circuit(n)
    return None  # haar: sampled directly


def _register_for(n: int) -> int:
    return _SMALL_REGISTER if n <= _SMALL_REGISTER else n


def _engine_plan(config: EntropyConfig, points, trained: Trained | None = None) -> dict:
    """Per register: the union of wire kernels and a padded gate capacity, so that one compiled
    program serves every circuit of that register (extra wires stay |0>, padding gates are
    skipped; both leave every amplitude unchanged)."""
    from bpdiag.circuits.encodings import angle, compose
    from bpdiag.engines._program import gate_kernels

    plan: dict[int, dict] = {}
    for p in points:
        c = _circuit(config, p, trained)
        if c is None:
            continue
        if p[1] == "amplitude" and c.n_gates:
            c = compose(angle(c.n_qubits), c)
        N = _register_for(c.n_qubits)
        entry = plan.setdefault(N, {"kernels": set(), "gates": 1})
        entry["kernels"].update(gate_kernels(c))
        entry["gates"] = max(entry["gates"], c.n_gates)
    for entry in plan.values():
        entry["kernels"] = tuple(sorted(entry["kernels"])) or ((0, -1),)
        entry["gates"] = 1 << max(4, math.ceil(math.log2(entry["gates"])))
    return plan


def _states(config: EntropyConfig, point, plan, angles_for, rows: int, trained=None) -> np.ndarray:
    """The states complex[rows, 2**n] of one grid point."""
    from bpdiag.circuits.encodings import encoding_features
    from bpdiag.engines.states import amplitude_states, simulate_states

    state, enc, _, n, L = point
    extra = (config.params,) if state == "data" else ()
    rng = np.random.default_rng(point_seed(config.seed, *point, *extra))
    if state == "haar":  # Haar-random: normalised complex Gaussian vectors
        z = rng.normal(size=(rows, 2**n)) + 1j * rng.normal(size=(rows, 2**n))
        return z / np.linalg.norm(z, axis=1, keepdims=True)
    c = _circuit(config, point, trained)
    if config.engine == "pennylane":
        return _pennylane_states(config, point, c, rng, angles_for, rows, trained)
    N = _register_for(n)
    engine = dict(
        n_register=N,
        n_gates=plan[N]["gates"],
        kernels=plan[N]["kernels"],
        dtype=config.dtype,
        memory_budget=config.memory_budget,
    )
    if state == "product":  # Haar-random qubit states: polar angle arccos(1 - 2u)
        x = np.concatenate(
            [np.arccos(1 - 2 * rng.random((rows, n))), rng.uniform(0, 2 * np.pi, (rows, n))],
            axis=1,
        )
        return simulate_states(c, np.zeros(0), x, **engine)
    if state == "ghz":
        return simulate_states(c, np.zeros((rows, 0)), None, **engine)
    if state == "trained":
        return simulate_states(c, trained.params, trained.angles, **engine)
    shape = (c.n_params,) if config.params == "shared" else (rows, c.n_params)
    params = rng.uniform(0, 2 * np.pi, size=shape)
    if enc == "amplitude":
        return amplitude_states(angles_for(n, amplitude=True), c, params, **engine)
    x = encoding_features(enc, angles_for(n), pairs=config.pairs)
    return simulate_states(c, params, x, **engine)


def _pennylane_states(config, point, c: Circuit, rng, angles_for, rows: int, trained=None):
    """The states of one grid point from a PennyLane QNode on ``config.device``, one call per
    row, with the same random draws as the JAX path: complex128[rows, 2**n], or
    complex128[rows, 2**n, 2**n] density matrices from a mixed-state device (default.mixed)."""
    from bpdiag.circuits.encodings import encoding_features
    from bpdiag.engines import pennylane as pe

    state, enc, _, n, _ = point
    if state == "product":
        x = np.concatenate(
            [np.arccos(1 - 2 * rng.random((rows, n))), rng.uniform(0, 2 * np.pi, (rows, n))],
            axis=1,
        )
        params = np.zeros(0)
    elif state == "ghz":
        params, x = np.zeros((rows, 0)), None
    elif state == "trained":
        params, x = trained.params, trained.angles
    else:
        shape = (c.n_params,) if config.params == "shared" else (rows, c.n_params)
        params = rng.uniform(0, 2 * np.pi, size=shape)
        x = encoding_features(enc, angles_for(n), pairs=config.pairs)
    return pe.simulate(c, params, x if c.n_data else None, device=config.device)


def _se(a: np.ndarray) -> float:
    """Standard error of the mean (NaN for fewer than 2 values)."""
    return float(a.std(ddof=1) / math.sqrt(len(a))) if len(a) > 1 else float("nan")


def summarize(ent: Entropies, cuts: list[tuple[int, ...]]) -> list[dict]:
    """Mean and standard error over rows of each cut size's entropies (for several cuts of one
    size, each row's mean over those cuts). Returns one dict per cut size, in size order."""
    sizes = np.array([len(c) for c in cuts])
    out = []
    for m in sorted(set(sizes.tolist())):
        cols = sizes == m
        v = ent.vn[:, cols].mean(axis=1)
        r = ent.renyi2[:, cols].mean(axis=1)
        out.append(
            {
                "cut_size": int(m),
                "entropy": float(v.mean()),
                "entropy_se": _se(v),
                "renyi2": float(r.mean()),
                "renyi2_se": _se(r),
            }
        )
    return out


def _point_rows(config: EntropyConfig, point, states: np.ndarray) -> pd.DataFrame:
    state, enc, ansatz, n, L = point
    kinds = [("contiguous", contiguous_cuts(n))]
    if config.random_cuts:
        rng = np.random.default_rng(point_seed(config.seed, "cuts", n))
        kinds.append(("random", random_cuts(n, config.random_cuts, rng=rng)))
    scale = 1.0 if config.unit == "nats" else 1.0 / LN2
    every = [c for _, cuts in kinds for c in cuts]
    ent = entanglement_entropies(
        states, n, every, unit=config.unit, memory_budget=config.memory_budget
    )
    rows, start = [], 0
    for kind, cuts in kinds:
        part = slice(start, start + len(cuts))
        start += len(cuts)
        for rec in summarize(Entropies(ent.vn[:, part], ent.renyi2[:, part]), cuts):
            m = rec["cut_size"]
            page = page_entropy(n, m) * scale
            rows.append(
                {
                    "state": state,
                    "encoding": enc,
                    "ansatz": ansatz,
                    "n_qubits": n,
                    "n_layers": L,
                    "cut": kind,
                    **rec,
                    "page": page,
                    "page_renyi2": -math.log(page_purity(n, m)) * scale,
                    "max_entropy": max_entropy(n, m) * scale,
                    "volume_fraction": rec["entropy"] / page,
                    "rows": int(states.shape[0]),
                    "unit": config.unit,
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


# ---------------------------------------------------------------------------------------------
# The analysis


def _done_keys(path: Path) -> set[tuple]:
    return _io.finished_keys(path, COLUMNS, _KEY, "entropy")


def entropy(
    qubits: Sequence[int] = tuple(range(2, 11)),
    encoding: Sequence[str] = ("angle", "zz"),
    layers: Sequence[int] = (0, 1, 2, 5),
    rows: int = 500,
    *,
    state: Sequence[str] = ("data",),
    data: str | Path = "synthetic",
    features: np.ndarray | None = None,
    ansatz: str = "original",
    params: str = "shared",
    hidden: int = 16,
    random_cuts: int = 0,
    pairs: str = "linear",
    unit: str = "nats",
    seed: int = 0,
    dtype: str = "complex128",
    checkpoint: str | Path | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
    memory_budget: float | None = None,
    engine: str = "jax",
    device: str = "default.qubit",
    fallback: bool = False,
) -> pd.DataFrame:
    """Entanglement entropies of data-encoded (and reference) states on a grid.

    For each grid point (state, encoding, ansatz, n_qubits, n_layers) and each cut size
    ``m = 1..n//2``: the mean over ``rows`` states of the von Neumann and Rényi-2 entropies of
    the contiguous cut ``{0..m-1}`` (``cut = "contiguous"``) and, with ``random_cuts = K``, of K
    random m-qubit subsets (``cut = "random"``), with standard errors; the exact Page value
    ``page``, ``page_renyi2 = -ln E Tr rho^2`` of Haar states, ``max_entropy = m ln 2`` and
    ``volume_fraction = entropy / page``. Entropies are in ``unit`` (nats or bits).

    Data states: ``rows`` training rows of ``data`` (or the given ``features``
    float[rows, F], already scaled) → a seeded random torch encoder per n (``n`` outputs, or
    ``2**n`` for ``amplitude``) → angles ``pi * tanh(...)`` → ``encoding`` → ``n_layers`` layers
    of ``ansatz`` with parameters uniform in [0, 2 pi): one vector per point (``params =
    "shared"``, like one model) or one per row (``"row"``). ``state`` may add ``product``,
    ``ghz`` and ``haar`` references (``encoding = ansatz = "none"``, ``n_layers = 0``).
    ``checkpoint`` (a ``bpdiag train`` checkpoint or run folder) adds ``state = "trained"``: the
    trained model's own encoder, circuit and weights on ``rows`` of its training rows
    (:func:`load_trained`), at its qubit count and depth.

    Columns: ``state, encoding, ansatz, n_qubits, n_layers, cut, cut_size, entropy, entropy_se,
    renyi2, renyi2_se, page, page_renyi2, max_entropy, volume_fraction, rows, unit``. With
    ``out``, each finished point is appended to ``out/entropy.csv`` at once; ``resume`` skips the
    points already there. ``df.attrs`` holds ``config``, ``timing`` and ``data`` (never in the
    CSV).

    ``engine = "pennylane"`` computes the states with a PennyLane QNode (one call per row) on
    ``device`` (``default.qubit``, ``lightning.qubit``, ``lightning.gpu``, ``default.mixed``, ...;
    same random draws, so the same numbers as the JAX engine to rounding); ``default.mixed``
    returns density matrices, whose reduced states give the entropies. Circuit encodings only
    (not ``amplitude``), complex128. A device that cannot be created raises
    :class:`bpdiag.engines.pennylane.DeviceUnavailable` (one line), or with ``fallback`` warns
    and uses ``default.qubit``.
    """
    if engine == "pennylane":
        from bpdiag.engines.pennylane import resolve_device

        device = resolve_device(device, fallback=fallback)
    config = EntropyConfig(
        tuple(qubits),
        tuple(encoding),
        tuple(layers),
        int(rows),
        tuple(state),
        ansatz,
        params,
        str(data),
        int(hidden),
        int(random_cuts),
        pairs,
        unit,
        int(seed),
        dtype,
        None if checkpoint is None else str(checkpoint),
        engine,
        device,
        memory_budget=memory_budget,
    )
    path = Path(out) / "entropy.csv" if out is not None else None
    if path is not None and path.exists() and not resume:
        path.unlink()
    done = _done_keys(path) if path is not None else set()
    trained = None
    if config.checkpoint is not None:
        trained = load_trained(config.checkpoint, config.rows, seed=config.seed)
    points = _points(config, trained)
    todo = [p for p in points if p not in done]
    nmax = max(p[3] for p in points)
    # Memory for the largest point, before any work (amplitude + ansatz holds 2**n columns).
    itemsize = 16 if dtype == "complex128" else 8
    plan_chunk(1, 2**nmax * itemsize * 8, what=f"a {nmax}-qubit statevector", budget=memory_budget)
    if config.engine == "pennylane" and config.device == "default.mixed":  # rows x 4**n at once
        plan_chunk(
            1,
            config.rows * 4**nmax * 16 * 3,
            what=f"{config.rows} density matrices of {nmax} qubits (default.mixed)",
            budget=memory_budget,
        )
    data_info: dict = {}
    feats = None
    if any(p[0] == "data" for p in todo):
        if features is not None:
            feats = np.atleast_2d(np.asarray(features, dtype=np.float64))[: config.rows]
            data_info = {"source": "features argument", "rows_used": int(len(feats))}
        else:
            feats, data_info = load_features(config)
        if len(feats) < 2:
            raise ValueError(f"need at least 2 data rows, got {len(feats)}")
    cache: dict = {}

    def angles_for(n: int, amplitude: bool = False) -> np.ndarray:
        key = (n, amplitude)
        if key not in cache:
            n_out = 2**n if amplitude else n
            tag = "encoder-amplitude" if amplitude else "encoder"
            enc = random_encoder(
                feats.shape[1], n_out, hidden=config.hidden, seed=point_seed(config.seed, tag, n)
            )
            cache[key] = encode_angles(feats, enc)
        return cache[key]

    if trained is not None:
        data_info["trained"] = trained.info
    plan = _engine_plan(config, todo, trained) if config.engine == "jax" else {}
    frames, timing = [], []
    bar = _progress(len(points), progress)
    bar.update(len(points) - len(todo))
    for p in todo:
        R = {
            "data": len(feats) if feats is not None else 0,
            "trained": len(trained.angles) if trained is not None else 0,
        }.get(p[0], config.rows)
        t0 = time.perf_counter()
        states = _states(config, p, plan, angles_for, R, trained)
        t1 = time.perf_counter()
        frame = _point_rows(config, p, states)
        t2 = time.perf_counter()
        timing.append(dict(zip(_KEY, p)) | {"states_s": t1 - t0, "entropy_s": t2 - t1})
        if path is not None:
            _io.append_csv(frame, path)
        frames.append(frame)
        bar.update(1)
    bar.close()
    if path is not None:
        df = pd.read_csv(path)
        order = {pt: i for i, pt in enumerate(points)}
        df["_o"] = [order.get(tuple(r), -1) for r in df[_KEY].itertuples(index=False, name=None)]
        df = df.sort_values(["_o", "cut", "cut_size"], kind="stable").drop(columns="_o")
        df = df.reset_index(drop=True)
    else:
        df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    config_dict = asdict(config)
    config_dict["qubits"] = list(config.qubits)
    df.attrs["config"] = config_dict
    df.attrs["timing"] = timing
    df.attrs["data"] = data_info
    return df


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="entropy", unit="point", disable=not enabled, leave=False)


# ---------------------------------------------------------------------------------------------
# Verdict: volume law or area law


def _wls(x: np.ndarray, y: np.ndarray, sy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted straight-line fit y = a + b x. Returns (beta=[a, b], covariance) with the
    covariance inflated by the reduced chi^2 when the line does not fit within the errors."""
    W = 1.0 / sy**2
    X = np.stack([np.ones_like(x), x], axis=1)
    cov = np.linalg.inv(X.T @ (W[:, None] * X))
    beta = cov @ X.T @ (W * y)
    resid = y - X @ beta
    dof = len(x) - 2
    scale = max(1.0, float(resid @ (W * resid)) / dof) if dof > 0 else 1.0
    return beta, cov * scale


def verdict_from_curve(
    n: Sequence[int],
    s: Sequence[float],
    s_se: Sequence[float] | None = None,
    *,
    unit: str = "nats",
    volume: float = 0.5,
    area: float = 0.1,
    min_points: int = 3,
) -> dict:
    """Volume law or area law, from half-cut entropies ``s`` (in ``unit``) at qubit counts ``n``.

    Fits ``s = a + b n`` by weighted least squares over the *tail* of the curve (the points with
    n >= the median n, at least ``min_points``), where an area law has saturated; errors are
    ``s_se`` (floored at 1e-6) and the slope's standard error is inflated by the reduced chi^2
    when a line does not describe the tail. The slope is compared with the Page curve's slope
    ``b_page``, fitted the same way to ``page_entropy(n, n//2)`` (about ln 2 / 2 per qubit):
    ``f = b / b_page`` with standard error ``f_se``. Verdict:
    ``"volume"`` if ``f - 2 f_se >= volume`` (grows at least ``volume`` × as fast as Haar states,
    at 2 sigma); ``"area"`` if ``f + 2 f_se <= area`` (saturated at 2 sigma); otherwise
    ``"intermediate"`` (grows, but significantly slower than the volume law, or too noisy to
    tell); ``"insufficient"`` with fewer than ``min_points`` qubit counts.
    """
    n = np.asarray(n, dtype=float)
    s = np.asarray(s, dtype=float)
    se = np.zeros_like(s) if s_se is None else np.nan_to_num(np.asarray(s_se, dtype=float))
    order = np.argsort(n)
    n, s, se = n[order], s[order], se[order]
    scale = 1.0 if unit == "nats" else 1.0 / LN2
    out = {
        "slope": float("nan"),
        "slope_se": float("nan"),
        "page_slope": float("nan"),
        "slope_fraction": float("nan"),
        "slope_fraction_se": float("nan"),
        "intercept": float("nan"),
        "n_min": int(n.min()) if len(n) else 0,
        "n_max": int(n.max()) if len(n) else 0,
        "points": 0,
        "verdict": "insufficient",
    }
    if len(np.unique(n)) < min_points:
        return out
    tail = n >= np.median(n)
    if tail.sum() < min_points:
        tail = np.arange(len(n)) >= len(n) - min_points
    nt, st, sel = n[tail], s[tail], np.maximum(se[tail], 1e-6)
    beta, cov = _wls(nt, st, sel)
    page = np.array([page_entropy(int(k), int(k) // 2) for k in nt]) * scale
    pbeta, _ = _wls(nt, page, sel)
    f = beta[1] / pbeta[1]
    f_se = math.sqrt(cov[1, 1]) / abs(pbeta[1])
    if f - 2 * f_se >= volume:
        verdict = "volume"
    elif f + 2 * f_se <= area:
        verdict = "area"
    else:
        verdict = "intermediate"
    out.update(
        slope=float(beta[1]),
        slope_se=float(math.sqrt(cov[1, 1])),
        page_slope=float(pbeta[1]),
        slope_fraction=float(f),
        slope_fraction_se=float(f_se),
        intercept=float(beta[0]),
        n_min=int(nt.min()),
        n_max=int(nt.max()),
        points=int(tail.sum()),
        verdict=verdict,
    )
    return out


def verdicts(df: pd.DataFrame, **options) -> pd.DataFrame:
    """One verdict per configuration (state, encoding, ansatz, n_layers, cut) from the half-cut
    rows (``cut_size == n_qubits // 2``) of an :func:`entropy` table; see
    :func:`verdict_from_curve` (``options`` go there). Also reports ``volume_fraction`` at the
    largest n. Columns: ``state, encoding, ansatz, n_layers, cut, slope, slope_se, page_slope,
    slope_fraction, slope_fraction_se, intercept, n_min, n_max, points, volume_fraction_nmax,
    verdict`` (slopes in the table's unit per qubit)."""
    half = df[df["cut_size"] == df["n_qubits"] // 2]
    keys = ["state", "encoding", "ansatz", "n_layers", "cut"]
    out = []
    for key, g in half.groupby(keys, sort=False):
        g = g.sort_values("n_qubits")
        unit = str(g["unit"].iloc[0])
        v = verdict_from_curve(g["n_qubits"], g["entropy"], g["entropy_se"], unit=unit, **options)
        v["volume_fraction_nmax"] = float(g["volume_fraction"].iloc[-1])
        out.append(dict(zip(keys, key)) | v)
    return pd.DataFrame(out)


def write(df: pd.DataFrame, out: str | Path) -> dict[str, Path]:
    """Write ``entropy.csv`` (already appended when ``out`` was given), ``entropy.json`` (config,
    data, encoder, verdicts, timing, units) and the figure ``entropy.png``/``.pdf``."""
    from bpdiag.figures.entropy import entropy_figure

    config = df.attrs.get("config", {})
    unit = config.get("unit", str(df["unit"].iloc[0]) if len(df) else "nats")
    meta = {
        "analysis": "entropy",
        "config": config,
        "data": df.attrs.get("data", {}),
        "encoder": (
            f"Linear(F, {config.get('hidden', 16)}) -> ReLU -> Linear(n or 2**n) -> Tanh, times pi;"
            " PyTorch default init, seeded per n"
        ),
        "verdicts": verdicts(df).to_dict(orient="records") if len(df) else [],
        "timing": df.attrs.get("timing", []),
        "units": {
            "entropy": unit,
            "renyi2": unit,
            "page": unit,
            "max_entropy": unit,
            "volume_fraction": "1",
            "slope": f"{unit} per qubit",
        },
        "references": [
            "D. N. Page, Phys. Rev. Lett. 71, 1291 (1993)",
            "E. Lubkin, J. Math. Phys. 19, 1028 (1978)",
            "V. Havlicek et al., Nature 567, 209 (2019)",
        ],
    }
    return _io.write_result(df, meta, out, "entropy", figure=entropy_figure)
