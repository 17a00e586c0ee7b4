"""Exact gradient variance without sampling (and the exact shot-noise term), including
identity-block initialisation.

**Exact variance (Heisenberg picture on Pauli strings).** Write the derivative of
``C = <psi0| U^+ O U |psi0>`` with respect to one parameter as ``<psi0| O_k |psi0>``, where
``O_k`` is ``O`` carried backwards through the gates after the differentiated one, through the
derivative of that gate, and through the gates before it. Each step maps a Pauli string ``Q`` to
Pauli strings:

- a Clifford gate ``V`` (CZ, CNOT, H, S, X, Z, or a fixed rotation by a multiple of pi/2) maps
  ``Q -> V^+ Q V = s Q'``, a signed permutation;
- a rotation ``R = exp(-i t P / 2)`` leaves ``Q`` alone when ``[P, Q] = 0`` and otherwise maps
  ``Q -> cos(t) Q + sin(t) iPQ``; its derivative maps ``Q -> -sin(t) Q + cos(t) iPQ`` (and kills
  commuting strings).

With every trainable angle independent and symmetric about 0 (``uniform`` on [0, 2 pi) or
``normal:SIGMA``), averaging the *square* of the result over the angles removes every cross term
with one ``sin`` (odd), so the squared coefficients of a single-string observable follow a
Markov chain on Pauli strings with weights ``E[cos^2 t]`` and ``E[sin^2 t]`` (the random-walk
picture of Napp 2022, arXiv:2203.06174). For a sum
``O = sum_a c_a Q_a`` (the local cost) the cross terms ``E[c_Q c_R]`` of pairs of strings follow
the same rules as long as ``D = QR`` commutes with the rotation's ``P``; when ``P`` anticommutes
with ``D`` exactly one of the two strings anticommutes, so the pair is multiplied by ``E[cos t]``
(0 for uniform angles) and the derivative kills it. ``D`` itself changes only under Clifford
gates (up to a sign ``s_D``). Dividing each pair weight by the phase ``tau`` of ``QR = tau D``
makes every rule sign-free (``u = w / tau`` is invariant under rotation branches and picks up
only ``s_D`` from Cliffords), so a pair "chain" with fixed ``D`` is the diagonal chain with a few
modified 4x4 transfer matrices. At the start of the circuit a pair contributes
``tau <psi0|Q|psi0> <psi0|R|psi0>`` (for ``|0>``: 1 when both are I/Z strings, else 0).

Averaging over McClean's random rotation axes averages each gate's transfer matrix over the axes.

**Representation.** A chain is a real tensor over the 4^n Pauli strings (I, X, Y, Z per qubit), kept
in a per-qubit basis ``B_w`` (4 x d_w) that is compressed to the rank of what the gates produce:
qubits outside the light cone stay 1-dimensional, a uniform RY-RZ pair has rank 3, and only
circuits with rank-4 single-qubit transfers (random axes, normal angles) need the full 4^n.
Gates run in an order that follows the circuit's wire dependencies and applies single-qubit
gates first, so a brick of CZs sweeps across the register with at most two full qubits at a time.
Peak memory is predicted by a dry run before any large array is made. The local updates live in
one place, :class:`_Sweep`; :mod:`bpdiag.analyses.exact_mps` runs the same updates on a matrix
product state instead of this 4^n tensor (``--exact-backend mps``: 100-1000 qubits).

**Shot noise.** With ``shots=True`` :func:`exact_moments` also returns ``s1``, the angle average
of ``c^2 (v_+ + v_-) / 4`` (``v`` the single-shot variance of each shifted circuit); the
sampled counterpart and the definitions are in :mod:`bpdiag.analyses.shots`.

**Identity blocks** (Grant et al. 2019, Quantum 3, 214): the circuit is cut into blocks of K
layers, each followed by its inverse (gates reversed, angles negated) with its *own* parameters,
initialised equal to the forward block's so that every block is the identity at the start. (Tying
the inverse to the same parameters would make the circuit the identity for every angle and every
gradient zero.) At that point every other block cancels and
``dC/dt_k = c (i/2) <psi0|[A, O]|psi0>`` with ``A = V^+ P V``, ``P`` the generator of gate k and
``V`` the gates of its block that precede it: the exact method propagates ``P`` (not ``O``)
through ``V`` and ends with ``h(R)^2``, ``h(R) = (i/2) <psi0|[R, O]|psi0>``. Two consequences for
hardware-efficient ansatze: with blocks of one layer no gate precedes a rotation on another wire,
so every gradient is deterministic (variance 0, mean not 0); and from ``|0>`` a Z-type cost is
stationary at the identity (``[A, O]`` has zero expectation), so the dense and sparse HEAs start
with all gradients exactly 0 — McClean's RY(pi/4) preparation avoids this.

>>> from bpdiag.circuits import dense_hea
>>> round(exact_moments(dense_hea(2, 1), "global", param=0)["var"], 12)
0.25
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from bpdiag._resources import plan_chunk
from bpdiag.analyses._common import param_index, parse_init
from bpdiag.circuits import Circuit, cost_terms, gate_matrix, is_rotation, pauli, rotation_word

METHODS = ("sample", "exact")

_LETTERS = "IXYZ"  # local letter index 0..3


def _word_code(word: str) -> int:
    """Local index of a Pauli word (``"X"`` -> 1, ``"ZZ"`` -> 15; see the tables below)."""
    return sum(_LETTERS.index(c) * 4 ** (len(word) - 1 - m) for m, c in enumerate(word))


def _code_word(code: int, k: int) -> str:
    return "".join(_LETTERS[(code // 4 ** (k - 1 - m)) % 4] for m in range(k))


# ---------------------------------------------------------------------------------------------
# Pauli tables on 1 or 2 qubits, from bpdiag.circuits.pauli. A local string on k wires has index
# sum(q_m 4**(k-1-m)) with letters 0..3 = I, X, Y, Z (the gate's first wire is the most
# significant digit).


@dataclass(frozen=True)
class _Tables:
    mats: np.ndarray  # complex[4**k, 2**k, 2**k]
    xor: np.ndarray  # int[4**k, 4**k]: index of P_p P_q (up to phase)
    anti: np.ndarray  # bool[4**k, 4**k]: P_p and P_q anticommute
    phase: np.ndarray  # complex[4**k, 4**k]: P_p P_q = phase * P_xor


@lru_cache(maxsize=4)
def _tables(k: int) -> _Tables:
    m = 4**k
    names = ["".join(_LETTERS[(q // 4 ** (k - 1 - j)) % 4] for j in range(k)) for q in range(m)]
    keys = np.array([pauli.key(t) for t in names], dtype=np.uint64)
    local = {int(key): i for i, key in enumerate(keys)}
    mats = np.array([pauli.matrix(int(key), k) for key in keys])
    prod, e = pauli.product(keys[:, None], keys[None, :], k)
    xor = np.vectorize(lambda c: local[int(c)])(prod).astype(int)
    anti = pauli.anticommutes(keys[:, None], keys[None, :], k)
    phase = (1j ** np.asarray(e)).astype(complex)
    return _Tables(mats, xor, anti, phase)


def _clifford_table(U: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """For a unitary on k wires: (perm, sign) with U^+ P_q U = sign[q] P_perm[q], or None if U is
    not Clifford."""
    k = int(round(math.log2(U.shape[0])))
    t = _tables(k)
    conj = U.conj().T[None] @ t.mats @ U[None]
    overlap = np.einsum("rab,qba->qr", t.mats, conj) / 2**k
    perm = np.argmax(np.abs(overlap), axis=1)
    sign = overlap[np.arange(len(perm)), perm]
    if not np.allclose(np.abs(sign), 1, atol=1e-9) or not np.allclose(sign.imag, 0, atol=1e-9):
        return None
    if len(set(perm.tolist())) != len(perm):
        return None
    return perm, sign.real.round()


def _gate_unitary(gate: str, angle: float = 0.0) -> np.ndarray:
    """The gate's unitary on its own wires (2x2 or 4x4, first wire most significant)."""
    return gate_matrix(gate, angle)


