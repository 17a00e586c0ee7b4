"""Why a circuit is untrainable: dead and redundant parameters, the dynamical Lie algebra (DLA),
and the variance the DLA predicts for deep circuits.

**Frames.** A rotation ``R_P(theta) = exp(-i theta P / 2)`` has generator ``P``. Fixed gates are
absorbed by moving them to the end of the circuit: with ``F_{<k}`` the product of the fixed gates
that come before gate ``k`` (inside the frame),

    U = F_all * prod_k exp(-i theta_k G_k / 2),      G_k = F_{<k}^dagger P_k F_{<k},

and the cost ``Tr(U rho U^dagger O)`` reads ``Tr(V rho V^dagger O')`` with ``O' = F_all^dagger O
F_all``: generators and observable are both moved to the circuit *input* (Heisenberg picture),
the state is untouched. Two frames are used (:func:`heisenberg_frame`):

* ``mode="trainable"`` (the DLA and the predicted variance): the gates before the first trainable
  gate (data encoding, constant preparation) prepare the state ``rho = S(x)|0><0|S(x)^dagger``;
  afterwards only parameterized gates are generators, and fixed gates - Cliffords, and data or
  constant rotations held at the given data values - are absorbed. Through Cliffords a Pauli string
  stays a Pauli string (exact integer arithmetic); through a data rotation it becomes a Pauli sum,
  and the DLA falls back to a floating-point closure (n <= 6).
* ``mode="all"`` (the dead-parameter proof): every rotation, trainable, data or constant, is a
  generator, so results hold for every input and every setting of the other parameters; only
  Cliffords are absorbed and everything is a Pauli string.

**Dead parameters** (gradient identically zero). The derivative of gate ``k`` is
``-i/2 Tr(O_k [G_k, rho_k])``. ``rho_k`` lies in the span of ``N_{<k}``, the Pauli strings reachable
from those of ``|0><0|`` (all Z strings) by commutators with the generators before ``k``; ``O_k``
lies in the span of ``M_{>=k}``, reached from the observable's strings by the generators from
``k`` on. ``Tr(P_b [G, P_a])`` is nonzero only when ``G`` anticommutes with ``P_a`` and
``P_b = G P_a``, so the gate is dead when no ``a`` in ``N_{<k}`` anticommuting with ``G`` has
``G P_a`` in ``M_{>=k}`` - in particular when ``G`` commutes with all of ``M_{>=k}`` (it commutes
with everything measured after it) or with all of ``N_{<k}`` (the state before it is invariant).
This is a sufficient condition, exact in integers, so a live parameter is never called dead; every
verdict is also checked against gradients from the JAX engine (exact parameter shift).

**Redundancy.** The rank of the quantum Fisher information (QFI) ``F = 4 Re(J^+ J - J^+ psi
psi^+ J)`` of the output state at random parameters (maximum over a few points) is the number of
independent state directions (Haug, Bharti & Kim, PRX Quantum 2, 040309 (2021)); parameters whose
state derivative is a combination of earlier ones (greedy, in parameter order) are *redundant*.
``eff_dim`` is the rank of the classical Fisher information of the computational-basis outcome
distribution, stacked over data points (the large-data limit of the effective dimension of
Abbas et al., Nat. Comput. Sci. 1, 403 (2021)): how many parameter directions the measured
probabilities respond to.

**DLA.** The Lie closure of the trainable generators (:mod:`bpdiag.circuits.pauli`); for Pauli
strings it is
classified from the anticommutation graph: isolated strings form the centre ``u(1)^k``, each other
component is a simple ideal identified by its dimension and rank (size of a maximal commuting set)
as su(N), so(N) or sp(N) (Aguilar et al. 2024, arXiv:2408.00081: Pauli Lie algebras are sums of
these and u(1)). Notation: ``su(2^6)`` is su(64); ``sp(N)`` is the compact symplectic algebra of
N x N matrices; ``so(7)|sp(6)`` marks dimension and rank that cannot tell B_r from C_r.

**Predicted variance** (Ragone et al., Nat. Commun. 15, 7172 (2024), Thm. 1; Fontana et al., Nat.
Commun. 15, 7171 (2024)): for a circuit deep enough to be a 2-design on ``exp(g)``, with ``O`` or
``rho`` in ``i g`` and ``g = g_1 + ... + g_m + centre``,

    Var_theta[C] = sum_j P_{g_j}(rho) P_{g_j}(O) / dim(g_j),   P_g(H) = sum_i Tr(B_i H)^2

over an orthonormal basis ``B_i = P_i / sqrt(2^n)`` of ``g_j``. When ``O'`` commutes with ``g`` the
cost does not depend on the parameters and the variance is exactly 0. This is the variance of
the **cost** ``C`` (not of its gradient), over parameters uniform in [0, 2 pi) at one fixed data
point; :func:`sample_cost_variance` samples the same quantity with the JAX engine.

>>> from bpdiag.circuits import original_circuit
>>> [p["dead"] for p in dead_parameters(original_circuit(3, 1))]
[True, True, True]
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from bpdiag import results as _io
from bpdiag._resources import as_axes, point_seed
from bpdiag.circuits import ANSATZE, ROTATIONS, TWO_QUBIT, Circuit, angle_maps, build
from bpdiag.circuits import pauli as pa

COSTS = ("global", "local", "zz", "z0")
PARAM_COLUMNS = [
    "ansatz",
    "n_qubits",
    "n_layers",
    "param",
    "gate",
    "wire",
    "dead",
    "redundant",
    "reason",
    "grad_max",
]
COLUMNS = [
    "ansatz",
    "n_qubits",
    "n_layers",
    "cost",
    "n_params",
    "n_dead",
    "n_redundant",
    "rank",
    "eff_dim",
    "dla_dim",
    "dla_kind",
    "deep_layers",
    "deep_dla_dim",
    "theory",
    "predicted_var",
    "sampled_var",
    "sampled_var_se",
    "samples",
]
#: A parameter whose engine gradient stays below this on every sample is numerically zero.
GRAD_ZERO = 1e-12
_RANK_TOL = 1e-8
_MONOMIAL = {"RZ", "RZZ", "CZ", "CNOT", "X", "Z", "S"}  # diagonal times permutation
_DIAGONAL_ROT = {"RZ", "RZZ"}
_GENERIC_MAX_QUBITS = 6


# ---------------------------------------------------------------------------------------------
# Observables and frames


def cost_paulis(cost: str, n_qubits: int) -> tuple[np.ndarray, np.ndarray]:
    """A cost observable of :func:`bpdiag.circuits.cost_diagonal` as a Pauli sum
    ``(keys uint64[m], coefs float64[m])``: ``global`` Z..Z, ``local`` mean_i Z_i, ``zz`` Z_0 Z_1,
    ``z0`` Z_0."""
    n = n_qubits
    if cost == "global":
        return np.array([(1 << n) - 1], dtype=np.uint64), np.ones(1)
    if cost == "local":
        keys = [pa.from_wires({w: "Z"}, n) for w in range(n)]
        return np.array(keys, dtype=np.uint64), np.full(n, 1.0 / n)
    if cost == "zz":
        if n < 2:
            raise ValueError("the zz cost needs n_qubits >= 2")
        return np.array([pa.from_wires({0: "Z", 1: "Z"}, n)], dtype=np.uint64), np.ones(1)
    if cost == "z0":
        return np.array([pa.from_wires({0: "Z"}, n)], dtype=np.uint64), np.ones(1)
    raise ValueError(f"unknown cost {cost!r}; choose from {', '.join(COSTS)}")


class Frame(NamedTuple):
    """Generators and observables moved to the input of the circuit (see the module docstring).

    ``gates[i]`` is the circuit gate of generator ``i`` (time order); ``generators[i]`` and
    ``observables[j]`` are Pauli sums ``(keys, coefs)``; gates before ``start`` prepare the state.
    """

    n: int
    mode: str
    start: int
    gates: tuple[int, ...]
    generators: tuple[tuple[np.ndarray, np.ndarray], ...]
    observables: tuple[tuple[np.ndarray, np.ndarray], ...]

    @property
    def pauli(self) -> bool:
        """Whether every generator is a single Pauli string."""
        return all(len(k) == 1 for k, _ in self.generators)


def _trainable(circuit: Circuit) -> np.ndarray:
    pm, _, _ = angle_maps(circuit)
    return np.any(pm != 0, axis=0) if circuit.n_params else np.zeros(circuit.n_gates, bool)


def _fixed_angles(circuit: Circuit, x, need: np.ndarray) -> np.ndarray:
    """Angles of gates with no parameter (data + const), float64[G]; ``x`` only if needed."""
    _, dm, const = angle_maps(circuit)
    if circuit.n_data and (dm[:, need] != 0).any():
        if x is None:
            raise ValueError(
                f"circuit {circuit.name!r} has data gates after its first trainable gate: "
                "give the data point x"
            )
        x = np.asarray(x, dtype=float).reshape(-1)
        if x.shape[0] != circuit.n_data:
            raise ValueError(f"x must have {circuit.n_data} features, got {x.shape[0]}")
        return const + x @ dm
    return const


def heisenberg_frame(
    circuit: Circuit,
    observables: Sequence[tuple[np.ndarray, np.ndarray]] = (),
    *,
    x=None,
    mode: str = "trainable",
) -> Frame:
    """Move generators and observables to the circuit input (``G_k = F_{<k}^+ P_k F_{<k}``,
    ``O' = F^+ O F``). ``mode`` is ``"trainable"`` or ``"all"`` (module docstring). ``x``: data
    float[n_data], needed only when data gates sit after the first trainable gate."""
    if mode not in ("trainable", "all"):
        raise ValueError(f"mode must be 'trainable' or 'all', got {mode!r}")
    n = circuit.n_qubits
    if mode == "all":
        is_gen = np.array([g in ROTATIONS for g in circuit.gates], dtype=bool)
        start = 0
    else:
        is_gen = _trainable(circuit)
        start = int(np.argmax(is_gen)) if is_gen.any() else circuit.n_gates
    absorbed = np.zeros(circuit.n_gates, bool)
    absorbed[start:] = ~is_gen[start:]
    angles = _fixed_angles(circuit, x, absorbed)
    keys, coefs, owners = [], [], []
    for j, (k, c) in enumerate(observables):
        keys.append(np.asarray(k, np.uint64))
        coefs.append(np.asarray(c, float))
        owners.append(np.full(len(k), j, dtype=np.int64))
    m = len(observables)
    keys = np.concatenate(keys) if keys else np.zeros(0, np.uint64)
    coefs = np.concatenate(coefs) if coefs else np.zeros(0)
    owners = np.concatenate(owners) if owners else np.zeros(0, np.int64)
    gen_gates: list[int] = []
    for g in range(circuit.n_gates - 1, start - 1, -1):
        gate, wires = circuit.gates[g], circuit.wires[g]
        if is_gen[g]:
            rot = pa.gate_rotations(gate, wires, n)[0][0]
            keys = np.append(keys, np.uint64(rot))
            coefs = np.append(coefs, 1.0)
            owners = np.append(owners, m + len(gen_gates))
            gen_gates.append(g)
        else:
            keys, coefs, owners = pa.conjugate_gate(
                keys, coefs, gate, wires, n, angle=float(angles[g]), owners=owners
            )
    n_own = m + len(gen_gates)
    parts = [(keys[owners == o], coefs[owners == o]) for o in range(n_own)]
    gens = tuple(reversed(parts[m:]))
    return Frame(n, mode, start, tuple(reversed(gen_gates)), gens, tuple(parts[:m]))


def _short(key: int, n: int) -> str:
    """``Z0 Z2``-style label of a Pauli string."""
    text = pa.label(key, n)
    out = [f"{ch}{w}" for w, ch in enumerate(text) if ch != "I"]
    return " ".join(out) if out else "I"


# ---------------------------------------------------------------------------------------------
# The dynamical Lie algebra


class Component(NamedTuple):
    """A simple ideal of a Pauli DLA: its name, dimension, rank, and indices into ``DLA.keys``."""

    kind: str
    dim: int
    rank: int
    index: np.ndarray


@dataclass(frozen=True)
class DLA:
    """A dynamical Lie algebra on n qubits.

    ``pauli``: spanned by Pauli strings ``keys`` (exact); otherwise ``basis`` float64[dim, 4**n]
    holds orthonormal Pauli coordinates (coefficient of string k in column k). ``components``:
    the simple ideals (Pauli case); ``center``: dimension of the centre.
    """

    n: int
    dim: int
    kind: str
    pauli: bool
    keys: np.ndarray | None = field(default=None, repr=False)
    basis: np.ndarray | None = field(default=None, repr=False)
    components: tuple[Component, ...] = ()
    center: int = 0
    generators: tuple = field(default=(), repr=False)

    @property
    def abelian(self) -> bool:
        return self.center == self.dim


def _fmt_size(N: int) -> str:
    return f"2^{N.bit_length() - 1}" if N >= 4 and N & (N - 1) == 0 else str(N)


def identify(dim: int, rank: int) -> str:
    """Name of a compact simple Lie algebra of this dimension and rank among su(N), so(N) and
    sp(N) (N x N matrices); ``simple(dim=..,rank=..)`` if none fits. so(2r+1) and sp(2r) share
    dimension and rank; since symplectic summands of Pauli Lie algebras are sp(2^k) (Aguilar et
    al. 2024), the pair is reported as ``so(2r+1)|sp(2r)`` only when 2r is a power of two."""
    d, r = int(dim), int(rank)
    if r >= 1 and d == (r + 1) ** 2 - 1:  # su(2) = so(3) = sp(2), su(4) = so(6)
        return f"su({_fmt_size(r + 1)})"
    so = [N for N in (2 * r, 2 * r + 1) if N >= 5 and d == N * (N - 1) // 2]
    sp = r >= 1 and d == r * (2 * r + 1)
    if so and sp:  # so(2r+1) and sp(2r)
        if r == 2:
            return "so(5)"  # = sp(4)
        return f"so({2 * r + 1})|sp({_fmt_size(2 * r)})" if r & (r - 1) == 0 else f"so({2 * r + 1})"
    if so:
        return f"so({_fmt_size(so[0])})"
    if sp:
        return f"sp({_fmt_size(2 * r)})"
    return f"simple(dim={d},rank={r})"


def _kind(components: Sequence[Component], center: int) -> str:
    counts: dict[str, int] = {}
    for c in components:
        counts[c.kind] = counts.get(c.kind, 0) + 1
    parts = [k if v == 1 else f"{v}*{k}" for k, v in counts.items()]
    if center:
        parts.append("u(1)" if center == 1 else f"{center}*u(1)")
    return "+".join(parts) if parts else "0"


def _symmetry_order(comp: np.ndarray, n: int) -> int:
    """``log2 |A|`` for the group A of Pauli strings that commute with every string of a component
    and map it onto itself by multiplication (``Q P`` in the component for every ``P``). The
    projectors ``(I +- Q)/2`` then split the component into ``|A|`` commuting ideals of equal
    dimension and rank (a component can be connected and still not simple, e.g. so(2n)+so(2n)
    for the transverse-field Ising ring, whose sectors differ in parity). Returns -1 when the
    search is too large (n > 8)."""
    if n > 8:
        return -1
    cand = np.arange(1, 4**n, dtype=np.uint64)
    for i in range(0, len(comp), max(1, 2**23 // len(cand))):
        block = comp[i : i + max(1, 2**23 // len(cand))]
        cand = cand[~pa.anticommutes(cand[:, None], block[None, :], n).any(axis=1)]
        if not len(cand):
            return 0
    sorted_comp = np.sort(comp)
    order = 1
    for q in cand:
        prod = comp ^ q
        pos = np.searchsorted(sorted_comp, prod).clip(max=len(comp) - 1)
        if np.all(sorted_comp[pos] == prod):
            order += 1
    return int(round(math.log2(order)))


def classify(keys, n: int) -> tuple[str, tuple[Component, ...], int]:
    """Classify the Lie algebra spanned by Pauli strings ``keys`` (closed under commutators):
    returns ``(kind, simple components, centre dimension)``; see the module docstring.

    Isolated strings of the anticommutation graph span the centre; each other connected component
    is split by its Pauli symmetries (:func:`_symmetry_order`) into ideals of equal dimension d
    and rank r, each named by :func:`identify` (one :class:`Component` per ideal; ``index`` is
    the whole connected component)."""
    keys = np.asarray(keys, dtype=np.uint64)
    if len(keys) == 4**n - 1:
        comp = Component(f"su({_fmt_size(2**n)})", len(keys), 2**n - 1, np.arange(len(keys)))
        return comp.kind, (comp,), 0
    comps, center = [], 0
    for idx in pa.components(keys, n):
        if len(idx) == 1:
            center += 1
            continue
        rank = len(pa.max_commuting(keys[idx], n))
        m = _symmetry_order(keys[idx], n)
        copies = 2 ** max(m, 0)
        d, r = len(idx) // copies, rank // copies
        kind = identify(d, r) if m >= 0 else f"unsplit(dim={len(idx)},rank={rank})"
        comps.extend(Component(kind, d, r, idx) for _ in range(copies))
    comps.sort(key=lambda c: (-c.dim, c.kind))
    return _kind(comps, center), tuple(comps), center


def _ad_tables(n: int, gen_keys: np.ndarray):
    """For each Pauli term t: (perm, signs) with i[P_t, P_q] = signs[q] P_{perm[q]}."""
    q = np.arange(4**n, dtype=np.uint64)
    out = []
    for k in gen_keys:
        kk, c = pa.commutator(np.uint64(k), q, n)
        out.append((kk.astype(np.int64), c))
    return out


def _float_closure(generators, n: int, tol: float = 1e-7) -> np.ndarray:
    """Orthonormal basis float64[dim, 4**n] (Pauli coordinates) of the Lie algebra generated by
    Pauli sums (floating point; for generators that are not single strings)."""
    if n > _GENERIC_MAX_QUBITS:
        raise ValueError(
            f"the DLA of Pauli-sum generators is computed densely up to {_GENERIC_MAX_QUBITS} "
            f"qubits, got {n} (data or non-Clifford constant gates inside the circuit)"
        )
    D = 4**n
    terms = np.unique(np.concatenate([k for k, _ in generators]))
    tables = dict(zip(terms.tolist(), _ad_tables(n, terms)))
    gen_terms = [(k.tolist(), c) for k, c in generators]
    Q = np.zeros((0, D))

    def dense(k, c):
        v = np.zeros(D)
        v[k.astype(np.int64)] = c
        return v

    def add(cands: np.ndarray) -> np.ndarray:
        nonlocal Q
        norms = np.linalg.norm(cands, axis=1)
        cands = cands[norms > tol] / norms[norms > tol, None]
        if not len(cands):
            return cands
        for _ in range(2):
            cands = cands - (cands @ Q.T) @ Q
        _, s, vt = np.linalg.svd(cands, full_matrices=False)
        new = vt[s > tol]
        new = new - (new @ Q.T) @ Q
        new /= np.linalg.norm(new, axis=1, keepdims=True)
        Q = np.concatenate([Q, new])
        return new

    frontier = add(np.stack([dense(k, c) for k, c in generators]))
    while len(frontier) and len(Q) < D - 1:
        nxt = []
        for i in range(0, len(frontier), 64):
            block = frontier[i : i + 64]
            cands = []
            for keys, coefs in gen_terms:
                acc = np.zeros_like(block)
                for k, c in zip(keys, coefs):
                    perm, sg = tables[k]
                    acc[:, perm] += c * block * sg
                cands.append(acc)
            nxt.append(add(np.concatenate(cands)))
            if len(Q) >= D - 1:
                break
        frontier = np.concatenate(nxt) if nxt else np.zeros((0, D))
    return Q


def dla_of(generators: Sequence[tuple[np.ndarray, np.ndarray]], n: int) -> DLA:
    """The DLA generated by Pauli sums ``(keys, coefs)`` on n qubits (see :class:`DLA`)."""
    gens = [(np.asarray(k, np.uint64), np.asarray(c, float)) for k, c in generators]
    gens = [(k[k != 0], c[k != 0]) for k, c in gens]  # identity parts are global phases
    gens = [(k, c) for k, c in gens if len(k)]
    if not gens:
        return DLA(n, 0, "0", True, keys=np.zeros(0, np.uint64))
    if all(len(k) == 1 for k, _ in gens):
        keys = pa.lie_closure(np.array([k[0] for k, _ in gens], np.uint64), n)
        kind, comps, center = classify(keys, n)
        return DLA(
            n,
            len(keys),
            kind,
            True,
            keys=keys,
            components=comps,
            center=center,
            generators=tuple(gens),
        )
    Q = _float_closure(gens, n)
    dim = len(Q)
    if dim == 4**n - 1:
        kind = f"su({_fmt_size(2**n)})"
        center = 0
    elif _sums_commute(gens, n):
        kind, center = ("u(1)" if dim == 1 else f"{dim}*u(1)"), dim
    else:
        kind, center = f"dim {dim} (Pauli-sum generators; not classified)", 0
    return DLA(n, dim, kind, False, basis=Q, center=center, generators=tuple(gens))


def _sums_commute(sums, n: int) -> bool:
    for i, (ka, ca) in enumerate(sums):
        for kb, cb in sums[i + 1 :]:
            kk, c = pa.commutator(ka[:, None], kb[None, :], n)
            w = (c * ca[:, None] * cb[None, :]).ravel()
            _, tot = pa.simplify(kk.ravel(), w)
            if len(tot):
                return False
    return True


def dla(circuit: Circuit, *, x=None) -> DLA:
    """The DLA of a circuit's trainable gates (``mode="trainable"`` frame; data at ``x``)."""
    fr = heisenberg_frame(circuit, (), x=x, mode="trainable")
    return dla_of(fr.generators, circuit.n_qubits)


# Closed forms for standard generator families: name -> (generators(n), dim(n), algebra, source).
def _ring(n: int) -> list[tuple[int, int]]:
    return [(i, (i + 1) % n) for i in range(n)] if n > 2 else [(0, 1)]


def family_generators(name: str, n: int) -> np.ndarray:
    """Pauli-string generators (uint64 keys) of a standard family on n qubits; see
    :data:`CLOSED_FORMS`."""
    f = pa.from_wires
    chain = [(i, i + 1) for i in range(n - 1)]
    if name == "tfim_open":
        g = [f({a: "Z", b: "Z"}, n) for a, b in chain] + [f({i: "X"}, n) for i in range(n)]
    elif name == "tfim_ring":
        g = [f({a: "Z", b: "Z"}, n) for a, b in _ring(n)] + [f({i: "X"}, n) for i in range(n)]
    elif name == "xx_xz_open":
        g = [f({a: "X", b: "X"}, n) for a, b in chain] + [f({a: "X", b: "Z"}, n) for a, b in chain]
    elif name == "xx_xz_ring":
        g = [f({a: "X", b: "X"}, n) for a, b in _ring(n)]
        g += [f({a: "X", b: "Z"}, n) for a, b in _ring(n)]
    elif name == "heisenberg_open":
        g = [f({a: p, b: p}, n) for a, b in chain for p in "XYZ"]
    elif name == "local_su2":
        g = [f({i: p}, n) for i in range(n) for p in "XY"]
    elif name == "z_ising":
        g = [f({i: "Z"}, n) for i in range(n)] + [f({a: "Z", b: "Z"}, n) for a, b in chain]
    else:
        raise ValueError(f"unknown family {name!r}; choose from {', '.join(CLOSED_FORMS)}")
    return np.array(g, dtype=np.uint64)


def _heis(n: int) -> int:
    if n % 2:
        return 4 ** (n - 1) - 1
    return 4 * (4 ** (n - 2) - 1) if n >= 4 else 6


CLOSED_FORMS = {
    "tfim_open": (lambda n: n * (2 * n - 1), "so(2n)", "Jordan-Wigner free fermions"),
    "tfim_ring": (
        lambda n: 2 * n * (2 * n - 1),
        "so(2n)+so(2n) (n >= 3)",
        "free fermions in the two parity sectors; Wiersema et al. 2024 (circular)",
    ),
    "xx_xz_open": (
        lambda n: (2 * n - 1) * (n - 1),
        "so(2n-1)",
        "Wiersema et al. 2023 (arXiv:2309.05690), Thm IV.1, a8",
    ),
    "xx_xz_ring": (
        lambda n: 2 * n * (2 * n - 1),
        "so(2n)+so(2n) (n >= 3)",
        "Wiersema et al. 2023, Thm IV.2, a8",
    ),
    "heisenberg_open": (
        _heis,
        "su(2^(n-1)) (n odd), 4*su(2^(n-2)) (n even >= 4)",
        "Wiersema et al. 2023, Thm IV.1, a7",
    ),
    "local_su2": (lambda n: 3 * n, "n*su(2)", "single-qubit rotations only"),
    "z_ising": (lambda n: 2 * n - 1, "(2n-1)*u(1)", "commuting diagonal generators"),
}


# ---------------------------------------------------------------------------------------------
# Dead parameters


class GateVerdict(NamedTuple):
    """Whether one trainable gate's angle derivative vanishes identically, and why."""

    gate: int
    dead: bool
    reason: str


def dead_gates(circuit: Circuit, cost: str = "local") -> dict[int, GateVerdict]:
    """Structural verdict for every trainable gate (module docstring, ``mode="all"``): a gate is
    dead when its angle derivative of ``cost`` vanishes for every input, every value of the other
    parameters and every constant. Returns ``{gate index: GateVerdict}``."""
    n = circuit.n_qubits
    fr = heisenberg_frame(circuit, [cost_paulis(cost, n)], mode="all")
    gens = [int(k[0]) for k, _ in fr.generators]
    N = pa.Closure(n, seeds=pa.z_strings(n))
    n_len = []
    for gk in gens:
        n_len.append(N.size)
        N.add_generators([gk])
    M = pa.Closure(n, seeds=fr.observables[0][0])
    m_len = [0] * len(gens)
    for i in range(len(gens) - 1, -1, -1):
        M.add_generators([gens[i]])
        m_len[i] = M.size
    trainable = _trainable(circuit)
    out = {}
    for i, g in enumerate(fr.gates):
        if not trainable[g]:
            continue
        G = np.uint64(gens[i])
        before, after = N.members[: n_len[i]], M.members[: m_len[i]]
        anti = pa.anticommutes(before, G, n)
        obs_side = not pa.anticommutes(after, G, n).any()
        state_side = not anti.any()
        coupled = False
        if not (obs_side or state_side):
            pos = M.position(before[anti] ^ G)
            coupled = bool(((pos >= 0) & (pos < m_len[i])).any())
        dead = obs_side or state_side or not coupled
        out[g] = GateVerdict(
            g,
            dead,
            _reason(circuit, g, gens[i], n, obs_side, state_side, len(after), cost) if dead else "",
        )
    return out


def _monomial_cone(circuit: Circuit, g: int, forward: bool) -> bool:
    """Whether every gate in the forward (or backward) light cone of gate ``g`` is diagonal or a
    permutation. Then a diagonal gate ``g`` can be moved to the end (start) of the circuit and stays
    diagonal: it cannot change computational-basis probabilities (cannot act on |0..0> other than
    by a phase)."""
    cone = set(circuit.wires[g])
    order = range(g + 1, circuit.n_gates) if forward else range(g - 1, -1, -1)
    for h in order:
        if cone & set(circuit.wires[h]):
            if circuit.gates[h] not in _MONOMIAL:
                return False
            cone |= set(circuit.wires[h])
    return True


def _reason(circuit, g, G, n, obs_side, state_side, n_after, cost) -> str:
    gate = circuit.gates[g]
    if obs_side:
        if gate in _DIAGONAL_ROT and _monomial_cone(circuit, g, forward=True):
            return (
                f"{gate} is diagonal and only diagonal or permutation gates follow it in its "
                f"light cone, so the computational-basis probabilities the {cost} cost reads "
                "do not depend on it"
            )
        return (
            f"its generator {_short(G, n)} (moved to the circuit input) commutes with all "
            f"{n_after} Pauli strings the measured observable can become after it"
        )
    if state_side:
        if gate in _DIAGONAL_ROT and _monomial_cone(circuit, g, forward=False):
            return (
                f"only diagonal or permutation gates precede this {gate} in its light cone, so "
                "it acts on a computational basis state, an eigenstate of its generator"
            )
        return f"every state reachable before it commutes with its generator {_short(G, n)}"
    return (
        f"its generator {_short(G, n)} couples no state reachable before it to an observable "
        "reachable after it"
    )


def dead_parameters(circuit: Circuit, cost: str = "local") -> list[dict]:
    """One dict per parameter: ``param, gate, wire, dead, reason`` (structural; see
    :func:`dead_gates`). A parameter is dead when every gate it drives is dead."""
    verdicts = dead_gates(circuit, cost)
    out = []
    for p, gates in enumerate(circuit.param_gates()):
        names = "+".join(dict.fromkeys(circuit.gates[g] for g in gates)) or "-"
        wires = ";".join("-".join(str(w) for w in circuit.wires[g]) for g in gates) or "-"
        if not gates:
            dead, reason = True, "drives no gate"
        else:
            dead = all(verdicts[g].dead for g in gates)
            reason = "; ".join(dict.fromkeys(verdicts[g].reason for g in gates)) if dead else ""
        out.append({"param": p, "gate": names, "wire": wires, "dead": dead, "reason": reason})
    return out


# ---------------------------------------------------------------------------------------------
# Predicted variance


class Prediction(NamedTuple):
    """Var_theta[C] predicted by the DLA (``nan`` where the theory does not apply), which case of
    the theory gave it, and the DLA."""

    var: float
    theory: str
    dla: DLA


@cache
def _gate_pair(gate: str):
    from bpdiag.engines._program import gate_pair

    return gate_pair(gate)


def simulate(circuit: Circuit, angles: np.ndarray, stop: int | None = None) -> np.ndarray:
    """Plain-numpy batched statevector: states complex128[B, 2**n] after gates ``0..stop-1``
    (default all) on |0..0>, for gate angles float[B, n_gates] (radians; see
    :meth:`Circuit.angles`). Wire 0 is the most significant bit. Used for small audits, where
    compiling a JAX program would cost more than the arithmetic."""
    angles = np.atleast_2d(np.asarray(angles, dtype=float))
    B, n = angles.shape[0], circuit.n_qubits
    psi = np.zeros((B,) + (2,) * n, dtype=complex)
    psi[(slice(None),) + (0,) * n] = 1.0
    stop = circuit.n_gates if stop is None else stop
    for g in range(stop):
        A, Bm = _gate_pair(circuit.gates[g])
        t = angles[:, g, None, None] / 2
        M = np.cos(t) * A + np.sin(t) * Bm  # [B, 4, 4]
        wires = [1 + w for w in circuit.wires[g]]
        if circuit.gates[g] in TWO_QUBIT:
            U = M.reshape(B, 2, 2, 2, 2)
            moved = np.moveaxis(psi, wires, [-2, -1])
            moved = np.einsum("bijkl,b...kl->b...ij", U, moved)
        else:
            U = M[:, 0::2, 0::2]
            moved = np.moveaxis(psi, wires, [-1])
            moved = np.einsum("bij,b...j->b...i", U, moved)
        psi = np.moveaxis(moved, [-len(wires) + i for i in range(len(wires))], wires)
    return psi.reshape(B, -1)


def prefix_state(circuit: Circuit, stop: int, x=None) -> np.ndarray:
    """State complex128[2**n] after gates ``0..stop-1`` on |0..0> (parameters must not drive
    them; data ``x`` float[n_data] where they need it)."""
    need = np.zeros(circuit.n_gates, bool)
    need[:stop] = True
    angles = _fixed_angles(circuit, x, need)
    return simulate(circuit, angles[None, :], stop)[0]


def _purities(dla_: DLA, rho_exp: np.ndarray, o_coef: np.ndarray, n: int):
    """Per simple component j: (P_j(rho), P_j(O), dim_j) from Pauli expectations of rho and Pauli
    coordinates of O, both aligned with ``dla_.keys``."""
    d = 2.0**n
    return [
        (float(np.sum(rho_exp[c.index] ** 2) / d), float(d * np.sum(o_coef[c.index] ** 2)), c.dim)
        for c in dla_.components
    ]


def predicted_variance(circuit: Circuit, cost: str = "local", *, x=None) -> Prediction:
    """Var_theta[C] of the cost over uniform parameters for a deep circuit with this structure
    (Ragone et al. 2024, Thm 1; module docstring). ``x``: the data point, float[n_data]."""
    n = circuit.n_qubits
    fr = heisenberg_frame(circuit, [cost_paulis(cost, n)], x=x, mode="trainable")
    g = dla_of(fr.generators, n)
    ok, oc = fr.observables[0]
    ok, oc = ok[ok != 0], oc[ok != 0]
    if g.dim == 0:
        return Prediction(0.0, "no trainable gates: cost constant", g)
    gen_terms = np.unique(np.concatenate([k for k, _ in g.generators]))
    o_sum = (ok, oc)
    if g.pauli:
        commutes = not pa.anticommutes(ok[:, None], gen_terms[None, :], n).any()
    else:
        commutes = all(_sums_commute([o_sum, gen], n) for gen in g.generators)
    if commutes:
        return Prediction(0.0, "O commutes with g: cost constant in the parameters", g)
    psi = prefix_state(circuit, fr.start, x)
    if g.pauli:
        pos = {int(k): i for i, k in enumerate(g.keys)}
        o_coef = np.zeros(g.dim)
        outside_o = 0.0
        for k, c in zip(ok, oc):
            if int(k) in pos:
                o_coef[pos[int(k)]] = c
            else:
                outside_o += c * c
        theory = "O in ig (Ragone et al. 2024)" if outside_o < 1e-20 else ""
        rho_exp = pa.expectations(psi, g.keys, n)
        if not theory and n <= 8:
            every = np.arange(1, 4**n, dtype=np.uint64)
            mass = np.sum(pa.expectations(psi, every, n) ** 2) - np.sum(rho_exp**2)
            theory = "rho in ig (Ragone et al. 2024)" if mass < 1e-10 else ""
        if not theory:
            return Prediction(float("nan"), "n/a: neither O nor rho in ig", g)
        var = sum(pr * po / dim for pr, po, dim in _purities(g, rho_exp, o_coef, n))
        return Prediction(float(var), theory, g)
    if g.dim == 4**n - 1:
        every = np.arange(1, 4**n, dtype=np.uint64)
        d = 2.0**n
        p_rho = np.sum(pa.expectations(psi, every, n) ** 2) / d
        p_o = d * np.sum(oc**2)
        return Prediction(float(p_rho * p_o / g.dim), "O in ig = su(2^n) (Ragone et al. 2024)", g)
    return Prediction(float("nan"), "n/a: DLA not classified", g)


# ---------------------------------------------------------------------------------------------
# Numerics on the JAX engine: one compiled program serves every circuit of a run


def _pow2(v: int, lo: int = 16) -> int:
    return 1 << max(int(math.log2(lo)), math.ceil(math.log2(max(v, 1))))


class SharedEngine:
    """Runs many circuits through one compiled JAX program: a shared register (the largest
    circuit; smaller ones are embedded, their extra wires stay in |0>), the union of wire kernels,
    a padded gate table (only each circuit's own gates run), fixed batch size and two observables,
    so one compilation serves a whole ``lie`` run."""

    def __init__(self, circuits: Sequence[Circuit], dtype: str = "complex128", batch: int = 256):
        from bpdiag.engines._program import gate_kernels

        self.N = max(c.n_qubits for c in circuits)
        self.kernels = tuple(sorted(set().union(*(gate_kernels(c) for c in circuits))))
        self.G = _pow2(max(c.n_gates for c in circuits))
        self.dtype = dtype
        self.batch = batch

    def expvals(self, circuit: Circuit, angles: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """Expectations float[B, 2] of two diagonal observables obs float[2**n, 2] for gate
        angles float[B, n_gates] (radians)."""
        import jax.numpy as jnp

        from bpdiag.engines import jax as je
        from bpdiag.engines._program import Program, embed_observables, lower

        if obs.shape[1] != 2:
            raise ValueError(f"obs must have 2 columns, got {obs.shape[1]}")
        p = lower(circuit, kernels=self.kernels, n_register=self.N, n_gates=self.G)
        empty = jnp.zeros((0, self.G))
        prog = Program(
            jnp.asarray(p.kernel),
            jnp.asarray(p.A),
            jnp.asarray(p.B),
            empty,
            empty,
            jnp.zeros(self.G),
        )
        f = je.jitted("angles", self.kernels, self.N, self.dtype)
        o = jnp.asarray(embed_observables(obs, circuit.n_qubits, self.N))
        ang = np.zeros((angles.shape[0], self.G))
        ang[:, : circuit.n_gates] = angles
        out = []
        for i in range(0, len(ang), self.batch):
            chunk = ang[i : i + self.batch]
            pad = self.batch - len(chunk)
            if pad:
                chunk = np.concatenate([chunk, np.zeros((pad, self.G))])
            out.append(np.asarray(f(prog, chunk, o, circuit.n_gates))[: self.batch - pad])
        return np.concatenate(out)


def _draw(circuit: Circuit, rng: np.random.Generator, count: int):
    params = rng.uniform(0, 2 * np.pi, size=(count, circuit.n_params))
    x = rng.uniform(-np.pi, np.pi, size=(count, circuit.n_data))
    return params, x


def _engine_for(circuit: Circuit, engine) -> SharedEngine:
    return engine if engine is not None else SharedEngine([circuit], batch=64)


def _shifted(circuit: Circuit, angles: np.ndarray, shift: float):
    """Rows [B, 1 + 2T or 1 + T, G]: the angles, then each trainable gate's angle +shift (and
    -shift when ``shift`` is pi/2). Returns (rows, trainable gate indices)."""
    pm, _, _ = angle_maps(circuit)
    gates = np.nonzero(np.any(pm != 0, axis=0))[0]
    T = len(gates)
    signs = (1,) if shift == np.pi else (1, -1)
    rows = np.repeat(angles[:, None, :], 1 + len(signs) * T, axis=1)
    for i, sg in enumerate(signs):
        rows[:, 1 + i * T + np.arange(T), gates] += sg * shift
    return rows, gates, pm[:, gates]


def state_jacobian(circuit: Circuit, params, x=None) -> tuple[np.ndarray, np.ndarray]:
    """Output states psi complex[B, 2**n] and their parameter Jacobian J complex[B, 2**n, P]
    (numpy statevector). Exact: for ``R(t) = exp(-i t P / 2)``, ``dR/dt = R(t + pi) / 2``, so the
    derivative with respect to a gate angle is half the state with that angle shifted by pi."""
    params = np.atleast_2d(np.asarray(params, dtype=float))
    B = params.shape[0]
    x = np.zeros((B, circuit.n_data)) if x is None else np.atleast_2d(np.asarray(x, float))
    angles = circuit.angles(params, x if circuit.n_data else None)
    rows, gates, coef = _shifted(circuit, angles, np.pi)
    st = simulate(circuit, rows.reshape(-1, circuit.n_gates)).reshape(B, len(gates) + 1, -1)
    J = np.einsum("btd,pt->bdp", 0.5 * st[:, 1:], coef)
    return st[:, 0], J


def _rank(M: np.ndarray) -> int:
    if M.size == 0:
        return 0
    s = np.linalg.svd(M, compute_uv=False)
    return int(np.sum(s > _RANK_TOL * max(1.0, s[0])))


def redundancy(
    circuit: Circuit, *, rng: np.random.Generator, points: int = 3, data_points: int = 3
) -> dict:
    """QFI rank (max over ``points`` random parameter vectors), redundant parameters (greedy, in
    parameter order, at the point of maximal rank) and ``eff_dim``, the rank of the outcome
    distribution's Fisher information stacked over ``data_points`` random inputs (module
    docstring). Returns ``{"rank": int, "eff_dim": int, "redundant": bool[P]}``."""
    P = circuit.n_params
    if P == 0:
        return {"rank": 0, "eff_dim": 0, "redundant": np.zeros(0, bool)}
    S = data_points if circuit.n_data else 1
    params = np.repeat(rng.uniform(0, 2 * np.pi, size=(points, P)), S, axis=0)
    x = rng.uniform(-np.pi, np.pi, size=(points * S, circuit.n_data))
    psi, J = state_jacobian(circuit, params, x)
    best, best_rank = None, -1
    for b in range(points * S):
        Jp = J[b] - np.outer(psi[b], psi[b].conj() @ J[b])  # drop the global-phase direction
        R = np.concatenate([Jp.real, Jp.imag])  # F = 4 R^T R is the QFI
        r = _rank(R)
        if r > best_rank:
            best, best_rank = R, r
    dprob = 2 * np.real(np.conj(psi)[:, :, None] * J)  # d p_b / d theta: [B, 2^n, P]
    eff = max(_rank(dprob[t * S : (t + 1) * S].reshape(-1, P)) for t in range(points))
    redundant = np.zeros(P, bool)
    chosen: list[int] = []
    for p in range(P):
        if _rank(best[:, chosen + [p]]) > len(chosen):
            chosen.append(p)
        else:
            redundant[p] = True
    return {"rank": best_rank, "eff_dim": eff, "redundant": redundant}


def _cost_obs(cost: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """float[2**n, 2]: the cost's diagonal, and a random positive combination of its Pauli terms
    (its gradient vanishes only where every term's does, with probability 1)."""
    keys, coefs = cost_paulis(cost, n)
    w = rng.uniform(0.5, 1.5, size=len(keys))
    b = np.arange(2**n, dtype=np.uint64)
    _, z = pa.split(keys, n)
    diag = 1.0 - 2.0 * (np.bitwise_count(b[:, None] & z[None, :]).astype(np.int64) & 1)
    return np.stack([diag @ coefs, diag @ w], axis=1)


def gradient_max(
    circuit: Circuit,
    cost: str = "local",
    *,
    rng: np.random.Generator,
    samples: int = 8,
    engine=None,
) -> np.ndarray:
    """Max |dC/dtheta_p| over ``samples`` random parameters and inputs and over the two
    observables of :func:`_cost_obs`, float64[P] (1/rad). Computed by the JAX engine with the
    exact parameter-shift rule on gate angles, ``dC/dt = (C(t + pi/2) - C(t - pi/2)) / 2``."""
    if circuit.n_params == 0:
        return np.zeros(0)
    engine = _engine_for(circuit, engine)
    obs = _cost_obs(cost, circuit.n_qubits, rng)
    params = rng.uniform(0, 2 * np.pi, size=(samples, circuit.n_params))
    x = rng.uniform(-np.pi, np.pi, size=(samples, circuit.n_data))
    angles = circuit.angles(params, x if circuit.n_data else None)
    rows, gates, coef = _shifted(circuit, angles, np.pi / 2)
    T = len(gates)
    vals = engine.expvals(circuit, rows.reshape(-1, circuit.n_gates), obs)
    vals = vals.reshape(samples, 1 + 2 * T, 2)
    dgate = (vals[:, 1 : 1 + T] - vals[:, 1 + T :]) / 2  # [S, T, 2]
    grad = np.einsum("stk,pt->spk", dgate, coef)
    return np.abs(grad).max(axis=(0, 2))


def sample_cost_variance(
    circuit: Circuit,
    cost: str = "local",
    *,
    samples: int = 500,
    x=None,
    rng: np.random.Generator,
    engine=None,
) -> dict:
    """Sample Var_theta[C] over parameters uniform in [0, 2 pi) at the fixed data point ``x``
    (float[n_data]) with the JAX engine. Returns the dict of
    :func:`bpdiag.analyses.variance.summarize` (mean, mean_se, var, var_se, log2_var)."""
    from bpdiag.analyses.variance import summarize

    engine = _engine_for(circuit, engine)
    params = rng.uniform(0, 2 * np.pi, size=(samples, circuit.n_params))
    xx = None
    if circuit.n_data:
        if x is None:
            raise ValueError(f"circuit {circuit.name!r} needs a data point x")
        xx = np.repeat(np.asarray(x, float).reshape(1, -1), samples, axis=0)
    angles = circuit.angles(params, xx)
    obs = _cost_obs(cost, circuit.n_qubits, rng)
    values = engine.expvals(circuit, angles, obs)[:, :1]
    return summarize(values)


# ---------------------------------------------------------------------------------------------
# The audit


class LieReport(NamedTuple):
    """Result of :func:`lie`: one row per circuit, one row per parameter, and details for the
    JSON (DLA components, verdicts, timings)."""

    circuits: pd.DataFrame
    params: pd.DataFrame
    details: list


@dataclass(frozen=True)
class LieConfig:
    """Everything that determines a ``lie`` run's numbers (written to the JSON)."""

    ansatz: tuple[str, ...] = ("original", "dense", "sparse")
    qubits: tuple[int, ...] = (2, 3, 4, 5, 6)
    layers: tuple[int, ...] = (2,)
    cost: str = "local"
    deep_layers: int = 50
    samples: int = 500
    seed: int = 0
    sparse_pattern: str = "brickwall"
    sparse_density: float = 0.5

    def __post_init__(self) -> None:
        as_axes(self, ("ansatz", "qubits", "layers"))
        for a in self.ansatz:
            if a not in ANSATZE:
                raise ValueError(f"unknown ansatz {a!r}; choose from {', '.join(ANSATZE)}")
        if min(self.qubits) < 1:
            raise ValueError(f"n_qubits must be >= 1, got {min(self.qubits)}")
        if max(self.qubits) > 9:
            raise ValueError(f"n_qubits must be <= 9 for the audit, got {max(self.qubits)}")
        if min(self.layers) < 1:
            raise ValueError(f"n_layers must be >= 1, got {min(self.layers)}")
        if self.cost not in COSTS:
            raise ValueError(f"unknown cost {self.cost!r}; choose from {', '.join(COSTS)}")
        if self.cost == "zz" and min(self.qubits) < 2:
            raise ValueError("the zz cost needs n_qubits >= 2")
        if self.deep_layers < 1:
            raise ValueError(f"deep_layers must be >= 1, got {self.deep_layers}")
        if self.samples != 0 and self.samples < 2:
            raise ValueError(f"samples must be 0 (no sampling) or >= 2, got {self.samples}")

    def circuit(self, ansatz: str, n: int, layers: int) -> Circuit:
        opts = {}
        if ansatz == "sparse":
            opts = {"pattern": self.sparse_pattern, "density": self.sparse_density}
        return build(ansatz, n, layers, seed=self.seed, **opts)


def audit(
    circuit: Circuit,
    cost: str = "local",
    *,
    deep: Circuit | None = None,
    samples: int = 500,
    seed: int = 0,
    engine: SharedEngine | None = None,
) -> tuple[list[dict], dict, dict]:
    """Audit one circuit: per-parameter rows (``param, gate, wire, dead, redundant, reason,
    grad_max``), a summary dict (the :data:`COLUMNS` measurements) and JSON details.

    ``deep`` (default: ``circuit``) is the deep version used for the predicted and sampled cost
    variance (``samples`` = 0 skips sampling). Raises ``RuntimeError`` if a structurally dead
    parameter has a nonzero engine gradient (that would be a bug).
    """
    rng = np.random.default_rng(
        point_seed(seed, "lie", circuit.name, circuit.n_qubits, circuit.info("n_layers", 0), cost)
    )
    times = {}
    t0 = time.perf_counter()
    params = dead_parameters(circuit, cost)
    times["dead"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    gmax = gradient_max(circuit, cost, rng=rng, engine=engine)
    red = redundancy(circuit, rng=rng)
    times["numeric"] = time.perf_counter() - t0
    n_numeric_only = 0
    for p, row in enumerate(params):
        row["redundant"] = bool(red["redundant"][p])
        row["grad_max"] = float(gmax[p])
        if row["dead"] and gmax[p] > GRAD_ZERO:
            raise RuntimeError(
                f"parameter {p} of {circuit.name!r} was proven dead but its gradient is "
                f"{gmax[p]:.3g}: please report this bug"
            )
        if not row["dead"] and gmax[p] <= GRAD_ZERO:
            n_numeric_only += 1
            row["reason"] = "gradient zero on every sample, but no structural proof was found"
        if row["redundant"]:
            note = "state derivative is a combination of earlier parameters' (QFI)"
            row["reason"] = f"{row['reason']}; {note}" if row["reason"] else note
    t0 = time.perf_counter()
    x0 = rng.uniform(-np.pi, np.pi, size=circuit.n_data) if circuit.n_data else None
    g = dla(circuit, x=x0)
    deep = circuit if deep is None else deep
    pred = predicted_variance(deep, cost, x=x0)
    times["dla"] = time.perf_counter() - t0
    sampled = {"var": float("nan"), "var_se": float("nan")}
    if samples:
        t0 = time.perf_counter()
        sampled = sample_cost_variance(deep, cost, samples=samples, x=x0, rng=rng, engine=engine)
        times["sample"] = time.perf_counter() - t0
    summary = {
        "cost": cost,
        "n_params": circuit.n_params,
        "n_dead": sum(r["dead"] for r in params),
        "n_redundant": int(red["redundant"].sum()),
        "rank": red["rank"],
        "eff_dim": red["eff_dim"],
        "dla_dim": g.dim,
        "dla_kind": g.kind,
        "deep_layers": deep.info("n_layers", 0),
        "deep_dla_dim": pred.dla.dim,
        "theory": pred.theory,
        "predicted_var": pred.var,
        "sampled_var": sampled["var"],
        "sampled_var_se": sampled["var_se"],
        "samples": samples,
    }
    details = {
        "dla": _dla_json(g),
        "deep_dla": _dla_json(pred.dla),
        "numerically_zero_without_proof": n_numeric_only,
        "x0": None if x0 is None else x0.tolist(),
        "timing": times,
    }
    return params, summary, details


def _dla_json(g: DLA) -> dict:
    return {
        "dim": g.dim,
        "kind": g.kind,
        "pauli": g.pauli,
        "center": g.center,
        "components": [{"kind": c.kind, "dim": c.dim, "rank": c.rank} for c in g.components],
    }


def verdict(row: dict, params: Sequence[dict] = ()) -> str:
    """A readable verdict for one circuit row of :func:`lie` (and its parameter rows)."""
    head = f"{row['ansatz']} n={row['n_qubits']} L={row['n_layers']} ({row['n_params']} params)"
    P, dead = row["n_params"], row["n_dead"]
    lines = [head]
    by_reason: dict[str, list[int]] = {}
    for p in params:
        if p["dead"]:
            by_reason.setdefault(p["reason"].split("; state derivative")[0], []).append(p["param"])
    if dead == P and P:
        lines.append(f"  UNTRAINABLE: all {P} parameters are dead")
    elif dead:
        lines.append(f"  {dead} of {P} parameters are dead")
    else:
        lines.append("  no dead parameters")
    for reason, ids in by_reason.items():
        which = ",".join(str(i) for i in ids[:8]) + (",..." if len(ids) > 8 else "")
        lines.append(f"    params {which}: {reason}")
    red = row["n_redundant"]
    lines.append(
        f"  QFI rank {row['rank']} of {P}"
        + (f" ({red} redundant)" if red else "")
        + f"; outcome-distribution effective dimension {row['eff_dim']}"
    )
    dim, n = row["dla_dim"], row["n_qubits"]
    full = 4**n - 1
    kind = row["dla_kind"]
    if dim == full:
        shape = "all of su(2^n)"
    elif dim and "u(1)" in kind and "+" not in kind:
        shape = "abelian: only commuting phases"
    else:
        shape = f"{dim} of the {full} dimensions of su(2^n)"
    lines.append(f"  DLA {kind} (dim {dim}): {shape}")
    pv, sv, se = row["predicted_var"], row["sampled_var"], row["sampled_var_se"]
    pred = "n/a" if not np.isfinite(pv) else f"{pv:.3e}"
    samp = "not sampled" if not np.isfinite(sv) else f"{sv:.3e} ± {se:.1e}"
    lines.append(
        f"  Var[C] at L={row['deep_layers']} (DLA dim {row['deep_dla_dim']}): predicted {pred} "
        f"[{row['theory']}], sampled {samp}"
    )
    return "\n".join(lines)


def lie(
    ansatz: Sequence[str] = ("original", "dense", "sparse"),
    qubits: Sequence[int] = (2, 3, 4, 5, 6),
    layers: Sequence[int] = (2,),
    cost: str = "local",
    *,
    deep_layers: int = 50,
    samples: int = 500,
    seed: int = 0,
    sparse_pattern: str = "brickwall",
    sparse_density: float = 0.5,
    progress: bool = False,
) -> LieReport:
    """Audit every (ansatz, n_qubits, n_layers): dead and redundant parameters, DLA, predicted vs
    sampled cost variance at ``deep_layers``. Returns a :class:`LieReport`; ``circuits`` has
    columns :data:`COLUMNS` (variances are of the dimensionless cost, over parameters), and
    ``params`` has :data:`PARAM_COLUMNS`.

    >>> rep = lie(("original",), (2,), (1,), samples=0)
    >>> int(rep.circuits.loc[0, "n_dead"])
    2
    """
    from dataclasses import asdict

    config = LieConfig(
        tuple(ansatz),
        tuple(qubits),
        tuple(layers),
        cost,
        int(deep_layers),
        int(samples),
        int(seed),
        sparse_pattern,
        float(sparse_density),
    )
    points = [(a, n, L) for a in config.ansatz for n in config.qubits for L in config.layers]
    circuits = {p: config.circuit(*p) for p in points}
    deeps = {(a, n): config.circuit(a, n, config.deep_layers) for a, n, _ in points}
    engine = SharedEngine(list(circuits.values()) + list(deeps.values()))
    rows, prows, details = [], [], []
    from tqdm.auto import tqdm

    bar = tqdm(total=len(points), desc="lie", unit="circuit", disable=not progress, leave=False)
    for a, n, L in points:
        circ = circuits[(a, n, L)]
        params, summary, det = audit(
            circ,
            config.cost,
            deep=deeps[(a, n)],
            samples=config.samples,
            seed=config.seed,
            engine=engine,
        )
        coords = {"ansatz": a, "n_qubits": n, "n_layers": L}
        for r in params:
            prows.append(coords | r)
        row = coords | summary
        det = coords | det | {"verdict": verdict(row, params)}
        rows.append(row)
        details.append(det)
        bar.update(1)
    bar.close()
    df = pd.DataFrame(rows, columns=COLUMNS)
    pdf = pd.DataFrame(prows, columns=PARAM_COLUMNS)
    df.attrs["config"] = asdict(config)
    return LieReport(df, pdf, details)


def write(report: LieReport, out: str | Path) -> dict[str, Path]:
    """Write ``lie.csv``, ``lie_params.csv``, ``lie.json`` and the figure ``lie.png/.pdf``."""
    from bpdiag.figures.lie import lie_figure

    out = Path(out)
    meta = {
        "analysis": "lie",
        "config": report.circuits.attrs.get("config", {}),
        "circuits": report.details,
        "units": {
            "predicted_var": "Var over parameters of the cost C (dimensionless), not of dC/dθ",
            "sampled_var": "same, sampled with the JAX engine at deep_layers; ± sampled_var_se",
            "rank": "rank of the quantum Fisher information (max over random points)",
            "eff_dim": "rank of the outcome-distribution Fisher information over data points",
            "grad_max": "max |dC/dθ| (1/rad) over random parameters and inputs (JAX engine)",
        },
    }
    paths = _io.write_result(report.circuits, meta, out, "lie", figure=lie_figure)
    paths["params_csv"] = out / "lie_params.csv"
    _io.write_csv(report.params, paths["params_csv"])
    return paths
