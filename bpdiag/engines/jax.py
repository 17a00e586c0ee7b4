"""Batched JAX statevector engine (complex128 by default).

States are flat: ``complex[batch, 2**N]`` with wire 0 the most significant bit (PennyLane's
order; ``state.reshape((batch,) + (2,) * N)[:, b0, b1, ...]`` is the amplitude of
``|b0 b1 ...>``). Gates are applied one at a time inside a ``lax.fori_loop`` over the gate
tables of a :class:`~bpdiag.engines._program.Program`; each gate picks, with ``lax.switch``, the
static elementwise kernel of its wire pair. Compile time does not grow with depth, and one
compiled function serves every circuit with the same padded table shapes. Gradients use the
adjoint method (a reverse sweep that un-applies each unitary) through ``jax.custom_vjp``: memory
stays at a few states per sample whatever the depth.

Diagonal costs are measured as ``|psi|**2 @ obs``; any other cost (X/Y factors) as Pauli
strings applied to the final state (:mod:`bpdiag.engines._observe`: ``obs`` is then the pair
``(diag, off)`` of a :class:`~bpdiag.engines._observe.PauliTable` and its flip ``masks`` are a
static argument), and the adjoint sweep starts from ``O psi``.

>>> import numpy as np; from bpdiag.circuits import dense_hea
>>> expval(dense_hea(2, 1), np.zeros(4), costs="global").shape
(1, 1)
"""

from __future__ import annotations

import functools
import os

import jax
import jax.numpy as jnp
import numpy as np

from bpdiag.circuits import Circuit
from bpdiag.engines._batch import as_rows
from bpdiag.engines._observe import PauliTable, apply_table, pauli_table, state_expectations
from bpdiag.engines._program import Program, gate_kernels, lower, register_size

jax.config.update("jax_enable_x64", True)
# Persistent compilation cache: reruns of the same shapes skip XLA compilation. Set
# BPDIAG_JAX_CACHE=0 to turn it off, or to a folder to move it; a cache the user set wins.
_CACHE = os.environ.get("BPDIAG_JAX_CACHE", os.path.expanduser("~/.cache/bpdiag/jax"))
if _CACHE != "0" and not jax.config.jax_compilation_cache_dir:
    jax.config.update("jax_compilation_cache_dir", _CACHE)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)

DTYPES = {"complex128": jnp.complex128, "complex64": jnp.complex64}


def _split(state, kernel: tuple[int, int], n_register: int):
    """Views of the amplitudes on a kernel's wires: a list of 4 (or 2) arrays [batch, ...]."""
    a, b = kernel
    batch = state.shape[0]
    if b < 0:
        s = state.reshape(batch, 2**a, 2, 2 ** (n_register - a - 1))
        return [s[:, :, 0], s[:, :, 1]]
    s = state.reshape(batch, 2**a, 2, 2 ** (b - a - 1), 2, 2 ** (n_register - b - 1))
    return [s[:, :, i, :, j] for i in (0, 1) for j in (0, 1)]


def _merge(parts, kernel: tuple[int, int]):
    batch = parts[0].shape[0]
    if kernel[1] < 0:
        return jnp.stack(parts, axis=2).reshape(batch, -1)
    rows = [jnp.stack(parts[0:2], axis=3), jnp.stack(parts[2:4], axis=3)]
    return jnp.stack(rows, axis=2).reshape(batch, -1)


def _block(M, kernel):
    """The entries of M[batch, 4, 4] a kernel uses, as a nested list of [batch, 1, ...] arrays."""
    idx = (0, 2) if kernel[1] < 0 else (0, 1, 2, 3)
    extra = (1,) * (2 if kernel[1] < 0 else 3)
    return [[M[:, i, j].reshape((-1,) + extra) for j in idx] for i in idx]


def _matvec(Mb, parts):
    return [sum(Mb[i][j] * parts[j] for j in range(len(parts))) for i in range(len(parts))]


def _gate(state, M, kernel, n_register):
    """Apply per-sample operators M[batch, 4, 4] on one kernel's wires (elementwise, fused)."""
    return _merge(_matvec(_block(M, kernel), _split(state, kernel, n_register)), kernel)


