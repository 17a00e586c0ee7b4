"""Data encodings as circuit builders, and the states they prepare.

Every encoding of an angle vector ``x`` float[n] (radians, one per qubit) is a
:class:`~bpdiag.circuits.Circuit` whose rotations are driven by data features, optionally followed
by (or, for re-uploading, interleaved with) the layers of an ansatz from
:func:`bpdiag.circuits.build`. States are computed by :mod:`bpdiag.engines.states`: nothing here
simulates.

* ``angle``: ``RY(x_i)`` on wire ``i`` (the original regressor's encoding).
* ``zz``: ``angle``, then the second-order ZZ feature map of Havlíček et al., Nature 567, 209
  (2019): ``RZZ(2 (pi - x_i)(pi - x_j))`` on each entangled pair ``(i, j)`` (Qiskit's
  ``ZZFeatureMap`` angle convention). The pair products are *derived data features* appended to
  ``x`` by :func:`zz_features`, so the circuit stays a list of rotations linear in its features.
* ``reupload``: ``RY(x_i)`` before every ansatz layer (Pérez-Salinas et al., Quantum 4, 226
  (2020)); with ``ansatz="original"`` this is the original circuit with re-uploading (the one
  place it is built).
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

from bpdiag.circuits._circuit import ANSATZE, Circuit, Source, X, layer_of
from bpdiag.circuits.families import build, chain_pairs

ENCODINGS = ("angle", "zz", "reupload", "amplitude")
PAIRS = ("linear", "ring", "full")

__all__ = [
    "ENCODINGS",
    "PAIRS",
    "amplitude_state",
    "angle",
    "ansatz_layers",
    "basis_angles",
    "compose",
    "encoded_circuit",
    "encoding_features",
    "reupload",
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
    parameter i becomes ``i + sum of earlier n_params``); data features are shared (the same x).
    The blocks' recorded layer starts (``meta["layer_starts"]``) are shifted by each block's gate
    offset and recorded in order, unless ``layer_starts`` is given in ``meta``."""
    if not circuits:
        raise ValueError("compose needs at least one circuit")
    n = max(c.n_qubits for c in circuits)
    gates, wires, sources = [], [], []
    offset, n_data = 0, 0
    starts: list[int] = []
    for c in circuits:
        starts += [len(gates) + int(t) for t in c.info("layer_starts", ()) or ()]
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
    if (starts or "n_layers" in meta) and "layer_starts" not in meta:
        meta["layer_starts"] = tuple(starts)  # a layered circuit (possibly 0 layers)
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


def _is_data(srcs) -> bool:
    return any(s.kind == "data" for s in srcs)


def ansatz_layers(
    ansatz: str, n_qubits: int, n_layers: int, *, seed: int = 0, **options
) -> list[Circuit]:
    """The ``n_layers`` layers of an ansatz family from :func:`bpdiag.circuits.build` (``options``
    go there), without its own data encoding (the ``original`` family's ``RY(x)``), as separate
    circuits.

    The built circuit is cut at the layer starts it records (:func:`bpdiag.circuits.layer_of`).
    Fixed or constant gates before the first layer (``mcclean``'s ``RY(pi/4)``) go in front of
    layer 0 and stay outside it: layer 0's circuit records ``layer_starts = (k,)`` after those k
    gates, every other layer ``(0,)``. Layer ``l``'s parameters are numbered from 0 (the family
    hands them out layer by layer); :func:`compose` renumbers them back in order.
    """
    if ansatz not in ANSATZE:
        raise ValueError(f"unknown ansatz {ansatz!r}; choose from {', '.join(ANSATZE)}")
    if n_layers == 0:
        return []
    full = build(ansatz, n_qubits, n_layers, seed=seed, **options)
    layer = layer_of(full).tolist()
    keep = [g for g in range(full.n_gates) if not _is_data(full.sources[g])]
    prefix = [g for g in keep if layer[g] < 0]
    out, offset = [], 0
    for l in range(n_layers):  # noqa: E741
        members = [g for g in keep if layer[g] == l]
        idx = (prefix if l == 0 else []) + members
        used = sorted({s.index for g in idx for s in full.sources[g] if s.kind == "param"})
        if used != list(range(offset, offset + len(used))):
            raise ValueError(f"ansatz {ansatz!r} does not number its parameters layer by layer")
        srcs = tuple(
            tuple(
                Source(s.kind, s.index - offset, s.coef) if s.kind == "param" else s
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
                len(used),
                0,
                f"{ansatz}[{l}]",
                (("layer_starts", (len(idx) - len(members),)),),
            )
        )
        offset += len(used)
    return out


def reupload(
    n_qubits: int, n_layers: int, *, ansatz: str = "original", seed: int = 0, **options
) -> Circuit:
    """``RY(x)`` before every ansatz layer (once if ``n_layers == 0``); ``options`` go to
    :func:`bpdiag.circuits.build`. Layer ``l > 0`` starts at its re-uploaded ``RY(x)``; the first
    ``RY(x)`` comes before layer 0."""
    layers = ansatz_layers(ansatz, n_qubits, n_layers, seed=seed, **options)
    blocks: list[Circuit] = []
    starts: list[int] = []
    size = 0
    for k, layer in enumerate(layers or [None]):
        head = angle(n_qubits)
        if k > 0:
            starts.append(size)
        blocks.append(head)
        size += head.n_gates
        if layer is not None:
            if k == 0:
                starts.append(size + layer.info("layer_starts")[0])
            blocks.append(layer)
            size += layer.n_gates
    meta = dict(encoding="reupload", ansatz=ansatz, n_layers=n_layers)
    meta["layer_starts"] = tuple(starts)
    return compose(*blocks, name=f"reupload+{ansatz}", **meta)


def encoded_circuit(
    encoding: str,
    n_qubits: int,
    n_layers: int = 0,
    *,
    ansatz: str = "original",
    seed: int = 0,
    pairs: str = "linear",
    **options,
) -> Circuit:
    """The circuit of an encoding followed by ``n_layers`` ansatz layers: the one builder of the
    encoded circuit. ``seed``: the ansatz's random structure (``sparse``/``mcclean``);
    ``options``: further family options for :func:`bpdiag.circuits.build` (e.g. ``pattern``,
    ``density``, ``ring``). For ``amplitude`` this is the ansatz alone (its input state comes
    from :func:`amplitude_state`). ``meta["layer_starts"]`` records where each ansatz layer
    starts (the encoding comes before layer 0)."""
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; choose from {', '.join(ENCODINGS)}")
    _check_n(n_qubits)
    if int(n_layers) != n_layers or n_layers < 0:
        raise ValueError(f"n_layers must be >= 0, got {n_layers}")
    if encoding == "reupload":
        return reupload(n_qubits, n_layers, ansatz=ansatz, seed=seed, **options)
    layers = ansatz_layers(ansatz, n_qubits, n_layers, seed=seed, **options)
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