# ---------------------------------------------------------------------------------------------
# A circuit compiled for the exact method: a prepared product state and a list of operations.


@dataclass(eq=False)
class _Op:
    """One step of the chain. ``kind``: ``cliff`` (signed permutation ``perm``/``sign``), ``rot``
    (random rotation about each of ``axes`` = ((local Pauli, weight), ...)) or ``deriv`` (its
    derivative). ``mom`` = (E cos t, E cos^2 t, E sin^2 t) of the rotation angle."""

    kind: str
    wires: tuple[int, ...]
    perm: np.ndarray | None = None
    sign: np.ndarray | None = None
    axes: tuple[tuple[int, float], ...] = ()
    mom: tuple[float, float, float] = (0.0, 0.5, 0.5)
    _cache: dict = field(default_factory=dict, repr=False)

    def matrix(self, d: int) -> np.ndarray:
        """Transfer matrix float[4**k, 4**k] (new <- old) in a chain whose pair string D has
        local index ``d`` on this op's wires (0 = identity: the diagonal chain)."""
        if d in self._cache:
            return self._cache[d]
        k = len(self.wires)
        m = 4**k
        M = np.zeros((m, m))
        if self.kind == "cliff":
            M[self.perm, np.arange(m)] = 1.0
        else:
            t = _tables(k)
            c1, c2, s2 = self.mom
            deriv = self.kind == "deriv"
            for p, wgt in self.axes:
                if t.anti[p, d]:
                    if not deriv:  # exactly one string of the pair anticommutes: E[cos t]
                        M += wgt * c1 * np.eye(m)
                    continue
                for q in range(m):
                    if t.anti[p, q]:
                        r = t.xor[p, q]
                        M[q, q] += wgt * (s2 if deriv else c2)
                        M[r, q] += wgt * (c2 if deriv else s2)
                    elif not deriv:
                        M[q, q] += wgt
        self._cache[d] = M
        return M


@dataclass
class _Compiled:
    n: int
    ops: list[_Op]
    bloch: np.ndarray  # float[n, 3]: <X>, <Y>, <Z> of each qubit's prepared state
    coef: float  # d(angle)/d(param) of the differentiated gate (0 when not differentiating)
    order: list[int] = field(default_factory=list)
    #: Identity blocks: the differentiated gate's (wires, axes). The chain then starts from its
    #: generator P instead of the observable, and ends with h(R) = (i/2) <psi0|[R, O]|psi0>.
    generator: tuple | None = None


def _moments_of(kind: str, sigma: float, coef: float, gate: int, name: str) -> tuple:
    """(E cos, E cos^2, E sin^2) of the angle ``coef * theta``."""
    if kind == "normal":
        s = abs(coef) * sigma
        return (math.exp(-(s**2) / 2), (1 + math.exp(-2 * s**2)) / 2, (1 - math.exp(-2 * s**2)) / 2)
    if abs(coef - round(coef)) > 1e-12 or round(coef) == 0:
        raise ValueError(
            f"exact method: gate {gate} ({name}) has angle {coef:g} * theta; with uniform angles "
            "the coefficient must be a nonzero integer"
        )
    return (0.0, 0.5, 0.5)


