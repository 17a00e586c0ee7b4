"""Ansatz families: functions ``(n_qubits, n_layers, **options) -> Circuit``.

Each family records the gate index at which each of its layers starts in ``meta["layer_starts"]``.
"""

from __future__ import annotations

import math

import numpy as np

from bpdiag.circuits._circuit import (
    ANSATZE,
    BASIC_GATES,
    C,
    Circuit,
    P,
    Source,
    X,
    _Builder,
)
from bpdiag.circuits.gates import arity, is_rotation


def _check_size(n_qubits: int, n_layers: int, minimum: int = 1) -> None:
    if int(n_qubits) != n_qubits or n_qubits < minimum:
        raise ValueError(f"n_qubits must be >= {minimum}, got {n_qubits}")
    if int(n_layers) != n_layers or n_layers < 0:
        raise ValueError(f"n_layers must be >= 0, got {n_layers}")


def chain_pairs(n: int, ring: bool = False) -> list[tuple[int, int]]:
    """Nearest-neighbour pairs ``(i, i+1)``; with ``ring`` also ``(n-1, 0)`` when n > 2."""
    pairs = [(i, i + 1) for i in range(n - 1)]
    if ring and n > 2:
        pairs.append((n - 1, 0))
    return pairs


def dense_hea(n_qubits: int, n_layers: int, *, ring: bool = False) -> Circuit:
    """Dense hardware-efficient ansatz: each layer is RY then RZ on every qubit, then CZ on every
    nearest-neighbour pair (open chain, or a ring). ``2 * n_qubits * n_layers`` parameters."""
    _check_size(n_qubits, n_layers)
    b = _Builder(n_qubits)
    for _ in range(n_layers):
        b.layer()
        for w in range(n_qubits):
            b.rot("RY", w)
            b.rot("RZ", w)
        for pair in chain_pairs(n_qubits, ring):
            b.add("CZ", pair)
    return b.circuit("dense", family="dense", n_layers=n_layers, ring=ring)


def sparse_hea(
    n_qubits: int,
    n_layers: int,
    *,
    pattern: str = "brickwall",
    density: float = 0.5,
    seed: int = 0,
    ring: bool = False,
) -> Circuit:
    """Sparse HEA: the dense HEA's rotations, but each layer entangles only some pairs.

    ``pattern="brickwall"``: even pairs (0,1),(2,3).. on even layers, odd pairs on odd layers.
    ``pattern="random"``: each nearest-neighbour pair is kept with probability ``density``
    (0 < density <= 1), drawn from ``seed``.
    """
    _check_size(n_qubits, n_layers)
    if pattern not in ("brickwall", "random"):
        raise ValueError(f"pattern must be 'brickwall' or 'random', got {pattern!r}")
    if not 0 < density <= 1:
        raise ValueError(f"density must be in (0, 1], got {density}")
    rng = np.random.default_rng(seed)
    pairs = chain_pairs(n_qubits, ring)
    b = _Builder(n_qubits)
    for layer in range(n_layers):
        b.layer()
        for w in range(n_qubits):
            b.rot("RY", w)
            b.rot("RZ", w)
        if pattern == "brickwall":
            chosen = [p for p in pairs if min(p) % 2 == layer % 2 and p != (n_qubits - 1, 0)]
            if ring and n_qubits > 2 and n_qubits % 2 == 0 and layer % 2 == 1:
                chosen.append((n_qubits - 1, 0))
        else:
            keep = rng.random(len(pairs)) < density
            chosen = [p for p, k in zip(pairs, keep) if k]
        for pair in chosen:
            b.add("CZ", pair)
    return b.circuit(
        "sparse", family="sparse", n_layers=n_layers, pattern=pattern, density=density, seed=seed
    )


