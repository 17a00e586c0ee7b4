"""One circuit description, consumed by every engine.

A :class:`Circuit` is an immutable list of gates. Gate ``k`` is ``gates[k]`` acting on
``wires[k]``; if it is a rotation, its angle (radians) is

    angle = sum(coef * params[i] for ("param", i, coef))  +  coef * x[j] for ("data", j, coef)
            +  const

given by ``sources[k]``: a tuple of :class:`Source` terms (empty for fixed gates). Rotations are
``R_P(angle) = exp(-i angle P / 2)`` as in PennyLane. Wire 0 is the most significant qubit
(PennyLane's convention): the amplitude of basis state ``|b_0 b_1 ... b_{n-1}>`` sits at index
``sum(b_w << (n - 1 - w))`` of a flat state, or at ``state[b_0, ..., b_{n-1}]`` of a ``(2,)*n``
tensor.

Ansatz families are functions that build circuits: :func:`dense_hea`, :func:`sparse_hea`,
:func:`mcclean`, :func:`original_circuit`; :func:`build` picks one by name. Costs are diagonal
observables built by :func:`cost_diagonal`.

>>> c = dense_hea(3, 2)
>>> c.n_qubits, c.n_params, len(c.gates)
(3, 12, 16)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

ROTATIONS = ("RX", "RY", "RZ", "RZZ")
FIXED = ("CNOT", "CZ", "H", "S", "X", "Z")
GATES = ROTATIONS + FIXED
TWO_QUBIT = ("CNOT", "CZ", "RZZ")
#: Fixed gates that are Clifford (the exact-variance method needs this).
CLIFFORD = ("CNOT", "CZ", "H", "S", "X", "Z")

ANSATZE = ("dense", "sparse", "mcclean", "original")
COSTS = ("global", "local", "zz")


class Source(NamedTuple):
    """One term of a rotation angle: ``kind`` is ``"param"``, ``"data"`` or ``"const"``.

    ``index`` is the parameter or data-feature index (ignored for ``"const"``); ``coef`` multiplies
    it (for ``"const"`` it is the angle itself, radians).
    """

    kind: str
    index: int
    coef: float = 1.0


def P(i: int, coef: float = 1.0) -> tuple[Source, ...]:
    """Angle = ``coef * params[i]``."""
    return (Source("param", i, coef),)


def X(j: int, coef: float = 1.0) -> tuple[Source, ...]:
    """Angle = ``coef * x[j]`` (a data feature)."""
    return (Source("data", j, coef),)


def C(value: float) -> tuple[Source, ...]:
    """A fixed angle (radians)."""
    return (Source("const", -1, float(value)),)


@dataclass(frozen=True)
class Circuit:
    """An immutable gate list. Validated once here; engines trust it.

    Attributes:
        n_qubits: number of wires, >= 1.
        gates: gate names, from :data:`GATES`.
        wires: wires of each gate (1 or 2 ints).
        sources: for each gate, the tuple of :class:`Source` terms of its angle (empty if fixed).
        n_params: number of trainable parameters (>= 1 + the largest param index used).
        n_data: number of data features (>= 1 + the largest data index used).
        name: a label for tables and figures.
        meta: free-form description (family, layers, options) — not used by engines.
    """

    n_qubits: int
    gates: tuple[str, ...]
    wires: tuple[tuple[int, ...], ...]
    sources: tuple[tuple[Source, ...], ...]
    n_params: int = -1
    n_data: int = -1
    name: str = "circuit"
    meta: tuple[tuple[str, object], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.n_qubits < 1:
            raise ValueError(f"n_qubits must be >= 1, got {self.n_qubits}")
        k = len(self.gates)
        if len(self.wires) != k or len(self.sources) != k:
            raise ValueError(
                f"gates, wires and sources must have equal length, got {k}, "
                f"{len(self.wires)}, {len(self.sources)}"
            )
        max_p, max_d = -1, -1
        for g, (gate, wires, srcs) in enumerate(zip(self.gates, self.wires, self.sources)):
            if gate not in GATES:
                raise ValueError(f"gate {g}: unknown gate {gate!r}; known: {', '.join(GATES)}")
            arity = 2 if gate in TWO_QUBIT else 1
            if len(wires) != arity:
                raise ValueError(f"gate {g} ({gate}) needs {arity} wire(s), got {wires}")
            if any(not 0 <= w < self.n_qubits for w in wires) or len(set(wires)) != arity:
                raise ValueError(f"gate {g} ({gate}): bad wires {wires} for {self.n_qubits} qubits")
            if gate in ROTATIONS and not srcs:
                raise ValueError(f"gate {g} ({gate}) is a rotation and needs an angle source")
            if gate in FIXED and srcs:
                raise ValueError(f"gate {g} ({gate}) is fixed and takes no angle")
            for s in srcs:
                if s.kind == "param":
                    max_p = max(max_p, s.index)
                elif s.kind == "data":
                    max_d = max(max_d, s.index)
                elif s.kind != "const":
                    raise ValueError(f"gate {g}: unknown source kind {s.kind!r}")
                if s.kind != "const" and s.index < 0:
                    raise ValueError(f"gate {g}: negative {s.kind} index {s.index}")
        object.__setattr__(self, "n_params", max(self.n_params, max_p + 1))
        object.__setattr__(self, "n_data", max(self.n_data, max_d + 1))

    @property
    def n_gates(self) -> int:
        return len(self.gates)

    def info(self, key: str, default=None):
        """Look up a ``meta`` entry."""
        return dict(self.meta).get(key, default)

    def param_gates(self) -> list[list[int]]:
        """For each parameter, the indices of the gates it drives."""
        out: list[list[int]] = [[] for _ in range(self.n_params)]
        for g, srcs in enumerate(self.sources):
            for s in srcs:
                if s.kind == "param":
                    out[s.index].append(g)
        return out

    def angles(self, params: np.ndarray, x: np.ndarray | None = None) -> np.ndarray:
        """Gate angles in radians: float64[..., n_gates] (0 for fixed gates).

        params: float[..., n_params]; x: float[..., n_data] or None.
        """
        params = np.asarray(params, dtype=float)
        pm, dm, const = angle_maps(self)
        out = params @ pm + const
        if self.n_data:
            if x is None:
                raise ValueError(f"circuit {self.name!r} needs {self.n_data} data features (x)")
            out = out + np.asarray(x, dtype=float) @ dm
        return out


def angle_maps(circuit: Circuit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear maps from (params, x) to gate angles.

    Returns ``pm`` float64[n_params, n_gates], ``dm`` float64[n_data, n_gates] and ``const``
    float64[n_gates], so that ``angles = params @ pm + x @ dm + const``.
    """
    pm = np.zeros((circuit.n_params, circuit.n_gates))
    dm = np.zeros((circuit.n_data, circuit.n_gates))
    const = np.zeros(circuit.n_gates)
    for g, srcs in enumerate(circuit.sources):
        for s in srcs:
            if s.kind == "param":
                pm[s.index, g] += s.coef
            elif s.kind == "data":
                dm[s.index, g] += s.coef
            else:
                const[g] += s.coef
    return pm, dm, const


