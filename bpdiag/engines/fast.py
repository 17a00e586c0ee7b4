"""Fused statevector engine on compiled CPU kernels (numba): few passes over memory per layer.

Runs any :class:`~bpdiag.circuits.Circuit`, numpy in and numpy out (complex128 by default,
``dtype="complex64"`` for speed). Gates are consumed generically from their
:func:`~bpdiag.engines._program.lower` tables ``M(theta) = cos(theta/2) A + sin(theta/2) B`` and
classified by their matrices, never by name:

* a one-wire gate is a 2x2 block; consecutive blocks on a wire are *fused* into one 2x2 per
  sample (real when every factor is real, e.g. RY, H);
* a diagonal gate (one or two wires: RZ, CZ, RZZ, S, any diagonal A and B) is *folded* into the
  stage's diagonal, applied in one multiplication while the last pass writes back;
* any other two-wire gate (CNOT, SWAP, RXX, ...) is a dense 4x4 pass.

A *stage* is ``D * (U_0 x U_1 x ...)`` — one fused block per wire followed by one diagonal; a
layer of the dense HEA (RY on every wire; RZ on every wire and the CZ chain folded) is one
stage, run in one pass over the 10 low bits (contiguous 16 KiB tiles) and one pass per further
10 bits (strided tiles of 16 columns), instead of ~3n gate passes. Scheduling is greedy in gate
order: a one-wire diagonal gate is fused into its wire's block when the next gate on that wire
is a non-diagonal one-wire gate, else folded.

Gradients of every parameter come from one forward and one adjoint sweep per sample and cost:
the backward sweep un-applies each stage from the state and the cotangent and accumulates, per
fused block, the 2x2 moment ``T[a, b] = sum conj(lam_b) psi_a`` on its wire and, per diagonal
gate, the marginal of ``conj(lam) psi`` on its bits; each gate's derivative is then a 2x2 (or
4-entry) contraction, exact for every gate of the fused block.

Threads: samples run one per thread (chunks of at least as many samples as threads, about
2**22 amplitudes in all), so one call has one parallel region; a state of :data:`WIDE_FROM`
qubits or more with fewer samples than threads, or past :data:`BATCH_UP_TO` qubits, is split in
tiles over the threads instead (a parallel region per pass: on a busy machine every region
waits for every thread). The OpenMP wait policy is set to passive before the
runtime starts (a spinning pool costs milliseconds per call on a busy 2-core machine).
Kernels compile on first use (a few seconds, cached on disk), never on import.

>>> import numpy as np; from bpdiag.circuits import dense_hea
>>> expval(dense_hea(2, 1), np.zeros(4), costs="global").round(12).tolist()
[[1.0]]
"""

from __future__ import annotations

import functools
import os
from typing import NamedTuple

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("KMP_BLOCKTIME", "0")

import numpy as np  # noqa: E402

from bpdiag.circuits import Circuit, observables  # noqa: E402
from bpdiag.engines._batch import SHIFT, as_rows  # noqa: E402
from bpdiag.engines._program import lower  # noqa: E402

DTYPES = {"complex128": np.float64, "complex64": np.float32}
#: Smallest register the engine runs (smaller circuits are embedded; extra wires stay |0>).
MIN_REGISTER = 4
#: Bits of a contiguous tile (group 0; further groups: _fast_kernels.MID bits each).
LOW = 10
#: At most this many high bits touched by diagonal gates across the tile boundary per stage.
MAX_CROSS = 4
#: From this register size on, a call with fewer samples than threads splits each state over
#: the threads; past BATCH_UP_TO qubits every call does (below: a sample per thread).
WIDE_FROM = 13
BATCH_UP_TO = 22
#: complex64 error bound used by the tests: |state error| per amplitude grows ~ gates * 6e-8.
#: Costs are diagonal (names or observable arrays): bpdiag.engines._observe rotates Pauli sums.
PAULI_COSTS = False
EPS64 = 6e-8
_TOL = 1e-14


def _kernels():
    from bpdiag.engines import _fast_kernels  # numba: loaded when a circuit first runs

    return _fast_kernels


