"""Dead and redundant parameters.

**Dead parameters** (gradient identically zero). The derivative of gate ``k`` is
``-i/2 Tr(O_k [G_k, rho_k])``. ``rho_k`` lies in the span of ``N_{<k}``, the Pauli strings reachable
from those of ``|0><0|`` (all Z strings) by commutators with the generators before ``k``; ``O_k``
lies in the span of ``M_{>=k}``, reached from the observable's strings by the generators from
``k`` on. ``Tr(P_b [G, P_a])`` is nonzero only when ``G`` anticommutes with ``P_a`` and
``P_b = G P_a``, so the gate is dead when no ``a`` in ``N_{<k}`` anticommuting with ``G`` has
``G P_a`` in ``M_{>=k}`` - in particular when ``G`` commutes with all of ``M_{>=k}`` (it commutes
with everything measured after it) or with all of ``N_{<k}`` (the state before it is invariant).
This is a sufficient condition, exact in integers, so a live parameter is never called dead; the
audit also checks every verdict against engine gradients (exact parameter shift). Nothing in it
asks the observable to be diagonal: any Pauli sum (X and Y factors included) seeds ``M``.

**Redundancy.** The rank of the quantum Fisher information (QFI) ``F = 4 Re(J^+ J - J^+ psi
psi^+ J)`` of the output state at random parameters (maximum over a few points) is the number of
independent state directions (Haug, Bharti & Kim, PRX Quantum 2, 040309 (2021)); parameters whose
state derivative is a combination of earlier ones (greedy, in parameter order) are *redundant*.
``eff_dim`` is the rank of the classical Fisher information of the computational-basis outcome
distribution, stacked over data points (the large-data limit of the effective dimension of
Abbas et al., Nat. Comput. Sci. 1, 403 (2021)): how many parameter directions the measured
probabilities respond to.

>>> from bpdiag.circuits import original_circuit
>>> [p["dead"] for p in dead_parameters(original_circuit(3, 1))]
[True, True, True]
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from bpdiag.analyses.lie.frame import _short, _trainable, string_frame
from bpdiag.circuits import Circuit, cost_terms, gate_matrix, is_rotation, rotation_word
from bpdiag.circuits import pauli as pa
from bpdiag.circuits.observables import is_diagonal
from bpdiag.engines.numpy import jacobian

_RANK_TOL = 1e-8


def _diagonal_rotation(gate: str) -> bool:
    word = rotation_word(gate)
    return word is not None and set(word) == {"Z"}


@functools.lru_cache(maxsize=256)
def _monomial(gate: str) -> bool:
    """A diagonal times a permutation for every angle (maps basis states to basis states)."""
    if is_rotation(gate):
        return _diagonal_rotation(gate)
    return bool(((np.abs(gate_matrix(gate)) > 1e-12).sum(axis=1) == 1).all())


class GateVerdict(NamedTuple):
    """Whether one trainable gate's angle derivative vanishes identically, and why."""

    gate: int
    dead: bool
    reason: str


#: Up to this n dead gates are also proved algebraically (closures of Pauli strings, which grow
#: as 4^n); at every n the structural light-cone rules of :func:`_light_cone_verdicts` apply.
ALGEBRAIC_MAX_QUBITS = 9


def dead_gates(circuit: Circuit, cost: str = "local") -> dict[int, GateVerdict]:
    """Structural verdict for every trainable gate (module docstring, ``mode="all"``): a gate is
    dead when its angle derivative of ``cost`` vanishes for every input, every value of the other
    parameters and every constant. Returns ``{gate index: GateVerdict}``.

    Every n: the light-cone rules (:func:`_light_cone_verdicts`); up to
    :data:`ALGEBRAIC_MAX_QUBITS` also the algebraic test of the module docstring. Both are
    sufficient conditions, so a live gate is never called dead."""
    cone = _light_cone_verdicts(circuit, cost)
    if circuit.n_qubits > ALGEBRAIC_MAX_QUBITS:
        return cone
    out = _algebraic_verdicts(circuit, cost)
    return {g: out[g] if out[g].dead or not cone[g].dead else cone[g] for g in out}


