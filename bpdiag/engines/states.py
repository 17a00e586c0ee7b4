"""States of encoded circuits, batched over data rows (the JAX engine; amplitude encoding by
linearity). See :mod:`bpdiag.circuits.encodings` for the circuits themselves."""

from __future__ import annotations

import numpy as np

from bpdiag._resources import plan_chunk
from bpdiag.circuits import Circuit
from bpdiag.circuits.encodings import (
    amplitude_state,
    angle,
    basis_angles,
    compose,
    encoded_circuit,
    encoding_features,
)
from bpdiag.engines._batch import ITEMSIZE, batched, bytes_per_row

#: Target bytes of states per engine call (see :func:`simulate_states`).
_CHUNK_BYTES = 2**24


#: Statevectors alive per row at the engine's peak: the state, the split/merge temporaries and
#: the gate loop's carry.
_COPIES = 8


def simulate_states(
    circuit: Circuit,
    params: np.ndarray,
    x: np.ndarray | None = None,
    *,
    n_register: int | None = None,
    n_gates: int | None = None,
    kernels: tuple | None = None,
    dtype: str = "complex128",
    chunk: int | None = None,
    memory_budget: float | None = None,
) -> np.ndarray:
    """Final states complex[batch, 2**n] of ``circuit`` by the JAX engine's ``jitted("states")``.

    params: float[batch, n_params] or [n_params] (shared); x: float[batch, n_data] or None.
    The circuit may be embedded in a register of ``n_register >= n`` wires, padded to ``n_gates``
    gates and compiled with a superset of its wire ``kernels``, so that one compiled program
    serves many circuits; extra wires stay in ``|0>`` and are dropped from the result. Rows run in
    chunks (of ``chunk`` rows, or as many as the memory budget allows, see
    :func:`bpdiag._resources.plan_chunk`) through the one batching loop
    (:func:`bpdiag.engines._batch.batched`); every chunk is padded to one shape.
    """
    import jax.numpy as jnp

    from bpdiag.engines import jax as je
    from bpdiag.engines._program import Program, gate_kernels, lower

    n = circuit.n_qubits
    N = n if n_register is None else int(n_register)
    params = np.asarray(params, dtype=float)
    if x is not None and circuit.n_data:
        x = np.atleast_2d(np.asarray(x, dtype=float))
        batch = len(x)
    else:
        batch = len(params) if params.ndim == 2 else 1
        x = None
    if params.ndim == 1:
        params = np.broadcast_to(params, (batch, params.shape[0]))
    if len(params) != batch:
        raise ValueError(f"params and x batch sizes differ: {len(params)} vs {batch}")
    if circuit.n_data and x is None:
        raise ValueError(f"circuit {circuit.name!r} needs x with {circuit.n_data} features")
    kernels = (gate_kernels(circuit) or ((0, -1),)) if kernels is None else tuple(kernels)
    prog_np = lower(circuit, kernels=kernels, n_register=N, n_gates=n_gates)
    # Angles are computed here and fed through an identity parameter map, so the compiled
    # function sees only the gate tables: every circuit with the same (kernels, register, padded
    # length, chunk) shares one compilation. Padding gates are skipped (n_active).
    angles = params @ prog_np.pm + prog_np.const
    if x is not None:
        angles = angles + x @ prog_np.dm
    G = prog_np.kernel.shape[0]
    prog = Program(
        jnp.asarray(prog_np.kernel),
        jnp.asarray(prog_np.A),
        jnp.asarray(prog_np.B),
        jnp.eye(G),
        jnp.zeros((0, G)),
        jnp.zeros(G),
    )
    if chunk is None:
        chunk = plan_chunk(
            batch,
            bytes_per_row(N, dtype, _COPIES),
            what=f"{circuit.name} on {n} qubits",
            budget=memory_budget,
        )
        # Cache-sized chunks: every gate is one pass over the chunk's states, so a chunk that
        # stays in cache runs about twice as fast as one that streams from memory.
        chunk = min(chunk, max(1, _CHUNK_BYTES // (2**N * ITEMSIZE[dtype])))
    chunk = max(1, min(int(chunk), batch))
    out_dtype = np.complex128 if dtype == "complex128" else np.complex64
    if batch == 0:
        return np.empty((0, 2**n), dtype=out_dtype)
    f = je.jitted("states", kernels, N, dtype)
    no_x = jnp.zeros((chunk, 0))

    def run(block: np.ndarray) -> np.ndarray:
        s = np.asarray(f(prog, jnp.asarray(block), no_x, circuit.n_gates))
        if N > n:  # trailing extra wires stay |0>: keep their all-zero slice
            s = s.reshape(len(block), 2**n, 2 ** (N - n))[:, :, 0]
        return s.astype(out_dtype, copy=False)

    return batched(run, angles, chunk=chunk)


def amplitude_states(
    features: np.ndarray, ansatz: Circuit, params: np.ndarray | None = None, **engine
) -> np.ndarray:
    """Amplitude-encoded states (:func:`amplitude_state`), then the ``ansatz`` circuit with one
    parameter vector float[n_params] shared by all rows, applied by linearity:
    ``U|a> = sum_k a_k U|k>``. Returns complex128[batch, 2**n], n = ``ansatz.n_qubits``.

    The columns ``U|k>`` are the engine's states of ``compose(angle(n), ansatz)`` at
    ``x = basis_angles(n)``; ``engine`` options go to :func:`simulate_states`.
    """
    n = ansatz.n_qubits
    a = amplitude_state(features, n)
    if ansatz.n_gates == 0:
        return a
    p = np.zeros(ansatz.n_params) if params is None else np.asarray(params, dtype=float)
    if p.ndim != 1:
        raise ValueError(
            "amplitude encoding with an ansatz needs one parameter vector shared by all rows, "
            f"got params of shape {p.shape}"
        )
    columns = simulate_states(compose(angle(n), ansatz), p, basis_angles(n), **engine)
    return a @ columns


def encoded_states(
    encoding: str,
    x: np.ndarray,
    n_layers: int = 0,
    params: np.ndarray | None = None,
    *,
    n_qubits: int | None = None,
    ansatz: str = "original",
    seed: int = 0,
    pairs: str = "linear",
    **engine,
) -> np.ndarray:
    """States complex128[batch, 2**n] of an encoding followed by ``n_layers`` ansatz layers.

    x: angles float[batch, n] (radians), or for ``amplitude`` any features float[batch, F] with
    ``F <= 2**n_qubits``. params: float[n_params] (shared by all rows) or float[batch, n_params]
    (zeros if None). n = ``n_qubits`` (default ``x.shape[1]``). ``engine`` options go to
    :func:`simulate_states`.

    >>> encoded_states("angle", np.zeros((1, 2))).round(3)
    array([[1.+0.j, 0.+0.j, 0.+0.j, 0.+0.j]])
    """
    x = np.atleast_2d(np.asarray(x, dtype=float))
    n = int(x.shape[1] if n_qubits is None else n_qubits)
    circuit = encoded_circuit(encoding, n, n_layers, ansatz=ansatz, seed=seed, pairs=pairs)
    if params is None:
        params = np.zeros(circuit.n_params)
    if encoding == "amplitude":
        return amplitude_states(x, circuit, params, **engine)
    if x.shape[1] != n:
        raise ValueError(f"encoding {encoding!r} on {n} qubits needs {n} angles, got {x.shape[1]}")
    return simulate_states(circuit, params, encoding_features(encoding, x, pairs=pairs), **engine)