def _threads() -> int:
    import numba

    return int(numba.get_num_threads())


# ---------------------------------------------------------------------------------------------
# The plan: stages and passes of one circuit (structure only, no angles).


class Plan(NamedTuple):
    """Structure of a circuit on a register of ``N`` wires (see :mod:`_fast_kernels`)."""

    n_qubits: int
    N: int
    l0: int
    passes: np.ndarray  # int64[P, 8]
    stages: np.ndarray  # int64[S, 4]
    ubits: np.ndarray  # int64[U]
    ureal: np.ndarray  # int64[U]
    ugrad: np.ndarray  # int64[U]
    blocks: tuple  # per block: gate indices in application order
    dpq: np.ndarray  # int64[D, 3]
    dgate: np.ndarray  # int64[D]
    xbits: np.ndarray  # int64[X]
    mpq: np.ndarray  # int64[M, 2]
    mgate: np.ndarray  # int64[M]
    mgrad: np.ndarray  # int64[M]
    first_pass: np.ndarray  # int64[G]: the first pass of the stage holding each gate
    A2: np.ndarray  # complex[G, 2, 2] (one-wire gates)
    B2: np.ndarray
    A: np.ndarray  # complex[G, 4, 4]
    B: np.ndarray
    pm: np.ndarray
    dm: np.ndarray
    const: np.ndarray


def _is_diag(m: np.ndarray) -> bool:
    return bool(np.all(np.abs(m - np.diag(np.diag(m))) <= _TOL))


