"""Frames: generators and observables moved to the circuit input (Heisenberg picture).

A rotation ``R_P(theta) = exp(-i theta P / 2)`` has generator ``P``. Fixed gates are absorbed by
moving them to the end of the circuit: with ``F_{<k}`` the product of the fixed gates that come
before gate ``k`` (inside the frame),

    U = F_all * prod_k exp(-i theta_k G_k / 2),      G_k = F_{<k}^dagger P_k F_{<k},

and the cost ``Tr(U rho U^dagger O)`` reads ``Tr(V rho V^dagger O')`` with ``O' = F_all^dagger O
F_all``: generators and observable are both moved to the circuit *input*, the state is untouched.
Two frames are used (:func:`heisenberg_frame`):

* ``mode="trainable"`` (the DLA and the predicted variance): the gates before the first trainable
  gate (data encoding, constant preparation) prepare the state ``rho = S(x)|0><0|S(x)^dagger``;
  afterwards only parameterized gates are generators, and fixed gates - Cliffords, and data or
  constant rotations held at the given data values - are absorbed. Through Cliffords a Pauli string
  stays a Pauli string (exact integer arithmetic); through a data rotation it becomes a Pauli sum,
  and the DLA falls back to a floating-point closure (n <= 6).
* ``mode="all"`` (the dead-parameter proof): every rotation, trainable, data or constant, is a
  generator, so results hold for every input and every setting of the other parameters; only
  Cliffords are absorbed and everything is a Pauli string.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from bpdiag.circuits import Circuit, angle_maps, is_rotation, rotation_word
from bpdiag.circuits import pauli as pa
from bpdiag.engines.numpy import angle_states


class Frame(NamedTuple):
    """Generators and observables moved to the input of the circuit (see the module docstring).

    ``gates[i]`` is the circuit gate of generator ``i`` (time order); ``generators[i]`` and
    ``observables[j]`` are Pauli sums ``(keys, coefs)``; gates before ``start`` prepare the state.
    """

    n: int
    mode: str
    start: int
    gates: tuple[int, ...]
    generators: tuple[tuple[np.ndarray, np.ndarray], ...]
    observables: tuple[tuple[np.ndarray, np.ndarray], ...]

    @property
    def pauli(self) -> bool:
        """Whether every generator is a single Pauli string."""
        return all(len(k) == 1 for k, _ in self.generators)


def _kinds(circuit: Circuit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per gate: driven by a parameter (bool[G]), by data (bool[G]), constant angle (float[G]),
    read from the sources (no dense angle maps: they are [P, G] and large for big circuits)."""
    G = circuit.n_gates
    train, data, const = np.zeros(G, bool), np.zeros(G, bool), np.zeros(G)
    for g, srcs in enumerate(circuit.sources):
        for src in srcs:
            if src.kind == "param":
                train[g] |= src.coef != 0
            elif src.kind == "data":
                data[g] |= src.coef != 0
            else:
                const[g] += src.coef
    return train, data, const


def _trainable(circuit: Circuit) -> np.ndarray:
    return _kinds(circuit)[0]


def _fixed_angles(circuit: Circuit, x, need: np.ndarray) -> np.ndarray:
    """Angles of gates with no parameter (data + const), float64[G]; ``x`` only if needed."""
    _, dm, const = angle_maps(circuit)
    if circuit.n_data and (dm[:, need] != 0).any():
        if x is None:
            raise ValueError(
                f"circuit {circuit.name!r} has data gates after its first trainable gate: "
                "give the data point x"
            )
        x = np.asarray(x, dtype=float).reshape(-1)
        if x.shape[0] != circuit.n_data:
            raise ValueError(f"x must have {circuit.n_data} features, got {x.shape[0]}")
        return const + x @ dm
    return const


def heisenberg_frame(
    circuit: Circuit,
    observables: Sequence[tuple[np.ndarray, np.ndarray]] = (),
    *,
    x=None,
    mode: str = "trainable",
) -> Frame:
    """Move generators and observables to the circuit input (``G_k = F_{<k}^+ P_k F_{<k}``,
    ``O' = F^+ O F``). ``mode`` is ``"trainable"`` or ``"all"`` (module docstring). ``x``: data
    float[n_data], needed only when data gates sit after the first trainable gate."""
    if mode not in ("trainable", "all"):
        raise ValueError(f"mode must be 'trainable' or 'all', got {mode!r}")
    n = circuit.n_qubits
    if mode == "all":
        is_gen = np.array([is_rotation(g) for g in circuit.gates], dtype=bool)
        start = 0
    else:
        is_gen = _trainable(circuit)
        start = int(np.argmax(is_gen)) if is_gen.any() else circuit.n_gates
    absorbed = np.zeros(circuit.n_gates, bool)
    absorbed[start:] = ~is_gen[start:]
    angles = _fixed_angles(circuit, x, absorbed)
    keys, coefs, owners = [], [], []
    for j, (k, c) in enumerate(observables):
        keys.append(np.asarray(k, np.uint64))
        coefs.append(np.asarray(c, float))
        owners.append(np.full(len(k), j, dtype=np.int64))
    m = len(observables)
    keys = np.concatenate(keys) if keys else np.zeros(0, np.uint64)
    coefs = np.concatenate(coefs) if coefs else np.zeros(0)
    owners = np.concatenate(owners) if owners else np.zeros(0, np.int64)
    gen_gates: list[int] = []
    for g in range(circuit.n_gates - 1, start - 1, -1):
        gate, wires = circuit.gates[g], circuit.wires[g]
        if is_gen[g]:
            rot = pa.gate_rotations(gate, wires, n)[0][0]
            keys = np.append(keys, np.uint64(rot))
            coefs = np.append(coefs, 1.0)
            owners = np.append(owners, m + len(gen_gates))
            gen_gates.append(g)
        else:
            keys, coefs, owners = pa.conjugate_gate(
                keys, coefs, gate, wires, n, angle=float(angles[g]), owners=owners
            )
    n_own = m + len(gen_gates)
    parts = [(keys[owners == o], coefs[owners == o]) for o in range(n_own)]
    gens = tuple(reversed(parts[m:]))
    return Frame(n, mode, start, tuple(reversed(gen_gates)), gens, tuple(parts[:m]))