def _quarter_turns(angle: float) -> int | None:
    q = angle / (math.pi / 2)
    return int(round(q)) % 4 if abs(q - round(q)) < 1e-9 else None


@lru_cache(maxsize=256)
def _clifford_of(gate: str, angle: float):
    return _clifford_table(_gate_unitary(gate, angle))


def _cliff_op(gate: str, wires: tuple[int, ...], angle: float, g: int) -> _Op:
    table = _clifford_of(gate, float(angle))
    if table is None:
        what = f"fixed angle {angle:.6g} rad" if is_rotation(gate) else "gate"
        raise ValueError(
            f"exact method: gate {g} ({gate} on wires {wires}) with {what} is not Clifford; "
            "fixed gates must be Clifford (rotations by multiples of pi/2) — use --method sample"
        )
    return _Op("cliff", wires, perm=table[0], sign=table[1])


def _compile(
    circuit: Circuit,
    *,
    param: int | None,
    init: str,
    average: bool,
    shift: int = 0,
    axis: int | None = None,
) -> _Compiled:
    """Compile for the derivative of ``param`` (shift = 0) or, with ``param`` and ``shift`` = +-1,
    for the cost with that parameter's gate shifted by shift * pi/2; ``param=None``: the cost.
    ``axis`` fixes the random axis (1, 2, 3 = X, Y, Z) of the differentiated gate."""
    kind, sigma = parse_init(init)
    n = circuit.n_qubits
    gates = list(range(circuit.n_gates))
    target, fixed_zero, coef_sign = -1, False, 1.0
    param_gates = circuit.param_gates()
    if param is not None:
        if not 0 <= param < circuit.n_params:
            raise ValueError(f"param must be in [0, {circuit.n_params}), got {param}")
        if kind == "identity-blocks":
            if not circuit.info("identity_blocks"):
                raise ValueError("init identity-blocks needs a circuit built by identity_blocks()")
            tied = dict(circuit.info("tied", ()))
            if param in tied:  # d/d(inverse param) = -d/d(forward param) at the identity
                param, coef_sign = tied[param], -1.0
            target = param_gates[param][0]
            blocks = circuit.info("identity_blocks", ())
            start = next(s for s, e, _ in blocks if s <= target < e)
            prefix = int(circuit.info("prefix_end", 0))
            if shift:
                raise ValueError(
                    "exact shot noise is not available for identity-blocks; use --method sample"
                )
            # At the tie point dC = c (i/2) <psi0|[A, O]|psi0> with A = V^+ P V, V the gates of
            # the block before the differentiated one: every other gate cancels.
            gates = list(range(prefix)) + list(range(start, target + 1))
            fixed_zero = True
        else:
            if len(param_gates[param]) != 1:
                raise ValueError(
                    f"exact method: parameter {param} drives gates {param_gates[param]}; "
                    "it needs one independent angle per gate"
                )
            target = param_gates[param][0]
    elif kind == "identity-blocks":
        # The whole circuit is the identity at initialisation: only the prepared prefix is left.
        gates = list(range(int(circuit.info("prefix_end", 0))))
    ops: list[_Op] = []
    prep = [np.eye(2, dtype=complex) for _ in range(n)]
    touched = [False] * n
    coef = 0.0
    generator = None
    prefix_end = int(circuit.info("prefix_end", 0))
    for g in gates:
        gate, wires, srcs = circuit.gates[g], circuit.wires[g], circuit.sources[g]
        kinds = [s.kind for s in srcs]
        if "data" in kinds:
            j = next(s.index for s in srcs if s.kind == "data")
            raise ValueError(
                f"exact method: gate {g} ({gate} on wires {wires}) has a fixed data-encoding "
                f"angle (feature {j}); it needs random trainable or Clifford gates — use "
                "--method sample"
            )
        const = sum(s.coef for s in srcs if s.kind == "const")
        pars = [s for s in srcs if s.kind == "param"]
        # Identity blocks: only the preparation (gates before the first block) may be absorbed;
        # the block's gates conjugate A = V^+ P V but not O.
        absorbable = not fixed_zero or g < prefix_end
        if not pars and len(wires) == 1 and not touched[wires[0]] and absorbable:
            prep[wires[0]] = _gate_unitary(gate, const) @ prep[wires[0]]
            continue
        if fixed_zero and g < prefix_end:
            raise ValueError(
                "exact method: identity blocks need a preparation of single-qubit gates only"
            )
        for w in wires:
            touched[w] = True
        if not pars:
            ops.append(_cliff_op(gate, wires, const, g))
            continue
        if len(pars) != 1:
            raise ValueError(
                f"exact method: gate {g} ({gate}) is driven by {len(pars)} parameters; it needs "
                "one independent angle per gate"
            )
        p_here = pars[0].index
        c = pars[0].coef
        if g != target and kind != "identity-blocks" and len(param_gates[p_here]) != 1:
            raise ValueError(
                f"exact method: gate {g} ({gate}) shares parameter {p_here} with gates "
                f"{[x for x in param_gates[p_here] if x != g]}; angles must be independent"
            )
        pauli = _word_code(rotation_word(gate))
        if average and gate in ("RX", "RY", "RZ"):
            axes = ((1, 1 / 3), (2, 1 / 3), (3, 1 / 3))
        else:
            axes = ((pauli, 1.0),)
        if g == target and axis is not None:
            axes = ((axis, 1.0),)
        if g == target and fixed_zero:
            generator = (wires, axes)
            coef = c * coef_sign
            continue
        kind_used = "uniform" if kind == "identity-blocks" else kind
        mom = _moments_of(kind_used, sigma, c, g, gate)
        if kind_used == "normal" and const:
            turns = _quarter_turns(const)
            if turns is None:
                raise ValueError(
                    f"exact method: gate {g} ({gate}) adds a fixed angle {const:.6g} rad to a "
                    "normal-distributed parameter; it must be a multiple of pi/2"
                )
            if turns:
                ops.append(_cliff_op(gate, wires, turns * math.pi / 2, g))
        if g == target and shift:
            if len(axes) != 1:
                raise ValueError("a shifted gate with averaged axes needs a fixed axis")
            name = "R" + _code_word(axes[0][0], len(wires))
            ops.append(_cliff_op(name, wires, shift * math.pi / 2, g))
        if g == target and not shift:
            ops.append(_Op("deriv", wires, axes=axes, mom=mom))
            coef = c * coef_sign
        else:
            ops.append(_Op("rot", wires, axes=axes, mom=mom))
    bloch = np.zeros((n, 3))
    for w in range(n):
        psi = prep[w][:, 0]
        rho = np.outer(psi, psi.conj())
        bloch[w] = [np.real(np.trace(rho @ _tables(1).mats[i])) for i in (1, 2, 3)]
    comp = _Compiled(n, ops, bloch, coef, generator=generator)
    comp.order = _schedule(n, ops)
    return comp


