"""Data encodings as circuit builders, and the states they prepare.

Every encoding of an angle vector ``x`` float[n] (radians, one per qubit) is a
:class:`~bpdiag.circuits.Circuit` whose rotations are driven by data features, optionally followed
by (or, for re-uploading, interleaved with) the layers of an ansatz from
:func:`bpdiag.circuits.build`. States are computed by the JAX engine only: nothing here simulates.

* ``angle``: ``RY(x_i)`` on wire ``i`` (the original regressor's encoding).
* ``zz``: ``angle``, then the second-order ZZ feature map of Havlíček et al., Nature 567, 209
  (2019): ``RZZ(2 (pi - x_i)(pi - x_j))`` on each entangled pair ``(i, j)`` (Qiskit's
  ``ZZFeatureMap`` angle convention). The pair products are *derived data features* appended to
  ``x`` by :func:`zz_features`, so the circuit stays a list of rotations linear in its features.
* ``reupload``: ``RY(x_i)`` before every ansatz layer (Pérez-Salinas et al., Quantum 4, 226
  (2020)); with ``ansatz="original"`` this is exactly ``original_circuit(n, L, reupload=True)``.
* ``amplitude``: the normalised feature vector *is* the state (Schuld & Petruccione 2018,
  PennyLane's ``AmplitudeEmbedding(pad_with=0, normalize=True)``). No fixed list of rotations
  prepares an arbitrary state, so :func:`amplitude_state` builds it from the features directly; an
  ansatz ``U`` after it is applied by linearity, ``U|a> = sum_k a_k U|k>``, where the columns
  ``U|k>`` are the engine's states of the ``angle`` circuit plus the ansatz at ``x = pi * bits(k)``
  (``RY(pi)|0> = |1>``). That needs one parameter vector shared by all rows.

Conventions are the engine's: flat states complex[batch, 2**n], wire 0 the most significant bit.

>>> c = encoded_circuit("zz", 3, 1)
>>> c.n_data, c.gates[:4]
(5, ('RY', 'RY', 'RY', 'RZZ'))
"""

from __future__ import annotations

import math

import numpy as np

from bpdiag._resources import plan_chunk
from bpdiag.circuits import ANSATZE, Circuit, Source, X, build, chain_pairs

ENCODINGS = ("angle", "zz", "reupload", "amplitude")
PAIRS = ("linear", "ring", "full")
#: Target bytes of states per engine call (see :func:`simulate_states`).
_CHUNK_BYTES = 2**24

__all__ = [
    "ENCODINGS",
    "PAIRS",
    "amplitude_state",
    "amplitude_states",
    "angle",
    "ansatz_layers",
    "basis_angles",
    "compose",
    "encoded_circuit",
    "encoded_states",
    "encoding_features",
    "reupload",
    "simulate_states",
    "zz",
    "zz_features",
    "zz_pairs",
]


def _check_n(n_qubits: int) -> None:
    if int(n_qubits) != n_qubits or n_qubits < 1:
        raise ValueError(f"n_qubits must be >= 1, got {n_qubits}")


def _with_data(c: Circuit, n_data: int, name: str, **meta) -> Circuit:
    return Circuit(
        c.n_qubits,
        c.gates,
        c.wires,
        c.sources,
        c.n_params,
        n_data,
        name,
        tuple(sorted(meta.items())),
    )


def angle(n_qubits: int) -> Circuit:
    """``RY(x_i)`` on every wire ``i``: a product state. ``n_data = n_qubits`` (radians).

    >>> angle(2).gates
    ('RY', 'RY')
    """
    _check_n(n_qubits)
    n = int(n_qubits)
    c = Circuit(n, ("RY",) * n, tuple((w,) for w in range(n)), tuple(X(w) for w in range(n)))
    return _with_data(c, n, "angle", family="angle")


def zz_pairs(n_qubits: int, pairs: str = "linear") -> list[tuple[int, int]]:
    """The entangled pairs of the ZZ feature map: ``linear`` (i, i+1), ``ring`` (plus (n-1, 0))
    or ``full`` (every i < j, as in Havlíček et al. 2019)."""
    if pairs == "linear":
        return chain_pairs(n_qubits)
    if pairs == "ring":
        return chain_pairs(n_qubits, ring=True)
    if pairs == "full":
        return [(i, j) for i in range(n_qubits) for j in range(i + 1, n_qubits)]
    raise ValueError(f"pairs must be one of {', '.join(PAIRS)}, got {pairs!r}")


def zz_features(x: np.ndarray, pairs: str = "linear") -> np.ndarray:
    """The ZZ feature map's data features: float64[batch, n + n_pairs].

    Columns ``0..n-1`` are ``x`` (radians); column ``n + k`` is ``(pi - x_i) (pi - x_j)`` for the
    k-th pair ``(i, j)`` of :func:`zz_pairs` (Havlíček et al. 2019, phi_ij). x: float[batch, n].
    """
    x = np.atleast_2d(np.asarray(x, dtype=float))
    pp = zz_pairs(x.shape[1], pairs)
    if not pp:
        return x.copy()
    i, j = np.array(pp).T
    return np.concatenate([x, (np.pi - x[:, i]) * (np.pi - x[:, j])], axis=1)