@functools.lru_cache(maxsize=64)
def plan(circuit: Circuit) -> Plan:
    """Fuse, fold and schedule ``circuit`` into stages and passes (cached per circuit)."""
    N = max(circuit.n_qubits, MIN_REGISTER)
    l0 = min(N, LOW)
    prog = lower(circuit, n_register=N)
    from bpdiag.engines._program import gate_kernels

    kernels = gate_kernels(circuit)
    G = circuit.n_gates
    two = [kernels[prog.kernel[g]][1] >= 0 for g in range(G)]
    A2 = prog.A[:, [0, 2]][:, :, [0, 2]]
    B2 = prog.B[:, [0, 2]][:, :, [0, 2]]
    wires = [kernels[prog.kernel[g]] for g in range(G)]
    kind = []  # "u" (one-wire, non-diagonal), "d1", "d2" (diagonal), "m" (dense)
    for g in range(G):
        if not two[g]:
            kind.append("d1" if _is_diag(A2[g]) and _is_diag(B2[g]) else "u")
        else:
            kind.append("d2" if _is_diag(prog.A[g]) and _is_diag(prog.B[g]) else "m")
    moving = [bool(np.any(np.abs(prog.B[g]) > _TOL)) for g in range(G)]
    bit = [N - 1 - w[0] for w in wires]
    # next gate on the same wire is a non-diagonal one-wire gate?
    nxt = [False] * G
    last: dict[int, int] = {}
    for g in range(G - 1, -1, -1):
        ws = wires[g] if two[g] else (wires[g][0],)
        if not two[g]:
            nxt[g] = last.get(ws[0], None) == "u"
        for w in ws:
            last[w] = kind[g] if not two[g] else "2"

    stages: list[dict] = []

    def new():
        return {"u": {}, "d": [], "dbits": set(), "x": set(), "m": None}

    cur = new()

    def close():
        nonlocal cur
        if cur["u"] or cur["d"]:
            stages.append(cur)
        cur = new()

    for g in range(G):
        k = kind[g]
        if k in ("u", "d1"):
            p = bit[g]
            if k == "d1" and (p in cur["dbits"] or not nxt[g]):
                cur["d"].append((g, p, -1))
                cur["dbits"].add(p)
                continue
            if k == "u" and p in cur["dbits"]:
                close()
            cur["u"].setdefault(p, []).append(g)
        elif k == "d2":
            p, q = N - 1 - wires[g][0], N - 1 - wires[g][1]
            cross = p >= l0 > q
            if cross and p not in cur["x"] and len(cur["x"]) >= MAX_CROSS:
                close()
            cur["d"].append((g, p, q))
            cur["dbits"] |= {p, q}
            if cross:
                cur["x"].add(p)
        else:
            close()
            stages.append({"u": {}, "d": [], "dbits": set(), "x": set(), "m": g})
    close()

    mid = _kernels().MID
    groups = [(0, l0)] + [(lo, min(N, lo + mid)) for lo in range(l0, N, mid)]
    passes, st_rows, ubits, ureal, ugrad, blocks = [], [], [], [], [], []
    dpq, dgate, xbits, mpq, mgate, mgrad = [], [], [], [], [], []
    first_pass = np.zeros(G, dtype=np.int64)
    for s, st in enumerate(stages):
        start = len(passes)
        if st["m"] is not None:
            g = st["m"]
            mpq.append((N - 1 - wires[g][0], N - 1 - wires[g][1]))
            mgate.append(g)
            mgrad.append(int(moving[g]))
            st_rows.append((len(dpq), len(dpq), len(xbits), len(xbits)))
            passes.append((1, s, 0, 0, 0, 0, 0, len(mpq) - 1))
            first_pass[g] = start
            continue
        d0, x0 = len(dpq), len(xbits)
        for g, p, q in st["d"]:
            dpq.append((p, q, int(moving[g])))
            dgate.append(g)
            first_pass[g] = start
        xbits.extend(sorted(st["x"]))
        st_rows.append((d0, len(dpq), x0, len(xbits)))
        k_of = {}
        for p in sorted(st["u"]):
            gs = st["u"][p]
            k_of[p] = len(ubits)
            ubits.append(p)
            ureal.append(
                int(all(np.all(np.abs(A2[g].imag) + np.abs(B2[g].imag) <= _TOL) for g in gs))
            )
            ugrad.append(int(any(moving[g] for g in gs)))
            blocks.append(tuple(gs))
            for g in gs:
                first_pass[g] = start
        active = []
        for lo, hi in groups:
            ks = [k_of[p] for p in sorted(st["u"]) if lo <= p < hi]
            if ks:
                active.append([0, s, lo, hi, ks[0], ks[-1] + 1, 0, 0])
        if st["d"]:
            if not active:
                active.append([0, s, 0, l0, 0, 0, 0, 0])
            active[-1][6] = 1
        passes.extend(tuple(a) for a in active)

    def arr(rows, width=None):
        a = np.asarray(rows, dtype=np.int64)
        return a.reshape(-1, width) if width else a.reshape(-1)

    return Plan(
        circuit.n_qubits,
        N,
        l0,
        arr(passes, 8),
        arr(st_rows, 4),
        arr(ubits),
        arr(ureal),
        arr(ugrad),
        tuple(blocks),
        arr(dpq, 3),
        arr(dgate),
        arr(xbits),
        arr(mpq, 2),
        arr(mgate),
        arr(mgrad),
        first_pass,
        A2,
        B2,
        prog.A,
        prog.B,
        prog.pm,
        prog.dm,
        prog.const,
    )


# ---------------------------------------------------------------------------------------------
# Values: the per-sample matrices of a plan's blocks, diagonals and dense gates.


class Values(NamedTuple):
    M1: np.ndarray  # complex[S, G, 2, 2]: every one-wire gate
    U: np.ndarray  # complex[S, U, 2, 2]: fused blocks
    uv: np.ndarray  # float[S, U, 8]
    ui: np.ndarray  # float[S, U, 8] (inverses)
    dv: np.ndarray  # float[S, D, 8]
    mv: np.ndarray  # float[S, M, 32]
    mi: np.ndarray  # float[S, M, 32]
    c: np.ndarray  # float[S, G]
    s: np.ndarray


def _pairs(m: np.ndarray, ftype) -> np.ndarray:
    """complex[..., a, b] -> float[..., 2ab] as re/im pairs, row major."""
    out = np.empty(m.shape[:-2] + (m.shape[-2] * m.shape[-1], 2), dtype=ftype)
    flat = m.reshape(m.shape[:-2] + (m.shape[-2] * m.shape[-1],))
    out[..., 0] = flat.real
    out[..., 1] = flat.imag
    return np.ascontiguousarray(out.reshape(m.shape[:-2] + (2 * m.shape[-2] * m.shape[-1],)))


