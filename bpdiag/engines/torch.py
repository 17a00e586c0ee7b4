"""Batched torch statevector engine: the regressor's quantum layer (autograd-differentiable).

States are flat ``complex[batch, 2**n]`` with wire 0 the most significant bit (PennyLane's
order, as in :mod:`bpdiag.engines.jax`); the batch dimension is the mini-batch. Gate angles are
``params @ pm + x @ dm + const`` (radians, :func:`bpdiag.circuits.angle_maps`), so trainable
parameters and data features (the encoder's angles) drive gates in the same way.

The circuit description is planned once into a short list of fused operations:

* **monomial runs**: every gate of the gate set except RX, RY and H maps each basis state to a
  single basis state times a phase (CNOT, X permute; CZ, Z, S, RZ, RZZ are diagonal). A run of
  them is one gather and one phase multiply,
  ``out[b] = fixed[b] * exp(-i/2 * sum_g theta_g s_g[b]) * in[perm[b]]``, where ``s_g`` is the
  ±1 eigenvalue of gate ``g``'s Pauli string carried through the permutations that follow it.
* **dense two-qubit gates** (RXX, RYY, RZX, CH, SWAP-like rotations: any two-qubit gate that is
  not monomial) are applied one at a time as a per-sample 4x4 matrix (an einsum on a
  ``(batch, 2**a, 2, 2**(c-a-1), 2, 2**(n-c-1))`` view).
* **dense single-qubit blocks**: consecutive single-qubit gates on one wire (RX, RY, H mixed with
  anything single-qubit) are multiplied into one per-sample 2x2 matrix and applied through a
  static reshape ``(batch, 2**w, 2, 2**(n-w-1))`` and one batched matmul.

Gates on disjoint wires commute, so blocks are scheduled greedily to make the monomial runs as
long as possible: the ``original`` circuit (RY encoding, then RZ + CNOT ring layers) becomes
``n`` dense blocks and a single monomial run. Autograd differentiates everything (params and x);
diagonal costs are ``|psi|**2 @ obs``, others add their Pauli strings applied to the final state
(:mod:`bpdiag.engines._observe`).

>>> import numpy as np; from bpdiag.circuits import dense_hea
>>> expval(dense_hea(2, 1), np.zeros(4), costs="global").shape
(1, 1)
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import torch

from bpdiag.circuits import Circuit, angle_maps, arity
from bpdiag.engines._observe import PauliTable, pauli_table, state_expectations
from bpdiag.engines._program import gate_pair

DTYPES = {"complex128": torch.complex128, "complex64": torch.complex64}
_REAL = {torch.complex128: torch.float64, torch.complex64: torch.float32}
_COMPLEX = {torch.float64: torch.complex128, torch.float32: torch.complex64}


def _local(gate: str) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) of a gate on its own wires: complex128[2, 2] or [4, 4] (first wire most
    significant), so that the gate is ``cos(t/2) A + sin(t/2) B``."""
    A, B = gate_pair(gate)
    if arity(gate) == 2:
        return A, B
    return A[::2, ::2].copy(), B[::2, ::2].copy()


def _is_monomial(gate: str) -> bool:
    """True if the gate maps each basis state to one basis state times a phase (for every
    angle): a fixed gate with one nonzero entry per row, or a rotation about a diagonal Pauli."""
    A, B = _local(gate)
    if (np.abs(B) > 0).any():
        return bool(np.allclose(B, np.diag(np.diag(B))))
    return bool(((np.abs(A) > 0).sum(axis=1) == 1).all())


class _Mono(NamedTuple):
    perm: np.ndarray  # int64[2**n]: out[b] = phase[b] * in[perm[b]]
    fixed: np.ndarray  # complex128[2**n]
    rot: tuple[int, ...]  # gate indices of the angle-dependent (diagonal) gates
    signs: np.ndarray  # float64[len(rot), 2**n]


class _Dense(NamedTuple):
    wire: int
    gates: tuple[int, ...]  # applied in this order


class _Pair(NamedTuple):
    wires: tuple[int, int]  # as listed on the gate (first wire most significant in its matrix)
    gate: int


def _bits(n: int) -> np.ndarray:
    """int64[2**n, n]: bit of wire w in basis state b (wire 0 most significant)."""
    idx = np.arange(2**n)
    return (idx[:, None] >> (n - 1 - np.arange(n))[None, :]) & 1