def _algebraic_verdicts(circuit: Circuit, cost: str) -> dict[int, GateVerdict]:
    n = circuit.n_qubits
    fr = string_frame(circuit, [cost_terms(cost, n)], mode="all")
    gens = list(fr.generators)
    N = pa.Closure(n, seeds=pa.z_strings(n))
    n_len = []
    for gk in gens:
        n_len.append(N.size)
        N.add_generators([gk])
    M = pa.Closure(n, seeds=np.array(fr.observables[0][0], np.uint64))
    m_len = [0] * len(gens)
    for i in range(len(gens) - 1, -1, -1):
        M.add_generators([gens[i]])
        m_len[i] = M.size
    out: dict[int, GateVerdict] = {}
    for i, g in enumerate(fr.gates):
        if not fr.trainable[i]:
            continue
        G = np.uint64(gens[i])
        before, after = N.members[: n_len[i]], M.members[: m_len[i]]
        anti = pa.anticommutes(before, G, n)
        obs_side = not pa.anticommutes(after, G, n).any()
        state_side = not anti.any()
        coupled = False
        if not (obs_side or state_side):
            pos = M.position(before[anti] ^ G)
            coupled = bool(((pos >= 0) & (pos < m_len[i])).any())
        dead = obs_side or state_side or not coupled
        reason = (
            _reason(circuit, g, gens[i], n, obs_side, state_side, len(after), cost) if dead else ""
        )
        prev = out.get(g)
        if prev is None or (prev.dead and not dead):  # a gate of several rotations: all dead
            out[g] = GateVerdict(g, dead if prev is None else prev.dead and dead, reason)
    return out


def _light_cone_verdicts(circuit: Circuit, cost: str) -> dict[int, GateVerdict]:
    """Dead gates by light cones alone (any n, O(gates x wires)): a trainable gate is dead when
    (a) no later gate connects its wires to a measured wire (outside the backward light cone of
    the cost); (b) it is diagonal, the cost is diagonal and only diagonal or permutation gates
    follow it in its forward light cone; (c) it is diagonal and only diagonal or permutation
    gates precede it in its backward light cone (it acts on a computational basis state)."""
    n = circuit.n_qubits
    terms = cost_terms(cost, n)
    measured = {w for _, ops in terms for w in ops}
    trainable = _trainable(circuit)
    diagonal_cost = is_diagonal(cost, n)
    inside = np.zeros(circuit.n_gates, bool)
    cone = set(measured)
    for g in range(circuit.n_gates - 1, -1, -1):
        if cone & set(circuit.wires[g]):
            inside[g] = True
            cone |= set(circuit.wires[g])
    out = {}
    for g in np.nonzero(trainable)[0].tolist():
        gate = circuit.gates[g]
        reason = ""
        if not inside[g]:
            reason = (
                f"{gate} lies outside the backward light cone of the {cost} cost: no later "
                "gate connects its wires to a measured wire"
            )
        elif _diagonal_rotation(gate) and diagonal_cost and _monomial_cone(circuit, g, True):
            reason = (
                f"{gate} is diagonal and only diagonal or permutation gates follow it in its "
                f"light cone, so the computational-basis probabilities the {cost} cost reads "
                "do not depend on it"
            )
        elif _diagonal_rotation(gate) and _monomial_cone(circuit, g, False):
            reason = (
                f"only diagonal or permutation gates precede this {gate} in its light cone, so "
                "it acts on a computational basis state, an eigenstate of its generator"
            )
        out[g] = GateVerdict(g, bool(reason), reason)
    return out


def _monomial_cone(circuit: Circuit, g: int, forward: bool) -> bool:
    """Whether every gate in the forward (or backward) light cone of gate ``g`` is diagonal or a
    permutation. Then a diagonal gate ``g`` can be moved to the end (start) of the circuit and stays
    diagonal: it cannot change computational-basis probabilities (cannot act on |0..0> other than
    by a phase)."""
    cone = set(circuit.wires[g])
    order = range(g + 1, circuit.n_gates) if forward else range(g - 1, -1, -1)
    for h in order:
        if cone & set(circuit.wires[h]):
            if not _monomial(circuit.gates[h]):
                return False
            cone |= set(circuit.wires[h])
    return True