def values(pl: Plan, angles: np.ndarray, ftype) -> Values:
    """Matrices of every block, diagonal and dense gate for gate angles float[S, G] (radians)."""
    S = angles.shape[0]
    c, s = np.cos(angles / 2), np.sin(angles / 2)
    M1 = c[:, :, None, None] * pl.A2[None] + s[:, :, None, None] * pl.B2[None]
    nU = len(pl.blocks)
    U = np.empty((S, nU, 2, 2), dtype=complex)
    U[:] = np.eye(2)
    width = max((len(b) for b in pl.blocks), default=0)
    for j in range(width):
        ks = [k for k, b in enumerate(pl.blocks) if len(b) > j]
        gs = [pl.blocks[k][j] for k in ks]
        U[:, ks] = M1[:, gs] @ U[:, ks]
    Ui = np.conj(np.swapaxes(U, -1, -2))
    g = pl.dgate
    dA = np.diagonal(pl.A[g], axis1=1, axis2=2)  # [D, 4]
    dB = np.diagonal(pl.B[g], axis1=1, axis2=2)
    one = pl.dpq[:, 1] < 0
    dA = np.where(one[:, None], dA[:, [0, 2, 0, 2]], dA)  # one-bit gates: entries 0 and 1
    dB = np.where(one[:, None], dB[:, [0, 2, 0, 2]], dB)
    d = c[:, g, None] * dA[None] + s[:, g, None] * dB[None]  # [S, D, 4]
    dv = np.empty((S, len(g), 8), dtype=ftype)
    dv[..., 0::2], dv[..., 1::2] = d.real, d.imag
    gm = pl.mgate
    M = c[:, gm, None, None] * pl.A[gm][None] + s[:, gm, None, None] * pl.B[gm][None]
    Mi = np.conj(np.swapaxes(M, -1, -2))
    return Values(
        M1,
        U,
        _pairs(U, ftype),
        _pairs(Ui, ftype),
        np.ascontiguousarray(dv),
        _pairs(M, ftype),
        _pairs(Mi, ftype),
        c,
        s,
    )


# ---------------------------------------------------------------------------------------------
# Running


def _angles(pl: Plan, params: np.ndarray, x: np.ndarray) -> np.ndarray:
    angles = params @ pl.pm + pl.const
    if pl.dm.shape[0]:
        angles = angles + x @ pl.dm
    return angles


def _obs(circuit: Circuit, costs, N: int) -> np.ndarray:
    """Observable diagonals float64[2**N, k]: cost names (:func:`observables`) or an array
    float[2**n, k] (or [2**n]), embedded in the register."""
    if isinstance(costs, np.ndarray):
        obs = costs.reshape(costs.shape[0], -1).astype(float)
        if obs.shape[0] != 2**circuit.n_qubits:
            raise ValueError(f"observables need {2**circuit.n_qubits} rows, got {obs.shape[0]}")
    else:
        obs = observables(costs, circuit.n_qubits)
    return np.ascontiguousarray(np.repeat(obs, 2 ** (N - circuit.n_qubits), axis=0))


def _dtype(dtype: str):
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be complex128 or complex64, got {dtype!r}")
    return DTYPES[dtype]


def _batch_mode(pl: Plan, S: int) -> bool:
    """One sample per thread (True) or each state split over the threads (False)."""
    return pl.N < WIDE_FROM or (pl.N <= BATCH_UP_TO and S >= _threads())


def _chunk(pl: Plan, S: int) -> int:
    """Samples per call: about 2**22 amplitudes of states at once, at least one per thread in
    batch mode; every sample at once in wide mode (one state at a time)."""
    if not _batch_mode(pl, S):
        return S
    return max(_threads(), 2 ** max(0, 22 - pl.N))