def _mono_run(circuit: Circuit, gates: list[int]) -> _Mono:
    """Compose monomial gates (in order) into one permutation, fixed phase and sign matrix."""
    n = circuit.n_qubits
    dim = 2**n
    bits = _bits(n)
    perm = np.arange(dim)
    fixed = np.ones(dim, dtype=complex)
    signs: list[np.ndarray] = []
    rot: list[int] = []
    for g in gates:
        gate, wires = circuit.gates[g], circuit.wires[g]
        A, B = _local(gate)
        pos = [n - 1 - w for w in wires]
        loc = np.zeros(dim, dtype=np.int64)
        for w in wires:
            loc = 2 * loc + bits[:, w]
        if circuit.sources[g]:  # a diagonal rotation exp(-i t P / 2), B = -i P
            s = np.real(1j * np.diag(B))[loc]
            signs.append(s.astype(float))
            rot.append(g)
            continue
        col = np.argmax(np.abs(A) > 0, axis=1)  # the one nonzero entry of each row
        val = A[np.arange(len(A)), col]
        # sigma(b): b with the gate's local bits replaced by those of col[loc(b)]
        sigma = np.arange(dim)
        new_bits = col[loc]
        k = len(wires)
        for i, p in enumerate(pos):
            bit = (new_bits >> (k - 1 - i)) & 1
            sigma = (sigma & ~(1 << p)) | (bit << p)
        perm = perm[sigma]
        fixed = val[loc] * fixed[sigma]
        signs = [v[sigma] for v in signs]
    S = np.stack(signs) if signs else np.zeros((0, dim))
    return _Mono(perm, fixed, tuple(rot), S)


def plan(circuit: Circuit) -> list[_Mono | _Dense | _Pair]:
    """Fuse a circuit into monomial runs, dense single-qubit blocks and dense two-qubit gates
    (see the module docstring). Applying the returned operations in order equals applying the
    gates in order."""
    mono = {g: _is_monomial(g_name) for g, g_name in enumerate(circuit.gates)}
    # 1. items: fused single-qubit blocks per wire, and two-qubit gates, in a valid order
    items: list[tuple[tuple[int, ...], tuple[int, ...], bool]] = []  # (wires, gates, monomial)
    pending: dict[int, list[int]] = {w: [] for w in range(circuit.n_qubits)}

    def flush(w: int) -> None:
        if pending[w]:
            gs = tuple(pending[w])
            items.append(((w,), gs, all(mono[g] for g in gs)))
            pending[w] = []

    for g, wires in enumerate(circuit.wires):
        if len(wires) == 1:
            pending[wires[0]].append(g)
        else:
            for w in wires:
                flush(w)
            items.append((tuple(wires), (g,), mono[g]))
    for w in range(circuit.n_qubits):
        flush(w)
    # 2. greedy list scheduling on the wire-dependency DAG: long monomial runs
    queues: dict[int, list[int]] = {w: [] for w in range(circuit.n_qubits)}
    for i, (wires, _, _) in enumerate(items):
        for w in wires:
            queues[w].append(i)
    head = dict.fromkeys(queues, 0)
    done = [False] * len(items)

    def ready(i: int) -> bool:
        return not done[i] and all(queues[w][head[w]] == i for w in items[i][0])

    def emit(i: int) -> None:
        done[i] = True
        for w in items[i][0]:
            head[w] += 1

    def frontier() -> list[int]:
        out = {queues[w][head[w]] for w in queues if head[w] < len(queues[w])}
        return sorted(i for i in out if ready(i))

    ops: list[_Mono | _Dense | _Pair] = []
    while not all(done):
        run: list[int] = []
        while True:
            new = [i for i in frontier() if items[i][2]]
            if not new:
                break
            for i in new:
                emit(i)
                run.extend(items[i][1])
        if run:
            ops.append(_mono_run(circuit, run))
        for i in frontier():
            if not items[i][2]:
                emit(i)
                wires, gs = items[i][0], items[i][1]
                ops.append(_Dense(wires[0], gs) if len(wires) == 1 else _Pair(wires, gs[0]))
    return ops


def _ri(a: np.ndarray, rdtype: torch.dtype) -> torch.Tensor:
    """complex array -> real tensor [..., 2] (re, im)."""
    return torch.as_tensor(np.stack([np.real(a), np.imag(a)], axis=-1), dtype=rdtype)


def _c(t: torch.Tensor) -> torch.Tensor:
    return torch.view_as_complex(t)