def zz(n_qubits: int, *, pairs: str = "linear") -> Circuit:
    """``RY(x_i)`` on every wire, then ``RZZ(2 phi_ij)`` on each pair, where ``phi_ij`` is data
    feature ``n + k`` from :func:`zz_features` (angle ``2 (pi - x_i)(pi - x_j)``, radians)."""
    _check_n(n_qubits)
    n = int(n_qubits)
    pp = zz_pairs(n, pairs)
    enc = angle(n)
    gates = enc.gates + ("RZZ",) * len(pp)
    wires = enc.wires + tuple(pp)
    sources = enc.sources + tuple(X(n + k, 2.0) for k in range(len(pp)))
    c = Circuit(n, gates, wires, sources)
    return _with_data(c, n + len(pp), "zz", family="zz", pairs=pairs)


def encoding_features(encoding: str, x: np.ndarray, *, pairs: str = "linear") -> np.ndarray:
    """The data features an encoding's circuit reads, from angles x float[batch, n] (radians):
    ``x`` itself, or ``x`` plus the pair products for ``zz``. Not defined for ``amplitude``."""
    if encoding == "zz":
        return zz_features(x, pairs)
    if encoding in ("angle", "reupload"):
        return np.atleast_2d(np.asarray(x, dtype=float))
    raise ValueError(f"encoding {encoding!r} has no circuit features; choose angle, zz, reupload")


def compose(*circuits: Circuit, name: str | None = None, **meta) -> Circuit:
    """Run circuits one after the other on the same wires. Parameters are renumbered (circuit k's
    parameter i becomes ``i + sum of earlier n_params``); data features are shared (the same x)."""
    if not circuits:
        raise ValueError("compose needs at least one circuit")
    n = max(c.n_qubits for c in circuits)
    gates, wires, sources = [], [], []
    offset, n_data = 0, 0
    for c in circuits:
        gates += c.gates
        wires += c.wires
        for srcs in c.sources:
            sources.append(
                tuple(
                    Source(s.kind, s.index + offset, s.coef) if s.kind == "param" else s
                    for s in srcs
                )
            )
        offset += c.n_params
        n_data = max(n_data, c.n_data)
    label = name or "+".join(c.name for c in circuits)
    return Circuit(
        n,
        tuple(gates),
        tuple(wires),
        tuple(sources),
        offset,
        n_data,
        label,
        tuple(sorted(meta.items())),
    )


def ansatz_layers(ansatz: str, n_qubits: int, n_layers: int, *, seed: int = 0) -> list[Circuit]:
    """The ``n_layers`` layers of an ansatz family from :func:`bpdiag.circuits.build`, without its
    own data encoding (the ``original`` family's ``RY(x)``), as separate circuits.

    Every family hands out the same number of parameters per layer, in order, so layer ``l``
    starts at the first gate that reads parameter ``l * P / L``. Fixed or constant gates before
    the first layer (``mcclean``'s ``RY(pi/4)``) belong to layer 0. Layer ``l``'s parameters are
    numbered from 0; :func:`compose` renumbers them back in order.
    """
    if ansatz not in ANSATZE:
        raise ValueError(f"unknown ansatz {ansatz!r}; choose from {', '.join(ANSATZE)}")
    if n_layers == 0:
        return []
    full = build(ansatz, n_qubits, n_layers, seed=seed)
    keep = [g for g, srcs in enumerate(full.sources) if not any(s.kind == "data" for s in srcs)]
    per = full.n_params // n_layers
    if per * n_layers != full.n_params:
        raise ValueError(f"ansatz {ansatz!r} does not have equal parameters per layer")
    starts = [0]
    for layer in range(1, n_layers):
        first = min(
            g
            for g in keep
            if any(s.kind == "param" and s.index == layer * per for s in full.sources[g])
        )
        starts.append(keep.index(first))
    starts.append(len(keep))
    out = []
    for layer in range(n_layers):
        idx = keep[starts[layer] : starts[layer + 1]]
        srcs = tuple(
            tuple(
                Source(s.kind, s.index - layer * per, s.coef) if s.kind == "param" else s
                for s in full.sources[g]
            )
            for g in idx
        )
        out.append(
            Circuit(
                n_qubits,
                tuple(full.gates[g] for g in idx),
                tuple(full.wires[g] for g in idx),
                srcs,
                per,
                0,
                f"{ansatz}[{layer}]",
            )
        )
    return out


