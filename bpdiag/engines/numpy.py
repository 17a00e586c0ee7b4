"""Plain-numpy batched statevector engine: the small exact engine the Lie audit needs.

States are flat ``complex128[batch, 2**n]`` with wire 0 the most significant bit (PennyLane's
order, as in :mod:`bpdiag.engines.jax`). Gates are applied one at a time by ``einsum`` on the
wires they touch; nothing is compiled, so for the small circuits of an audit (a few qubits, a
handful of calls) this is faster than compiling a JAX program, and it gives the *state*
derivatives (:func:`jacobian`) that the quantum Fisher information needs.

The same few functions as the other engines: :func:`simulate` (states), :func:`expval`
(expectations of the named costs), :func:`gradient` (parameter derivatives by the shared exact
parameter-shift rule, :func:`bpdiag.engines._batch.shifted_angles`), plus :func:`angle_states`
(states from gate angles, optionally after only the first ``stop`` gates) and :func:`jacobian`.

>>> import numpy as np; from bpdiag.circuits import dense_hea
>>> simulate(dense_hea(2, 1), np.zeros(4)).shape
(1, 4)
"""

from __future__ import annotations

from functools import cache

import numpy as np

from bpdiag.circuits import Circuit, angle_maps
from bpdiag.engines._batch import batched, combine_shifts, shifted_angles
from bpdiag.engines._observe import pauli_table, state_expectations
from bpdiag.engines._program import gate_pair

#: Rows per einsum pass (bounds memory; rows are independent, so results do not depend on it).
CHUNK = 256


@cache
def _gate_pair(gate: str) -> tuple[np.ndarray, np.ndarray]:
    return gate_pair(gate)


def _run(circuit: Circuit, angles: np.ndarray, stop: int) -> np.ndarray:
    B, n = angles.shape[0], circuit.n_qubits
    psi = np.zeros((B,) + (2,) * n, dtype=complex)
    psi[(slice(None),) + (0,) * n] = 1.0
    for g in range(stop):
        A, Bm = _gate_pair(circuit.gates[g])
        t = angles[:, g, None, None] / 2
        M = np.cos(t) * A + np.sin(t) * Bm  # [B, 4, 4]
        wires = [1 + w for w in circuit.wires[g]]
        if len(circuit.wires[g]) == 2:
            U = M.reshape(B, 2, 2, 2, 2)
            moved = np.moveaxis(psi, wires, [-2, -1])
            moved = np.einsum("bijkl,b...kl->b...ij", U, moved)
        else:
            U = M[:, 0::2, 0::2]
            moved = np.moveaxis(psi, wires, [-1])
            moved = np.einsum("bij,b...j->b...i", U, moved)
        psi = np.moveaxis(moved, [-len(wires) + i for i in range(len(wires))], wires)
    return psi.reshape(B, -1)


def angle_states(circuit: Circuit, angles, stop: int | None = None) -> np.ndarray:
    """States complex128[B, 2**n] after gates ``0..stop-1`` (default: all) on |0..0>, for gate
    angles float[B, n_gates] or float[n_gates] (radians; see :meth:`Circuit.angles`)."""
    angles = np.atleast_2d(np.asarray(angles, dtype=float))
    stop = circuit.n_gates if stop is None else int(stop)
    return batched(lambda a: _run(circuit, a, stop), angles, chunk=CHUNK, pad=False)


def _angles(circuit: Circuit, params, x) -> np.ndarray:
    params = np.atleast_2d(np.asarray(params, dtype=float))
    if params.shape[-1] != circuit.n_params:
        raise ValueError(f"params must have {circuit.n_params} columns, got {params.shape[-1]}")
    if not circuit.n_data:
        return circuit.angles(params, None)
    if x is None:
        raise ValueError(f"circuit {circuit.name!r} needs x with {circuit.n_data} features")
    x = np.atleast_2d(np.asarray(x, dtype=float))
    if x.shape[0] == 1 and params.shape[0] > 1:
        x = np.repeat(x, params.shape[0], axis=0)
    if params.shape[0] == 1 and x.shape[0] > 1:
        params = np.repeat(params, x.shape[0], axis=0)
    return circuit.angles(params, x)


def simulate(circuit: Circuit, params, x=None) -> np.ndarray:
    """Final states complex128[batch, 2**n] for params float[batch, n_params] (or [n_params])
    and data x float[batch, n_data] (or [n_data])."""
    return angle_states(circuit, _angles(circuit, params, x))


def expval(circuit: Circuit, params, x=None, *, costs="global") -> np.ndarray:
    """Expectations float64[batch, k] of the costs: any :func:`bpdiag.circuits.cost_terms`
    input (names, Pauli sums, ``@FILE``) or ``readout`` = every <Z_i>; non-diagonal ones by
    direct Pauli application (:mod:`bpdiag.engines._observe`)."""
    psi = simulate(circuit, params, x)
    return state_expectations(psi, pauli_table(costs, circuit.n_qubits))


def gradient(circuit: Circuit, params, x=None, *, costs="global") -> np.ndarray:
    """d<cost>/d(params): float64[batch, n_params, k] (1/rad), by the exact parameter-shift rule
    on every gate a parameter drives (:func:`bpdiag.engines._batch.shifted_angles`)."""
    angles = _angles(circuit, params, x)
    table = pauli_table(costs, circuit.n_qubits)
    pm, _, _ = angle_maps(circuit)
    out = np.zeros((angles.shape[0], circuit.n_params, table.diag.shape[1]))
    for p in range(circuit.n_params):
        gates = np.nonzero(pm[p])[0]
        if not len(gates):
            continue
        vals = state_expectations(angle_states(circuit, shifted_angles(angles, gates)), table)
        out[:, p] = combine_shifts(vals, pm[p, gates])
    return out


def jacobian(circuit: Circuit, params, x=None) -> tuple[np.ndarray, np.ndarray]:
    """Output states psi complex128[B, 2**n] and their parameter Jacobian J complex128[B, 2**n,
    P] (1/rad). Exact: for ``R(t) = exp(-i t P / 2)``, ``dR/dt = R(t + pi) / 2``, so the state
    derivative with respect to a gate angle is half the state with that angle shifted by pi.
    (States need this pi rule; the pi/2 parameter-shift rule holds for expectation values only.)
    """
    params = np.atleast_2d(np.asarray(params, dtype=float))
    B = params.shape[0]
    x = np.zeros((B, circuit.n_data)) if x is None else np.atleast_2d(np.asarray(x, float))
    angles = circuit.angles(params, x if circuit.n_data else None)
    pm, _, _ = angle_maps(circuit)
    gates = np.nonzero(np.any(pm != 0, axis=0))[0]
    T = len(gates)
    rows = np.repeat(angles[:, None, :], 1 + T, axis=1)
    rows[:, 1 + np.arange(T), gates] += np.pi
    st = angle_states(circuit, rows.reshape(-1, circuit.n_gates)).reshape(B, T + 1, -1)
    J = np.einsum("btd,pt->bdp", 0.5 * st[:, 1:], pm[:, gates])
    return st[:, 0], J
