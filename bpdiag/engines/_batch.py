"""The one batching loop, the one capacity rule and the one parameter-shift rule.

Every engine call over many rows (parameter samples, data rows, shifted copies) goes through
:func:`batched`: rows are cut into chunks of a fixed size, the last chunk is padded by repeating
its final row (so every call has one shape and JAX compiles once), and the padding is dropped
from the output. :func:`capacity` rounds a gate count up to the padded size that one compiled
program serves; :func:`bytes_per_row` is the memory a statevector row needs, which
:func:`bpdiag._resources.plan_chunk` turns into a chunk size.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

ITEMSIZE = {"complex128": 16, "complex64": 8}


def capacity(n: int, minimum: int = 16) -> int:
    """The padded size for ``n`` gates (or steps): the next power of two, at least ``minimum``.

    Every grid point whose circuit fits the capacity shares one compiled program.

    >>> capacity(17), capacity(3)
    (32, 16)
    """
    return max(int(minimum), 1 << max(0, math.ceil(math.log2(max(int(n), 1)))))


def bytes_per_row(n_register: int, dtype: str, copies: float) -> float:
    """Bytes of one row: ``copies`` statevectors of ``2**n_register`` amplitudes of ``dtype``
    (the copies an engine keeps alive at its peak: states, cotangents, temporaries)."""
    return 2.0**n_register * ITEMSIZE[dtype] * copies


def batched(f: Callable[..., object], *arrays: np.ndarray, chunk: int, pad: bool = True):
    """Apply ``f`` to ``arrays`` (all with the same leading length) in chunks of ``chunk`` rows.

    With ``pad`` the last chunk is padded to ``chunk`` rows by repeating its final row, so ``f``
    sees one shape. ``f`` returns an array (or a tuple of arrays) with the rows on axis 0; the
    result is the concatenation over chunks with the padding removed, as numpy arrays.

    >>> batched(lambda a: a * 2, np.arange(5), chunk=2)
    array([0, 2, 4, 6, 8])
    """
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError("batched: every array needs the same number of rows")
    chunk = max(1, int(chunk))
    outs: list = []
    for i in range(0, n, chunk):
        block = [a[i : i + chunk] for a in arrays]
        extra = chunk - len(block[0]) if pad else 0
        if extra:
            block = [np.concatenate([b, np.repeat(b[-1:], extra, axis=0)]) for b in block]
        res = f(*block)
        keep = chunk - extra
        if isinstance(res, tuple):
            outs.append(tuple(np.asarray(r)[:keep] for r in res))
        else:
            outs.append(np.asarray(res)[:keep])
    if not outs:
        raise ValueError("batched: no rows")
    if isinstance(outs[0], tuple):
        return tuple(np.concatenate(parts) for parts in zip(*outs))
    return np.concatenate(outs)


def as_rows(circuit, params, x) -> tuple[np.ndarray, np.ndarray]:
    """Check and broadcast an engine call's rows: params float[batch, n_params] (or
    [n_params]) and x float[batch, n_data] (or [n_data]; zero columns without data)."""
    params = np.atleast_2d(np.asarray(params, dtype=float))
    if params.shape[-1] != circuit.n_params:
        raise ValueError(f"params must have {circuit.n_params} columns, got {params.shape[-1]}")
    batch = params.shape[0]
    if circuit.n_data:
        if x is None:
            raise ValueError(f"circuit {circuit.name!r} needs x with {circuit.n_data} features")
        x = np.atleast_2d(np.asarray(x, dtype=float))
        if x.shape[0] == 1 and batch > 1:
            x = np.repeat(x, batch, axis=0)
        if params.shape[0] == 1 and x.shape[0] > 1:
            params = np.repeat(params, x.shape[0], axis=0)
        if x.shape[0] != params.shape[0]:
            raise ValueError(f"params and x batch sizes differ: {params.shape[0]} vs {x.shape[0]}")
    else:
        x = np.zeros((batch, 0))
    return params, x


# ---------------------------------------------------------------------------------------------
# Parameter shift


SHIFT = math.pi / 2


def shifted_angles(angles: np.ndarray, gates) -> np.ndarray:
    """Gate angles float[S, G] shifted by +pi/2 and -pi/2 on each of ``gates``:
    float[len(gates) * 2 * S, G], ordered (gate, sign, sample) with sign +1 first."""
    rows = []
    for g in gates:
        for sign in (1, -1):
            shifted = np.array(angles, copy=True)
            shifted[:, g] += sign * SHIFT
            rows.append(shifted)
    return np.concatenate(rows)


def combine_shifts(values: np.ndarray, coefs) -> np.ndarray:
    """The parameter-shift derivative from the values of :func:`shifted_angles` rows.

    values: float[len(gates) * 2 * S, ...]; coefs: float[len(gates)], the parameter's coefficient
    on each gate. Returns ``sum_g coef_g (f(t_g + pi/2) - f(t_g - pi/2)) / 2``, float[S, ...]
    (exact for gates exp(-i t P / 2) with P a Pauli string).
    """
    coefs = np.asarray(coefs, float)
    v = np.asarray(values).reshape(len(coefs), 2, -1, *np.shape(values)[1:])
    c = coefs.reshape(-1, *([1] * (v.ndim - 2)))
    return (c * (v[:, 0] - v[:, 1]) / 2).sum(axis=0)
