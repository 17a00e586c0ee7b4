"""The entropy kernel: von Neumann and Rényi-2 entanglement entropies of batches of states.

Entropies of the reduced state ``rho_A`` with eigenvalues ``p``: von Neumann
``S = -sum p ln p`` and Rényi-2 ``S_2 = -ln Tr rho_A^2``, in nats (or bits). Rows run through
the one batching loop (:func:`bpdiag.engines._batch.batched`) in chunks that fit the memory
budget (:func:`entropy_bytes_per_row`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import NamedTuple

import numpy as np

from bpdiag._resources import plan_chunk
from bpdiag.analyses.entropy._theory import LN2
from bpdiag.engines._batch import batched

UNITS = ("nats", "bits")


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


def entropy_bytes_per_row(
    n_qubits: int, cuts: Sequence[Sequence[int]], *, density: bool = False
) -> float:
    """Estimated peak bytes per row of :func:`entanglement_entropies`: two copies of the row
    (complex128[2**n], or [2**n, 2**n] for a density matrix: the reshaped/transposed copy and its
    conjugate) plus three complex128 reduced density matrices of every distinct block (the
    Gram product, its eigen-workspace and ``|G|**2``). Blocks are the smaller side of each cut
    for pure states and the cut itself for density matrices."""
    n = int(n_qubits)
    itemsize = 16
    cuts = [tuple(sorted(int(q) for q in c)) for c in cuts]
    blocks = set(cuts) if density else {_side(n, c) for c in cuts}
    gram_bytes = sum(4 ** len(s) for s in blocks) * itemsize
    return float((4**n if density else 2**n) * itemsize * 2 + 3 * gram_bytes)


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
    in chunks that fit the memory budget (:func:`entropy_bytes_per_row`), each chunk split
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
    per_row = entropy_bytes_per_row(n, cuts, density=density)
    chunk = plan_chunk(B, per_row, what=f"entropies of {n}-qubit states", budget=memory_budget)
    workers = max(1, workers or os.cpu_count() or 1)
    with _blas_single_thread(), ThreadPoolExecutor(workers) as pool:

        def run(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            bounds = np.linspace(0, len(block), min(workers, len(block)) + 1).astype(int)
            parts = [block[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
            if density:
                results = list(pool.map(lambda s: _chunk_density_entropies(s, n, cuts), parts))
            else:
                results = list(pool.map(lambda s: _chunk_entropies(s, n, cuts, sides), parts))
            return np.concatenate([v for v, _ in results]), np.concatenate([r for _, r in results])

        vn, r2 = batched(run, states, chunk=chunk, pad=False)
    if unit == "bits":
        vn, r2 = vn / LN2, r2 / LN2
    return Entropies(vn, r2)


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
