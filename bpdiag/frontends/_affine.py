"""Affine maps read off a JAX trace, exactly and without compiling.

:func:`affine` traces ``fn(w)`` once (``jax.make_jaxpr``) and pushes affine forms
``A @ w + b`` through the trace in numpy: structural primitives (slice, squeeze, reshape,
broadcast, concatenate, stack, split, transpose, type conversion) act on ``A`` and ``b`` alike;
sums, differences, negation and products or quotients by constants combine them; anything computed
from constants only is evaluated. Any other primitive touching ``w`` raises :class:`NotAffine`
(the caller then falls back to a slower, general check). Compiling the Jacobian with XLA instead
costs seconds to tens of seconds for a template's few hundred angles (measured here); this costs
one trace.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class NotAffine(Exception):
    """The trace holds a primitive this reader does not push affine forms through."""


class _Form:
    """``A @ w + b``: ``A`` float[*shape, P] (None for a constant), ``b`` float[*shape]."""

    __slots__ = ("A", "b")

    def __init__(self, A, b):
        self.A, self.b = A, np.asarray(b)


def _matrix(x: _Form, P: int) -> np.ndarray:
    return x.A if x.A is not None else np.zeros(x.b.shape + (P,))


def _broadcast(v: np.ndarray, shape, dims, extra: int) -> np.ndarray:
    """``lax.broadcast_in_dim`` of ``v`` (rank len(dims) + extra trailing axes kept)."""
    rank = len(shape)
    trailing = v.shape[v.ndim - extra :] if extra else ()
    expanded = v.reshape(
        tuple(v.shape[dims.index(i)] if i in dims else 1 for i in range(rank)) + trailing
    )
    return np.broadcast_to(expanded, tuple(shape) + trailing)


def _structural(name: str, v: np.ndarray, params: dict, extra: int):
    """Apply a structural primitive to ``v`` whose last ``extra`` axes are carried along."""
    keep = (slice(None),) * extra
    if name == "slice":
        strides = params.get("strides") or (1,) * len(params["start_indices"])
        idx = tuple(
            slice(a, b, s)
            for a, b, s in zip(params["start_indices"], params["limit_indices"], strides)
        )
        return v[idx + keep]
    if name == "squeeze":
        return np.squeeze(v, axis=tuple(params["dimensions"])) if params["dimensions"] else v
    if name == "reshape":
        if params.get("dimensions") is not None:
            raise NotAffine(name)
        return v.reshape(tuple(params["new_sizes"]) + v.shape[v.ndim - extra :])
    if name == "broadcast_in_dim":
        return _broadcast(v, params["shape"], tuple(params["broadcast_dimensions"]), extra)
    if name == "transpose":
        perm = tuple(params["permutation"])
        return v.transpose(perm + tuple(range(len(perm), len(perm) + extra)))
    if name in ("convert_element_type", "copy", "copy_p"):
        return v
    raise NotAffine(name)


_STRUCTURAL = ("slice", "squeeze", "reshape", "broadcast_in_dim", "transpose", "copy", "copy_p")


def _eval(jaxpr, consts, args: list[_Form], P: int) -> list[_Form]:
    from jax.extend.core import Literal

    env: dict = {}

    def read(v):
        if isinstance(v, Literal):
            return _Form(None, np.asarray(v.val))
        return env[v]

    for var, c in zip(jaxpr.constvars, consts):
        env[var] = _Form(None, np.asarray(c))
    for var, a in zip(jaxpr.invars, args):
        env[var] = a
    for eqn in jaxpr.eqns:
        name, params = eqn.primitive.name, eqn.params
        ins = [read(v) for v in eqn.invars]
        if all(x.A is None for x in ins) and name not in ("pjit", "closed_call", "jit"):
            outs = eqn.primitive.bind(*(x.b for x in ins), **params)
            outs = outs if eqn.primitive.multiple_results else [outs]
            outs = [_Form(None, np.asarray(o)) for o in outs]
        elif name in ("pjit", "closed_call", "jit", "custom_jvp_call", "custom_vjp_call"):
            sub = params.get("jaxpr") or params.get("call_jaxpr") or params.get("fun_jaxpr")
            inner = getattr(sub, "jaxpr", sub)
            outs = _eval(inner, getattr(sub, "consts", ()), ins, P)
        elif name in _STRUCTURAL or name == "convert_element_type":
            (x,) = ins
            if name == "convert_element_type" and not np.issubdtype(
                params["new_dtype"], np.floating
            ):
                raise NotAffine(name)
            A = _structural(name, _matrix(x, P), params, 1)
            outs = [_Form(A, _structural(name, x.b, params, 0))]
        elif name == "concatenate":
            d = params["dimension"]
            A = np.concatenate([_matrix(x, P) for x in ins], axis=d)
            outs = [_Form(A, np.concatenate([x.b for x in ins], axis=d))]
        elif name == "stack":
            d = params["axis"]
            A = np.stack([_matrix(x, P) for x in ins], axis=d)
            outs = [_Form(A, np.stack([x.b for x in ins], axis=d))]
        elif name == "split":
            (x,) = ins
            cuts = np.cumsum(params["sizes"])[:-1]
            As = np.split(_matrix(x, P), cuts, axis=params["axis"])
            bs = np.split(x.b, cuts, axis=params["axis"])
            outs = [_Form(A, b) for A, b in zip(As, bs)]
        elif name in ("add", "add_any", "sub"):
            x, y = ins
            sign = -1.0 if name == "sub" else 1.0
            outs = [_Form(_matrix(x, P) + sign * _matrix(y, P), x.b + sign * y.b)]
        elif name == "neg":
            (x,) = ins
            outs = [_Form(-x.A, -x.b)]
        elif name == "mul":
            x, y = ins
            if x.A is not None and y.A is not None:
                raise NotAffine("product of two weight-dependent values")
            (v, c) = (x, y.b) if y.A is None else (y, x.b)
            outs = [_Form(v.A * np.asarray(c)[..., None], v.b * c)]
        elif name == "div":
            x, y = ins
            if y.A is not None:
                raise NotAffine("division by a weight-dependent value")
            outs = [_Form(x.A / np.asarray(y.b)[..., None], x.b / y.b)]
        else:
            raise NotAffine(name)
        for var, out in zip(eqn.outvars, outs):
            env[var] = out
    return [read(v) for v in jaxpr.outvars]


def affine(fn: Callable, w0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(J float[K, P], b float[K])`` with ``fn(w) == J @ w + b`` exactly, for ``fn`` from
    float[P] to float[K] traced once at ``w0``; raises :class:`NotAffine` when the trace holds
    a primitive not read here (including any non-affine one)."""
    import jax
    import jax.numpy as jnp

    w0 = np.asarray(w0, dtype=float)
    P = w0.shape[0]
    closed = jax.make_jaxpr(fn)(jnp.asarray(w0))
    (out,) = _eval(closed.jaxpr, closed.consts, [_Form(np.eye(P), np.zeros(P))], P)
    if out.b.ndim != 1:
        raise NotAffine("output is not a vector")
    return _matrix(out, P).astype(float), out.b.astype(float)