def _schedule(n: int, ops: list[_Op]) -> list[int]:
    """A backward order of the ops that respects each wire's gate order and runs single-qubit
    ops as soon as they are free (they never grow the tensor, and often shrink it)."""
    per_wire: list[list[int]] = [[] for _ in range(n)]
    for i, op in enumerate(ops):
        for w in op.wires:
            per_wire[w].append(i)
    top = [len(lst) - 1 for lst in per_wire]

    def ready(i: int) -> bool:
        return all(top[w] >= 0 and per_wire[w][top[w]] == i for w in ops[i].wires)

    one, two = set(), set()
    for w in range(n):
        if top[w] >= 0 and ready(per_wire[w][top[w]]):
            i = per_wire[w][top[w]]
            (one if len(ops[i].wires) == 1 else two).add(i)
    order = []
    while one or two:
        pool = one if one else two
        i = max(pool)
        pool.discard(i)
        order.append(i)
        for w in ops[i].wires:
            top[w] -= 1
            if top[w] >= 0:
                j = per_wire[w][top[w]]
                if ready(j):
                    (one if len(ops[j].wires) == 1 else two).add(j)
    if len(order) != len(ops):  # pragma: no cover - a DAG always schedules fully
        raise RuntimeError("exact method: could not schedule the gates")
    return order


# ---------------------------------------------------------------------------------------------
# Running chains


def _final_vector(d: int, bloch: np.ndarray) -> np.ndarray:
    """complex[4]: entry q is tau(q, q.d) <q> <q.d> for a qubit with Bloch vector ``bloch``."""
    t = _tables(1)
    ev = np.array([1.0, *bloch])
    return np.array([t.phase[q, t.xor[q, d]] * ev[q] * ev[t.xor[q, d]] for q in range(4)])


def _local(D: list[int], wires: tuple[int, ...]) -> int:
    idx = 0
    for w in wires:
        idx = 4 * idx + D[w]
    return idx


def _set_local(D: list[int], wires: tuple[int, ...], idx: int) -> None:
    for w in reversed(wires):
        D[w] = idx % 4
        idx //= 4


_TOL = 1e-14


def _svd(A: np.ndarray):
    U, S, Vt = np.linalg.svd(A, full_matrices=False)
    r = int(np.sum(S > _TOL * S[0])) if S.size and S[0] > 0 else 0
    return U, S, Vt, r


@dataclass
class _ChainResult:
    value: float
    peak: int  # largest number of tensor entries held
    work: int  # sum of tensor sizes over all steps


def _apply_axis(u: np.ndarray, w: int, C: np.ndarray) -> np.ndarray:
    """Contract C float[r, d] with axis ``w`` (size d) of the contiguous tensor ``u``."""
    dims = u.shape
    A, d, R = int(np.prod(dims[:w])), dims[w], int(np.prod(dims[w + 1 :]))
    u3 = u.reshape(A, d, R)
    out = (u3[:, :, 0] @ C.T)[:, :, None] if R == 1 else np.matmul(C, u3)
    return out.reshape(dims[:w] + (C.shape[0],) + dims[w + 1 :])


def _apply_pair(u: np.ndarray, w0: int, w1: int, Mp: np.ndarray) -> np.ndarray:
    """Contract Mp float[r0, r1, d0, d1] with axes (w0, w1) of ``u``; result contiguous."""
    if w0 > w1:
        w0, w1, Mp = w1, w0, Mp.transpose(1, 0, 3, 2)
    r0, r1, d0, d1 = Mp.shape
    dims = u.shape
    if w1 == w0 + 1:
        merged = u.reshape(dims[:w0] + (d0 * d1,) + dims[w1 + 1 :])
        out = _apply_axis(merged, w0, Mp.reshape(r0 * r1, d0 * d1))
        return out.reshape(dims[:w0] + (r0, r1) + dims[w1 + 1 :])
    A, M, R = (
        int(np.prod(dims[:w0])),
        int(np.prod(dims[w0 + 1 : w1])),
        int(np.prod(dims[w1 + 1 :])),
    )
    u5 = u.reshape(A, d0, M, d1, R)
    out = np.einsum("ijab,xaybz->xiyjz", Mp, u5, optimize=True)
    return np.ascontiguousarray(out).reshape(
        dims[:w0] + (r0,) + dims[w0 + 1 : w1] + (r1,) + dims[w1 + 1 :]
    )


