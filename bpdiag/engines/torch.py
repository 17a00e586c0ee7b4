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
* **dense single-qubit blocks**: consecutive single-qubit gates on one wire (RX, RY, H mixed with
  anything single-qubit) are multiplied into one per-sample 2x2 matrix and applied through a
  static reshape ``(batch, 2**w, 2, 2**(n-w-1))`` and one batched matmul.

Gates on disjoint wires commute, so blocks are scheduled greedily to make the monomial runs as
long as possible: the ``original`` circuit (RY encoding, then RZ + CNOT ring layers) becomes
``n`` dense blocks and a single monomial run. Autograd differentiates everything (params and x);
all costs are diagonal, so expectations are ``|psi|**2 @ obs``.

>>> import numpy as np; from bpdiag.circuits import dense_hea
>>> expval(dense_hea(2, 1), np.zeros(4), costs="global").shape
(1, 1)
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import torch

from bpdiag.circuits import TWO_QUBIT, Circuit, angle_maps, observables
from bpdiag.engines._program import gate_pair

DTYPES = {"complex128": torch.complex128, "complex64": torch.complex64}
_REAL = {torch.complex128: torch.float64, torch.complex64: torch.float32}
_COMPLEX = {torch.float64: torch.complex128, torch.float32: torch.complex64}