def _adjoint_step(phi, lam, M, dM, kernel, n_register):
    """One reverse step: phi <- M^+ phi, grad = 2 Re <lam| dM |phi>, lam <- M^+ lam."""
    Mh = _block(jnp.conj(jnp.swapaxes(M, 1, 2)), kernel)
    phi_parts = _matvec(Mh, _split(phi, kernel, n_register))
    dphi = _matvec(_block(dM, kernel), phi_parts)
    lam_parts = _split(lam, kernel, n_register)
    axes = tuple(range(1, dphi[0].ndim))
    grad = 2 * jnp.real(sum(jnp.sum(jnp.conj(l) * d, axis=axes) for l, d in zip(lam_parts, dphi)))
    lam = _merge(_matvec(Mh, lam_parts), kernel)
    return _merge(phi_parts, kernel), lam, grad


def _matrices(A, B, angles, dtype):
    """M = cos(t/2) A + sin(t/2) B per sample: [batch, 4, 4]; and dM/dt."""
    half = angles / 2
    c = jnp.cos(half).astype(dtype)[:, None, None]
    s = jnp.sin(half).astype(dtype)[:, None, None]
    A = A.astype(dtype)[None]
    B = B.astype(dtype)[None]
    return c * A + s * B, 0.5 * (c * B - s * A)


def _initial_state(batch: int, n_register: int, dtype):
    return jnp.zeros((batch, 2**n_register), dtype=dtype).at[:, 0].set(1)


def _forward(kernel, A, B, angles, n_active, kernels, n_register: int, dtype):
    """Final states: gates 0..n_active-1 of the tables applied to |0...0>."""
    state = _initial_state(angles.shape[0], n_register, dtype)
    return _segment(kernel, A, B, angles, state, 0, n_active, kernels, n_register, dtype)


def _segment(kernel, A, B, angles, state, start, stop, kernels, n_register: int, dtype):
    """Gates start..stop-1 of the tables applied to ``state`` complex[batch, 2**N]."""
    branches = [functools.partial(_gate, kernel=k, n_register=n_register) for k in kernels]

    def body(i, state):
        M, _ = _matrices(A[i], B[i], angles[:, i], dtype)
        return jax.lax.switch(kernel[i], branches, state, M)

    return jax.lax.fori_loop(start, stop, body, state)


def _table(obs, masks: tuple) -> PauliTable:
    """The Pauli table of ``obs = (diag, off)`` with its static flip ``masks``."""
    return PauliTable(obs[0], tuple(masks), obs[1])


def _measure(state, obs, masks: tuple):
    """Expectations float[batch, k] in ``state`` of ``obs``: a diagonal float[2**N, k] (no
    ``masks``), else a Pauli table's ``(diag, off)``."""
    if not masks:
        return (jnp.abs(state) ** 2) @ obs
    return state_expectations(state, _table(obs, masks))


def segment_expvals(
    prog: Program,
    angles,
    state,
    start,
    stop,
    obs,
    *,
    kernels,
    n_register: int,
    dtype=jnp.complex128,
    masks: tuple = (),
):
    """Run gates start..stop-1 on ``state`` and return ``(state, <state|O|state>)`` for the
    observables ``obs`` (a diagonal, or a Pauli table's ``(diag, off)`` with static ``masks``).

    Lets a caller share the part of a circuit before a shifted gate between the two
    parameter-shift runs (forward only, not differentiable).
    """
    state = _segment(
        prog.kernel,
        prog.A,
        prog.B,
        angles,
        state.astype(dtype),
        start,
        stop,
        kernels,
        n_register,
        dtype,
    )
    return state, _measure(state, obs, masks)


@functools.partial(jax.custom_vjp, nondiff_argnums=(6, 7, 8, 9))
def _expvals(kernel, A, B, angles, obs, n_active, kernels, n_register, dtype, masks=()):
    state = _forward(kernel, A, B, angles, n_active, kernels, n_register, dtype)
    return _measure(state, obs, masks)


def _expvals_fwd(kernel, A, B, angles, obs, n_active, kernels, n_register, dtype, masks=()):
    state = _forward(kernel, A, B, angles, n_active, kernels, n_register, dtype)
    return _measure(state, obs, masks), (kernel, A, B, angles, obs, n_active, state)


