"""Compiled CPU kernels of :mod:`bpdiag.engines.fast` (numba; JIT-compiled on first use, cached
on disk with ``cache=True``; importing this module compiles nothing).

A state of ``N`` qubits is two float arrays ``re, im`` of ``2**N`` amplitudes (split real and
imaginary parts: every inner loop is a straight run of real multiply-adds over contiguous
memory). Bit ``b`` of an index is wire ``N - 1 - b``.

A *pass* walks the state once in cache-sized tiles and applies, inside each tile, every fused
single-qubit block of one stage whose bit lies in the pass's bit group ``[lo, hi)``; the last
pass of a stage also multiplies by the stage's diagonal while writing back. Group 0 is the
``l0`` low bits (a tile is ``2**l0`` contiguous amplitudes; its three lowest bits are the
columns of 8-amplitude rows); a higher group's tile is ``2**(hi - lo)`` rows of ``CB``
contiguous columns, at most 1024 rows (TLB). A dense pass applies one 4x4 gate.

The diagonal of a stage is ``DH[i >> l0] * DX[key, i & (2**l0 - 1)]``: ``DH`` holds the gates on
high bits only, ``DX`` the gates on low bits and the gates across the boundary, keyed by the
high bits those touch (``key``, at most a few bits).

Pass rows (``passes`` int64[P, 8]): ``kind`` (0 tiles, 1 dense), ``stage``, ``lo``, ``hi``,
``k0``, ``k1`` (the stage's blocks in this group), ``dflag`` (apply the diagonal), ``m`` (the
dense gate). Stage rows (``stages`` int64[S, 4]): ``d0, d1`` (its diagonal gates), ``x0, x1``
(its cross bits in ``xbits``). Diagonal gates (``dpq`` int64[D, 3]): bits ``p > q`` (``q = -1``
for one bit), whether it needs a gradient. Values: ``uv`` [U, 8] (each block's 2x2 as re/im
pairs, row major), ``dv`` [D, 8] (the 4 diagonal entries; a one-bit gate uses 2), ``mv``
[M, 32] (4x4 dense gates), all in the state's float type.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Columns of a strided tile.
CB = 16


@njit(cache=True, nogil=True)
def tiles_of(N, l0, lo, hi):
    """Number of tiles of the pass over bits [lo, hi)."""
    if lo == 0:
        return 1 << (N - hi)
    cb = min(1 << lo, CB)
    return (1 << (N - hi)) * ((1 << lo) // cb)


@njit(cache=True, nogil=True)
def build_tables(N, l0, stage, stages, dpq, xbits, dv, DXr, DXi, DHr, DHi):
    """Fill the diagonal tables DX [2**nx * 2**l0] and DH [2**(N - l0)] of one stage."""
    d0, d1, x0, x1 = stages[stage, 0], stages[stage, 1], stages[stage, 2], stages[stage, 3]
    nx = x1 - x0
    L = 1 << l0
    H = 1 << (N - l0)
    for i in range(L << nx):
        DXr[i] = 1.0
        DXi[i] = 0.0
    for i in range(H):
        DHr[i] = 1.0
        DHi[i] = 0.0
    for k in range(d0, d1):
        p = dpq[k, 0]
        q = dpq[k, 1]
        if p >= l0 and (q < 0 or q >= l0):  # high bits only
            for h in range(H):
                idx = (h >> (p - l0)) & 1
                if q >= 0:
                    idx = (idx << 1) | ((h >> (q - l0)) & 1)
                ar, ai = DHr[h], DHi[h]
                br, bi = dv[k, 2 * idx], dv[k, 2 * idx + 1]
                DHr[h] = ar * br - ai * bi
                DHi[h] = ar * bi + ai * br
        else:
            j = -1  # position of a cross gate's high bit in the key
            if p >= l0:
                for jj in range(x0, x1):
                    if xbits[jj] == p:
                        j = jj - x0
            for key in range(1 << nx):
                for c in range(L):
                    if j >= 0:
                        idx = (((key >> j) & 1) << 1) | ((c >> q) & 1)
                    else:
                        idx = (c >> p) & 1
                        if q >= 0:
                            idx = (idx << 1) | ((c >> q) & 1)
                    t = key * L + c
                    ar, ai = DXr[t], DXi[t]
                    br, bi = dv[k, 2 * idx], dv[k, 2 * idx + 1]
                    DXr[t] = ar * br - ai * bi
                    DXi[t] = ar * bi + ai * br


@njit(cache=True, nogil=True)
def _geometry(lo, hi):
    if lo == 0:
        rowlo, cb, ncb = 3, 8, 1
    else:
        rowlo = lo
        cb = min(1 << lo, CB)
        ncb = (1 << lo) // cb
    return rowlo, cb, ncb, 1 << (hi - rowlo), 1 << rowlo


@njit(cache=True, nogil=True)
def _key(hh, l0, xbits, x0, x1):
    key = 0
    for j in range(x0, x1):
        key |= ((hh >> (xbits[j] - l0)) & 1) << (j - x0)
    return key


@njit(cache=True, nogil=True)
def tiles_forward(
    re, im, N, l0, lo, hi, t0, t1, ubits, ureal, k0, k1, uv, dflag, DXr, DXi, DHr, DHi, xbits, x0, x1
):
    """Forward pass over tiles t0..t1-1: blocks k0..k1-1, then (dflag) the diagonal."""
    rowlo, cb, ncb, R, stride = _geometry(lo, hi)
    L = 1 << l0
    lmask = L - 1
    for t in range(t0, t1):
        base = ((t // ncb) << hi) | ((t % ncb) * cb)
        for k in range(k0, k1):
            b = ubits[k]
            u00r, u00i, u01r, u01i = uv[k, 0], uv[k, 1], uv[k, 2], uv[k, 3]
            u10r, u10i, u11r, u11i = uv[k, 4], uv[k, 5], uv[k, 6], uv[k, 7]
            if b >= rowlo:
                h = 1 << (b - rowlo)
                off = h * stride
                for blk in range(0, R, 2 * h):
                    for r in range(blk, blk + h):
                        i0 = base + r * stride
                        i1 = i0 + off
                        if ureal[k]:
                            for c in range(cb):
                                ar, ai = re[i0 + c], im[i0 + c]
                                br, bi = re[i1 + c], im[i1 + c]
                                re[i0 + c] = u00r * ar + u01r * br
                                im[i0 + c] = u00r * ai + u01r * bi
                                re[i1 + c] = u10r * ar + u11r * br
                                im[i1 + c] = u10r * ai + u11r * bi
                        else:
                            for c in range(cb):
                                ar, ai = re[i0 + c], im[i0 + c]
                                br, bi = re[i1 + c], im[i1 + c]
                                re[i0 + c] = u00r * ar - u00i * ai + u01r * br - u01i * bi
                                im[i0 + c] = u00r * ai + u00i * ar + u01r * bi + u01i * br
                                re[i1 + c] = u10r * ar - u10i * ai + u11r * br - u11i * bi
                                im[i1 + c] = u10r * ai + u10i * ar + u11r * bi + u11i * br
            else:
                h = 1 << b
                for r in range(R):
                    rb = base + r * stride
                    for blk in range(0, cb, 2 * h):
                        for c in range(blk, blk + h):
                            i0 = rb + c
                            i1 = i0 + h
                            ar, ai = re[i0], im[i0]
                            br, bi = re[i1], im[i1]
                            re[i0] = u00r * ar - u00i * ai + u01r * br - u01i * bi
                            im[i0] = u00r * ai + u00i * ar + u01r * bi + u01i * br
                            re[i1] = u10r * ar - u10i * ai + u11r * br - u11i * bi
                            im[i1] = u10r * ai + u10i * ar + u11r * bi + u11i * br
        if dflag:
            for r in range(R):
                rb = base + r * stride
                hh = rb >> l0
                hr, hq = DHr[hh], DHi[hh]
                off = _key(hh, l0, xbits, x0, x1) * L + (rb & lmask)
                for c in range(cb):
                    xr, xi = DXr[off + c], DXi[off + c]
                    dr = xr * hr - xi * hq
                    di = xr * hq + xi * hr
                    ar, ai = re[rb + c], im[rb + c]
                    re[rb + c] = ar * dr - ai * di
                    im[rb + c] = ar * di + ai * dr


@njit(cache=True, nogil=True)
def tiles_backward(
    pr, pi, lr, li, N, l0, lo, hi, t0, t1, ubits, ugrad, k0, k1, ui, T,
    dflag, DXr, DXi, DHr, DHi, xbits, x0, x1, dgrad, AXr, AXi, AHr, AHi,
):  # fmt: skip
    """Backward pass over tiles t0..t1-1 on the state (pr, pi) and the cotangent (lr, li):
    (dflag) accumulate conj(lam) psi into AX/AH and divide both by the diagonal, then for every
    block accumulate T[k] (T[a, b] = sum conj(lam_b) psi_a on its bit) and apply ``ui`` (the
    blocks' inverses) to both."""
    rowlo, cb, ncb, R, stride = _geometry(lo, hi)
    L = 1 << l0
    lmask = L - 1
    for t in range(t0, t1):
        base = ((t // ncb) << hi) | ((t % ncb) * cb)
        if dflag:
            for r in range(R):
                rb = base + r * stride
                hh = rb >> l0
                hr, hq = DHr[hh], DHi[hh]
                off = _key(hh, l0, xbits, x0, x1) * L + (rb & lmask)
                sr = 0.0
                si = 0.0
                for c in range(cb):
                    i = rb + c
                    ar, ai, br, bi = pr[i], pi[i], lr[i], li[i]
                    if dgrad:
                        wr = br * ar + bi * ai
                        wi = br * ai - bi * ar
                        AXr[off + c] += wr
                        AXi[off + c] += wi
                        sr += wr
                        si += wi
                    xr, xi = DXr[off + c], DXi[off + c]
                    dr = xr * hr - xi * hq
                    di = -(xr * hq + xi * hr)  # conj(d)
                    pr[i] = ar * dr - ai * di
                    pi[i] = ar * di + ai * dr
                    lr[i] = br * dr - bi * di
                    li[i] = br * di + bi * dr
                if dgrad:
                    AHr[hh] += sr
                    AHi[hh] += si
        for k in range(k0, k1):
            b = ubits[k]
            g = ugrad[k]
            u00r, u00i, u01r, u01i = ui[k, 0], ui[k, 1], ui[k, 2], ui[k, 3]
            u10r, u10i, u11r, u11i = ui[k, 4], ui[k, 5], ui[k, 6], ui[k, 7]
            t00r = t00i = t01r = t01i = t10r = t10i = t11r = t11i = 0.0
            if b >= rowlo:
                h = 1 << (b - rowlo)
                hop = h * stride
                for blk in range(0, R, 2 * h):
                    for r in range(blk, blk + h):
                        i0 = base + r * stride
                        for c in range(cb):
                            a = i0 + c
                            z = a + hop
                            ar, ai, br, bi = pr[a], pi[a], pr[z], pi[z]
                            cr, ci, er, ei = lr[a], li[a], lr[z], li[z]
                            if g:
                                t00r += cr * ar + ci * ai
                                t00i += cr * ai - ci * ar
                                t01r += er * ar + ei * ai
                                t01i += er * ai - ei * ar
                                t10r += cr * br + ci * bi
                                t10i += cr * bi - ci * br
                                t11r += er * br + ei * bi
                                t11i += er * bi - ei * br
                            pr[a] = u00r * ar - u00i * ai + u01r * br - u01i * bi
                            pi[a] = u00r * ai + u00i * ar + u01r * bi + u01i * br
                            pr[z] = u10r * ar - u10i * ai + u11r * br - u11i * bi
                            pi[z] = u10r * ai + u10i * ar + u11r * bi + u11i * br
                            lr[a] = u00r * cr - u00i * ci + u01r * er - u01i * ei
                            li[a] = u00r * ci + u00i * cr + u01r * ei + u01i * er
                            lr[z] = u10r * cr - u10i * ci + u11r * er - u11i * ei
                            li[z] = u10r * ci + u10i * cr + u11r * ei + u11i * er
            else:
                h = 1 << b
                hop = h
                for r in range(R):
                    rb = base + r * stride
                    for blk in range(0, cb, 2 * h):
                        for c in range(blk, blk + h):
                            a = rb + c
                            z = a + hop
                            ar, ai, br, bi = pr[a], pi[a], pr[z], pi[z]
                            cr, ci, er, ei = lr[a], li[a], lr[z], li[z]
                            if g:
                                t00r += cr * ar + ci * ai
                                t00i += cr * ai - ci * ar
                                t01r += er * ar + ei * ai
                                t01i += er * ai - ei * ar
                                t10r += cr * br + ci * bi
                                t10i += cr * bi - ci * br
                                t11r += er * br + ei * bi
                                t11i += er * bi - ei * br
                            pr[a] = u00r * ar - u00i * ai + u01r * br - u01i * bi
                            pi[a] = u00r * ai + u00i * ar + u01r * bi + u01i * br
                            pr[z] = u10r * ar - u10i * ai + u11r * br - u11i * bi
                            pi[z] = u10r * ai + u10i * ar + u11r * bi + u11i * br
                            lr[a] = u00r * cr - u00i * ci + u01r * er - u01i * ei
                            li[a] = u00r * ci + u00i * cr + u01r * ei + u01i * er
                            lr[z] = u10r * cr - u10i * ci + u11r * er - u11i * ei
                            li[z] = u10r * ci + u10i * cr + u11r * ei + u11i * er
            if g:
                T[k, 0] += t00r
                T[k, 1] += t00i
                T[k, 2] += t01r
                T[k, 3] += t01i
                T[k, 4] += t10r
                T[k, 5] += t10i
                T[k, 6] += t11r
                T[k, 7] += t11i


@njit(cache=True, nogil=True)
def _quad(k, p, q):
    """The index with bits p > q cleared that is the k-th such index."""
    low = k & ((1 << q) - 1)
    mid = (k >> q) & ((1 << (p - q - 1)) - 1)
    top = k >> (p - 1)
    return (top << (p + 1)) | (mid << (q + 1)) | low


@njit(cache=True, nogil=True)
def dense_forward(re, im, p, q, m, k0, k1):
    """Apply the 4x4 gate m [32] (re/im pairs, row major, index 2 * bit_p + bit_q) to quads
    k0..k1-1."""
    vr = np.empty(4, re.dtype)
    vi = np.empty(4, re.dtype)
    for k in range(k0, k1):
        i = _quad(k, p, q)
        idx = (i, i | (1 << q), i | (1 << p), i | (1 << p) | (1 << q))
        for a in range(4):
            vr[a] = re[idx[a]]
            vi[a] = im[idx[a]]
        for a in range(4):
            sr = 0.0
            si = 0.0
            for b in range(4):
                mr, mi = m[8 * a + 2 * b], m[8 * a + 2 * b + 1]
                sr += mr * vr[b] - mi * vi[b]
                si += mr * vi[b] + mi * vr[b]
            re[idx[a]] = sr
            im[idx[a]] = si


@njit(cache=True, nogil=True)
def dense_backward(pr, pi, lr, li, p, q, mi_, g, T4, k0, k1):
    """Accumulate T4[a, b] = sum conj(lam_b) psi_a (re/im pairs [32]) when g, then apply the
    inverse mi_ [32] to the state and the cotangent, on quads k0..k1-1."""
    for k in range(k0, k1):
        i = _quad(k, p, q)
        idx = (i, i | (1 << q), i | (1 << p), i | (1 << p) | (1 << q))
        if g:
            for a in range(4):
                ar, ai = pr[idx[a]], pi[idx[a]]
                for b in range(4):
                    cr, ci = lr[idx[b]], li[idx[b]]
                    T4[8 * a + 2 * b] += cr * ar + ci * ai
                    T4[8 * a + 2 * b + 1] += cr * ai - ci * ar
    dense_forward(pr, pi, p, q, mi_, k0, k1)
    dense_forward(lr, li, p, q, mi_, k0, k1)


# ---------------------------------------------------------------------------------------------
# Drivers: a whole program (a list of passes) on one state.


@njit(cache=True, nogil=True)
def _table_sizes(N, l0, stages):
    nx = 0
    for s in range(stages.shape[0]):
        nx = max(nx, stages[s, 3] - stages[s, 2])
    return (1 << l0) << nx, 1 << (N - l0)


@njit(cache=True, nogil=True)
def forward_serial(re, im, N, l0, passes, p0, p1, stages, ubits, ureal, dpq, xbits, mpq, uv, dv, mv):
    """Run passes p0..p1-1 on one state, in this thread."""
    nX, nH = _table_sizes(N, l0, stages)
    DXr = np.empty(nX, re.dtype)
    DXi = np.empty(nX, re.dtype)
    DHr = np.empty(nH, re.dtype)
    DHi = np.empty(nH, re.dtype)
    for j in range(p0, p1):
        kind, st, lo, hi, k0, k1, dflag, m = passes[j]
        if kind == 1:
            dense_forward(re, im, mpq[m, 0], mpq[m, 1], mv[m], 0, 1 << (N - 2))
            continue
        if dflag:
            build_tables(N, l0, st, stages, dpq, xbits, dv, DXr, DXi, DHr, DHi)
        x0, x1 = stages[st, 2], stages[st, 3]
        T = tiles_of(N, l0, lo, hi)
        tiles_forward(
            re, im, N, l0, lo, hi, 0, T, ubits, ureal, k0, k1, uv, dflag,
            DXr, DXi, DHr, DHi, xbits, x0, x1,
        )  # fmt: skip


@njit(cache=True, nogil=True, parallel=True)
def forward_parallel(
    re, im, N, l0, passes, p0, p1, stages, ubits, ureal, dpq, xbits, mpq, uv, dv, mv, nch
):
    """Run passes p0..p1-1 on one state, its tiles spread over ``nch`` chunks (threads)."""
    nX, nH = _table_sizes(N, l0, stages)
    DXr = np.empty(nX, re.dtype)
    DXi = np.empty(nX, re.dtype)
    DHr = np.empty(nH, re.dtype)
    DHi = np.empty(nH, re.dtype)
    for j in range(p0, p1):
        kind, st, lo, hi, k0, k1, dflag, m = passes[j]
        if kind == 1:
            Q = 1 << (N - 2)
            for ch in prange(nch):
                a, b = Q * ch // nch, Q * (ch + 1) // nch
                dense_forward(re, im, mpq[m, 0], mpq[m, 1], mv[m], a, b)
            continue
        if dflag:
            build_tables(N, l0, st, stages, dpq, xbits, dv, DXr, DXi, DHr, DHi)
        x0, x1 = stages[st, 2], stages[st, 3]
        T = tiles_of(N, l0, lo, hi)
        for ch in prange(nch):
            a, b = T * ch // nch, T * (ch + 1) // nch
            tiles_forward(
                re, im, N, l0, lo, hi, a, b, ubits, ureal, k0, k1, uv, dflag,
                DXr, DXi, DHr, DHi, xbits, x0, x1,
            )  # fmt: skip


@njit(cache=True, nogil=True)
def _reduce_diag(N, l0, st, stages, dpq, xbits, AXr, AXi, AHr, AHi, W):
    """The marginals W[k] (4 re/im pairs) of conj(lam) psi on each diagonal gate's bits."""
    d0, d1, x0, x1 = stages[st, 0], stages[st, 1], stages[st, 2], stages[st, 3]
    nx = x1 - x0
    L = 1 << l0
    for k in range(d0, d1):
        if not dpq[k, 2]:
            continue
        p, q = dpq[k, 0], dpq[k, 1]
        for e in range(8):
            W[k, e] = 0.0
        if p >= l0 and (q < 0 or q >= l0):
            for h in range(1 << (N - l0)):
                idx = (h >> (p - l0)) & 1
                if q >= 0:
                    idx = (idx << 1) | ((h >> (q - l0)) & 1)
                W[k, 2 * idx] += AHr[h]
                W[k, 2 * idx + 1] += AHi[h]
        else:
            j = -1
            if p >= l0:
                for jj in range(x0, x1):
                    if xbits[jj] == p:
                        j = jj - x0
            for key in range(1 << nx):
                for c in range(L):
                    if j >= 0:
                        idx = (((key >> j) & 1) << 1) | ((c >> q) & 1)
                    else:
                        idx = (c >> p) & 1
                        if q >= 0:
                            idx = (idx << 1) | ((c >> q) & 1)
                    W[k, 2 * idx] += AXr[key * L + c]
                    W[k, 2 * idx + 1] += AXi[key * L + c]


@njit(cache=True, nogil=True)
def _stage_has_dgrad(st, stages, dpq):
    for k in range(stages[st, 0], stages[st, 1]):
        if dpq[k, 2]:
            return True
    return False


@njit(cache=True, nogil=True)
def backward_serial(
    pr, pi, lr, li, N, l0, passes, stages, ubits, ugrad, dpq, xbits, mpq, mgrad,
    ui, dv, mi_, T, W, T4,
):  # fmt: skip
    """Run every pass backwards on the state (pr, pi) and cotangent (lr, li), accumulating the
    block moments T [U, 8], diagonal marginals W [D, 8] and dense moments T4 [M, 32]."""
    nX, nH = _table_sizes(N, l0, stages)
    DXr = np.empty(nX, pr.dtype)
    DXi = np.empty(nX, pr.dtype)
    DHr = np.empty(nH, pr.dtype)
    DHi = np.empty(nH, pr.dtype)
    AXr = np.zeros(nX, pr.dtype)
    AXi = np.zeros(nX, pr.dtype)
    AHr = np.zeros(nH, pr.dtype)
    AHi = np.zeros(nH, pr.dtype)
    for j in range(passes.shape[0] - 1, -1, -1):
        kind, st, lo, hi, k0, k1, dflag, m = passes[j]
        if kind == 1:
            Q = 1 << (N - 2)
            dense_backward(pr, pi, lr, li, mpq[m, 0], mpq[m, 1], mi_[m], mgrad[m], T4[m], 0, Q)
            continue
        dg = False
        if dflag:
            build_tables(N, l0, st, stages, dpq, xbits, dv, DXr, DXi, DHr, DHi)
            dg = _stage_has_dgrad(st, stages, dpq)
            if dg:
                AXr[:] = 0.0
                AXi[:] = 0.0
                AHr[:] = 0.0
                AHi[:] = 0.0
        x0, x1 = stages[st, 2], stages[st, 3]
        nt = tiles_of(N, l0, lo, hi)
        tiles_backward(
            pr, pi, lr, li, N, l0, lo, hi, 0, nt, ubits, ugrad, k0, k1, ui, T,
            dflag, DXr, DXi, DHr, DHi, xbits, x0, x1, dg, AXr, AXi, AHr, AHi,
        )  # fmt: skip
        if dg:
            _reduce_diag(N, l0, st, stages, dpq, xbits, AXr, AXi, AHr, AHi, W)


@njit(cache=True, nogil=True, parallel=True)
def backward_parallel(
    pr, pi, lr, li, N, l0, passes, stages, ubits, ugrad, dpq, xbits, mpq, mgrad,
    ui, dv, mi_, T, W, T4, nch,
):  # fmt: skip
    """:func:`backward_serial` with every pass's tiles spread over ``nch`` chunks (threads);
    each chunk accumulates its own moments, summed after the pass."""
    nX, nH = _table_sizes(N, l0, stages)
    DXr = np.empty(nX, pr.dtype)
    DXi = np.empty(nX, pr.dtype)
    DHr = np.empty(nH, pr.dtype)
    DHi = np.empty(nH, pr.dtype)
    AXr = np.zeros((nch, nX), pr.dtype)
    AXi = np.zeros((nch, nX), pr.dtype)
    AHr = np.zeros((nch, nH), pr.dtype)
    AHi = np.zeros((nch, nH), pr.dtype)
    Tc = np.zeros((nch,) + T.shape, T.dtype)
    T4c = np.zeros((nch, 32), T.dtype)
    sX = np.zeros(nX, pr.dtype)
    sXi = np.zeros(nX, pr.dtype)
    sH = np.zeros(nH, pr.dtype)
    sHi = np.zeros(nH, pr.dtype)
    for j in range(passes.shape[0] - 1, -1, -1):
        kind, st, lo, hi, k0, k1, dflag, m = passes[j]
        if kind == 1:
            Q = 1 << (N - 2)
            T4c[:] = 0.0
            p, q, g = mpq[m, 0], mpq[m, 1], mgrad[m]
            for ch in prange(nch):
                a, b = Q * ch // nch, Q * (ch + 1) // nch
                dense_backward(pr, pi, lr, li, p, q, mi_[m], g, T4c[ch], a, b)
            for ch in range(nch):
                T4[m] += T4c[ch]
            continue
        dg = False
        if dflag:
            build_tables(N, l0, st, stages, dpq, xbits, dv, DXr, DXi, DHr, DHi)
            dg = _stage_has_dgrad(st, stages, dpq)
            if dg:
                AXr[:] = 0.0
                AXi[:] = 0.0
                AHr[:] = 0.0
                AHi[:] = 0.0
        x0, x1 = stages[st, 2], stages[st, 3]
        nt = tiles_of(N, l0, lo, hi)
        Tc[:, k0:k1] = 0.0
        for ch in prange(nch):
            a, b = nt * ch // nch, nt * (ch + 1) // nch
            tiles_backward(
                pr, pi, lr, li, N, l0, lo, hi, a, b, ubits, ugrad, k0, k1, ui, Tc[ch],
                dflag, DXr, DXi, DHr, DHi, xbits, x0, x1, dg, AXr[ch], AXi[ch], AHr[ch], AHi[ch],
            )  # fmt: skip
        for ch in range(nch):
            T[k0:k1] += Tc[ch, k0:k1]
        if dg:
            sX[:] = 0.0
            sXi[:] = 0.0
            sH[:] = 0.0
            sHi[:] = 0.0
            for ch in range(nch):
                sX += AXr[ch]
                sXi += AXi[ch]
                sH += AHr[ch]
                sHi += AHi[ch]
            _reduce_diag(N, l0, st, stages, dpq, xbits, sX, sXi, sH, sHi, W)


# ---------------------------------------------------------------------------------------------
# Batches of small states: one thread per sample.


@njit(cache=True, nogil=True, parallel=True)
def forward_batch(RE, IM, N, l0, passes, stages, ubits, ureal, dpq, xbits, mpq, UV, DV, MV):
    """Final states RE, IM [S, 2**N] (set to |0> here) of every sample, one thread each."""
    for s in prange(RE.shape[0]):
        RE[s, :] = 0.0
        IM[s, :] = 0.0
        RE[s, 0] = 1.0
        forward_serial(
            RE[s], IM[s], N, l0, passes, 0, passes.shape[0], stages, ubits, ureal, dpq, xbits,
            mpq, UV[s], DV[s], MV[s],
        )  # fmt: skip


@njit(cache=True, nogil=True, parallel=True)
def adjoint_batch(
    RE, IM, OBS, N, l0, passes, stages, ubits, ugrad, dpq, xbits, mpq, mgrad,
    UI, DV, MI, T, W, T4,
):  # fmt: skip
    """From the final states RE, IM [S, 2**N], one backward sweep per sample and cost
    (OBS [2**N, K]): T [S, K, U, 8], W [S, K, D, 8], T4 [S, K, M, 32] (zeroed by the caller)."""
    for s in prange(RE.shape[0]):
        pr = np.empty_like(RE[s])
        pi = np.empty_like(IM[s])
        lr = np.empty_like(RE[s])
        li = np.empty_like(IM[s])
        for k in range(OBS.shape[1]):
            pr[:] = RE[s]
            pi[:] = IM[s]
            for i in range(pr.shape[0]):
                lr[i] = OBS[i, k] * pr[i]
                li[i] = OBS[i, k] * pi[i]
            backward_serial(
                pr, pi, lr, li, N, l0, passes, stages, ubits, ugrad, dpq, xbits, mpq, mgrad,
                UI[s], DV[s], MI[s], T[s, k], W[s, k], T4[s, k],
            )  # fmt: skip


@njit(cache=True, nogil=True, parallel=True)
def probabilities(re, im, out, nch):
    """|psi|**2 into out, in ``nch`` chunks."""
    n = re.shape[0]
    for ch in prange(nch):
        for i in range(n * ch // nch, n * (ch + 1) // nch):
            out[i] = re[i] * re[i] + im[i] * im[i]


@njit(cache=True, nogil=True, parallel=True)
def cotangent(re, im, obs, lr, li, nch):
    """lam = obs * psi (a real diagonal), in ``nch`` chunks."""
    n = re.shape[0]
    for ch in prange(nch):
        for i in range(n * ch // nch, n * (ch + 1) // nch):
            lr[i] = obs[i] * re[i]
            li[i] = obs[i] * im[i]