def _states(pl: Plan, v: Values, ftype, p0: int = 0, p1=None, start=None):
    """(re, im) float[S, 2**N] after passes p0..p1-1 (default: all) from |0> or from ``start``
    (re, im) float[S, 2**N] (copied)."""
    K = _kernels()
    S = v.uv.shape[0]
    p1 = len(pl.passes) if p1 is None else p1
    if start is None:
        RE = np.zeros((S, 2**pl.N), dtype=ftype)
        IM = np.zeros((S, 2**pl.N), dtype=ftype)
        RE[:, 0] = 1.0
    else:
        RE, IM = start[0].copy(), start[1].copy()
    common = (pl.stages, pl.ubits, pl.ureal, pl.dpq, pl.xbits, pl.mpq)
    if _batch_mode(pl, S):
        K.forward_batch(RE, IM, pl.N, pl.l0, pl.passes, p0, p1, False, *common, v.uv, v.dv, v.mv)
        return RE, IM
    nch = _threads()
    for i in range(S):
        K.forward_parallel(
            RE[i], IM[i], pl.N, pl.l0, pl.passes, p0, p1, *common,
            v.uv[i], v.dv[i], v.mv[i], nch,
        )  # fmt: skip
    return RE, IM


def _moments(pl: Plan, v: Values, RE, IM, obs: np.ndarray, ftype):
    """Backward sweeps: T [S, K, U, 2, 2], W [S, K, D, 4], T4 [S, K, M, 4, 4] (complex)."""
    K_ = _kernels()
    S, k = RE.shape[0], obs.shape[1]
    nU, nD, nM = len(pl.ubits), len(pl.dgate), len(pl.mgate)
    T = np.zeros((S, k, nU, 8), dtype=ftype)
    W = np.zeros((S, k, max(nD, 1), 8), dtype=ftype)
    T4 = np.zeros((S, k, max(nM, 1), 32), dtype=ftype)
    common = (pl.N, pl.l0, pl.passes, pl.stages, pl.ubits, pl.ugrad, pl.ureal, pl.dpq, pl.xbits)
    common += (pl.mpq, pl.mgrad)
    ob = obs.astype(ftype)
    if _batch_mode(pl, S):
        K_.adjoint_batch(RE, IM, ob, *common, v.ui, v.dv, v.mi, T, W, T4)
    else:
        nch = _threads()
        pr, pi = np.empty_like(RE[0]), np.empty_like(RE[0])
        lr, li = np.empty_like(RE[0]), np.empty_like(RE[0])
        for i in range(S):
            for j in range(k):
                pr[:], pi[:] = RE[i], IM[i]
                K_.cotangent(pr, pi, np.ascontiguousarray(ob[:, j]), lr, li, nch)
                K_.backward_parallel(
                    pr, pi, lr, li, *common, v.ui[i], v.dv[i], v.mi[i], T[i, j], W[i, j],
                    T4[i, j], nch,
                )  # fmt: skip

    def cplx(a, shape):
        a = a.astype(float)
        return (a[..., 0::2] + 1j * a[..., 1::2]).reshape(a.shape[:-1] + shape)

    return cplx(T, (2, 2)), cplx(W, (4,))[:, :, :nD], cplx(T4, (4, 4))[:, :, :nM]


