"""Circuit transforms: circuits built from other circuits.

* :func:`identity_blocks` and :func:`tie_params`: Grant et al. (2019) identity-block
  initialisation (each block of layers followed by its inverse, with tied parameters).
* :func:`measure_basis`: fixed basis-change rotations appended, to measure X/Y strings as Z.
"""

from __future__ import annotations

import numpy as np

from bpdiag.circuits._circuit import Circuit, Source, n_layers
from bpdiag.circuits._circuit import layer_of as _layer_of
from bpdiag.circuits.gates import is_rotation

_INVERSE = {"S": "Sdg", "Sdg": "S", "T": "Tdg", "Tdg": "T", "SX": "SXdg", "SXdg": "SX"}


def _inverse_gates(gate: str, wires: tuple[int, ...]) -> list[tuple[str, tuple[int, ...]]]:
    """The gates (time order, with wires) of ``gate``'s inverse, for a fixed gate or a rotation
    (whose angle the caller negates): ``ISWAP^+ = (Z x Z) ISWAP``; the other fixed gates not in
    ``_INVERSE`` are self-inverse."""
    if gate == "ISWAP":
        return [("ISWAP", wires), ("Z", wires[:1]), ("Z", wires[1:])]
    return [(_INVERSE.get(gate, gate), wires)]


def identity_blocks(circuit: Circuit, block_layers: int = 1) -> Circuit:
    """Grant et al. (2019) identity blocks: cut ``circuit`` into blocks of ``block_layers``
    layers, follow each block by its inverse (gates reversed, every angle negated), and give the
    inverse its own parameters. Drawing parameters with :func:`tie_params` makes each block the
    identity at the start. The layer of a gate is the circuit's recorded layer structure
    (:func:`bpdiag.circuits.layer_of`); gates before the first layer (a state preparation) stay
    in front.

    Returns a circuit with twice the parameters, numbered in gate order; ``meta`` records
    ``tied`` ((inverse param, forward param), ...), ``identity_blocks`` ((forward start, forward
    end, inverse end) gate indices) and ``prefix_end``.

    >>> from bpdiag.circuits import dense_hea
    >>> identity_blocks(dense_hea(2, 2)).n_params
    16
    """
    if int(block_layers) != block_layers or block_layers < 1:
        raise ValueError(f"block_layers must be >= 1, got {block_layers}")
    L = n_layers(circuit)
    if L < 1 or circuit.n_params == 0:
        raise ValueError(
            f"identity blocks need a layered circuit with parameters; {circuit.name!r} has "
            f"{L} layers and {circuit.n_params} parameters"
        )
    layer_of = _layer_of(circuit).tolist()
    prefix = [g for g in range(circuit.n_gates) if layer_of[g] < 0]
    if any(s.kind == "param" for g in prefix for s in circuit.sources[g]):
        raise ValueError(
            f"identity blocks: {circuit.name!r} has trainable gates before its first layer; "
            "only data or fixed gates may precede the blocks"
        )
    gates, wires, sources = [], [], []
    tied, blocks = [], []
    new_index: dict[int, int] = {}
    n_params = 0

    def add(gate, w, srcs):
        gates.append(gate)
        wires.append(w)
        sources.append(srcs)

    for g in prefix:
        add(circuit.gates[g], circuit.wires[g], circuit.sources[g])
    for start_layer in range(0, L, block_layers):
        members = [
            g
            for g in range(circuit.n_gates)
            if start_layer <= layer_of[g] < start_layer + block_layers
        ]
        start = len(gates)
        for g in members:
            srcs = []
            for s in circuit.sources[g]:
                if s.kind == "param":
                    new_index[s.index] = new_index.get(s.index, n_params)
                    if new_index[s.index] == n_params:
                        n_params += 1
                    srcs.append(Source("param", new_index[s.index], s.coef))
                else:
                    srcs.append(s)
            add(circuit.gates[g], circuit.wires[g], tuple(srcs))
        mid = len(gates)
        inv_index: dict[int, int] = {}
        for g in reversed(members):
            srcs = []
            for s in circuit.sources[g]:
                if s.kind == "param":
                    if s.index not in inv_index:
                        inv_index[s.index] = n_params
                        tied.append((n_params, new_index[s.index]))
                        n_params += 1
                    srcs.append(Source("param", inv_index[s.index], -s.coef))
                else:
                    srcs.append(Source(s.kind, s.index, -s.coef))
            for name, ws in _inverse_gates(circuit.gates[g], circuit.wires[g]):
                add(name, ws, tuple(srcs) if is_rotation(name) else ())
        blocks.append((start, mid, len(gates)))
    meta = dict(circuit.meta)
    meta.update(
        init="identity-blocks",
        block_layers=int(block_layers),
        tied=tuple(tied),
        identity_blocks=tuple(blocks),
        prefix_end=len(prefix),
        layer_starts=tuple(t for b in blocks for t in b[:2]),
    )
    return Circuit(
        circuit.n_qubits,
        tuple(gates),
        tuple(wires),
        tuple(sources),
        n_params,
        circuit.n_data,
        circuit.name,
        tuple(sorted(meta.items())),
    )