class _Builder:
    """Accumulates gates; hands out parameter indices in order of use."""

    def __init__(self, n: int):
        self.n = n
        self.gates: list[str] = []
        self.wires: list[tuple[int, ...]] = []
        self.sources: list[tuple[Source, ...]] = []
        self.n_params = 0

    def add(self, gate: str, wires: tuple[int, ...], sources: tuple[Source, ...] = ()) -> None:
        self.gates.append(gate)
        self.wires.append(tuple(int(w) for w in wires))
        self.sources.append(sources)

    def rot(self, gate: str, wire: int) -> None:
        self.add(gate, (wire,), P(self.n_params))
        self.n_params += 1

    def circuit(self, name: str, **meta) -> Circuit:
        return Circuit(
            self.n,
            tuple(self.gates),
            tuple(self.wires),
            tuple(self.sources),
            n_params=self.n_params,
            name=name,
            meta=tuple(sorted(meta.items())),
        )


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
        axes = rng.integers(0, 3, size=n_qubits)
        for w in range(n_qubits):
            b.rot(("RX", "RY", "RZ")[axes[w]], w)
        for pair in chain_pairs(n_qubits):
            b.add("CZ", pair)
    return b.circuit("mcclean", family="mcclean", n_layers=n_layers, seed=seed)


