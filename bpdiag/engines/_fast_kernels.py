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

#: Columns of a strided tile and most rows of one (bits of a strided group).
CB = 16
MID = 10


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


_U0 = np.uint64(0)
_U1 = np.uint64(1)
_U2 = np.uint64(2)
_U4 = np.uint64(4)
#: Fast-math flags of the hot loops: FMA contraction, and reassociation for the reductions.
_FM = {"contract", "reassoc", "nsz"}


@njit(cache=True, nogil=True, fastmath=_FM)
def _runs(xr, xi, off, size, h, u, real):
    """Apply the 2x2 u [8] to the pairs (c, c + h) of ``size`` amplitudes from ``off`` (runs of
    h contiguous amplitudes; uint64 indices: straight vector loops)."""
    u00r, u00i, u01r, u01i = u[0], u[1], u[2], u[3]
    u10r, u10i, u11r, u11i = u[4], u[5], u[6], u[7]
    if real:
        for blk in range(off, off + size, _U2 * h):
            for c in range(blk, blk + h):
                z = c + h
                ar = xr[c]
                ai = xi[c]
                br = xr[z]
                bi = xi[z]
                xr[c] = u00r * ar + u01r * br
                xi[c] = u00r * ai + u01r * bi
                xr[z] = u10r * ar + u11r * br
                xi[z] = u10r * ai + u11r * bi
    else:
        for blk in range(off, off + size, _U2 * h):
            for c in range(blk, blk + h):
                z = c + h
                ar = xr[c]
                ai = xi[c]
                br = xr[z]
                bi = xi[z]
                xr[c] = u00r * ar - u00i * ai + u01r * br - u01i * bi
                xi[c] = u00r * ai + u00i * ar + u01r * bi + u01i * br
                xr[z] = u10r * ar - u10i * ai + u11r * br - u11i * bi
                xi[z] = u10r * ai + u10i * ar + u11r * bi + u11i * br


@njit(cache=True, nogil=True, fastmath=_FM)
def _low2(xr, xi, off, size, u1, u0, has1, has0):
    """Bits 1 and 0 (the 2x2 blocks u1, u0 [8]) on ``size`` contiguous amplitudes from
    ``off``: straight-line code over 4 amplitudes at a time."""
    a00r, a00i, a01r, a01i, a10r, a10i, a11r, a11i = (
        u1[0],
        u1[1],
        u1[2],
        u1[3],
        u1[4],
        u1[5],
        u1[6],
        u1[7],
    )
    b00r, b00i, b01r, b01i, b10r, b10i, b11r, b11i = (
        u0[0],
        u0[1],
        u0[2],
        u0[3],
        u0[4],
        u0[5],
        u0[6],
        u0[7],
    )
    for q in range(off, off + size, _U4):
        v0r, v1r, v2r, v3r = xr[q], xr[q + 1], xr[q + 2], xr[q + 3]
        v0i, v1i, v2i, v3i = xi[q], xi[q + 1], xi[q + 2], xi[q + 3]
        if has1:  # pairs (0, 2), (1, 3)
            w0r = a00r * v0r - a00i * v0i + a01r * v2r - a01i * v2i
            w0i = a00r * v0i + a00i * v0r + a01r * v2i + a01i * v2r
            w2r = a10r * v0r - a10i * v0i + a11r * v2r - a11i * v2i
            w2i = a10r * v0i + a10i * v0r + a11r * v2i + a11i * v2r
            w1r = a00r * v1r - a00i * v1i + a01r * v3r - a01i * v3i
            w1i = a00r * v1i + a00i * v1r + a01r * v3i + a01i * v3r
            w3r = a10r * v1r - a10i * v1i + a11r * v3r - a11i * v3i
            w3i = a10r * v1i + a10i * v1r + a11r * v3i + a11i * v3r
            v0r, v0i, v1r, v1i, v2r, v2i, v3r, v3i = w0r, w0i, w1r, w1i, w2r, w2i, w3r, w3i
        if has0:  # pairs (0, 1), (2, 3)
            w0r = b00r * v0r - b00i * v0i + b01r * v1r - b01i * v1i
            w0i = b00r * v0i + b00i * v0r + b01r * v1i + b01i * v1r
            w1r = b10r * v0r - b10i * v0i + b11r * v1r - b11i * v1i
            w1i = b10r * v0i + b10i * v0r + b11r * v1i + b11i * v1r
            w2r = b00r * v2r - b00i * v2i + b01r * v3r - b01i * v3i
            w2i = b00r * v2i + b00i * v2r + b01r * v3i + b01i * v3r
            w3r = b10r * v2r - b10i * v2i + b11r * v3r - b11i * v3i
            w3i = b10r * v2i + b10i * v2r + b11r * v3i + b11i * v3r
            v0r, v0i, v1r, v1i, v2r, v2i, v3r, v3i = w0r, w0i, w1r, w1i, w2r, w2i, w3r, w3i
        xr[q], xr[q + 1], xr[q + 2], xr[q + 3] = v0r, v1r, v2r, v3r
        xi[q], xi[q + 1], xi[q + 2], xi[q + 3] = v0i, v1i, v2i, v3i


