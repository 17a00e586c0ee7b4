"""The dynamical Lie algebra (DLA) of a circuit and the cost variance it predicts.

**DLA.** The Lie closure of the trainable generators (:mod:`bpdiag.circuits.pauli`), in the
``mode="trainable"`` frame of :mod:`bpdiag.analyses.lie.frame`. For Pauli strings it is classified
from the anticommutation graph: isolated strings form the centre ``u(1)^k``, each other component
is a simple ideal identified by its dimension and rank (size of a maximal commuting set) as su(N),
so(N) or sp(N) (Aguilar et al. 2024, arXiv:2408.00081: Pauli Lie algebras are sums of these and
u(1)). Notation: ``su(2^6)`` is su(64); ``sp(N)`` is the compact symplectic algebra of N x N
matrices; ``so(7)|sp(6)`` marks dimension and rank that cannot tell B_r from C_r.

**Predicted variance** (Ragone et al., Nat. Commun. 15, 7172 (2024), Thm. 1; Fontana et al., Nat.
Commun. 15, 7171 (2024)): for a circuit deep enough to be a 2-design on ``exp(g)``, with ``O`` or
``rho`` in ``i g`` and ``g = g_1 + ... + g_m + centre``,

    Var_theta[C] = sum_j P_{g_j}(rho) P_{g_j}(O) / dim(g_j),   P_g(H) = sum_i Tr(B_i H)^2

over an orthonormal basis ``B_i = P_i / sqrt(2^n)`` of ``g_j``. When ``O'`` commutes with ``g`` the
cost does not depend on the parameters and the variance is exactly 0. This is the variance of
the **cost** ``C`` (not of its gradient), over parameters uniform in [0, 2 pi) at one fixed data
point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import sparse

from bpdiag.analyses.lie.classify import Classification, _fmt_size, classify_strings, identify
from bpdiag.analyses.lie.frame import heisenberg_frame, prefix_state, string_frame
from bpdiag.circuits import Circuit, cost_paulis, cost_terms
from bpdiag.circuits import pauli as pa

_GENERIC_MAX_QUBITS = 6
#: Largest n for Pauli-sum generators (the closure of :func:`_float_closure`).
SUM_MAX_QUBITS = 12
#: Up to this n the predicted variance enumerates the algebra (exact strings, any rho); above it
#: reads everything from the classification.
ENUMERATE_MAX_QUBITS = 8


class Component(NamedTuple):
    """A simple ideal of a Pauli DLA: its name, dimension, rank, and indices into ``DLA.keys``
    (``None`` when the algebra was classified without enumerating it); ``copies`` identical
    ideals ("controlled" versions) when classified."""

    kind: str
    dim: int
    rank: int
    index: np.ndarray | None
    copies: int = 1


@dataclass(frozen=True)
class DLA:
    """A dynamical Lie algebra on n qubits.

    ``pauli``: spanned by Pauli strings ``keys`` (exact); otherwise ``basis = (support, Q)``:
    ``Q`` float64[dim, S] orthonormal coordinates on the Pauli strings ``support`` uint64[S].
    ``components``:
    the simple ideals (Pauli case); ``center``: dimension of the centre.
    """

    n: int
    dim: int
    kind: str
    pauli: bool
    keys: np.ndarray | None = field(default=None, repr=False)
    basis: tuple | None = field(default=None, repr=False)
    components: tuple[Component, ...] = ()
    center: int = 0
    generators: tuple = field(default=(), repr=False)
    method: str = "enumerated"
    classification: Classification | None = field(default=None, repr=False)

    @property
    def abelian(self) -> bool:
        return self.center == self.dim

    @property
    def log2_dim(self) -> float:
        """``log2(dim)`` (exact dimension as a Python int in ``dim``)."""
        return math.log2(self.dim) if self.dim else float("-inf")


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


def _float_closure(generators, n: int, tol: float = 1e-7, max_dim: int = 20000):
    """The Lie algebra generated by Pauli sums (floating point, for generators that are not single
    strings): ``(support, Q)`` with ``support`` uint64[S] the Pauli strings reached and ``Q``
    float64[dim, S] an orthonormal basis in those coordinates.

    Vectors live on the strings reached so far (not on all 4^n), commutators of a block of basis
    vectors with a generator are one vectorized product table (``i[P_a, P_b] = c P_{a^b}``), and
    new directions are orthogonalized twice against the basis. Refuses (ValueError) beyond
    ``max_dim`` dimensions or n > :data:`SUM_MAX_QUBITS`."""
    if n > SUM_MAX_QUBITS:
        raise ValueError(
            f"the DLA of Pauli-sum generators is computed up to {SUM_MAX_QUBITS} qubits, got {n}"
        )
    gens = [(np.asarray(k, np.uint64), np.asarray(c, float)) for k, c in generators]
    support = np.unique(np.concatenate([k for k, _ in gens]))
    Q = np.zeros((0, len(support)))

    def embed(keys, coefs, width):
        v = np.zeros(width)
        np.add.at(v, np.searchsorted(support, keys), coefs)
        return v

    def grow(new_keys):
        nonlocal support, Q
        extra = np.setdiff1d(new_keys, support)
        if not len(extra):
            return
        merged = np.union1d(support, extra)
        Q2 = np.zeros((len(Q), len(merged)))
        Q2[:, np.searchsorted(merged, support)] = Q
        support, Q = merged, Q2

    def add(cands):
        nonlocal Q
        norms = np.linalg.norm(cands, axis=1)
        cands = cands[norms > tol] / norms[norms > tol, None]
        if not len(cands):
            return cands
        for _ in range(2):
            cands = cands - (cands @ Q.T) @ Q
            cands = cands[np.linalg.norm(cands, axis=1) > tol]  # most lie in the span already
        if not len(cands):
            return cands
        lam, vec = np.linalg.eigh(cands @ cands.T)  # rank-revealing on the small Gram matrix
        keep = lam > tol**2 * max(1.0, lam[-1])
        new = (vec[:, keep].T @ cands) / np.sqrt(lam[keep])[:, None]
        if len(new):
            new = new - (new @ Q.T) @ Q
            new /= np.linalg.norm(new, axis=1, keepdims=True)
            Q = np.concatenate([Q, new])
            if len(Q) > max_dim:
                raise ValueError(
                    f"the DLA of these Pauli-sum generators exceeds {max_dim} dimensions"
                )
        return new

    frontier = add(np.stack([embed(k, c, len(support)) for k, c in gens]))
    while len(frontier) and len(Q) < 4**n - 1:
        S0 = support
        tables = []
        for gk, gc in gens:  # ad_G on the strings of S0: i[P_s, P_g] = c P_{s^g}
            kk, cc = pa.commutator(S0[:, None], gk[None, :], n)
            rows, cols = np.nonzero(cc)
            tables.append((rows, kk[rows, cols], cc[rows, cols] * gc[cols]))
        grow(np.unique(np.concatenate([t[1] for t in tables])))
        F = sparse.csr_matrix(frontier[:, : len(S0)])
        mats = [
            sparse.csr_matrix((w, (r, np.searchsorted(support, k))), shape=(len(S0), len(support)))
            for r, k, w in tables
        ]
        frontier = add(np.concatenate([(F @ M).toarray() for M in mats]))
    return support, Q


def _enumerated(keys: np.ndarray, n: int, gens) -> DLA:
    kind, comps, center = classify(keys, n)
    return DLA(
        n, len(keys), kind, True, keys=keys, components=comps, center=center, generators=gens
    )


def dla_of_strings(keys: Sequence[int], n: int) -> DLA:
    """The DLA generated by Pauli strings (Python-int keys on n qubits, any n), classified from
    their anticommutation graph without enumerating it (:mod:`.classify`). Generators are taken in
    growing prefixes (4n, 8n, ...) and the work stops once a prefix generates all of su(2^n)."""
    ks = [int(k) for k in keys if int(k)]
    full, step = 4**n - 1, max(4 * n, 1)
    k = min(len(ks), step)
    while True:
        cl = classify_strings(ks[:k], n)
        if cl.dim == full or k >= len(ks):
            break
        k = min(len(ks), 2 * k)
    comps = tuple(Component(p.kind, p.dim, p.rank, None, p.copies) for p in cl.parts)
    return DLA(
        n,
        cl.dim,
        cl.kind,
        True,
        components=comps,
        center=cl.center,
        generators=tuple(dict.fromkeys(ks)),
        method="classified",
        classification=cl,
    )


def dla_of(
    generators: Sequence[tuple[np.ndarray, np.ndarray]], n: int, *, method: str = "classify"
) -> DLA:
    """The DLA generated by Pauli sums ``(keys, coefs)`` on n qubits (see :class:`DLA`).

    Single Pauli strings are classified (``method="classify"``, any n) or enumerated
    (``"enumerate"``, the cross-check, n <= 9 or so); Pauli sums always use the closure of
    :func:`_float_closure`."""
    if method not in ("classify", "enumerate"):
        raise ValueError(f"method must be 'classify' or 'enumerate', got {method!r}")
    gens = [(np.asarray(k, np.uint64), np.asarray(c, float)) for k, c in generators]
    gens = [(k[k != 0], c[k != 0]) for k, c in gens]  # identity parts are global phases
    gens = [(k, c) for k, c in gens if len(k)]
    if not gens:
        return DLA(n, 0, "0", True, keys=np.zeros(0, np.uint64))
    if all(len(k) == 1 for k, _ in gens):
        if method == "classify":
            return dla_of_strings([int(k[0]) for k, _ in gens], n)
        keys = pa.lie_closure(np.array([k[0] for k, _ in gens], np.uint64), n)
        return _enumerated(keys, n, tuple(gens))
    support, Q = _float_closure(gens, n)
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


def dla(circuit: Circuit, *, x=None, method: str = "classify") -> DLA:
    """The DLA of a circuit's trainable gates (``mode="trainable"`` frame; data at ``x``).

    Generators that are Pauli strings (every gate between trainable gates Clifford) are
    classified at any n (``method="classify"``) or enumerated (``"enumerate"``); otherwise they
    are Pauli sums and the floating-point closure runs (n <= 6)."""
    n = circuit.n_qubits
    try:
        if method == "classify":  # a prefix that already generates su(2^n) settles it
            pre = string_frame(circuit, mode="trainable", max_generators=4 * n)
            g = dla_of_strings(pre.generators, n)
            if g.dim == 4**n - 1:
                return g
        fr = string_frame(circuit, mode="trainable")
    except ValueError as err:
        if n > SUM_MAX_QUBITS:
            raise ValueError(
                f"{err}; the DLA of Pauli-sum generators is computed up to "
                f"{_GENERIC_MAX_QUBITS} qubits, got {n}"
            ) from None
        fr2 = heisenberg_frame(circuit, (), x=x, mode="trainable")
        return dla_of(fr2.generators, n)
    if method == "enumerate":
        gens = tuple((np.array([k], np.uint64), np.ones(1)) for k in fr.generators)
        return dla_of(gens, n, method="enumerate")
    if method != "classify":
        raise ValueError(f"method must be 'classify' or 'enumerate', got {method!r}")
    return dla_of_strings(fr.generators, n)


# ---------------------------------------------------------------------------------------------
# Predicted variance


class Prediction(NamedTuple):
    """Var_theta[C] predicted by the DLA (``nan`` where the theory does not apply), which case of
    the theory gave it, and the DLA."""

    var: float
    theory: str
    dla: DLA


def _purities(dla_: DLA, rho_exp: np.ndarray, o_coef: np.ndarray, n: int):
    """Per simple component j: (P_j(rho), P_j(O), dim_j) from Pauli expectations of rho and Pauli
    coordinates of O, both aligned with ``dla_.keys``."""
    d = 2.0**n
    return [
        (float(np.sum(rho_exp[c.index] ** 2) / d), float(d * np.sum(o_coef[c.index] ** 2)), c.dim)
        for c in dla_.components
    ]


def _predicted_classified(circuit: Circuit, cost) -> Prediction:
    """The prediction from the classified DLA (any n): needs Pauli-string generators, ``O'`` in
    ``ig`` (membership is exact), ``rho = |0..0><0..0|`` (no gate before the first trainable one)
    and single-copy simple parts whose Z strings can be counted (:meth:`Part.z_count`)."""
    n = circuit.n_qubits
    g = dla(circuit)
    if g.dim == 4**n - 1:  # su(2^n): every O' is in ig; Tr(O'^2) = Tr(O^2); all Z strings
        pre = string_frame(circuit, mode="trainable", max_generators=1)
        if pre.start == 0:
            mass = sum(c * c for c, ops in cost_terms(cost, n) if ops)
            var = (2**n - 1) * mass / g.dim
            return Prediction(float(var), "O in ig = su(2^n) (Ragone et al. 2024)", g)
    fr = string_frame(circuit, [cost_terms(cost, n)], mode="trainable")
    g = dla_of_strings(fr.generators, n) if g.method != "classified" else g
    terms = [(k, c) for k, c in zip(*fr.observables[0]) if k]
    if g.dim == 0:
        return Prediction(0.0, "no trainable gates: cost constant", g)
    gens = g.generators
    if not any(pa.int_anticommutes(k, G, n) for k, _ in terms for G in gens):
        return Prediction(0.0, "O commutes with g: cost constant in the parameters", g)
    cl = g.classification
    if not all(cl.contains(k) for k, _ in terms):
        return Prediction(float("nan"), "n/a: O not in ig (rho side not computed at this n)", g)
    if fr.start != 0:
        return Prediction(
            float("nan"), "n/a: a state is prepared before the first trainable gate", g
        )
    var = 0.0
    for part in cl.parts:
        mass = sum(c * c for k, c in terms if part.contains(k))
        if mass == 0:
            continue
        z = part.z_count()
        if z is None:
            return Prediction(float("nan"), f"n/a: projection of rho on {part.kind} copies", g)
        # P(rho) = z / 2^n, P(O) = 2^n * mass: the powers of two cancel exactly
        var += z * mass / part.dim
    return Prediction(float(var), "O in ig (Ragone et al. 2024; classified DLA)", g)


def predicted_variance(circuit: Circuit, cost: str = "local", *, x=None) -> Prediction:
    """Var_theta[C] of the cost over uniform parameters for a deep circuit with this structure
    (Ragone et al. 2024, Thm 1; module docstring). ``x``: the data point, float[n_data].

    Up to :data:`ENUMERATE_MAX_QUBITS` qubits the algebra is enumerated and ``rho``'s projection
    read from the prefix state; above, from the classification (:func:`_predicted_classified`)."""
    n = circuit.n_qubits
    if n > ENUMERATE_MAX_QUBITS:
        try:
            return _predicted_classified(circuit, cost)
        except ValueError as err:
            g = DLA(n, 0, "n/a", False)
            return Prediction(float("nan"), f"n/a: {err}", g)
    fr = heisenberg_frame(circuit, [cost_paulis(cost, n)], x=x, mode="trainable")
    g = dla_of(fr.generators, n, method="enumerate")
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