def _gate_grads(pl: Plan, v: Values, T, W, T4) -> np.ndarray:
    """d<O_k>/d(angle of gate g): float[S, K, G]."""
    S, k = T.shape[:2]
    out = np.zeros((S, k, len(pl.const)))
    c, s = v.c, v.s
    # fused blocks: K_j = P_j dM_j M_j^+ P_j^+, grad = 2 Re tr(K_j T)
    if pl.blocks:
        P = np.empty_like(v.U)
        P[:] = np.eye(2)
        width = max(len(b) for b in pl.blocks)
        for j in range(width):  # from the last member of every block backwards
            ks = [i for i, b in enumerate(pl.blocks) if len(b) > j]
            gs = [pl.blocks[i][len(pl.blocks[i]) - 1 - j] for i in ks]
            M = v.M1[:, gs]
            dM = 0.5 * (c[:, gs, None, None] * pl.B2[gs][None] - s[:, gs, None, None] * pl.A2[gs])
            Pk = P[:, ks]
            Kj = Pk @ dM @ np.conj(np.swapaxes(M, -1, -2)) @ np.conj(np.swapaxes(Pk, -1, -2))
            out[:, :, gs] = 2 * np.real(np.einsum("sgab,skgba->skg", Kj, T[:, :, ks]))
            P[:, ks] = Pk @ M
    if len(pl.dgate):
        g = pl.dgate
        one = pl.dpq[:, 1] < 0
        dA = np.diagonal(pl.A[g], axis1=1, axis2=2)
        dB = np.diagonal(pl.B[g], axis1=1, axis2=2)
        dA = np.where(one[:, None], dA[:, [0, 2, 0, 2]], dA)
        dB = np.where(one[:, None], dB[:, [0, 2, 0, 2]], dB)
        d = c[:, g, None] * dA + s[:, g, None] * dB
        dd = 0.5 * (c[:, g, None] * dB - s[:, g, None] * dA)
        q = dd * np.conj(d)  # [S, D, 4]
        q = np.where(one[None, :, None], q * np.array([1, 1, 0, 0]), q)
        out[:, :, g] = 2 * np.real(np.einsum("sdb,skdb->skd", q, W))
    if len(pl.mgate):
        g = pl.mgate
        M = c[:, g, None, None] * pl.A[g] + s[:, g, None, None] * pl.B[g]
        dM = 0.5 * (c[:, g, None, None] * pl.B[g] - s[:, g, None, None] * pl.A[g])
        Kd = dM @ np.conj(np.swapaxes(M, -1, -2))
        out[:, :, g] = 2 * np.real(np.einsum("smab,skmba->skm", Kd, T4))
    return out


def _complex(RE, IM, pl: Plan) -> np.ndarray:
    psi = RE.astype(float) + 1j * IM.astype(float)
    extra = pl.N - pl.n_qubits
    return psi[:, :: 2**extra] if extra else psi


def _expvals(RE, IM, obs) -> np.ndarray:
    probs = RE.astype(float) ** 2 + IM.astype(float) ** 2
    return probs @ obs


# ---------------------------------------------------------------------------------------------
# The engine functions


def simulate(circuit: Circuit, params, x=None, *, dtype: str = "complex128") -> np.ndarray:
    """Final states complex128[batch, 2**n] (wire 0 the most significant bit) for params
    float[batch, n_params] (or [n_params]) and x float[batch, n_data] (or [n_data])."""
    ftype = _dtype(dtype)
    params, x = as_rows(circuit, params, x)
    pl = plan(circuit)
    RE, IM = _states(pl, values(pl, _angles(pl, params, x), ftype), ftype)
    return _complex(RE, IM, pl)


def _chunks(pl: Plan, params, x):
    n = _chunk(pl, len(params))
    for i in range(0, len(params), n):
        yield params[i : i + n], x[i : i + n]


def expval(
    circuit: Circuit, params, x=None, *, costs="global", dtype: str = "complex128"
) -> np.ndarray:
    """Expectations float[batch, k] of diagonal observables: cost names (``global``,
    ``local``, ``readout``, Pauli-Z sums: :func:`~bpdiag.circuits.observables`) or an array
    float[2**n, k]."""
    ftype = _dtype(dtype)
    params, x = as_rows(circuit, params, x)
    pl = plan(circuit)
    obs = _obs(circuit, costs, pl.N)
    out = []
    for p, d in _chunks(pl, params, x):
        RE, IM = _states(pl, values(pl, _angles(pl, p, d), ftype), ftype)
        out.append(_expvals(RE, IM, obs))
    return np.concatenate(out)


def gradient(
    circuit: Circuit, params, x=None, *, costs="global", dtype: str = "complex128"
) -> np.ndarray:
    """d<cost>/d(params) float[batch, n_params, k] (1/rad) of every parameter, by one forward
    and one adjoint sweep per sample and cost."""
    return expval_and_gradient(circuit, params, x, costs=costs, dtype=dtype)[1]