def _expvals_bwd(kernels, n_register, dtype, masks, res, g):
    kernel, A, B, angles, obs, n_active, state = res
    # f = sum_k g_k <psi|O_k|psi> = <psi|D|psi> with D = sum_k g_k O_k (per sample): the sweep
    # starts from lam = D psi (a diagonal times psi for diagonal costs)
    if masks:
        lam = apply_table(state, _table(obs, masks), g)
    else:
        lam = (g @ obs.T).astype(dtype) * state
    branches = [functools.partial(_adjoint_step, kernel=k, n_register=n_register) for k in kernels]

    def body(j, carry):
        phi, lam, grads = carry
        i = n_active - 1 - j
        M, dM = _matrices(A[i], B[i], angles[:, i], dtype)
        phi, lam, grad = jax.lax.switch(kernel[i], branches, phi, lam, M, dM)
        return phi, lam, grads.at[:, i].set(grad)

    grads = jnp.zeros(angles.shape, dtype=angles.dtype)
    _, _, grads = jax.lax.fori_loop(0, n_active, body, (state, lam, grads))
    if masks:  # the observables are not differentiated
        return (None, None, None, grads, jax.tree_util.tree_map(jnp.zeros_like, obs), None)
    probs = jnp.abs(state) ** 2
    return (None, None, None, grads, probs.T @ g, None)


_expvals.defvjp(_expvals_fwd, _expvals_bwd)


def _angles(prog: Program, params, x):
    angles = params @ prog.pm + prog.const
    if prog.dm.shape[0]:
        angles = angles + x @ prog.dm
    return angles


def angle_expvals(
    prog: Program,
    angles,
    obs,
    n_active,
    *,
    kernels,
    n_register: int,
    dtype=jnp.complex128,
    masks: tuple = (),
):
    """Expectations float[batch, k] of observables for gate angles float[batch, G] (radians):
    diagonal observables obs float[2**N, k], or with flip ``masks`` (static) the ``(diag, off)``
    arrays of a :class:`~bpdiag.engines._observe.PauliTable`. Only gates ``0..n_active-1`` run
    (the rest is padding), so one compiled function serves programs of any length up to G.
    Differentiable in ``angles`` by the adjoint method. Pure and jittable; ``kernels`` (the
    static wire pairs), ``n_register`` and ``masks`` are static.
    """
    args = (kernels, n_register, dtype, tuple(masks))
    return _expvals(prog.kernel, prog.A, prog.B, angles, obs, n_active, *args)


def program_expvals(
    prog: Program,
    params,
    x,
    obs,
    n_active=None,
    *,
    kernels,
    n_register: int,
    dtype=jnp.complex128,
    masks: tuple = (),
):
    """As :func:`angle_expvals`, from params float[batch, P] and data x float[batch, D]
    (differentiable in both)."""
    n_active = prog.kernel.shape[0] if n_active is None else n_active
    return angle_expvals(
        prog,
        _angles(prog, params, x),
        obs,
        n_active,
        kernels=kernels,
        n_register=n_register,
        dtype=dtype,
        masks=masks,
    )


def program_states(
    prog: Program, params, x, n_active=None, *, kernels, n_register: int, dtype=jnp.complex128
):
    """Final states complex[batch, 2**N] (not differentiable; use for states and entropies)."""
    n_active = prog.kernel.shape[0] if n_active is None else n_active
    angles = _angles(prog, params, x)
    return _forward(prog.kernel, prog.A, prog.B, angles, n_active, kernels, n_register, dtype)


# ---------------------------------------------------------------------------------------------
# Convenience layer: one circuit, numpy in, numpy out. Cached jitted functions per shape.


_batch = as_rows  # the one argument check (bpdiag.engines._batch)