class TorchCircuit(torch.nn.Module):
    """A circuit as a torch module without trainable parameters: ``forward(params, x)`` returns
    expectations of observables.

    Args:
        circuit: the description.
        costs: any :func:`bpdiag.circuits.cost_terms` input (names, Pauli sums such as
            ``"Z0 Z1 + 0.5 X2"``; ``"readout"`` = every <Z_i>); non-diagonal ones by direct Pauli
            application (:func:`bpdiag.engines._observe.state_expectations`).
        dtype: ``torch.complex64`` (training) or ``torch.complex128``; real tensors use the
            matching float dtype. ``module.double()`` / ``.float()`` switch it later.

    ``forward(params, x)``: params float[P] or float[batch, P] (radians), x float[batch, D] or
    None. Returns float[batch, k]. :meth:`states` returns complex[batch, 2**n].

    Every angle the module needs is linear in (params, x), so the angle maps of
    :func:`bpdiag.circuits.angle_maps` are folded per operation at construction: half-angles of
    the dense blocks' gates (padded with identity gates to a common length), and for each
    monomial run the phase of every basis state (signs and fixed phases folded in).
    """

    def __init__(self, circuit: Circuit, costs="readout", *, dtype=torch.complex64):
        super().__init__()
        if isinstance(dtype, str):
            dtype = DTYPES[dtype]
        if dtype not in _REAL:
            raise ValueError(f"dtype must be complex64 or complex128, got {dtype}")
        rdtype = _REAL[dtype]
        n = circuit.n_qubits
        self.circuit = circuit
        self.n_qubits = n
        pm, dm, const = angle_maps(circuit)
        self.register_buffer("pm", torch.as_tensor(pm, dtype=rdtype))
        self.register_buffer("dm", torch.as_tensor(dm, dtype=rdtype))
        self.register_buffer("const", torch.as_tensor(const, dtype=rdtype))
        table = pauli_table(costs, n) if costs is not None else None
        obs = table.diag if table is not None else np.zeros((2**n, 1))
        self.register_buffer("obs", torch.as_tensor(obs, dtype=rdtype))
        self._masks = table.masks if table is not None else ()
        if self._masks:  # flips of the non-diagonal costs: complex [M, 2**n, k] as (re, im)
            self.register_buffer("obs_off", _ri(table.off, rdtype))
        ops = plan(circuit)
        self.ops = ops
        n_lead = 0
        while n_lead < len(ops) and isinstance(ops[n_lead], _Dense):
            n_lead += 1
        # dense blocks: the leading ones (one per wire, identity where a wire has none), then the
        # others in order; padded with identity gates (gate index -1) to a common length K
        blocks: list[tuple[int, ...]] = []
        if n_lead:
            lead = {op.wire: op.gates for op in ops[:n_lead]}
            blocks = [lead.get(w, ()) for w in range(n)]
        self._steps: list[tuple] = []
        for op in ops[n_lead:]:
            if isinstance(op, _Dense):
                self._steps.append(("dense", len(blocks), op.wire))
                blocks.append(op.gates)
            elif isinstance(op, _Pair):
                self._steps.append(("pair", op))
            else:
                self._steps.append(("mono", op))
        self._lead = bool(n_lead)
        self._K = max([len(b) for b in blocks] + [1])
        nb, K = len(blocks), self._K
        tab = -np.ones((nb, K), dtype=np.int64)
        A = np.tile(np.eye(2, dtype=complex), (nb, K, 1, 1))
        B = np.zeros((nb, K, 2, 2), dtype=complex)
        for i, gates in enumerate(blocks):
            for j, g in enumerate(gates):
                tab[i, j] = g
                A[i, j], B[i, j] = _local(circuit.gates[g])
        # complex tables are stored as real (re, im) pairs so that module.to(float dtype) and
        # .double() keep them valid; the complex dtype follows the real buffers' dtype.
        self.register_buffer("block_A", _ri(A, rdtype))
        self.register_buffer("block_B", _ri(B, rdtype))
        flat = tab.reshape(-1)
        self._block_maps = self._maps(
            "block",
            0.5 * _take(pm, flat),
            0.5 * _take(dm, flat),
            0.5 * np.where(flat >= 0, const[flat], 0.0),
            rdtype,
        )
        for k, step in enumerate(self._steps):
            if step[0] == "pair":
                op = step[1]
                A2, B2 = _local(circuit.gates[op.gate])
                self.register_buffer(f"pair{k}_A", _ri(A2, rdtype))
                self.register_buffer(f"pair{k}_B", _ri(B2, rdtype))
                g = [op.gate]
                maps = self._maps(
                    f"pair{k}", 0.5 * pm[:, g], 0.5 * dm[:, g], 0.5 * const[g], rdtype
                )
                self._steps[k] = ("pair", op.wires, f"pair{k}", maps)
                continue
            if step[0] != "mono":
                continue
            op = step[1]
            S = -0.5 * op.signs  # phase = -1/2 sum_g angle_g s_g[b] + arg(fixed[b])
            rot = list(op.rot)
            maps = self._maps(
                f"mono{k}",
                pm[:, rot] @ S,
                dm[:, rot] @ S,
                const[rot] @ S + np.angle(op.fixed),
                rdtype,
            )
            perm = None
            if not (op.perm == np.arange(len(op.perm))).all():
                perm = f"perm{k}"
                self.register_buffer(perm, torch.as_tensor(op.perm, dtype=torch.long))
            self._steps[k] = ("mono", perm, maps)

    def _maps(self, name: str, P: np.ndarray, D: np.ndarray, C: np.ndarray, rdtype) -> tuple:
        """Register the linear map (params, x) -> P, D, C; return buffer names (None = zero)."""
        out = []
        for tag, M in (("P", P), ("D", D), ("C", C)):
            if M.size and np.abs(M).max() > 0:
                self.register_buffer(f"{name}_{tag}", torch.as_tensor(M, dtype=rdtype))
                out.append(f"{name}_{tag}")
            else:
                out.append(None)
        return tuple(out), (P.shape[-1] if P.ndim else 0)

    def _linear(self, maps: tuple, params: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        (p, d, c), width = maps
        out = params @ getattr(self, p) if p else None
        if d:
            out = x @ getattr(self, d) if out is None else out + x @ getattr(self, d)
        if c:
            out = getattr(self, c)[None] if out is None else out + getattr(self, c)
        return params.new_zeros(1, width) if out is None else out

    def _inputs(self, params: torch.Tensor, x: torch.Tensor | None):
        rdtype = self.pm.dtype
        params = params.to(rdtype)
        params = params if params.ndim > 1 else params[None]
        if self.circuit.n_data:
            if x is None:
                raise ValueError(
                    f"circuit {self.circuit.name!r} needs x with {self.circuit.n_data} features"
                )
            x = x.to(rdtype)
        return params, x

    def angles(self, params: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """Gate angles float[batch, G] (radians)."""
        params, x = self._inputs(params, x)
        out = params @ self.pm + self.const
        return out + x @ self.dm if self.circuit.n_data else out

    def states(self, params: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """Final states complex[batch, 2**n] (differentiable in params and x)."""
        params, x = self._inputs(params, x)
        batch = max(len(params), len(x) if x is not None else 1)
        n, dim, K = self.n_qubits, 2**self.n_qubits, self._K
        cdtype = _COMPLEX[self.pm.dtype]
        if self.block_A.shape[0]:
            half = self._linear(self._block_maps, params, x)  # [b, nb*K]
            shape = (half.shape[0], self.block_A.shape[0], K, 1, 1)
            cos, sin = torch.cos(half).view(shape), torch.sin(half).view(shape)
            Mk = cos * _c(self.block_A) + sin * _c(self.block_B)  # [b, nb, K, 2, 2]
            M = Mk[:, :, 0]
            for j in range(1, K):
                M = Mk[:, :, j] @ M
            blocks = M.unbind(1)
        if self._lead:  # dense blocks on distinct wires acting on |0...0>: a product state
            cols = M[:, :n, :, 0].unbind(1)  # M_w |0>: n x [b, 2]
            state = cols[0]
            for col in cols[1:]:  # wire 0 is the most significant bit
                state = (state[:, :, None] * col[:, None, :]).reshape(col.shape[0], -1)
        else:
            state = torch.zeros(1, dim, dtype=cdtype, device=params.device)
            state[:, 0] = 1
        for step in self._steps:
            if step[0] == "dense":
                _, k, w = step
                b, R = state.shape[0], 2 ** (n - w - 1)
                if R >= 2**w:  # batched 2x2 @ 2xR blocks
                    v = state.view(b, 2**w, 2, R)
                    state = (blocks[k][:, None] @ v).reshape(-1, dim)
                else:  # wire axis first: one 2x2 @ 2x(dim/2) product per sample
                    v = state.view(b, 2**w, 2, R).transpose(1, 2).reshape(b, 2, -1)
                    out = blocks[k] @ v
                    state = out.view(out.shape[0], 2, 2**w, R).transpose(1, 2).reshape(-1, dim)
            elif step[0] == "pair":
                state = self._pair(state, step, params, x)
            else:
                _, perm, maps = step
                if perm is not None:
                    state = state.index_select(1, getattr(self, perm))
                if any(maps[0]):
                    phi = self._linear(maps, params, x)
                    state = torch.polar(torch.ones_like(phi), phi) * state
        return state.expand(batch, dim)

    def _pair(self, state, step, params, x) -> torch.Tensor:
        """A dense two-qubit gate ``cos(t/2) A + sin(t/2) B`` on its wires, per sample."""
        _, wires, name, maps = step
        n = self.n_qubits
        half = self._linear(maps, params, x)  # [b, 1]
        A, B = _c(getattr(self, f"{name}_A")), _c(getattr(self, f"{name}_B"))
        M = torch.cos(half)[:, :, None] * A + torch.sin(half)[:, :, None] * B  # [b, 4, 4]
        M = M.reshape(-1, 2, 2, 2, 2)  # [b, out0, out1, in0, in1] on (wires[0], wires[1])
        if wires[0] > wires[1]:  # index the tensor as (low wire, high wire)
            M = M.permute(0, 2, 1, 4, 3)
        a, c = sorted(wires)
        b = max(len(M), state.shape[0])
        v = state.expand(b, -1).reshape(b, 2**a, 2, 2 ** (c - a - 1), 2, 2 ** (n - c - 1))
        out = torch.einsum("bijkl,bpkqlr->bpiqjr", M.expand(b, -1, -1, -1, -1), v)
        return out.reshape(b, -1)

    def forward(self, params: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """Expectations float[batch, k]."""
        state = self.states(params, x)
        probs = torch.view_as_real(state).square().sum(-1)
        out = probs @ self.obs
        if self._masks:
            flips = PauliTable(torch.zeros_like(self.obs), self._masks, _c(self.obs_off))
            out = out + state_expectations(state, flips)
        return out


def _take(m: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Columns ``cols`` of m [rows, G]; column -1 (padding) is zero."""
    out = m[:, np.maximum(cols, 0)]
    out[:, cols < 0] = 0.0
    return out


# ---------------------------------------------------------------------------------------------
# Convenience layer: numpy in, numpy out (the same functions as the JAX and PennyLane engines).


@functools.lru_cache(maxsize=64)
def _module(circuit: Circuit, costs: tuple[str, ...] | None, dtype: str) -> TorchCircuit:
    return TorchCircuit(circuit, costs, dtype=DTYPES[dtype])


def _batch(circuit: Circuit, params, x, dtype: str):
    real = _REAL[DTYPES[dtype]]
    params = torch.as_tensor(np.atleast_2d(np.asarray(params, dtype=float)), dtype=real)
    if params.shape[-1] != circuit.n_params:
        raise ValueError(f"params must have {circuit.n_params} columns, got {params.shape[-1]}")
    if not circuit.n_data:
        return params, None
    if x is None:
        raise ValueError(f"circuit {circuit.name!r} needs x with {circuit.n_data} features")
    x = torch.as_tensor(np.atleast_2d(np.asarray(x, dtype=float)), dtype=real)
    batch = max(len(params), len(x))
    if len(params) not in (1, batch) or len(x) not in (1, batch):
        raise ValueError(f"params and x batch sizes differ: {len(params)} vs {len(x)}")
    return params.expand(batch, -1).contiguous(), x.expand(batch, -1).contiguous()


def _costs(costs) -> tuple[str, ...]:
    return (costs,) if isinstance(costs, str) else tuple(costs)


def simulate(circuit: Circuit, params, x=None, *, dtype: str = "complex128") -> np.ndarray:
    """Final states complex[batch, 2**n] for params float[batch, n_params] (or [n_params]) and
    x float[batch, n_data] (or [n_data])."""
    params, x = _batch(circuit, params, x, dtype)
    with torch.no_grad():
        return _module(circuit, None, dtype).states(params, x).numpy()


def expval(circuit: Circuit, params, x=None, *, costs="global", dtype: str = "complex128"):
    """Expectations float[batch, k] of the named costs (``global``, ``local``, ``zz``, ``z0``,
    ``readout`` = every <Z_i>)."""
    params, x = _batch(circuit, params, x, dtype)
    with torch.no_grad():
        return _module(circuit, _costs(costs), dtype)(params, x).numpy()


def gradient(circuit: Circuit, params, x=None, *, costs="global", dtype: str = "complex128"):
    """d<cost>/d(params): float[batch, n_params, k], by reverse-mode autograd (rows are
    independent, so one backward pass of the summed cost gives every row's gradient)."""
    params, x = _batch(circuit, params, x, dtype)
    params.requires_grad_(True)
    out = _module(circuit, _costs(costs), dtype)(params, x)
    grads = [
        torch.autograd.grad(out[:, k].sum(), params, retain_graph=k + 1 < out.shape[1])[0]
        for k in range(out.shape[1])
    ]
    return torch.stack(grads, dim=-1).detach().numpy()