def _reason(circuit, g, G, n, obs_side, state_side, n_after, cost) -> str:
    gate = circuit.gates[g]
    if obs_side:
        diagonal_cost = is_diagonal(cost, n)
        if diagonal_cost and _diagonal_rotation(gate) and _monomial_cone(circuit, g, forward=True):
            return (
                f"{gate} is diagonal and only diagonal or permutation gates follow it in its "
                f"light cone, so the computational-basis probabilities the {cost} cost reads "
                "do not depend on it"
            )
        return (
            f"its generator {_short(G, n)} (moved to the circuit input) commutes with all "
            f"{n_after} Pauli strings the measured observable can become after it"
        )
    if state_side:
        if _diagonal_rotation(gate) and _monomial_cone(circuit, g, forward=False):
            return (
                f"only diagonal or permutation gates precede this {gate} in its light cone, so "
                "it acts on a computational basis state, an eigenstate of its generator"
            )
        return f"every state reachable before it commutes with its generator {_short(G, n)}"
    return (
        f"its generator {_short(G, n)} couples no state reachable before it to an observable "
        "reachable after it"
    )


def dead_parameters(circuit: Circuit, cost: str = "local") -> list[dict]:
    """One dict per parameter: ``param, gate, wire, dead, reason`` (structural; see
    :func:`dead_gates`). A parameter is dead when every gate it drives is dead."""
    verdicts = dead_gates(circuit, cost)
    out = []
    for p, gates in enumerate(circuit.param_gates()):
        names = "+".join(dict.fromkeys(circuit.gates[g] for g in gates)) or "-"
        wires = ";".join("-".join(str(w) for w in circuit.wires[g]) for g in gates) or "-"
        if not gates:
            dead, reason = True, "drives no gate"
        else:
            dead = all(verdicts[g].dead for g in gates)
            reason = "; ".join(dict.fromkeys(verdicts[g].reason for g in gates)) if dead else ""
        out.append({"param": p, "gate": names, "wire": wires, "dead": dead, "reason": reason})
    return out


# ---------------------------------------------------------------------------------------------
# Redundancy and effective dimension


def _rank(M: np.ndarray) -> int:
    if M.size == 0:
        return 0
    s = np.linalg.svd(M, compute_uv=False)
    return int(np.sum(s > _RANK_TOL * max(1.0, s[0])))


def redundancy(
    circuit: Circuit, *, rng: np.random.Generator, points: int = 3, data_points: int = 3
) -> dict:
    """QFI rank (max over ``points`` random parameter vectors), redundant parameters (greedy, in
    parameter order, at the point of maximal rank) and ``eff_dim``, the rank of the outcome
    distribution's Fisher information stacked over ``data_points`` random inputs (module
    docstring). Returns ``{"rank": int, "eff_dim": int, "redundant": bool[P]}``."""
    P = circuit.n_params
    if P == 0:
        return {"rank": 0, "eff_dim": 0, "redundant": np.zeros(0, bool)}
    S = data_points if circuit.n_data else 1
    params = np.repeat(rng.uniform(0, 2 * np.pi, size=(points, P)), S, axis=0)
    x = rng.uniform(-np.pi, np.pi, size=(points * S, circuit.n_data))
    psi, J = jacobian(circuit, params, x)
    best, best_rank = None, -1
    for b in range(points * S):
        Jp = J[b] - np.outer(psi[b], psi[b].conj() @ J[b])  # drop the global-phase direction
        R = np.concatenate([Jp.real, Jp.imag])  # F = 4 R^T R is the QFI
        r = _rank(R)
        if r > best_rank:
            best, best_rank = R, r
    dprob = 2 * np.real(np.conj(psi)[:, :, None] * J)  # d p_b / d theta: [B, 2^n, P]
    eff = max(_rank(dprob[t * S : (t + 1) * S].reshape(-1, P)) for t in range(points))
    redundant = np.zeros(P, bool)
    chosen: list[int] = []
    for p in range(P):
        if _rank(best[:, chosen + [p]]) > len(chosen):
            chosen.append(p)
        else:
            redundant[p] = True
    return {"rank": best_rank, "eff_dim": eff, "redundant": redundant}