@njit(cache=True, nogil=True)
def _key(hh, l0, xbits, x0, x1):
    key = 0
    for j in range(x0, x1):
        key |= ((hh >> (xbits[j] - l0)) & 1) << (j - x0)
    return key


@njit(cache=True, nogil=True)
def _ident(u):
    return u[0] == 1.0 and u[1] == 0.0 and u[2] == 0.0 and u[3] == 0.0 and u[6] == 1.0


@njit(cache=True, nogil=True, fastmath=_FM)
def _block_gates(xr, xi, off, size, R, stride, cb, rowlo, ubits, ureal, k0, k1, uv, lo0):
    """Every block k0..k1-1 of a tile held in (xr, xi) from ``off``: in place for group 0
    (``lo0``: ``size`` contiguous amplitudes), else a gathered [R, cb] buffer."""
    has1 = False
    has0 = False
    i1 = k0
    i0 = k0
    for k in range(k0, k1):
        b = ubits[k]
        if lo0:
            if b == 1:
                has1 = True
                i1 = k
            elif b == 0:
                has0 = True
                i0 = k
            else:
                h = np.uint64(1) << np.uint64(b)
                _runs(xr, xi, off, np.uint64(size), h, uv[k], ureal[k])
        else:
            h = (np.uint64(1) << np.uint64(b - rowlo)) * cb  # rows of the [R, cb] buffer
            _runs(xr, xi, off, np.uint64(size), h, uv[k], ureal[k])
    if has1 or has0:
        _low2(xr, xi, off, np.uint64(size), uv[i1], uv[i0], has1, has0)