@functools.lru_cache(maxsize=64)
def jitted(
    kind: str, kernels: tuple, n_register: int, dtype_name: str = "complex128", masks: tuple = ()
):
    """A jitted program function, cached per (kind, kernels, register, dtype, masks).

    kinds: ``angles`` f(prog, angles, obs, n_active) -> [batch, k]; ``segment``
    f(prog, angles, state, start, stop, obs) -> (state, [batch, k]); ``expvals``
    f(prog, params, x, obs) -> [batch, k]; ``states`` f(prog, params, x) -> [batch, 2**N];
    ``jac_params`` f(prog, params, x, obs) -> [batch, P, k]. ``obs`` is a diagonal float[2**N,
    k], or, with the flip ``masks`` of a :class:`~bpdiag.engines._observe.PauliTable`, its
    ``(diag, off)`` pair (:func:`observables_for`).
    """
    dtype = DTYPES[dtype_name]
    opts = dict(kernels=kernels, n_register=n_register, dtype=dtype)
    if kind != "states":
        opts["masks"] = tuple(masks)
    if kind == "angles":
        f = functools.partial(angle_expvals, **opts)
    elif kind == "segment":
        f = functools.partial(segment_expvals, **opts)
    elif kind == "expvals":
        f = functools.partial(program_expvals, **opts)
    elif kind == "states":
        f = functools.partial(program_states, **opts)
    elif kind == "jac_params":

        def f(prog, params, x, obs):
            # One reverse sweep for every cost: stack k copies of the batch, copy j selecting
            # cost j, and differentiate the sum (samples are independent).
            k, batch = (obs[0] if masks else obs).shape[1], params.shape[0]
            select = jnp.repeat(jnp.eye(k, dtype=params.dtype), batch, axis=0)  # [k*batch, k]

            def total(p):
                out = program_expvals(prog, p, jnp.tile(x, (k, 1)), obs, **opts)
                return jnp.sum(out * select)

            jac = jax.grad(total)(jnp.tile(params, (k, 1)))  # [k*batch, P]
            return jnp.moveaxis(jac.reshape(k, batch, -1), 0, -1)

    else:
        raise ValueError(kind)
    return jax.jit(f)


def _prog(circuit: Circuit) -> tuple[Program, tuple, int]:
    kernels = gate_kernels(circuit)
    prog = lower(circuit, kernels=kernels)
    return Program(*(jnp.asarray(t) for t in prog)), kernels, register_size(circuit.n_qubits)


def observables_for(costs, n_qubits: int, n_register: int | None = None):
    """``(obs, masks)`` for :func:`jitted`: the diagonal float[2**N, k] and ``()`` when every
    cost is diagonal, else the ``(diag, off)`` pair of :func:`bpdiag.engines._observe.pauli_table`
    (as JAX arrays) and its flip masks."""
    table = pauli_table(costs, n_qubits, n_register)
    if table.diagonal:
        return jnp.asarray(table.diag), ()
    return (jnp.asarray(table.diag), jnp.asarray(table.off)), table.masks


def simulate(circuit: Circuit, params, x=None, *, dtype: str = "complex128") -> np.ndarray:
    """Final states complex[batch, 2**n] for params float[batch, n_params] (or [n_params]) and
    x float[batch, n_data] (or [n_data])."""
    params, x = _batch(circuit, params, x)
    prog, kernels, N = _prog(circuit)
    states = np.asarray(jitted("states", kernels, N, dtype)(prog, params, x))
    return states


def expval(
    circuit: Circuit, params, x=None, *, costs="global", dtype: str = "complex128"
) -> np.ndarray:
    """Expectations float[batch, k] of the costs: any :func:`bpdiag.circuits.cost_terms` input
    (names, Pauli sums, ``@FILE``) or ``readout`` = every <Z_i>."""
    params, x = _batch(circuit, params, x)
    prog, kernels, N = _prog(circuit)
    obs, masks = observables_for(costs, circuit.n_qubits, N)
    return np.asarray(jitted("expvals", kernels, N, dtype, masks)(prog, params, x, obs))


def gradient(
    circuit: Circuit, params, x=None, *, costs="global", dtype: str = "complex128"
) -> np.ndarray:
    """d<cost>/d(params): float[batch, n_params, k], by the adjoint method (any cost, as
    :func:`expval`)."""
    params, x = _batch(circuit, params, x)
    prog, kernels, N = _prog(circuit)
    obs, masks = observables_for(costs, circuit.n_qubits, N)
    return np.asarray(jitted("jac_params", kernels, N, dtype, masks)(prog, params, x, obs))