def _short(key: int, n: int) -> str:
    """``Z0 Z2``-style label of a Pauli string."""
    text = pa.label(key, n)
    out = [f"{ch}{w}" for w, ch in enumerate(text) if ch != "I"]
    return " ".join(out) if out else "I"


def prefix_state(circuit: Circuit, stop: int, x=None) -> np.ndarray:
    """State complex128[2**n] after gates ``0..stop-1`` on |0..0> (parameters must not drive
    them; data ``x`` float[n_data] where they need it), by :mod:`bpdiag.engines.numpy`."""
    need = np.zeros(circuit.n_gates, bool)
    need[:stop] = True
    angles = _fixed_angles(circuit, x, need)
    return angle_states(circuit, angles[None, :], stop)[0]


class StringFrame(NamedTuple):
    """A frame whose generators are all Pauli strings, on any number of qubits (Python-int keys
    ``(x << n) | z``; signs dropped, the real span is the same). ``gates[i]`` is the circuit gate
    of generator ``i``; ``trainable[i]`` whether that gate carries a parameter; ``observables[j]``
    the moved observable ``j`` as ``(keys, coefs)`` lists. Gates before ``start`` prepare the
    state."""

    n: int
    mode: str
    start: int
    gates: tuple[int, ...]
    generators: tuple[int, ...]
    trainable: tuple[bool, ...]
    observables: tuple[tuple[tuple[int, ...], tuple[float, ...]], ...]


def string_frame(
    circuit: Circuit,
    observables: Sequence[Sequence[tuple[float, dict[int, str]]]] = (),
    *,
    mode: str = "trainable",
    max_generators: int | None = None,
) -> StringFrame:
    """The frame of :func:`heisenberg_frame` computed forward with a Clifford tableau
    (:class:`bpdiag.circuits.pauli.Tableau`): ``G_k = T_{F<k}(P_k)``, ``O' = T_F(O)``; any n.

    ``observables``: each a list of ``(coef, {wire: letter})`` terms. In ``mode="trainable"``
    every absorbed gate must be Clifford, otherwise the generators become Pauli sums and a
    one-line ``ValueError`` names the gate. In ``mode="all"`` a non-Clifford fixed gate (``T``,
    ``CH``, a data or constant rotation) is itself taken as a generator (so a dead verdict holds
    for every angle of it, in particular its own). ``max_generators``: stop after that many
    generators (the observables are then not moved and come back empty)."""
    from bpdiag.circuits.gates import CLIFFORD, ROTATION_FORMS

    if mode not in ("trainable", "all"):
        raise ValueError(f"mode must be 'trainable' or 'all', got {mode!r}")
    n = circuit.n_qubits
    trainable, data, const = _kinds(circuit)
    if mode == "all":
        start = 0
        is_gen = np.array([is_rotation(g) for g in circuit.gates], dtype=bool)
    else:
        is_gen = trainable
        start = int(np.argmax(is_gen)) if is_gen.any() else circuit.n_gates
    T = pa.Tableau(n)
    gates, gens, train = [], [], []
    for g in range(start, circuit.n_gates):
        gate, wires = circuit.gates[g], circuit.wires[g]
        if is_gen[g]:
            if max_generators is not None and len(gens) >= max_generators:
                return StringFrame(n, mode, start, tuple(gates), tuple(gens), tuple(train), ())
            word = rotation_word(gate)
            key, _ = T.image(dict(zip(wires, word)))
            gates.append(g), gens.append(key), train.append(bool(trainable[g]))
            continue
        if is_rotation(gate):
            angle = float(const[g])
            q = angle / (np.pi / 2)
            clifford = abs(q - round(q)) < 1e-12 and not data[g]
        else:
            angle, clifford = 0.0, gate in CLIFFORD
        if clifford:
            T.then(gate, wires, angle)
            continue
        if mode == "trainable":
            what = "data or constant rotation" if is_rotation(gate) else "non-Clifford gate"
            raise ValueError(
                f"{what} {gate} (gate {g}) sits between trainable gates: the generators moved "
                "through it are Pauli sums, not strings"
            )
        # mode "all": a non-Clifford fixed gate contributes its rotations as generators
        forms = (
            [(rotation_word(gate), tuple(range(len(wires))), 0.0)]
            if is_rotation(gate)
            else ROTATION_FORMS[gate]
        )
        for letters, pos, a in forms:
            key, _ = T.image({wires[p]: c for p, c in zip(pos, letters)})
            gates.append(g), gens.append(key), train.append(False)
            if abs(a / (np.pi / 2) - round(a / (np.pi / 2))) < 1e-12:  # a Clifford part
                T.then("R" + letters, tuple(wires[p] for p in pos), a)
    obs = []
    for terms in observables:
        keys, coefs = [], []
        for c, ops in terms:
            k, s = T.image(dict(ops))
            keys.append(k), coefs.append(s * float(c))
        obs.append((tuple(keys), tuple(coefs)))
    return StringFrame(n, mode, start, tuple(gates), tuple(gens), tuple(train), tuple(obs))