def _local(gate: str) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) of a gate on its own wires: complex128[2, 2] or [4, 4] (first wire most
    significant), so that the gate is ``cos(t/2) A + sin(t/2) B``."""
    A, B = gate_pair(gate)
    if gate in TWO_QUBIT:
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


def plan(circuit: Circuit) -> list[_Mono | _Dense]:
    """Fuse a circuit into monomial runs and dense single-qubit blocks (see the module
    docstring). Applying the returned operations in order equals applying the gates in order."""
    mono = {
        g: g_name in TWO_QUBIT or _is_monomial(g_name) for g, g_name in enumerate(circuit.gates)
    }
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
            items.append((tuple(wires), (g,), True))
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

    ops: list[_Mono | _Dense] = []
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
                ops.append(_Dense(items[i][0][0], items[i][1]))
    return ops


def _ri(a: np.ndarray, rdtype: torch.dtype) -> torch.Tensor:
    """complex array -> real tensor [..., 2] (re, im)."""
    return torch.as_tensor(np.stack([np.real(a), np.imag(a)], axis=-1), dtype=rdtype)


def _c(t: torch.Tensor) -> torch.Tensor:
    return torch.view_as_complex(t)


class TorchCircuit(torch.nn.Module):
    """A circuit as a torch module without trainable parameters: ``forward(params, x)`` returns
    expectations of diagonal observables.

    Args:
        circuit: the description.
        costs: names for :func:`bpdiag.circuits.observables` (``"readout"`` = every <Z_i>).
        dtype: ``torch.complex64`` (training) or ``torch.complex128``; real tensors use the
            matching float dtype.

    ``forward(params, x)``: params float[P] or float[batch, P] (radians), x float[batch, D] or
    None. Returns float[batch, k]. :meth:`states` returns complex[batch, 2**n].
    """

    def __init__(self, circuit: Circuit, costs="readout", *, dtype=torch.complex64):
        super().__init__()
        if isinstance(dtype, str):
            dtype = DTYPES[dtype]
        if dtype not in _REAL:
            raise ValueError(f"dtype must be complex64 or complex128, got {dtype}")
        self.circuit = circuit
        self.n_qubits = circuit.n_qubits
        rdtype = _REAL[dtype]
        pm, dm, const = angle_maps(circuit)
        self.register_buffer("pm", torch.as_tensor(pm, dtype=rdtype))
        self.register_buffer("dm", torch.as_tensor(dm, dtype=rdtype))
        self.register_buffer("const", torch.as_tensor(const, dtype=rdtype))
        obs = observables(costs, circuit.n_qubits) if costs is not None else np.zeros((1, 1))
        self.register_buffer("obs", torch.as_tensor(obs, dtype=rdtype))
        self.ops = plan(circuit)
        # dense gates: one table for all, sliced per block
        dense = [g for op in self.ops if isinstance(op, _Dense) for g in op.gates]
        self._dense_slices = []
        start = 0
        for op in self.ops:
            if isinstance(op, _Dense):
                self._dense_slices.append((start, start + len(op.gates)))
                start += len(op.gates)
        As = (
            np.stack([_local(circuit.gates[g])[0] for g in dense]) if dense else np.zeros((0, 2, 2))
        )
        Bs = (
            np.stack([_local(circuit.gates[g])[1] for g in dense]) if dense else np.zeros((0, 2, 2))
        )
        self.register_buffer("dense_idx", torch.as_tensor(dense, dtype=torch.long))
        # complex tables are stored as real (re, im) pairs so that module.to(float dtype) and
        # .double() keep them valid; the complex dtype follows the real buffers' dtype.
        self.register_buffer("dense_A", _ri(As, rdtype))
        self.register_buffer("dense_B", _ri(Bs, rdtype))
        self._n_leading = 0
        while self._n_leading < len(self.ops) and isinstance(self.ops[self._n_leading], _Dense):
            self._n_leading += 1
        self._mono_meta = []
        for i, op in enumerate(self.ops):
            if not isinstance(op, _Mono):
                continue
            trivial_perm = bool((op.perm == np.arange(len(op.perm))).all())
            trivial_fixed = bool(np.allclose(op.fixed, 1.0, rtol=0, atol=0))
            self.register_buffer(f"perm{i}", torch.as_tensor(op.perm, dtype=torch.long))
            self.register_buffer(f"fixed{i}", _ri(op.fixed, rdtype))
            self.register_buffer(f"rot{i}", torch.as_tensor(op.rot, dtype=torch.long))
            self.register_buffer(f"signs{i}", torch.as_tensor(-0.5 * op.signs, dtype=rdtype))
            self._mono_meta.append((i, trivial_perm, trivial_fixed, len(op.rot) > 0))

    def angles(self, params: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        """Gate angles float[batch, G] (radians)."""
        params = params.to(self.pm.dtype)
        out = (params if params.ndim > 1 else params[None]) @ self.pm + self.const
        if self.dm.shape[0]:
            if x is None:
                raise ValueError(
                    f"circuit {self.circuit.name!r} needs x with {self.circuit.n_data} features"
                )
            out = out + x.to(self.pm.dtype) @ self.dm
        return out

    def states(self, params: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """Final states complex[batch, 2**n] (differentiable)."""
        angles = self.angles(params, x)
        batch = angles.shape[0]
        cdtype = _COMPLEX[angles.dtype]
        n = self.n_qubits
        dim = 2**n
        if not self._n_leading:
            state = torch.zeros(batch, dim, dtype=cdtype, device=angles.device)
            state[:, 0] = 1
        if len(self.dense_idx):
            half = angles.index_select(1, self.dense_idx) / 2
            Ms = (
                torch.cos(half)[..., None, None] * _c(self.dense_A)
                + torch.sin(half)[..., None, None] * _c(self.dense_B)
            )  # [batch, g, 2, 2]
        dense_k = 0
        mono_k = 0
        if self._n_leading:  # dense blocks on distinct wires acting on |0...0>: a product state
            cols = {}
            for op in self.ops[: self._n_leading]:
                a, b = self._dense_slices[dense_k]
                dense_k += 1
                M = Ms[:, a]
                for j in range(a + 1, b):
                    M = Ms[:, j] @ M
                cols[op.wire] = M[:, :, 0]  # M |0>: [batch, 2]
            zero = torch.zeros(2, dtype=cdtype, device=angles.device)
            zero[0] = 1
            state = None
            for w in range(n):
                col = cols.get(w, zero.expand(batch, 2))
                state = col if state is None else (state[:, :, None] * col[:, None, :]).reshape(
                    batch, -1
                )
        for op in self.ops[self._n_leading :]:
            if isinstance(op, _Dense):
                a, b = self._dense_slices[dense_k]
                dense_k += 1
                M = Ms[:, a]
                for j in range(a + 1, b):
                    M = Ms[:, j] @ M
                w = op.wire
                v = state.view(batch, 2**w, 2, 2 ** (n - w - 1))
                state = (M[:, None] @ v).view(batch, dim)
            else:
                i, trivial_perm, trivial_fixed, has_rot = self._mono_meta[mono_k]
                mono_k += 1
                if not trivial_perm:
                    state = state.index_select(1, getattr(self, f"perm{i}"))
                if has_rot:
                    phi = angles.index_select(1, getattr(self, f"rot{i}")) @ getattr(
                        self, f"signs{i}"
                    )
                    phase = torch.polar(torch.ones_like(phi), phi)
                    if not trivial_fixed:
                        phase = phase * _c(getattr(self, f"fixed{i}"))
                    state = phase * state
                elif not trivial_fixed:
                    state = _c(getattr(self, f"fixed{i}")) * state
        return state

    def forward(self, params: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """Expectations float[batch, k]."""
        state = self.states(params, x)
        probs = state.real.square() + state.imag.square()
        return probs @ self.obs


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