def reupload(n_qubits: int, n_layers: int, *, ansatz: str = "original", seed: int = 0) -> Circuit:
    """``RY(x)`` before every ansatz layer (once if ``n_layers == 0``)."""
    layers = ansatz_layers(ansatz, n_qubits, n_layers, seed=seed)
    blocks: list[Circuit] = []
    for layer in layers or [None]:
        blocks.append(angle(n_qubits))
        if layer is not None:
            blocks.append(layer)
    return compose(
        *blocks, name=f"reupload+{ansatz}", encoding="reupload", ansatz=ansatz, n_layers=n_layers
    )


def encoded_circuit(
    encoding: str,
    n_qubits: int,
    n_layers: int = 0,
    *,
    ansatz: str = "original",
    seed: int = 0,
    pairs: str = "linear",
) -> Circuit:
    """The circuit of an encoding followed by ``n_layers`` ansatz layers (``seed``: the ansatz's
    random structure, for ``sparse``/``mcclean``). For ``amplitude`` this is the ansatz alone
    (its input state comes from :func:`amplitude_state`)."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; choose from {', '.join(ENCODINGS)}")
    _check_n(n_qubits)
    if int(n_layers) != n_layers or n_layers < 0:
        raise ValueError(f"n_layers must be >= 0, got {n_layers}")
    if encoding == "reupload":
        return reupload(n_qubits, n_layers, ansatz=ansatz, seed=seed)
    layers = ansatz_layers(ansatz, n_qubits, n_layers, seed=seed)
    head = {"angle": angle, "zz": lambda n: zz(n, pairs=pairs)}.get(encoding)
    blocks = ([head(n_qubits)] if head else []) + layers
    if not blocks:  # amplitude, no ansatz: the empty circuit
        return Circuit(n_qubits, (), (), (), 0, 0, "amplitude")
    return compose(
        *blocks, name=f"{encoding}+{ansatz}", encoding=encoding, ansatz=ansatz, n_layers=n_layers
    )


# ---------------------------------------------------------------------------------------------
# States


def amplitude_state(features: np.ndarray, n_qubits: int) -> np.ndarray:
    """Amplitude encoding: features float[batch, F] with ``F <= 2**n``, padded with zeros to
    ``2**n`` and normalised, as complex128[batch, 2**n] (feature k is the amplitude of basis state
    k, wire 0 most significant; PennyLane's ``AmplitudeEmbedding(pad_with=0, normalize=True)``)."""
    f = np.atleast_2d(np.asarray(features, dtype=float))
    d = 2**n_qubits
    if f.shape[1] > d:
        raise ValueError(
            f"amplitude encoding of {f.shape[1]} features needs n_qubits >= "
            f"{math.ceil(math.log2(f.shape[1]))}, got {n_qubits}"
        )
    norm = np.linalg.norm(f, axis=1, keepdims=True)
    if np.any(norm == 0):
        raise ValueError("amplitude encoding got an all-zero feature row")
    out = np.zeros((f.shape[0], d), dtype=complex)
    out[:, : f.shape[1]] = f / norm
    return out


def basis_angles(n_qubits: int) -> np.ndarray:
    """float64[2**n, n]: row k is ``pi * bits(k)`` (wire 0 most significant), so that the
    ``angle`` circuit prepares ``|k>`` exactly (``RY(pi)|0> = |1>``)."""
    k = np.arange(2**n_qubits)[:, None]
    return np.pi * ((k >> (n_qubits - 1 - np.arange(n_qubits))[None, :]) & 1)


def _bytes_per_row(n_register: int, dtype: str) -> float:
    # state + the engine's split/merge temporaries and the gate loop's carry (about 8 states)
    return 2**n_register * (16 if dtype == "complex128" else 8) * 8


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
    :func:`bpdiag._resources.plan_chunk`); every chunk is padded to one shape.
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
    itemsize = 16 if dtype == "complex128" else 8
    if chunk is None:
        chunk = plan_chunk(
            batch,
            _bytes_per_row(N, dtype),
            what=f"{circuit.name} on {n} qubits",
            budget=memory_budget,
        )
        # Cache-sized chunks: every gate is one pass over the chunk's states, so a chunk that
        # stays in cache runs about twice as fast as one that streams from memory.
        chunk = min(chunk, max(1, _CHUNK_BYTES // (2**N * itemsize)))
    chunk = max(1, min(int(chunk), batch))
    f = je.jitted("states", kernels, N, dtype)
    out = np.empty((batch, 2**n), dtype=np.complex128 if dtype == "complex128" else np.complex64)
    no_x = jnp.zeros((chunk, 0))
    for i in range(0, batch, chunk):
        block = angles[i : i + chunk]
        m = len(block)
        if m < chunk:
            block = np.concatenate([block, np.zeros((chunk - m, G))])
        s = np.asarray(f(prog, jnp.asarray(block), no_x, circuit.n_gates))[:m]
        if N > n:  # trailing extra wires stay |0>: keep their all-zero slice
            s = s.reshape(m, 2**n, 2 ** (N - n))[:, :, 0]
        out[i : i + m] = s
    return out


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