def tie_params(circuit: Circuit, params: np.ndarray) -> np.ndarray:
    """Copy each forward parameter onto its inverse-block twin (``circuit.info('tied')``), so an
    :func:`identity_blocks` circuit starts as the identity. params: float[..., n_params]."""
    params = np.array(params, dtype=float, copy=True)
    for j, i in circuit.info("tied", ()):
        params[..., j] = params[..., i]
    return params


# ---------------------------------------------------------------------------------------------
# Reference state preparations


def product_state_circuit(n_qubits: int) -> Circuit:
    """``RY(x_i)`` then ``RZ(x_{n+i})`` on every wire ``i``: any product state, from ``2 n`` data
    angles (radians; ``n_data = 2 n``, no parameters). With polar angles ``arccos(1 - 2u)`` and
    azimuths uniform in [0, 2 pi) each qubit is Haar-random.

    >>> product_state_circuit(2).gates
    ('RY', 'RY', 'RZ', 'RZ')
    """
    n = int(n_qubits)
    if n < 1:
        raise ValueError(f"n_qubits must be >= 1, got {n_qubits}")
    gates = ("RY",) * n + ("RZ",) * n
    wires = tuple((w,) for w in range(n)) * 2
    sources = tuple((Source("data", j, 1.0),) for j in range(2 * n))
    return Circuit(n, gates, wires, sources, 0, 2 * n, "product", (("family", "product"),))


def ghz_circuit(n_qubits: int) -> Circuit:
    """``H`` on wire 0, then ``CNOT(i, i+1)``: the GHZ state ``(|0..0> + |1..1>) / sqrt(2)``
    (no parameters, no data).

    >>> ghz_circuit(3).gates
    ('H', 'CNOT', 'CNOT')
    """
    n = int(n_qubits)
    if n < 1:
        raise ValueError(f"n_qubits must be >= 1, got {n_qubits}")
    gates = ("H",) + ("CNOT",) * (n - 1)
    wires = ((0,),) + tuple((i, i + 1) for i in range(n - 1))
    return Circuit(n, gates, wires, ((),) * n, 0, 0, "ghz", (("family", "ghz"),))


#: The reference states :func:`preparation` builds.
PREPARATIONS = ("product", "ghz")


def preparation(kind: str, n_qubits: int) -> Circuit:
    """The circuit preparing a reference state: ``product`` (:func:`product_state_circuit`) or
    ``ghz`` (:func:`ghz_circuit`)."""
    if kind == "product":
        return product_state_circuit(n_qubits)
    if kind == "ghz":
        return ghz_circuit(n_qubits)
    raise ValueError(f"unknown preparation {kind!r}; choose from {', '.join(PREPARATIONS)}")


# ---------------------------------------------------------------------------------------------
# Measurement bases

#: The fixed rotation that maps each Pauli's eigenbasis to Z's: ``U^+ Z U = P`` for U appended.
BASIS_CHANGE = {"X": ("RY", -np.pi / 2), "Y": ("RX", np.pi / 2)}


def measure_basis(circuit: Circuit, basis: dict[int, str]) -> Circuit:
    """``circuit`` followed by the fixed rotations (constant :class:`Source` angles, radians) that
    turn a measurement of ``Z_w`` into one of ``basis[w]``: ``X -> RY(-pi/2)``, ``Y ->
    RX(pi/2)``, ``Z`` (or ``I``) -> nothing. Then ``<psi| U^+ Z_S U |psi> = <psi| P_S |psi>`` for
    every Pauli string ``P_S`` whose letters agree with ``basis``, so any engine measures a
    qubit-wise commuting group with its diagonal observables. Parameters, data and meta
    (layer structure included) are unchanged; ``meta["measure_basis"]`` records the basis.

    >>> measure_basis(product_state_circuit(1), {0: "X"}).gates
    ('RY', 'RZ', 'RY')
    """
    gates, wires, sources = list(circuit.gates), list(circuit.wires), list(circuit.sources)
    for w, p in sorted(basis.items()):
        if p in BASIS_CHANGE:
            gate, angle = BASIS_CHANGE[p]
            gates.append(gate)
            wires.append((int(w),))
            sources.append((Source("const", -1, float(angle)),))
        elif p not in ("Z", "I"):
            raise ValueError(f"unknown Pauli letter {p!r} on wire {w}; use X, Y, Z or I")
    meta = dict(circuit.meta)
    meta["measure_basis"] = "".join(f"{p}{w}" for w, p in sorted(basis.items()))
    return Circuit(
        circuit.n_qubits,
        tuple(gates),
        tuple(wires),
        tuple(sources),
        circuit.n_params,
        circuit.n_data,
        circuit.name,
        tuple(sorted(meta.items())),
    )
