"""Lowering a :class:`~bpdiag.circuits.Circuit` to gate tables that every fast engine executes.

Every gate becomes a two-wire operator ``M(theta) = cos(theta/2) A + sin(theta/2) B`` acting on
wires ``(a, b)``: a rotation ``exp(-i theta P / 2)`` has ``A = I``, ``B = -i P``; a fixed gate has
``A = U``, ``B = 0`` and angle 0. Single-qubit gates are stored as ``U (x) I`` on the kernel
``(w, -1)``; engines apply only the 2x2 block.
Tables can be padded with identity gates and embedded in a larger register (extra wires stay in
``|0>``): both leave every amplitude exactly unchanged, so one compiled program serves circuits of
several sizes.

The 4x4 matrices index the pair as ``2 * bit_a + bit_b`` with ``a < b`` (a gate listed on wires
``(b, a)`` is stored with its qubits swapped). ``kernels`` lists the distinct ``(a, b)`` wire pairs
of a program; each gate points to one by ``kernel``, so engines can compile one static kernel per
pair and pick it with ``lax.switch``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from bpdiag.circuits import Circuit, angle_maps, gate_matrix, rotation_word
from bpdiag.circuits.gates import pauli_matrix

_I2 = np.eye(2, dtype=complex)
_SWAP = np.eye(4, dtype=complex)[[0, 2, 1, 3]]


class Program(NamedTuple):
    """Gate tables for a register of ``n_register`` qubits (G gates after padding).

    kernel: int32[G] index into ``kernels``; A, B: complex[G, 4, 4]; pm: float64[P, G];
    dm: float64[D, G]; const: float64[G]. Angles are ``params @ pm + x @ dm + const`` (radians).
    """

    kernel: np.ndarray
    A: np.ndarray
    B: np.ndarray
    pm: np.ndarray
    dm: np.ndarray
    const: np.ndarray


def gate_pair(gate: str) -> tuple[np.ndarray, np.ndarray]:
    """The (A, B) pair of a gate, complex128[4, 4] each (a single-qubit gate as ``U (x) I``):
    a rotation on word ``P`` has ``A = I``, ``B = -i P``; a fixed gate ``A = U``, ``B = 0``."""
    word = rotation_word(gate)
    if word is not None:
        A, B = np.eye(2 ** len(word), dtype=complex), -1j * pauli_matrix(word)
    else:
        A = gate_matrix(gate)
        B = np.zeros_like(A)
    if len(A) == 2:
        return np.kron(A, _I2), np.kron(B, _I2)
    return A, B


def register_size(n_qubits: int) -> int:
    """The register a circuit runs in (its own size; larger registers embed it)."""
    return int(n_qubits)


def gate_kernels(circuit: Circuit) -> tuple[tuple[int, int], ...]:
    """The wire pairs ``(a, b)``, ``a < b`` (or ``(w, -1)`` for one wire) a circuit needs."""
    out = set()
    for wires in circuit.wires:
        out.add(tuple(sorted(wires)) if len(wires) == 2 else (wires[0], -1))
    return tuple(sorted(out))


def lower(
    circuit: Circuit,
    *,
    kernels: tuple[tuple[int, int], ...] | None = None,
    n_register: int | None = None,
    n_gates: int | None = None,
    n_params: int | None = None,
    n_data: int | None = None,
) -> Program:
    """Lower ``circuit`` to a :class:`Program`, padded to the given sizes (identity gates, zero
    rows) and embedded in ``n_register`` wires (default :func:`register_size`)."""
    N = register_size(circuit.n_qubits) if n_register is None else int(n_register)
    G = circuit.n_gates if n_gates is None else int(n_gates)
    P = circuit.n_params if n_params is None else int(n_params)
    D = circuit.n_data if n_data is None else int(n_data)
    if N < circuit.n_qubits or G < circuit.n_gates:
        raise ValueError("padding sizes must not be smaller than the circuit")
    if P < circuit.n_params or D < circuit.n_data:
        raise ValueError("padding sizes must not be smaller than the circuit")
    kernels = gate_kernels(circuit) if kernels is None else tuple(kernels)
    lookup = {k: i for i, k in enumerate(kernels)}
    kernel = np.zeros(G, dtype=np.int32)  # padding: identity on kernels[0]
    A = np.tile(np.eye(4, dtype=complex), (G, 1, 1))
    B = np.zeros((G, 4, 4), dtype=complex)
    for g, (gate, wires) in enumerate(zip(circuit.gates, circuit.wires)):
        key = tuple(sorted(wires)) if len(wires) == 2 else (wires[0], -1)
        if key not in lookup:
            raise ValueError(f"gate {g} ({gate} on {wires}) has no kernel in {kernels}")
        kernel[g] = lookup[key]
        A[g], B[g] = gate_pair(gate)
        if len(wires) == 2 and wires[0] > wires[1]:
            A[g], B[g] = _SWAP @ A[g] @ _SWAP, _SWAP @ B[g] @ _SWAP
    pm0, dm0, c0 = angle_maps(circuit)
    pm = np.zeros((P, G))
    pm[: circuit.n_params, : circuit.n_gates] = pm0
    dm = np.zeros((D, G))
    dm[: circuit.n_data, : circuit.n_gates] = dm0
    const = np.zeros(G)
    const[: circuit.n_gates] = c0
    return Program(kernel, A, B, pm, dm, const)


def embed_observables(obs: np.ndarray, n_qubits: int, n_register: int) -> np.ndarray:
    """Embed observable diagonals float[2**n, k] into a register of ``n_register`` wires whose
    extra (trailing) wires are unmeasured: float[2**n_register, k]."""
    extra = n_register - n_qubits
    return np.repeat(obs, 2**extra, axis=0)