def original_circuit(n_qubits: int, n_layers: int, *, reupload: bool = False) -> Circuit:
    """The original option-pricing circuit: RY(x_i) on every qubit, then per layer RZ(w) on every
    qubit and a CNOT ring (i, i+1 mod n). Readout <Z_i> on every qubit.

    With ``reupload`` the RY(x_i) encoding is repeated before every layer.
    For n = 2 the ring is CNOT(0,1), CNOT(1,0); for n = 1 there is no entangler.
    """
    _check_size(n_qubits, n_layers)
    b = _Builder(n_qubits)

    def encode() -> None:
        for w in range(n_qubits):
            b.add("RY", (w,), X(w))

    encode()
    for layer in range(n_layers):
        if reupload and layer > 0:
            encode()
        for w in range(n_qubits):
            b.rot("RZ", w)
        if n_qubits > 1:
            for i in range(n_qubits):
                b.add("CNOT", (i, (i + 1) % n_qubits))
    c = b.circuit("original", family="original", n_layers=n_layers, reupload=reupload)
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
    n_qubits: int, n_gates: int, *, seed: int = 0, n_data: int = 0, gates: tuple = GATES
) -> Circuit:
    """A random circuit for cross-engine tests: random gates and wires; rotations are driven by a
    parameter, a data feature (if ``n_data``), a constant, or a sum of them."""
    rng = np.random.default_rng(seed)
    names = [g for g in gates if n_qubits > 1 or g not in TWO_QUBIT]
    b = _Builder(n_qubits)
    n_params = 0
    for _ in range(n_gates):
        g = names[rng.integers(len(names))]
        wires = tuple(rng.choice(n_qubits, size=2 if g in TWO_QUBIT else 1, replace=False))
        srcs: tuple[Source, ...] = ()
        if g in ROTATIONS:
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


# ---------------------------------------------------------------------------------------------
# Costs: all are diagonal in the computational basis.


def z_signs(n_qubits: int) -> np.ndarray:
    """float64[2**n, n]: entry [b, w] is the eigenvalue (+1/-1) of Z on wire w in basis state b."""
    idx = np.arange(2**n_qubits)
    bits = (idx[:, None] >> (n_qubits - 1 - np.arange(n_qubits))[None, :]) & 1
    return 1.0 - 2.0 * bits


def cost_diagonal(cost: str, n_qubits: int) -> np.ndarray:
    """Diagonal of a cost observable: float64[2**n].

    ``global``: Z x Z x ... x Z; ``local``: mean_i Z_i; ``zz``: Z_0 Z_1; ``z0``: Z_0;
    ``readout``: not a single cost — use :func:`observables`.
    """
    s = z_signs(n_qubits)
    if cost == "global":
        return np.prod(s, axis=1)
    if cost == "local":
        return s.mean(axis=1)
    if cost == "zz":
        if n_qubits < 2:
            raise ValueError("the zz cost needs n_qubits >= 2")
        return s[:, 0] * s[:, 1]
    if cost == "z0":
        return s[:, 0]
    raise ValueError(f"unknown cost {cost!r}; choose from {', '.join(COSTS)}")


def observables(costs: tuple[str, ...] | str, n_qubits: int) -> np.ndarray:
    """Stack of observable diagonals, float64[2**n, k]. ``"readout"`` expands to Z_0..Z_{n-1}."""
    if isinstance(costs, str):
        costs = (costs,)
    cols = []
    for c in costs:
        if c == "readout":
            cols.extend(z_signs(n_qubits).T)
        else:
            cols.append(cost_diagonal(c, n_qubits))
    return np.stack(cols, axis=1)
