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

from bpdiag.circuits import Circuit, angle_maps, is_rotation
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


def _trainable(circuit: Circuit) -> np.ndarray:
    pm, _, _ = angle_maps(circuit)
    return np.any(pm != 0, axis=0) if circuit.n_params else np.zeros(circuit.n_gates, bool)


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