def _canonical_basis(Q: np.ndarray) -> np.ndarray:
    """One fixed orthonormal basis float[4, r] of the span of ``Q`` (orthonormal columns): the
    leading eigenvectors of its projector rounded to 12 decimals, each with its largest entry
    positive, so equal spans from different steps give bit-equal bases."""
    Pr = np.round(Q @ Q.T, 12)
    _, vec = np.linalg.eigh(Pr)
    B = vec[:, ::-1][:, : Q.shape[1]]
    idx = np.argmax(np.abs(B) > np.abs(B).max(axis=0) - 1e-9, axis=0)
    return np.round(B * np.sign(B[idx, np.arange(B.shape[1])]), 14)


class _Sweep:
    """The local updates of one chain, shared by the dense tensor (:func:`_run_chain`) and the
    matrix product state (:mod:`bpdiag.analyses.exact_mps`): it walks the ops in ``comp.order``,
    keeps the pair string ``D``, the Clifford sign and each wire's lazy basis ``B[w]``
    float[4, d_w], and yields what the state must do:

    - ``("one", w, C)``: contract C float[r, d_w] into wire w's axis (its rank fell);
    - ``("two", w0, w1, Mp)``: contract Mp float[r0, r1, d0, d1] into the axes of (w0, w1);
    - ``("zero",)``: the chain vanishes (then the walk stops).

    Single-qubit ops only update ``B`` (and yield ``one`` when they lower its rank); those that
    directly follow a two-qubit op on its wires are fused into it, so each two-qubit op costs one
    pass over the state. ``full=True`` keeps every basis at the 4 Pauli letters (no
    compression: for measuring what the compression saves). Local results are memoised by the
    bytes of their inputs (``memo``, shareable between sweeps of the same ``full``).
    ``canonical=True`` snaps each new two-qubit basis to one fixed basis of its span
    (:func:`_canonical_basis`, exact to ~1e-12), so repeated layers hit the memo."""

    def __init__(
        self, comp: _Compiled, D0, terms, full: bool = False, memo=None, canonical: bool = False
    ):
        self.comp, self.full, self.canonical = comp, full, canonical
        #: local results by the bytes of their inputs (layers repeat: most steps are hits)
        self.memo = {} if memo is None else memo
        self.D = list(D0)
        self.sign = 1.0
        self.B, self.index = [], []
        for w in range(comp.n):
            letters = list(range(4)) if full else sorted({q[w] for _, q in terms})
            self.B.append(np.eye(4)[:, letters])
            self.index.append({x: i for i, x in enumerate(letters)})

    def _step(self, op: _Op) -> np.ndarray:
        d = _local(self.D, op.wires)
        M = op.matrix(d)
        if op.kind == "cliff":
            self.sign *= op.sign[d]
            _set_local(self.D, op.wires, int(op.perm[d]))
        return M

    def updates(self):
        order, ops, B, memo = self.comp.order, self.comp.ops, self.B, self.memo
        t = 0
        while t < len(order):
            op = ops[order[t]]
            t += 1
            if len(op.wires) == 1:
                w = op.wires[0]
                Bn = self._step(op) @ B[w]
                if self.full:
                    if not np.any(Bn):
                        yield ("zero",)
                        return
                    yield ("one", w, Bn)
                    continue
                key = (Bn.tobytes(), Bn.shape[1])
                if key not in memo:
                    memo[key] = self._one(Bn)
                if memo[key] is None:
                    yield ("zero",)
                    return
                B[w], C = memo[key]
                if C is not None:
                    yield ("one", w, C)
                continue
            w0, w1 = op.wires
            M = self._step(op)
            side = {w0: np.eye(4), w1: np.eye(4)}
            while t < len(order) and ops[order[t]].wires in ((w0,), (w1,)):
                nxt = ops[order[t]]
                side[nxt.wires[0]] = self._step(nxt) @ side[nxt.wires[0]]
                t += 1
            args = (side[w0], side[w1], M, B[w0], B[w1])
            key = tuple((a.tobytes(), a.shape[1]) for a in args)
            if key not in memo:
                memo[key] = self._two(*args)
            if memo[key] is None:
                yield ("zero",)
                return
            B[w0], B[w1], Mp = memo[key]
            yield ("two", w0, w1, Mp)

    @staticmethod
    def _one(Bn: np.ndarray):
        """(new basis, C or None) for a single-qubit step, or None when the chain vanishes."""
        U, S, Vt, r = _svd(Bn)
        if r == 0:
            return None
        if r < Bn.shape[1] or S[0] > 1e8 * S[r - 1]:
            return U[:, :r], S[:r, None] * Vt[:r]
        return Bn, None

    def _two(self, s0, s1, M, B0, B1):
        """(basis 0, basis 1, Mp) of a fused two-qubit step, or None when the chain vanishes."""
        d0, d1 = B0.shape[1], B1.shape[1]
        T = (np.kron(s0, s1) @ M @ np.kron(B0, B1)).reshape(4, 4, d0, d1)
        if self.full:
            return (B0, B1, T) if np.any(T) else None
        Q0 = _svd(T.reshape(4, -1))
        Q1 = _svd(T.transpose(1, 0, 2, 3).reshape(4, -1))
        if Q0[3] == 0 or Q1[3] == 0:
            return None
        Q0, Q1 = Q0[0][:, : Q0[3]], Q1[0][:, : Q1[3]]
        if self.canonical:
            Q0, Q1 = _canonical_basis(Q0), _canonical_basis(Q1)
        return Q0, Q1, np.einsum("ai,bj,abcd->ijcd", Q0, Q1, T)

    def final(self, final: list | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """The end functionals: factors float[F] and, per wire, complex[F, d_w] (the product
        functionals of the prepared state in the wire's basis)."""
        comp = self.comp
        if final is None:
            vecs = np.array([_final_vector(self.D[w], comp.bloch[w]) for w in range(comp.n)])
            final = [(1.0, vecs)]
        factors = np.array([f for f, _ in final])
        W = [np.array([v[w] for _, v in final]) @ self.B[w] for w in range(comp.n)]
        return factors, W


def _run_chain(
    comp: _Compiled,
    D0: tuple[int, ...],
    terms: list[tuple[float, tuple[int, ...]]],
    dry: bool = False,
    final: list | None = None,
) -> _ChainResult:
    """Propagate one chain (pair string ``D0``; ``D0`` all-identity = squared coefficients) from
    the observable's strings ``terms`` = [(u0, letters)] to the start and evaluate it, as a dense
    tensor over the wires' lazy bases (:class:`_Sweep`)."""
    n = comp.n
    sweep = _Sweep(comp, D0, terms)
    shape = tuple(b.shape[1] for b in sweep.B)
    u = None
    if not dry:
        u = np.zeros(shape)
        for c, q in terms:
            u[tuple(sweep.index[w][q[w]] for w in range(n))] += c
    peak = work = int(np.prod(shape))
    for up in sweep.updates():
        if up[0] == "zero":
            return _ChainResult(0.0, peak, work)
        if u is not None:
            if up[0] == "one":
                u = _apply_axis(u, up[1], up[2])
            else:
                u = _apply_pair(u, up[1], up[2], up[3])
        size = int(np.prod([b.shape[1] for b in sweep.B]))
        peak, work = max(peak, size), work + size
    if u is None:
        return _ChainResult(0.0, peak, work)
    factors, W = sweep.final(final)
    val = np.tensordot(u, W[n - 1], axes=([n - 1], [1]))
    for w in reversed(range(n - 1)):
        val = np.einsum("...af,fa->...f", val, W[w])
    terms = np.real(factors * val)
    total = float(terms.sum())
    # Several functionals may cancel (identity blocks); below round-off of their sizes the
    # result is 0.
    if abs(total) <= 1e-13 * float(np.abs(terms).sum()):
        total = 0.0
    return _ChainResult(sweep.sign * total, peak, work)


def _generator_terms(comp: _Compiled) -> list[tuple[float, tuple[int, ...]]]:
    """Identity blocks: the differentiated gate's generator P (averaged over random axes)."""
    wires, axes = comp.generator
    out = []
    for p, wgt in axes:
        letters = [0] * comp.n
        _set_local(letters, wires, p)
        out.append((wgt, tuple(letters)))
    return out


def _commutator_functionals(terms, bloch: np.ndarray) -> list:
    """Product functionals summing to h(R)^2, h(R) = (i/2) <psi0|[R, O]|psi0>, for a chain of
    squared coefficients of R. With O = sum_a c_a Q_a, h(R) = sum_a c_a [R anticommutes with
    Q_a] i ph_a <R.Q_a> (R Q_a = ph_a R.Q_a); each anticommutation indicator is written as
    (1 - prod_w chi_w) / 2 with chi_w = -1 where the letters anticommute, so every term is a
    product over qubits."""
    t = _tables(1)
    n = bloch.shape[0]
    ev = np.concatenate([np.ones((n, 1)), bloch], axis=1)
    r = np.arange(4)
    out = []
    for a, (ca, qa) in enumerate(terms):
        for b in range(a, len(terms)):
            cb, qb = terms[b]
            base = np.array(
                [
                    t.phase[r, qa[w]]
                    * t.phase[r, qb[w]]
                    * ev[w, t.xor[r, qa[w]]]
                    * ev[w, t.xor[r, qb[w]]]
                    for w in range(n)
                ]
            )
            chi_a = np.array([np.where(t.anti[r, qa[w]], -1.0, 1.0) for w in range(n)])
            chi_b = np.array([np.where(t.anti[r, qb[w]], -1.0, 1.0) for w in range(n)])
            mult = 1.0 if a == b else 2.0
            for ea in (0, 1):
                for eb in (0, 1):
                    vec = base * chi_a**ea * chi_b**eb
                    out.append((-ca * cb * mult / 4 * (-1) ** (ea + eb), vec))
    return out


def _h_value(R: tuple[int, ...], terms, bloch: np.ndarray) -> float:
    """h(R) = (i/2) <psi0|[R, O]|psi0> for one string R."""
    t = _tables(1)
    ev = np.concatenate([np.ones((len(R), 1)), bloch], axis=1)
    total = 0.0
    for c, q in terms:
        if sum(bool(t.anti[x, y]) for x, y in zip(R, q)) % 2 == 0:
            continue
        ph = np.prod([t.phase[x, y] for x, y in zip(R, q)])
        total += (
            c
            * float(np.real(1j * ph))
            * np.prod([ev[w, t.xor[x, y]] for w, (x, y) in enumerate(zip(R, q))])
        )
    return total


def _chain_bound(comp: _Compiled, D0: tuple[int, ...]) -> float:
    """Upper bound on |value| / sum|u0| of a chain: the product of the transfer matrices'
    largest absolute column sums (every final weight is at most 1 in size)."""
    D = list(D0)
    bound = 1.0
    for i in comp.order:
        op = comp.ops[i]
        d = _local(D, op.wires)
        if op.kind == "cliff":
            _set_local(D, op.wires, int(op.perm[d]))
            continue
        bound *= float(np.abs(op.matrix(d)).sum(axis=0).max())
        if bound == 0:
            return 0.0
    return bound


def _cost_terms(cost: str, n: int) -> list[tuple[float, tuple[int, ...]]]:
    """The cost observable as Pauli terms [(coefficient, letters)] (letters 0..3 = I, X, Y, Z
    per wire), from :func:`bpdiag.circuits.cost_terms`."""
    letter = {"I": 0, "X": 1, "Y": 2, "Z": 3}
    return [
        (float(c), tuple(letter[ops.get(w, "I")] for w in range(n)))
        for c, ops in cost_terms(cost, n)
    ]


def _square_terms(terms) -> list[tuple[float, tuple[int, ...]]]:
    """Terms of O^2 for Z-type O (products of Z strings carry no phase)."""
    out: dict[tuple[int, ...], float] = defaultdict(float)
    for ca, qa in terms:
        for cb, qb in terms:
            out[tuple(3 if (x == 3) != (y == 3) else 0 for x, y in zip(qa, qb))] += ca * cb
    return [(c, q) for q, c in out.items() if abs(c) > 1e-15]


def _pair_starts(terms) -> dict[tuple[int, ...], list[tuple[float, tuple[int, ...]]]]:
    """The pair chains of O^2: for every pair of terms a < b, the string D_ab (P_a P_b = tau
    D_ab) and the start ``(2 c_a c_b / tau, letters of P_a)``; terms must commute (real tau)."""
    pairs: dict[tuple[int, ...], list] = defaultdict(list)
    t1 = _tables(1)
    for a in range(len(terms)):
        for b in range(a + 1, len(terms)):
            (ca, qa), (cb, qb) = terms[a], terms[b]
            Dab = tuple(int(t1.xor[x, y]) for x, y in zip(qa, qb))
            tau = np.prod([t1.phase[x, y] for x, y in zip(qa, qb)])
            if abs(tau.imag) > 1e-12:
                raise ValueError("exact method: the cost's Pauli terms must commute")
            pairs[Dab].append((2 * ca * cb / tau.real, qa))
    return pairs


def _second_moment(comp: _Compiled, terms, *, rtol: float, memory_budget=None) -> dict:
    """E[(<psi0|O_k|psi0>)^2] for the compiled circuit: one diagonal chain plus one chain per
    pair string D; pair chains whose bound is below ``rtol`` times the diagonal part are
    skipped (their total bound is returned as ``dropped``)."""
    n = comp.n
    identity = (0,) * n
    if comp.generator is not None:
        start = _generator_terms(comp)
        dry = _run_chain(comp, identity, start, dry=True)
        _check_memory(dry.peak, n, memory_budget)
        final = _commutator_functionals(terms, comp.bloch)
        res = _run_chain(comp, identity, start, final=final)
        return {"value": res.value, "dropped": 0.0, "peak": dry.peak, "work": res.work}
    diag = [(c * c, q) for c, q in terms]
    pairs = _pair_starts(terms)
    dry = _run_chain(comp, identity, diag, dry=True)
    _check_memory(dry.peak, n, memory_budget)
    total = _run_chain(comp, identity, diag).value
    work, dropped = dry.work, 0.0
    for Dab, start in pairs.items():
        weight = sum(abs(c) for c, _ in start)
        bound = weight * _chain_bound(comp, Dab)
        if bound == 0.0:
            continue
        if bound <= rtol * abs(total):
            dropped += bound
            continue
        res = _run_chain(comp, Dab, start)
        total += res.value
        work += res.work
    return {"value": total, "dropped": dropped, "peak": dry.peak, "work": work}


def _check_memory(peak: int, n: int, budget) -> None:
    # tensordot holds the input, a transposed copy and the output: about 3 tensors at once.
    plan_chunk(1, 3 * 8 * peak, what=f"the exact variance on {n} qubits", budget=budget)


def _first_moment(comp: _Compiled, terms) -> float:
    """E[<psi0|O_k|psi0>]: signed coefficients of the observable's strings (symmetric angles
    have E[sin t] = 0, so a rotation only rescales an anticommuting string by E[cos t])."""
    n = comp.n
    cur: dict[tuple[int, ...], float] = defaultdict(float)
    for c, q in _generator_terms(comp) if comp.generator is not None else terms:
        cur[q] += c
    for op in reversed(comp.ops):
        ws, k = op.wires, len(op.wires)
        t = _tables(k)
        new: dict[tuple[int, ...], float] = defaultdict(float)
        for q, c in cur.items():
            loc = _local(list(q), ws)
            if op.kind == "cliff":
                qq = list(q)
                _set_local(qq, ws, int(op.perm[loc]))
                new[tuple(qq)] += op.sign[loc] * c
            elif op.kind == "rot":
                fac = sum(wgt * (op.mom[0] if t.anti[p, loc] else 1.0) for p, wgt in op.axes)
                new[q] += fac * c
            else:
                for p, wgt in op.axes:
                    if not t.anti[p, loc]:
                        continue
                    qq = list(q)
                    _set_local(qq, ws, int(t.xor[p, loc]))
                    new[tuple(qq)] += wgt * op.mom[0] * float(np.real(1j * t.phase[p, loc])) * c
        cur = {q: c for q, c in new.items() if c != 0.0}
        if not cur:
            return 0.0
    if comp.generator is not None:
        return float(sum(c * _h_value(q, terms, comp.bloch) for q, c in cur.items()))
    ev = np.concatenate([np.ones((n, 1)), comp.bloch], axis=1)
    return float(sum(c * np.prod([ev[w, q[w]] for w in range(n)]) for q, c in cur.items()))


# ---------------------------------------------------------------------------------------------
# Public API


def _average_axes(circuit: Circuit, axes: str) -> bool:
    if axes not in ("auto", "average", "fixed"):
        raise ValueError(f"axes must be 'auto', 'average' or 'fixed', got {axes!r}")
    if axes == "auto":
        return circuit.info("family") == "mcclean"
    return axes == "average"


def _param_list(circuit: Circuit, param) -> list[int]:
    if isinstance(param, (int, np.integer)):
        return [int(param)]
    return param_index(circuit, param)


def exact_moments(
    circuit: Circuit,
    cost: str = "global",
    *,
    param: str | int = "middle",
    init: str = "uniform",
    axes: str = "auto",
    shots: bool = False,
    rtol: float = 1e-12,
    memory_budget: float | None = None,
) -> dict[str, float]:
    """Exact mean and variance of dC/dtheta over the random initialisation (no sampling).

    circuit: Clifford fixed gates, rotations each driven by its own parameter, no data gates
    (fixed single-qubit gates at the very start of a wire, such as McClean's RY(pi/4), are part
    of the prepared product state). cost: ``global``, ``local``, ``zz`` or ``z0``. param:
    ``middle``/``first``/``last``/``all`` (``all`` averages the per-parameter results, as the
    sampled method does) or an index. init: ``uniform``, ``normal:SIGMA`` or
    ``identity-blocks[:K]`` (the circuit must come from :func:`identity_blocks`). axes: ``auto``
    averages over McClean's random rotation axes for McClean circuits (``average``/``fixed``
    force it). With ``shots`` also ``shot1`` = E[c^2 (v_+ + v_-)/4], the shot-noise variance of a
    parameter-shift gradient from one shot per shifted circuit (``shot1 / N`` for N shots).

    Returns floats ``mean`` (1/rad), ``var`` (1/rad^2), ``second`` (E[g^2]), ``dropped`` (a bound
    on the size of the negligible pair chains that were skipped, 1/rad^2), ``peak`` (tensor
    entries) and, with ``shots``, ``shot1``. Raises ValueError (one line, naming the gate) for a
    circuit outside the method's assumptions.

    >>> from bpdiag.circuits import dense_hea
    >>> round(exact_moments(dense_hea(3, 20), "global", param="middle")["var"], 4)  # Haar: 0.0564
    0.0564
    """
    average = _average_axes(circuit, axes)
    terms = _cost_terms(cost, circuit.n_qubits)
    means, vars_, seconds, dropped, peak, shot1 = [], [], [], 0.0, 0, []
    for p in _param_list(circuit, param):
        comp = _compile(circuit, param=p, init=init, average=average)
        mean = comp.coef * _first_moment(comp, terms)
        sm = _second_moment(comp, terms, rtol=rtol, memory_budget=memory_budget)
        second = comp.coef**2 * sm["value"]
        means.append(mean)
        seconds.append(second)
        vars_.append(max(second - mean**2, 0.0))
        dropped += comp.coef**2 * sm["dropped"]
        peak = max(peak, sm["peak"])
        if shots:
            shot1.append(_shot1(circuit, p, comp.coef, terms, init, average, rtol, memory_budget))
    out = {
        "mean": float(np.mean(means)),
        "var": float(np.mean(vars_)),
        "second": float(np.mean(seconds)),
        "dropped": float(dropped / len(means)),
        "peak": float(peak),
    }
    if shots:
        out["shot1"] = float(np.mean(shot1))
    return out


def _shot1(circuit, p, coef, terms, init, average, rtol, budget) -> float:
    """E over the angles of c^2 (v_+ + v_-) / 4, v = <O^2> - <O>^2 of the shifted circuits."""
    kind, _ = parse_init(init)
    sq = _square_terms(terms)
    # Uniform angles: t +- pi/2 is uniform again, so both shifted circuits average like the
    # unshifted cost. Otherwise insert the Clifford R(+-pi/2) and, for random axes, fix the axis.
    runs = []
    if kind == "uniform":
        runs = [(dict(param=None), 2.0)]
    else:
        rotation = circuit.gates[circuit.param_gates()[p][0]] in ("RX", "RY", "RZ")
        axes_list = [1, 2, 3] if average and rotation else [None]
        for shift in (1, -1):
            for ax in axes_list:
                runs.append((dict(param=p, shift=shift, axis=ax), 1.0 / len(axes_list)))
    total = 0.0
    for opts, weight in runs:
        comp = _compile(circuit, init=init, average=average, **opts)
        o2 = _first_moment(comp, sq)
        c2 = _second_moment(comp, terms, rtol=rtol, memory_budget=budget)["value"]
        total += weight * (o2 - c2)
    return coef**2 * total / 4


def exact_variance(circuit: Circuit, cost: str = "global", **kwargs) -> float:
    """Var[dC/dtheta] by :func:`exact_moments` (same arguments). 1/rad^2."""
    return exact_moments(circuit, cost, **kwargs)["var"]


def cost_moments(
    circuit: Circuit, cost: str = "global", *, init: str = "uniform", axes: str = "auto"
) -> dict[str, float]:
    """Exact E[C] and E[C^2] of the cost itself over the random initialisation."""
    average = _average_axes(circuit, axes)
    terms = _cost_terms(cost, circuit.n_qubits)
    comp = _compile(circuit, param=None, init=init, average=average)
    return {
        "mean": _first_moment(comp, terms),
        "second": _second_moment(comp, terms, rtol=0.0)["value"],
    }


__all__ = ["METHODS", "cost_moments", "exact_moments", "exact_variance"]