def expval_and_gradient(
    circuit: Circuit, params, x=None, *, costs="global", dtype: str = "complex128"
) -> tuple[np.ndarray, np.ndarray]:
    """``(expval float[batch, k], gradient float[batch, n_params, k])`` from the same sweeps."""
    ftype = _dtype(dtype)
    params, x = as_rows(circuit, params, x)
    pl = plan(circuit)
    obs = _obs(circuit, costs, pl.N)
    vals, grads = [], []
    for p, d in _chunks(pl, params, x):
        v = values(pl, _angles(pl, p, d), ftype)
        RE, IM = _states(pl, v, ftype)
        vals.append(_expvals(RE, IM, obs))
        gg = _gate_grads(pl, v, *_moments(pl, v, RE, IM, obs, ftype))  # [S, K, G]
        grads.append(np.moveaxis(gg @ pl.pm.T, 1, -1))
    return np.concatenate(vals), np.concatenate(grads)


def shift_gradient(
    circuit: Circuit, params, x=None, *, param: int, costs="global", dtype: str = "complex128"
) -> np.ndarray:
    """d<cost>/d(params[param]) float[batch, k] by the parameter-shift pair on each gate the
    parameter drives (exact for ``exp(-i t P / 2)`` rotations). On wide registers the stages
    before the shifted gate run once per sample for both shifts."""
    ftype = _dtype(dtype)
    params, x = as_rows(circuit, params, x)
    if int(param) != param or not 0 <= int(param) < circuit.n_params:
        raise ValueError(f"param must be in 0..{circuit.n_params - 1}, got {param}")
    pl = plan(circuit)
    obs = _obs(circuit, costs, pl.N)
    gates = np.nonzero(pl.pm[int(param)])[0]
    out = []
    for p, d in _chunks(pl, params, x):
        base = _angles(pl, p, d)
        part = np.zeros((len(p), obs.shape[1]))
        for g in gates:
            shifted = []
            for sign in (1, -1):
                a = base.copy()
                a[:, g] += sign * SHIFT
                shifted.append(values(pl, a, ftype))
            if _batch_mode(pl, len(p)):  # the stages before gate g once for both shifts
                p0 = int(pl.first_pass[g])
                mid = _states(pl, values(pl, base, ftype), ftype, 0, p0)
                res = [_expvals(*_states(pl, v, ftype, p0, None, mid), obs) for v in shifted]
            else:
                res = _shift_wide(pl, values(pl, base, ftype), shifted, int(pl.first_pass[g]), obs)
            part += pl.pm[int(param), g] * (res[0] - res[1]) / 2
        out.append(part)
    return np.concatenate(out)


def _shift_wide(pl: Plan, v0: Values, shifted, p0: int, obs) -> list[np.ndarray]:
    """Wide mode, one sample at a time: passes 0..p0-1 once (angles ``v0``), then the rest for
    each of the ``shifted`` values; returns the expectations float[S, k] of each."""
    K = _kernels()
    common = (pl.stages, pl.ubits, pl.ureal, pl.dpq, pl.xbits, pl.mpq)
    nch, n, P = _threads(), 2**pl.N, len(pl.passes)
    ftype = v0.uv.dtype
    re0, im0 = np.zeros(n, ftype), np.zeros(n, ftype)
    re, im = np.empty(n, ftype), np.empty(n, ftype)
    probs = np.empty(n, ftype)
    out = [np.zeros((v0.uv.shape[0], obs.shape[1])) for _ in shifted]
    for i in range(v0.uv.shape[0]):
        re0[:], im0[:] = 0.0, 0.0
        re0[0] = 1.0
        K.forward_parallel(
            re0, im0, pl.N, pl.l0, pl.passes, 0, p0, *common, v0.uv[i], v0.dv[i], v0.mv[i], nch
        )
        for j, v in enumerate(shifted):
            re[:], im[:] = re0, im0
            K.forward_parallel(
                re, im, pl.N, pl.l0, pl.passes, p0, P, *common, v.uv[i], v.dv[i], v.mv[i], nch
            )
            K.probabilities(re, im, probs, nch)
            out[j][i] = probs @ obs
    return out


__all__ = ["expval", "expval_and_gradient", "gradient", "plan", "shift_gradient", "simulate"]
