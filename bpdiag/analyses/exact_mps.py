"""Exact gradient variance as a matrix product state over qubits: the Pauli-path chain of
:mod:`bpdiag.analyses.exact` without its 4^n tensor.

**What is the same.** The chain (the angle-averaged squared Pauli coefficients of the
observable carried backwards through the circuit, plus one chain per pair string ``D`` of a
Pauli-sum cost) and every local update come from :class:`bpdiag.analyses.exact._Sweep`: the
gates' 4x4 and 16x16 transfer matrices, the fusion of single-qubit gates into two-qubit ones and
the per-qubit compressed bases (rank 3 for the dense and sparse HEA with uniform angles, where X
and Y weights stay equal: the 3-state local basis). Only the state differs: here it is an MPS,
site tensors float[chi_l, d_w, chi_r] in the order of a *layout* of the qubits.

**Truncation.** Each two-qubit update contracts the two sites, applies the 16x16 update and
splits them again by an SVD at the orthogonality centre, keeping at most ``chi`` singular values
(values below 1e-13 of the largest are round-off and always dropped). SVD truncation of this
chain is not one-sided (it changes sign with chi), so it proves no bound: :func:`mps_moments`
doubles chi until the relative change of ``var`` is at most ``tol`` and reports ``chi`` and
``var_rel_change``. Only a run in which nothing was truncated is exact; then ``var_lo`` and
``var_hi`` are given (``bound = "exact"``; ``"exact+dropped"`` when negligible pair chains were
skipped with their proved bound added) and otherwise NaN (``bound = "none"``).

**Scale.** Norms are kept as base-2 logarithms (every split renormalises its singular values),
so values like 2^-1000 are exact: ``log2_var`` comes from the mantissa and exponent, never from
``log2(var)`` of an underflowed float.

**Routing.** Gates act on neighbouring sites. A circuit on a line uses the line's order; when its
two-qubit gates close a ring the layout is folded (0, n-1, 1, n-2, ...), so every ring edge is at
most two sites apart; any other pair is brought together by SWAPs of sites and put back. The
number of SWAPs is reported (``swaps``: it is what routing costs, each one a two-site split).

**Light cone.** Before running, the circuit is cut to what can matter (:func:`light_cone`): the
terms of the cost that the differentiated gate can reach (forward through the gates), then the
gates and qubits that those terms reach backwards. Both passes propagate, per qubit, the set of
Pauli letters the chain can hold (a superset, from the transfer matrices' non-zero patterns), so
commuting entanglers such as a CZ chain spread the cone by one qubit per layer. For a local cost
on a shallow circuit the work therefore grows with the light cone, not with n.

No object of size 2^n or 4^n is built: the cost comes from :func:`bpdiag.circuits.cost_terms`.

>>> from bpdiag.circuits import dense_hea
>>> m = mps_moments(dense_hea(2, 1), "global", param=0)
>>> round(m["var"], 12), m["bound"]
(0.25, 'exact')
"""

from __future__ import annotations

import math

import numpy as np
from threadpoolctl import threadpool_limits

from bpdiag._resources import plan_chunk
from bpdiag.analyses import exact as _ex
from bpdiag.circuits import Circuit

#: Singular values below this fraction of the largest are round-off (dropped, not truncation).
CUTOFF = 1e-13
#: Backends of the exact method; ``auto`` picks ``dense`` up to :data:`AUTO_DENSE_MAX` qubits.
BACKENDS = ("dense", "mps", "auto")
AUTO_DENSE_MAX = 12


# ---------------------------------------------------------------------------------------------
# Numbers as mantissa * 2**exponent


def _split(x: float, exponent: float = 0.0) -> tuple[float, float]:
    """``x * 2**exponent`` as (m, e) with 0.5 <= |m| < 1 and e an integer."""
    if x == 0 or not math.isfinite(x):
        return float(x), 0.0
    whole = math.floor(exponent)
    m, e = math.frexp(float(x) * 2.0 ** (exponent - whole))
    return m, float(e + whole)