def mcclean(n_qubits: int, n_layers: int, *, seed: int = 0) -> Circuit:
    """McClean et al. 2018: RY(pi/4) on every qubit, then layers of single-qubit rotations about
    axes drawn at random (seeded) from {X, Y, Z}, each followed by a CZ ladder (i, i+1)."""
    _check_size(n_qubits, n_layers)
    rng = np.random.default_rng(seed)
    b = _Builder(n_qubits)
    for w in range(n_qubits):
        b.add("RY", (w,), C(math.pi / 4))
    for _ in range(n_layers):
        b.layer()
        axes = rng.integers(0, 3, size=n_qubits)
        for w in range(n_qubits):
            b.rot(("RX", "RY", "RZ")[axes[w]], w)
        for pair in chain_pairs(n_qubits):
            b.add("CZ", pair)
    return b.circuit("mcclean", family="mcclean", n_layers=n_layers, seed=seed)


def original_circuit(n_qubits: int, n_layers: int) -> Circuit:
    """The original option-pricing circuit: RY(x_i) on every qubit, then per layer RZ(w) on every
    qubit and a CNOT ring (i, i+1 mod n). Readout <Z_i> on every qubit.

    For n = 2 the ring is CNOT(0,1), CNOT(1,0); for n = 1 there is no entangler. With the
    encoding repeated before every layer it is
    ``bpdiag.circuits.encodings.encoded_circuit("reupload", n, L)`` (the one encoded-circuit
    builder).
    """
    _check_size(n_qubits, n_layers)
    b = _Builder(n_qubits)
    for w in range(n_qubits):
        b.add("RY", (w,), X(w))
    for _ in range(n_layers):
        b.layer()
        for w in range(n_qubits):
            b.rot("RZ", w)
        if n_qubits > 1:
            for i in range(n_qubits):
                b.add("CNOT", (i, (i + 1) % n_qubits))
    c = b.circuit("original", family="original", n_layers=n_layers)
    return Circuit(c.n_qubits, c.gates, c.wires, c.sources, c.n_params, n_qubits, c.name, c.meta)


def build(ansatz: str, n_qubits: int, n_layers: int, *, seed: int = 0, **options) -> Circuit:
    """Build an ansatz family by name: ``dense``, ``sparse``, ``mcclean`` or ``original``.

    ``seed`` only matters for random structure (``mcclean`` axes, ``sparse`` random pattern).
    """
    if ansatz == "dense":
        return dense_hea(n_qubits, n_layers, **options)
    if ansatz == "sparse":
        return sparse_hea(n_qubits, n_layers, seed=seed, **options)
    if ansatz == "mcclean":
        return mcclean(n_qubits, n_layers, seed=seed, **options)
    if ansatz == "original":
        return original_circuit(n_qubits, n_layers, **options)
    raise ValueError(f"unknown ansatz {ansatz!r}; choose from {', '.join(ANSATZE)}")


def random_circuit(
    n_qubits: int, n_gates: int, *, seed: int = 0, n_data: int = 0, gates: tuple = BASIC_GATES
) -> Circuit:
    """A random circuit for cross-engine tests: random gates and wires; rotations are driven by a
    parameter, a data feature (if ``n_data``), a constant, or a sum of them."""
    rng = np.random.default_rng(seed)
    names = [g for g in gates if n_qubits > 1 or arity(g) == 1]
    b = _Builder(n_qubits)
    n_params = 0
    for _ in range(n_gates):
        g = names[rng.integers(len(names))]
        wires = tuple(rng.choice(n_qubits, size=arity(g), replace=False))
        srcs: tuple[Source, ...] = ()
        if is_rotation(g):
            r = rng.random()
            if n_data and r < 0.3:
                srcs = X(int(rng.integers(n_data)), float(rng.uniform(0.5, 2)))
            elif r < 0.4:
                srcs = C(float(rng.uniform(0, 2 * np.pi)))
            elif r < 0.5 and n_params:
                srcs = P(int(rng.integers(n_params))) + C(0.3)
            else:
                srcs = P(n_params)
                n_params += 1
        b.add(g, wires, srcs)
    c = b.circuit("random", family="random", seed=seed)
    return Circuit(c.n_qubits, c.gates, c.wires, c.sources, n_params, n_data, c.name, c.meta)