@njit(cache=True, nogil=True, fastmath=_FM)
def tiles_forward(
    re, im, N, l0, lo, hi, t0, t1, ubits, ureal, k0, k1, uv, dflag, DXr, DXi, DHr, DHi,
    xbits, x0, x1, bufr, bufi,
):  # fmt: skip
    """Forward pass over tiles t0..t1-1: blocks k0..k1-1, then (dflag) the diagonal.
    bufr, bufi: scratch of 2**(hi - lo) * CB amplitudes (strided groups)."""
    L = np.uint64(1) << np.uint64(l0)
    lmask = L - _U1
    ul0 = np.uint64(l0)
    uhi = np.uint64(hi)
    if lo == 0:
        for t in range(t0, t1):
            base = np.uint64(t) << uhi
            _block_gates(re, im, base, L, _U0, _U0, _U0, 0, ubits, ureal, k0, k1, uv, True)
            if dflag:
                hh = base >> ul0
                hr, hq = DHr[hh], DHi[hh]
                off = np.uint64(_key(np.int64(hh), l0, xbits, x0, x1)) * L
                for c in range(_U0, L):
                    xr, xi = DXr[off + c], DXi[off + c]
                    dr = xr * hr - xi * hq
                    di = xr * hq + xi * hr
                    ar, ai = re[base + c], im[base + c]
                    re[base + c] = ar * dr - ai * di
                    im[base + c] = ar * di + ai * dr
        return
    cb = np.uint64(min(1 << lo, CB))
    ncb = np.uint64(1 << lo) // cb
    R = np.uint64(1) << np.uint64(hi - lo)
    stride = np.uint64(1) << np.uint64(lo)
    for t in range(t0, t1):
        ut = np.uint64(t)
        base = ((ut // ncb) << uhi) | ((ut % ncb) * cb)
        for r in range(_U0, R):
            rb = base + r * stride
            for c in range(_U0, cb):
                bufr[r * cb + c] = re[rb + c]
                bufi[r * cb + c] = im[rb + c]
        _block_gates(bufr, bufi, _U0, R * cb, R, cb, cb, lo, ubits, ureal, k0, k1, uv, False)
        if dflag:
            for r in range(_U0, R):
                rb = base + r * stride
                hh = rb >> ul0
                hr, hq = DHr[hh], DHi[hh]
                off = np.uint64(_key(np.int64(hh), l0, xbits, x0, x1)) * L + (rb & lmask)
                for c in range(_U0, cb):
                    xr, xi = DXr[off + c], DXi[off + c]
                    dr = xr * hr - xi * hq
                    di = xr * hq + xi * hr
                    ar, ai = bufr[r * cb + c], bufi[r * cb + c]
                    re[rb + c] = ar * dr - ai * di
                    im[rb + c] = ar * di + ai * dr
        else:
            for r in range(_U0, R):
                rb = base + r * stride
                for c in range(_U0, cb):
                    re[rb + c] = bufr[r * cb + c]
                    im[rb + c] = bufi[r * cb + c]


@njit(cache=True, nogil=True, fastmath=_FM)
def _runs_back(pr, pi, lr, li, off, size, h, u, g, T, real):
    """Backward gate on pairs (c, c + h) of ``size`` amplitudes from ``off``: accumulate
    T [8] (when g) and apply u [8] to the state and the cotangent."""
    u00r, u00i, u01r, u01i = u[0], u[1], u[2], u[3]
    u10r, u10i, u11r, u11i = u[4], u[5], u[6], u[7]
    t00r = t00i = t01r = t01i = t10r = t10i = t11r = t11i = 0.0
    for blk in range(off, off + size, _U2 * h):
        for a in range(blk, blk + h):
            z = a + h
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
            if real:
                pr[a] = u00r * ar + u01r * br
                pi[a] = u00r * ai + u01r * bi
                pr[z] = u10r * ar + u11r * br
                pi[z] = u10r * ai + u11r * bi
                lr[a] = u00r * cr + u01r * er
                li[a] = u00r * ci + u01r * ei
                lr[z] = u10r * cr + u11r * er
                li[z] = u10r * ci + u11r * ei
            else:
                pr[a] = u00r * ar - u00i * ai + u01r * br - u01i * bi
                pi[a] = u00r * ai + u00i * ar + u01r * bi + u01i * br
                pr[z] = u10r * ar - u10i * ai + u11r * br - u11i * bi
                pi[z] = u10r * ai + u10i * ar + u11r * bi + u11i * br
                lr[a] = u00r * cr - u00i * ci + u01r * er - u01i * ei
                li[a] = u00r * ci + u00i * cr + u01r * ei + u01i * er
                lr[z] = u10r * cr - u10i * ci + u11r * er - u11i * ei
                li[z] = u10r * ci + u10i * cr + u11r * ei + u11i * er
    if g:
        T[0] += t00r
        T[1] += t00i
        T[2] += t01r
        T[3] += t01i
        T[4] += t10r
        T[5] += t10i
        T[6] += t11r
        T[7] += t11i


@njit(cache=True, nogil=True, fastmath=_FM)
def tiles_backward(
    pr, pi, lr, li, N, l0, lo, hi, t0, t1, ubits, ugrad, ureal, k0, k1, ui, T,
    dflag, DXr, DXi, DHr, DHi, xbits, x0, x1, dgrad, AXr, AXi, AHr, AHi, buf,
):  # fmt: skip
    """Backward pass over tiles t0..t1-1 on the state (pr, pi) and the cotangent (lr, li):
    (dflag) accumulate conj(lam) psi into AX/AH and divide both by the diagonal, then for every
    block accumulate T[k] (T[a, b] = sum conj(lam_b) psi_a on its bit) and apply ``ui`` (the
    blocks' inverses) to both. buf [4, 2**(hi - lo) * CB]: scratch of strided groups."""
    L = np.uint64(1) << np.uint64(l0)
    lmask = L - _U1
    ul0 = np.uint64(l0)
    uhi = np.uint64(hi)
    lo0 = lo == 0
    if lo0:
        cb = L
        ncb = _U1
        R = _U1
        stride = L
    else:
        cb = np.uint64(min(1 << lo, CB))
        ncb = np.uint64(1 << lo) // cb
        R = np.uint64(1) << np.uint64(hi - lo)
        stride = np.uint64(1) << np.uint64(lo)
    for t in range(t0, t1):
        ut = np.uint64(t)
        base = ((ut // ncb) << uhi) | ((ut % ncb) * cb)
        if lo0:
            xr, xi, yr, yi = pr, pi, lr, li
            o = base
        else:
            xr, xi, yr, yi = buf[0], buf[1], buf[2], buf[3]
            o = _U0
            for r in range(_U0, R):
                rb = base + r * stride
                for c in range(_U0, cb):
                    j = r * cb + c
                    xr[j], xi[j], yr[j], yi[j] = pr[rb + c], pi[rb + c], lr[rb + c], li[rb + c]
        if dflag:
            for r in range(_U0, R):
                rb = base + r * stride
                hh = rb >> ul0
                hr, hq = DHr[hh], DHi[hh]
                off = np.uint64(_key(np.int64(hh), l0, xbits, x0, x1)) * L + (rb & lmask)
                sr = 0.0
                si = 0.0
                for c in range(_U0, cb):
                    j = o + r * cb + c
                    ar, ai, br, bi = xr[j], xi[j], yr[j], yi[j]
                    if dgrad:
                        wr = br * ar + bi * ai
                        wi = br * ai - bi * ar
                        AXr[off + c] += wr
                        AXi[off + c] += wi
                        sr += wr
                        si += wi
                    qr, qi = DXr[off + c], DXi[off + c]
                    dr = qr * hr - qi * hq
                    di = -(qr * hq + qi * hr)  # conj(d)
                    xr[j] = ar * dr - ai * di
                    xi[j] = ar * di + ai * dr
                    yr[j] = br * dr - bi * di
                    yi[j] = br * di + bi * dr
                if dgrad:
                    AHr[hh] += sr
                    AHi[hh] += si
        for k in range(k0, k1):
            b = ubits[k]
            if lo0:
                h = np.uint64(1) << np.uint64(b)
                _runs_back(xr, xi, yr, yi, o, L, h, ui[k], ugrad[k], T[k], ureal[k])
            else:
                h = (np.uint64(1) << np.uint64(b - lo)) * cb
                _runs_back(xr, xi, yr, yi, o, R * cb, h, ui[k], ugrad[k], T[k], ureal[k])
        if not lo0:
            for r in range(_U0, R):
                rb = base + r * stride
                for c in range(_U0, cb):
                    j = r * cb + c
                    pr[rb + c], pi[rb + c], lr[rb + c], li[rb + c] = xr[j], xi[j], yr[j], yi[j]


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
def _buffer_size(N, l0):
    """Scratch amplitudes of a strided tile (at least 1)."""
    return max(1, min(1 << max(N - l0, 0), 1 << MID) * CB)


@njit(cache=True, nogil=True)
def _table_sizes(N, l0, stages):
    nx = 0
    for s in range(stages.shape[0]):
        nx = max(nx, stages[s, 3] - stages[s, 2])
    return (1 << l0) << nx, 1 << (N - l0)


@njit(cache=True, nogil=True)
def forward_serial(
    re, im, N, l0, passes, p0, p1, stages, ubits, ureal, dpq, xbits, mpq, uv, dv, mv
):
    """Run passes p0..p1-1 on one state, in this thread."""
    nX, nH = _table_sizes(N, l0, stages)
    DXr = np.empty(nX, re.dtype)
    DXi = np.empty(nX, re.dtype)
    DHr = np.empty(nH, re.dtype)
    DHi = np.empty(nH, re.dtype)
    nb = _buffer_size(N, l0)
    bufr = np.empty(nb, re.dtype)
    bufi = np.empty(nb, re.dtype)
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
            DXr, DXi, DHr, DHi, xbits, x0, x1, bufr, bufi,
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
    nb = _buffer_size(N, l0)
    bufr = np.empty(nb, re.dtype)
    bufi = np.empty(nb, re.dtype)
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
            bufr = np.empty(nb, re.dtype)
            bufi = np.empty(nb, re.dtype)
            tiles_forward(
                re, im, N, l0, lo, hi, a, b, ubits, ureal, k0, k1, uv, dflag,
                DXr, DXi, DHr, DHi, xbits, x0, x1, bufr, bufi,
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
    pr, pi, lr, li, N, l0, passes, stages, ubits, ugrad, ureal, dpq, xbits, mpq, mgrad,
    ui, dv, mi_, T, W, T4,
):  # fmt: skip
    """Run every pass backwards on the state (pr, pi) and cotangent (lr, li), accumulating the
    block moments T [U, 8], diagonal marginals W [D, 8] and dense moments T4 [M, 32]."""
    nX, nH = _table_sizes(N, l0, stages)
    DXr = np.empty(nX, pr.dtype)
    DXi = np.empty(nX, pr.dtype)
    DHr = np.empty(nH, pr.dtype)
    DHi = np.empty(nH, pr.dtype)
    nb = _buffer_size(N, l0)
    buf = np.empty((4, nb), pr.dtype)
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
            pr, pi, lr, li, N, l0, lo, hi, 0, nt, ubits, ugrad, ureal, k0, k1, ui, T,
            dflag, DXr, DXi, DHr, DHi, xbits, x0, x1, dg, AXr, AXi, AHr, AHi, buf,
        )  # fmt: skip
        if dg:
            _reduce_diag(N, l0, st, stages, dpq, xbits, AXr, AXi, AHr, AHi, W)


@njit(cache=True, nogil=True, parallel=True)
def backward_parallel(
    pr, pi, lr, li, N, l0, passes, stages, ubits, ugrad, ureal, dpq, xbits, mpq, mgrad,
    ui, dv, mi_, T, W, T4, nch,
):  # fmt: skip
    """:func:`backward_serial` with every pass's tiles spread over ``nch`` chunks (threads);
    each chunk accumulates its own moments, summed after the pass."""
    nX, nH = _table_sizes(N, l0, stages)
    DXr = np.empty(nX, pr.dtype)
    DXi = np.empty(nX, pr.dtype)
    DHr = np.empty(nH, pr.dtype)
    DHi = np.empty(nH, pr.dtype)
    nb = _buffer_size(N, l0)
    buf = np.empty((4, nb), pr.dtype)
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
            buf = np.empty((4, nb), pr.dtype)
            tiles_backward(
                pr, pi, lr, li, N, l0, lo, hi, a, b, ubits, ugrad, ureal, k0, k1, ui, Tc[ch],
                dflag, DXr, DXi, DHr, DHi, xbits, x0, x1, dg, AXr[ch], AXi[ch], AHr[ch], AHi[ch],
                buf,
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
def forward_batch(
    RE, IM, N, l0, passes, p0, p1, init, stages, ubits, ureal, dpq, xbits, mpq, UV, DV, MV
):
    """Passes p0..p1-1 on the states RE, IM [S, 2**N] (first set to |0> when ``init``) of
    every sample, one thread each."""
    for s in prange(RE.shape[0]):
        if init:
            RE[s, :] = 0.0
            IM[s, :] = 0.0
            RE[s, 0] = 1.0
        forward_serial(
            RE[s], IM[s], N, l0, passes, p0, p1, stages, ubits, ureal, dpq, xbits,
            mpq, UV[s], DV[s], MV[s],
        )  # fmt: skip


@njit(cache=True, nogil=True, parallel=True)
def adjoint_batch(
    RE, IM, OBS, N, l0, passes, stages, ubits, ugrad, ureal, dpq, xbits, mpq, mgrad,
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
                pr, pi, lr, li, N, l0, passes, stages, ubits, ugrad, ureal, dpq, xbits, mpq,
                mgrad, UI[s], DV[s], MI[s], T[s, k], W[s, k], T4[s, k],
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