def _add(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """(m, e) + (m, e), each meaning m * 2**e."""
    if a[0] == 0:
        return b
    if b[0] == 0:
        return a
    e = max(a[1], b[1])
    m = math.ldexp(a[0], int(a[1] - e)) + math.ldexp(b[0], int(b[1] - e))
    return _split(m, e)


def _value(x: tuple[float, float]) -> float:
    m, e = x
    if m == 0:
        return 0.0
    return math.ldexp(m, int(e)) if e > -1070 else 0.0


def _log2(x: tuple[float, float]) -> float:
    m, e = x
    return math.log2(abs(m)) + e if m != 0 else float("-inf")


# ---------------------------------------------------------------------------------------------
# The light cone


def _diagonal(op) -> bool:
    """Whether an op is diagonal in the Z basis (CZ, S, RZ, RZZ, ...): its transfer matrix fixes
    every Z-type string (letters I, Z), so consecutive diagonal ops commute."""
    if "diagonal" not in op._cache:
        ztype = _ZTYPE[len(op.wires)]
        if op.kind == "cliff":
            diag = all(int(op.perm[q]) == q and op.sign[q] > 0 for q in ztype)
        else:
            diag = op.kind == "rot" and all(p in ztype for p, _ in op.axes)
        op._cache["diagonal"] = diag
    return op._cache["diagonal"]


#: Local indices of the Z-type strings (letters I and Z only) on 1 and 2 wires.
_ZTYPE = {1: (0, 3), 2: (0, 3, 12, 15)}


def _spread(ops, idx, cone: set[int]) -> list[int]:
    """Grow ``cone`` (a set of wires) through the ops ``idx`` in the given time direction and
    return the ops that touch it. A run of consecutive diagonal ops commutes, so it is one step:
    only its ops that touch the cone at the run's start join (a CZ chain spreads one qubit)."""
    kept, run = [], []

    def flush():
        hit = [i for i in run if cone.intersection(ops[i].wires)]
        for i in hit:
            cone.update(ops[i].wires)
        kept.extend(hit)
        run.clear()

    for i in idx:
        if _diagonal(ops[i]):
            run.append(i)
            continue
        flush()
        if cone.intersection(ops[i].wires):
            cone.update(ops[i].wires)
            kept.append(i)
    flush()
    return kept


def light_cone(comp, terms) -> tuple | None:
    """Cut a compiled chain to what can matter: ``(comp', terms', wires)`` with ``wires`` the
    kept qubits (in their new order) and ``comp'`` on ``len(wires)`` qubits; ``None`` when the
    derivative is zero for every angle (no term reaches the differentiated gate).

    A term whose support misses the differentiated gate's forward light cone has a zero
    derivative; gates outside the kept terms' backward light cone act on identity letters, a
    fixed point of every transfer matrix."""
    n, ops = comp.n, comp.ops
    deriv = [i for i, op in enumerate(ops) if op.kind == "deriv"]
    keep_terms = list(terms)
    if deriv:
        cone = set(ops[deriv[0]].wires)
        _spread(ops, range(deriv[0] + 1, len(ops)), cone)
        keep_terms = [(c, q) for c, q in terms if any(q[w] for w in cone)]
    support = {w for _, q in keep_terms for w in range(n) if q[w]}
    if not support:
        return None
    kept = set(_spread(ops, range(len(ops) - 1, -1, -1), support))
    if deriv and deriv[0] not in kept:
        return None
    wires = _cyclic_order(sorted(support), n, comp)
    new = {w: j for j, w in enumerate(wires)}
    ops2 = []
    for i in sorted(kept):
        o = ops[i]
        ops2.append(
            _ex._Op(o.kind, tuple(new[w] for w in o.wires), o.perm, o.sign, o.axes, o.mom, o._cache)
        )
    ops2 = _alternate_runs(ops2)
    comp2 = _ex._Compiled(len(wires), ops2, comp.bloch[wires], comp.coef)
    comp2.order = _ex._schedule(len(wires), ops2)
    terms2 = [(c, tuple(q[w] for w in wires)) for c, q in keep_terms]
    return comp2, terms2, wires


def _alternate_runs(ops: list) -> list:
    """Reverse every other run of consecutive diagonal ops (they commute), so the sweep over a
    brick of CZs runs back and forth across the MPS instead of always from one end (which
    would move the orthogonality centre across the register between layers)."""
    out, run, flip = [], [], False

    def flush():
        nonlocal flip
        if sum(len(o.wires) == 2 for o in run) > 1:
            out.extend(reversed(run) if flip else run)
            flip = not flip
        else:
            out.extend(run)
        run.clear()

    for o in ops:
        if _diagonal(o):
            run.append(o)
        else:
            flush()
            out.append(o)
    flush()
    return out


def _cyclic_order(wires: list[int], n: int, comp) -> list[int]:
    """Kept wires of a ring-shaped circuit start after their largest gap, so a light cone that
    wraps around the ring becomes a line."""
    if len(wires) in (0, n) or not any(
        len(o.wires) == 2 and abs(o.wires[0] - o.wires[1]) == n - 1 for o in comp.ops
    ):
        return wires
    gaps = [(wires[(i + 1) % len(wires)] - wires[i]) % n for i in range(len(wires))]
    start = (int(np.argmax(gaps)) + 1) % len(wires)
    return wires[start:] + wires[:start]


# ---------------------------------------------------------------------------------------------
# The matrix product state


class _MPS:
    """Sites float[l, d, r] in layout order, an orthogonality centre and a log2 scale; the state
    is ``2**log2 * contraction``."""

    def __init__(self, tensors: list[np.ndarray], log2: float = 0.0):
        self.A = tensors
        self.log2 = log2
        self.center = 0
        self.truncated = False
        self.work = 0
        self.peak = 0
        self._canonicalize()

    def _canonicalize(self) -> None:
        """Right-canonical form with the centre on site 0 (norm moved into the scale)."""
        for p in range(len(self.A) - 1, 0, -1):
            self._shift_left(p)
        self._normalize(0)
        self.center = 0

    def _normalize(self, p: int) -> bool:
        nrm = float(np.linalg.norm(self.A[p]))
        if nrm == 0 or not math.isfinite(nrm):
            return False
        self.A[p] = self.A[p] / nrm
        self.log2 += math.log2(nrm)
        return True

    def _shift_right(self, p: int) -> None:
        a = self.A[p]
        l_, d, r = a.shape
        Q, R = np.linalg.qr(a.reshape(l_ * d, r))
        self.A[p] = Q.reshape(l_, d, -1)
        self.A[p + 1] = np.tensordot(R, self.A[p + 1], axes=(1, 0))

    def _shift_left(self, p: int) -> None:
        a = self.A[p]
        l_, d, r = a.shape
        Q, R = np.linalg.qr(a.reshape(l_, d * r).T)
        self.A[p] = Q.T.reshape(-1, d, r)
        self.A[p - 1] = np.tensordot(self.A[p - 1], R.T, axes=(2, 0))

    def move(self, p: int) -> None:
        while self.center < p:
            self._shift_right(self.center)
            self.center += 1
        while self.center > p:
            self._shift_left(self.center)
            self.center -= 1

    def one(self, p: int, C: np.ndarray) -> bool:
        self.move(p)
        self.A[p] = np.einsum("ij,ajb->aib", C, self.A[p])
        return self._normalize(p)

    def two(self, p: int, Mp: np.ndarray, chi: int) -> bool:
        """Apply Mp float[r0, r1, d0, d1] to sites (p, p+1) and split with at most chi values."""
        right = self.center <= p  # the sweep moves right: leave the centre on p + 1
        self.move(p if right else p + 1)
        a, b = self.A[p], self.A[p + 1]
        r0, r1, d0, d1 = Mp.shape
        theta = np.tensordot(a, b, axes=(2, 0))  # l, d0, d1, r
        l_, r = theta.shape[0], theta.shape[3]
        theta = np.tensordot(Mp.reshape(r0 * r1, d0 * d1), theta.reshape(l_, d0 * d1, r), (1, 1))
        mat = theta.reshape(r0, r1, l_, r).transpose(2, 0, 1, 3).reshape(l_ * r0, r1 * r)
        self.work += mat.size
        self.peak = max(self.peak, mat.size)
        U, S, Vt, keep = _split_matrix(mat, chi)
        if keep == 0:
            return False
        if keep > chi:
            self.truncated = True
            keep = chi
        U, S, Vt = U[:, :keep], S[:keep], Vt[:keep]
        nrm = float(np.linalg.norm(S))
        self.log2 += math.log2(nrm)
        S = S / nrm
        if right:
            self.A[p] = U.reshape(l_, r0, keep)
            self.A[p + 1] = (S[:, None] * Vt).reshape(keep, r1, r)
            self.center = p + 1
        else:
            self.A[p] = (U * S).reshape(l_, r0, keep)
            self.A[p + 1] = Vt.reshape(keep, r1, r)
            self.center = p
        return True

    def contract(self, W: list[np.ndarray], factors: np.ndarray) -> tuple[float, float]:
        """sum_f factors[f] <W_f, state> as (mantissa, exponent); W[p] complex[F, d_p]."""
        env = np.ones((len(factors), 1), dtype=complex)
        log2 = self.log2
        for p, a in enumerate(self.A):
            env = np.einsum("fl,ldr,fd->fr", env, a, W[p])
            m = float(np.abs(env).max())
            if m == 0:
                return 0.0, 0.0
            env /= m
            log2 += math.log2(m)
        return _split(float(np.real(np.dot(factors, env[:, 0]))), log2)


#: Above this size ratio to chi a split is certain to truncate and uses the Gram matrix.
_GRAM_RESOLVED = 1e-6


def _split_matrix(mat: np.ndarray, chi: int):
    """(U, S, Vt, rank) of a matrix (rank: singular values above :data:`CUTOFF` of the largest).

    When the matrix is larger than chi both ways, the eigen-decomposition of its smaller Gram
    matrix (3-5x faster than an SVD) gives the leading singular triplets to working accuracy; it
    is used only when more than chi values are resolved above ``1e-6`` of the largest, so the
    split truncates for certain (returned rank > chi). Otherwise the full SVD decides the rank."""
    m, k = mat.shape
    if min(m, k) > chi:
        wide = m <= k
        G = mat @ mat.T if wide else mat.T @ mat
        ev, vec = np.linalg.eigh(G)
        ev, vec = ev[::-1], vec[:, ::-1]
        if ev[0] > 0 and int(np.sum(ev > (_GRAM_RESOLVED**2) * ev[0])) > chi:
            S = np.sqrt(ev[: chi + 1])
            V = vec[:, : chi + 1]
            if wide:  # mat = U S Vt with U = V
                Vt = (V.T @ mat) / S[:, None]
                return V, S, Vt, chi + 1
            U = (mat @ V) / S
            return U, S, V.T, chi + 1
    try:
        U, S, Vt = np.linalg.svd(mat, full_matrices=False)
    except np.linalg.LinAlgError:  # pragma: no cover - gesdd failure: the robust driver
        import scipy.linalg

        U, S, Vt = scipy.linalg.svd(mat, full_matrices=False, lapack_driver="gesvd")
    if not S.size or S[0] == 0:
        return U, S, Vt, 0
    return U, S, Vt, int(np.sum(S > CUTOFF * S[0]))


def _product_sum(terms, index, dims) -> _MPS:
    """The MPS of sum_a c_a |letters_a> (bases given by ``index``), compressed exactly (only
    round-off dropped), built in batches so the bond never exceeds its rank + the batch."""
    n = len(dims)
    state = None
    batch = 32
    for s in range(0, len(terms), batch):
        chunk = terms[s : s + batch]
        K = len(chunk)
        A = []
        for p in range(n):
            a = np.zeros((1 if p == 0 else K, dims[p], 1 if p == n - 1 else K))
            for k, (c, q) in enumerate(chunk):
                i = index[p][q[p]]
                a[0 if p == 0 else k, i, 0 if p == n - 1 else k] += c if p == 0 else 1.0
            A.append(a)
        if state is not None:
            A = _direct_sum(state, A)
        state = _compress(A)
    return state


def _direct_sum(state: _MPS, B: list[np.ndarray]) -> list[np.ndarray]:
    n = len(B)
    out = []
    scale = 2.0 ** (state.log2)
    for p, (a, b) in enumerate(zip(state.A, B)):
        a = a * scale if p == 0 else a
        la, d, ra = a.shape
        lb, _, rb = b.shape
        L = 1 if p == 0 else la + lb
        R = 1 if p == n - 1 else ra + rb
        t = np.zeros((L, d, R))
        if n == 1:
            t = a + b
        elif p == 0:
            t[:, :, :ra] = a
            t[:, :, ra:] = b
        elif p == n - 1:
            t[:la] = a
            t[la:] = b
        else:
            t[:la, :, :ra] = a
            t[la:, :, ra:] = b
        out.append(t)
    return out


def _compress(A: list[np.ndarray]) -> _MPS:
    """Right-canonicalize and cut the round-off singular values of every bond (no chi limit)."""
    n = len(A)
    for p in range(n - 1):  # left-canonical
        l_, d, r = A[p].shape
        Q, R = np.linalg.qr(A[p].reshape(l_ * d, r))
        A[p] = Q.reshape(l_, d, -1)
        A[p + 1] = np.tensordot(R, A[p + 1], axes=(1, 0))
    for p in range(n - 1, 0, -1):
        l_, d, r = A[p].shape
        U, S, Vt = np.linalg.svd(A[p].reshape(l_, d * r), full_matrices=False)
        keep = max(1, int(np.sum(S > CUTOFF * S[0]))) if S.size and S[0] > 0 else 1
        A[p] = Vt[:keep].reshape(keep, d, r)
        A[p - 1] = np.tensordot(A[p - 1], U[:, :keep] * S[:keep], axes=(2, 0))
    return _MPS(A)


# ---------------------------------------------------------------------------------------------
# Layout and one chain


def layout(comp) -> list[int]:
    """Site order of the qubits: the line, or the folded ring (0, n-1, 1, n-2, ...) when a
    two-qubit gate joins the ends."""
    n = comp.n
    ring = any(len(o.wires) == 2 and abs(o.wires[0] - o.wires[1]) == n - 1 > 1 for o in comp.ops)
    if not ring:
        return list(range(n))
    out = []
    for i in range((n + 1) // 2):
        out.append(i)
        if n - 1 - i != i:
            out.append(n - 1 - i)
    return out


def _run_chain_mps(comp, D0, terms, chi: int, full: bool = False, final=None, memo=None) -> dict:
    """One chain of :func:`bpdiag.analyses.exact._run_chain` on an MPS of bond dimension chi.

    Returns ``value`` (mantissa, exponent), ``truncated``, ``swaps``, ``work`` (sum of the
    split matrices' sizes) and ``peak`` (the largest one, entries)."""
    sweep = _ex._Sweep(comp, D0, terms, full=full, memo=memo, canonical=True)
    at = layout(comp)
    pos = {q: p for p, q in enumerate(at)}
    dims = [sweep.B[q].shape[1] for q in at]
    index = [sweep.index[q] for q in at]
    site_terms = [(c, tuple(q[w] for w in at)) for c, q in terms]
    mps = _product_sum(site_terms, index, dims)
    swaps = 0
    zero = {"value": (0.0, 0.0), "truncated": False, "swaps": 0, "work": 0, "peak": 0}

    def swap(p: int) -> bool:
        nonlocal swaps
        d0, d1 = mps.A[p].shape[1], mps.A[p + 1].shape[1]
        Mp = np.einsum("ib,ja->ijab", np.eye(d1), np.eye(d0))
        swaps += 1
        ok = mps.two(p, Mp, chi)
        at[p], at[p + 1] = at[p + 1], at[p]
        pos[at[p]], pos[at[p + 1]] = p, p + 1
        return ok

    for up in sweep.updates():
        if up[0] == "zero":
            return zero | {"work": mps.work}
        if up[0] == "one":
            ok = mps.one(pos[up[1]], up[2])
        else:
            _, w0, w1, Mp = up
            moved = []
            while abs(pos[w0] - pos[w1]) > 1:  # bring w1 next to w0
                p = pos[w1] - 1 if pos[w1] > pos[w0] else pos[w1]
                moved.append(p)
                if not swap(p):
                    return zero
            if pos[w0] > pos[w1]:
                Mp = Mp.transpose(1, 0, 3, 2)
            ok = mps.two(min(pos[w0], pos[w1]), Mp, chi)
            for p in reversed(moved):  # and put it back
                ok = ok and swap(p)
        if not ok:
            return zero | {"work": mps.work}
    factors, W = sweep.final(final)
    value = mps.contract([W[q] for q in at], factors)
    value = (sweep.sign * value[0], value[1])  # m * 2**e, e an integer
    return {
        "value": value,
        "truncated": mps.truncated,
        "swaps": swaps,
        "work": mps.work,
        "peak": mps.peak,
    }


# ---------------------------------------------------------------------------------------------
# Moments


def _mps_bytes(n: int, chi: int, d: int = 4) -> float:
    """Predicted peak bytes of one chain at bond dimension chi: the sites (n * chi^2 * d) plus
    one split (the matrix, its SVD factors and workspace: ~6 (d chi)^2) in float64."""
    return 8.0 * (n * chi * chi * d + 6 * (d * chi) ** 2)


def _second_moment(comp, terms, chi: int, full: bool, rtol: float, memo: dict) -> dict:
    """E[g^2] / coef^2 as (mantissa, exponent): the diagonal chain plus every pair chain whose
    proved bound (:func:`bpdiag.analyses.exact._chain_bound`) is not negligible."""
    n = comp.n
    identity = (0,) * n
    diag = [(c * c, q) for c, q in terms]
    res = _run_chain_mps(comp, identity, diag, chi, full, memo=memo)
    total, truncated = res["value"], res["truncated"]
    swaps, work, peak, dropped = res["swaps"], res["work"], res["peak"], 0.0
    pairs = _ex._pair_starts(terms)
    for Dab, start in pairs.items():
        bound = sum(abs(c) for c, _ in start) * _ex._chain_bound(comp, Dab)
        if bound == 0.0:
            continue
        if bound <= rtol * abs(_value(total)):
            dropped += bound
            continue
        r = _run_chain_mps(comp, Dab, start, chi, full, memo=memo)
        total = _add(total, r["value"])
        truncated = truncated or r["truncated"]
        swaps, work, peak = swaps + r["swaps"], work + r["work"], max(peak, r["peak"])
    return {
        "value": total,
        "truncated": truncated,
        "dropped": dropped,
        "swaps": swaps,
        "work": work,
        "peak": peak,
    }


def _var_of(second: tuple[float, float], mean: float) -> tuple[float, float]:
    """second - mean^2, floored at 0, as (mantissa, exponent)."""
    if mean == 0:
        return second if second[0] > 0 else (0.0, 0.0)
    v = _add(second, _split(-(mean**2)))
    return v if v[0] > 0 else (0.0, 0.0)


def _rel_change(a: tuple[float, float], b: tuple[float, float]) -> float:
    """|a - b| / |a| for (m, e) numbers, without underflow; NaN when a is 0 (a truncated
    chain can vanish: not evidence of convergence)."""
    if a[0] == 0:
        return float("nan")
    d = _add(a, (-b[0], b[1]))
    return abs(d[0] / a[0]) * 2.0 ** (d[1] - a[1]) if d[0] != 0 else 0.0


def _one_param(circuit, cost, p, init, average, chi0, chi_max, tol, full, rtol, budget) -> dict:
    comp = _ex._compile(circuit, param=p, init=init, average=average)
    if comp.generator is not None:
        raise ValueError(
            "exact method: identity-blocks needs --exact-backend dense (its final functional "
            "is not a product over qubits in the MPS backend)"
        )
    terms = _ex._cost_terms(cost, circuit.n_qubits)
    cut = light_cone(comp, terms)
    out = {"cone_qubits": 0, "swaps": 0, "work": 0, "peak": 0, "dropped": 0.0}
    if cut is None:  # nothing reaches the gate: the derivative is 0 for every angle
        return out | {
            "mean": 0.0,
            "second": (0.0, 0.0),
            "var": (0.0, 0.0),
            "chi": 1,
            "var_rel_change": 0.0,
            "truncated": False,
        }
    comp, terms, wires = cut
    mean = comp.coef * _ex._first_moment(comp, terms)
    coef2 = _split(comp.coef**2)
    chi, prev, rel, memo = chi0, None, float("nan"), {}
    while True:
        try:
            what = f"the MPS exact variance at chi = {chi}"
            plan_chunk(1, _mps_bytes(comp.n, chi), what=what, budget=budget)
        except MemoryError:
            if prev is None:
                raise
            break  # report the last chi that fit, with its var_rel_change
        sm = _second_moment(comp, terms, chi, full, rtol, memo)
        second = _split(sm["value"][0] * coef2[0], sm["value"][1] + coef2[1])
        var = _var_of(second, mean)
        raw = _add(second, _split(-(mean**2)))  # signed: truncation may make it negative
        if prev is not None:
            rel = _rel_change(raw, prev["raw"])
        cur = {"mean": mean, "second": second, "var": var, "chi": chi, "sm": sm, "raw": raw}
        if not sm["truncated"]:
            rel, prev = 0.0, cur
            break
        prev = cur
        if (math.isfinite(rel) and rel <= tol) or 2 * chi > chi_max:
            break
        chi *= 2
    sm = prev["sm"]
    return {
        "mean": mean,
        "second": prev["second"],
        "var": prev["var"],
        "chi": prev["chi"],
        "var_rel_change": rel,
        "truncated": sm["truncated"],
        "dropped": comp.coef**2 * sm["dropped"],
        "cone_qubits": len(wires),
        "swaps": sm["swaps"],
        "work": sm["work"],
        "peak": sm["peak"],
    }


def mps_moments(
    circuit: Circuit,
    cost: str = "global",
    *,
    param: str | int = "middle",
    init: str = "uniform",
    axes: str = "auto",
    tol: float = 1e-3,
    chi: int = 16,
    chi_max: int = 512,
    basis: str = "reduced",
    rtol: float = 1e-12,
    memory_budget: float | None = None,
) -> dict:
    """Exact mean and variance of dC/dtheta (as :func:`bpdiag.analyses.exact.exact_moments`),
    with the chain as an MPS converged in its bond dimension.

    ``chi`` is the first bond dimension; it doubles (up to ``chi_max``) until the relative change
    of ``var`` is at most ``tol``, or until nothing was truncated. ``basis``: ``reduced`` (the
    compressed per-qubit bases, 3 states for the HEAs) or ``full`` (4 Pauli letters per site).

    Returns ``mean`` (1/rad), ``var`` (1/rad^2; may underflow to 0 below ~2^-1070), ``log2_var``
    (exact, from mantissa and exponent), ``second``, ``chi`` (bond dimension of the reported
    value), ``var_rel_change`` (relative change of ``var`` at the last doubling; 0 when exact),
    ``var_lo``/``var_hi`` (proved bounds, NaN when anything was truncated), ``bound``
    (``exact``, ``exact+dropped`` or ``none``), ``dropped`` (bound on skipped pair chains),
    ``cone_qubits`` (qubits in the light cone), ``swaps`` (routing SWAPs), ``work`` (sum of the
    split sizes, entries) and ``peak`` (largest split, entries). ``param="all"`` averages over
    the parameters (``chi`` and ``var_rel_change`` are then the largest).
    """
    if basis not in ("reduced", "full"):
        raise ValueError(f"basis must be 'reduced' or 'full', got {basis!r}")
    if not 0 < tol < 1:
        raise ValueError(f"tol must be in (0, 1), got {tol}")
    if int(chi) != chi or chi < 1 or chi_max < chi:
        raise ValueError(f"chi must be an integer in [1, chi_max={chi_max}], got {chi}")
    average = _ex._average_axes(circuit, axes)
    # The splits are small matrices (d chi x d chi): threads only cost, and under load they
    # cost 10-30x (measured on 2 cores).
    with threadpool_limits(1, user_api="blas"):
        runs = _runs(
            circuit, cost, param, init, average, chi, chi_max, tol, basis, rtol, memory_budget
        )
    return _summary(runs)


def _runs(circuit, cost, param, init, average, chi, chi_max, tol, basis, rtol, budget) -> list:
    return [
        _one_param(
            circuit, cost, p, init, average, int(chi), int(chi_max), tol, basis == "full", rtol,
            budget,
        )
        for p in _ex._param_list(circuit, param)
    ]  # fmt: skip


def _summary(runs: list[dict]) -> dict:
    """Average the per-parameter results (exact in log space)."""
    k = len(runs)
    var = (0.0, 0.0)
    second = (0.0, 0.0)
    for r in runs:
        var = _add(var, r["var"])
        second = _add(second, r["second"])
    var, second = _split(var[0], var[1] - math.log2(k)), _split(second[0], second[1] - math.log2(k))
    exact = not any(r["truncated"] for r in runs)
    dropped = float(np.mean([r["dropped"] for r in runs]))
    v = _value(var)
    out = {
        "mean": float(np.mean([r["mean"] for r in runs])),
        "var": v,
        "log2_var": _log2(var),
        "second": _value(second),
        "chi": int(max(r["chi"] for r in runs)),
        "var_rel_change": float(max(r["var_rel_change"] for r in runs)),
        "var_lo": max(v - dropped, 0.0) if exact else float("nan"),
        "var_hi": v + dropped if exact else float("nan"),
        "bound": ("exact+dropped" if dropped > 0 else "exact") if exact else "none",
        "dropped": dropped,
        "cone_qubits": int(max(r["cone_qubits"] for r in runs)),
        "swaps": int(sum(r["swaps"] for r in runs)),
        "work": float(sum(r["work"] for r in runs)),
        "peak": float(max(r["peak"] for r in runs)),
    }
    return out


def pick_backend(backend: str, n_qubits: int) -> str:
    """``dense`` or ``mps`` for a requested backend (``auto``: dense up to
    :data:`AUTO_DENSE_MAX` qubits)."""
    if backend not in BACKENDS:
        raise ValueError(f"exact backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "auto":
        return "dense" if n_qubits <= AUTO_DENSE_MAX else "mps"
    return backend


__all__ = ["AUTO_DENSE_MAX", "BACKENDS", "light_cone", "mps_moments", "pick_backend"]
