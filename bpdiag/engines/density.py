"""Batched JAX density-matrix engine with noise channels (complex128 by default).

A density matrix ``rho`` of n qubits is stored as a flat vector of a 2n-wire register,
``complex[batch, 4**n]``, with ``rho[i, j]`` at index ``i * 2**n + j``: wires ``0..n-1`` carry
the row index and wires ``n..2n-1`` the column index (wire 0 most significant, PennyLane's order,
as in :mod:`bpdiag.engines.jax`). In this picture ``U rho U^+`` applies ``U`` to the row wires and
``conj(U)`` to the column wires, and a one-qubit channel with Kraus operators ``K_m`` on wire w is
the 4x4 superoperator ``sum_m K_m (x) conj(K_m)`` on the wire pair ``(w, n + w)``. So every step is
a 4x4 operator on a pair of wires of the 2n register, and the engine reuses the statevector
engine's pair kernels. A one-qubit gate (and, with ``where="gate"``, the channel after it) is fused
into one superoperator on ``(w, n + w)``; a two-qubit gate is two steps (rows, then columns).

Each step's operator is ``M(t) = C0 + cos(t/2) C1 + sin(t/2) C2 + cos(t) C3 + sin(t) C4`` for the
angle t of the gate it comes from, so the tables are built once from the
:class:`~bpdiag.circuits.Circuit` (via :func:`bpdiag.engines._program.lower`) and the steps run in
one ``lax.fori_loop`` with a ``lax.switch`` over the static wire pairs: compile time does not grow
with depth, and one compiled function serves every circuit (and every noise strength) whose padded
tables have the same shape. Memory is one density matrix (16 * 4**n bytes) per sample, plus a few
temporaries: about 10 qubits is the practical limit.

Noise channels (PennyLane's Kraus conventions, so that ``default.mixed`` is a reference):

- ``depolarizing:P``: ``(1-P) rho + P/3 (X rho X + Y rho Y + Z rho Z)``
  (``qml.DepolarizingChannel``)
- ``amplitude_damping:G``: ``K0 = diag(1, sqrt(1-G))``, ``K1 = sqrt(G) |0><1|``
  (``qml.AmplitudeDamping``)
- ``dephasing:P``: ``(1-P) rho + P Z rho Z`` (``qml.PhaseFlip``; off-diagonals shrink by 1 - 2P)

applied on every wire of every gate right after it (``where="gate"``) or on every wire after every
layer (``where="layer"``, layers from :func:`gate_layers`).

Costs with X/Y factors are read off the final ``rho`` after every channel, ``Tr[P rho] =
sum_c D_m[c] rho[c ^ m, c]`` per flip mask m (:mod:`bpdiag.engines._observe`): the value a
noiseless basis rotation per qubit-wise commuting group followed by ``Tr[Z_S rho']`` gives, in
one run.

Gradients use the parameter-shift rule on gate angles: ``d/dt Tr[O Phi(U(t) rho U(t)^+)]`` is exact
as ``[f(t + pi/2) - f(t - pi/2)] / 2`` for any channels around the gate, since the expectation is a
trigonometric polynomial of degree one in t (Mitarai et al. 2018; Schuld et al. 2019). The pure
function :func:`angle_expvals` is also differentiable in forward mode (``jax.jvp``/``jacfwd``).

>>> import numpy as np; from bpdiag.circuits import dense_hea
>>> expval(dense_hea(2, 1), np.zeros(4), costs="global", noise="depolarizing:0.0").round(12)
array([[1.]])
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from bpdiag._resources import plan_chunk
from bpdiag.circuits import Circuit, chain_pairs, layer_of
from bpdiag.engines._batch import batched, capacity, combine_shifts, shifted_angles
from bpdiag.engines._observe import PauliTable, pauli_table, rho_expectations
from bpdiag.engines._program import gate_kernels, lower
from bpdiag.engines.jax import DTYPES, _batch, _gate

jax.config.update("jax_enable_x64", True)

CHANNELS = ("depolarizing", "amplitude_damping", "dephasing")
WHERE = ("gate", "layer")
#: Families whose builders allocate parameters layer by layer (see :func:`gate_layers`).

_PAULI = {
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}


# ---------------------------------------------------------------------------------------------
# Noise specifications


@dataclass(frozen=True)
class Noise:
    """A noise model: one-qubit channel ``kind`` of strength ``strength`` (a probability P or a
    damping rate G, dimensionless in [0, 1]) applied after every gate or every layer.

    ``kind="none"`` means no channel at all (then ``strength`` is 0 and ``where`` is ``"none"``).
    """

    kind: str = "none"
    strength: float = 0.0
    where: str = "none"

    def __post_init__(self) -> None:
        if self.kind == "none":
            object.__setattr__(self, "strength", 0.0)
            object.__setattr__(self, "where", "none")
            return
        if self.kind not in CHANNELS:
            raise ValueError(
                f"unknown noise channel {self.kind!r}; choose from {', '.join(CHANNELS)}"
            )
        if self.where not in WHERE:
            raise ValueError(f"noise_where must be 'gate' or 'layer', got {self.where!r}")
        p = float(self.strength)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{self.kind} strength must be in [0, 1], got {self.strength}")
        # Canonical value: survives a CSV round trip with 12 significant digits.
        object.__setattr__(self, "strength", float(f"{p:.12g}"))

    @property
    def active(self) -> bool:
        """Whether any channel is applied (a strength of 0 applies none)."""
        return self.kind != "none" and self.strength > 0

    @property
    def label(self) -> str:
        """``"depolarizing:0.01"`` or ``"none"``."""
        return "none" if self.kind == "none" else f"{self.kind}:{self.strength:g}"

    @property
    def key(self) -> tuple[str, float, str]:
        """(kind, strength, where): the noise coordinates of a result row."""
        return (self.kind, self.strength, self.where)


NONE = Noise()


def parse_noise(text: str | None, where: str = "gate") -> tuple[Noise, ...]:
    """Parse ``"depolarizing:0.01"``, a comma-separated list such as
    ``"depolarizing:0.01,0.05,amplitude_damping:0.1"`` (a bare number reuses the previous channel),
    or ``"none"``. Returns one :class:`Noise` per entry, in order, without duplicates.

    >>> [n.label for n in parse_noise("depolarizing:0.01,0.05,none")]
    ['depolarizing:0.01', 'depolarizing:0.05', 'none']
    """
    if text is None:
        return (NONE,)
    if isinstance(text, Noise):
        return (text,)
    out: list[Noise] = []
    kind = None
    for part in (s.strip() for s in str(text).split(",")):
        if not part:
            continue
        if part == "none":
            out.append(NONE)
            continue
        if ":" in part:
            kind, value = (s.strip() for s in part.split(":", 1))
        elif kind is not None:
            value = part
        else:
            raise ValueError(
                f"noise must look like depolarizing:0.01 (channel:strength), got {part!r}"
            )
        try:
            strength = float(value)
        except ValueError:
            raise ValueError(
                f"noise strength must be a number, got {value!r} in {part!r}"
            ) from None
        out.append(Noise(kind, strength, where))
    if not out:
        raise ValueError(f"no noise model in {text!r}; e.g. depolarizing:0.01")
    return tuple(dict.fromkeys(out))


def _as_noise(noise: Noise | str | None, where: str = "gate") -> Noise:
    models = parse_noise(noise, where) if not isinstance(noise, Noise) else (noise,)
    if len(models) != 1:
        raise ValueError(f"expected one noise model, got {len(models)}: {noise!r}")
    return models[0]


def kraus(kind: str, strength: float) -> list[np.ndarray]:
    """Kraus operators complex128[2, 2] of a one-qubit channel (PennyLane's conventions)."""
    p = float(strength)
    if kind == "depolarizing":
        return [math.sqrt(1 - p) * np.eye(2, dtype=complex)] + [
            math.sqrt(p / 3) * _PAULI[a] for a in "XYZ"
        ]
    if kind == "amplitude_damping":
        k0 = np.array([[1, 0], [0, math.sqrt(1 - p)]], dtype=complex)
        k1 = np.array([[0, math.sqrt(p)], [0, 0]], dtype=complex)
        return [k0, k1]
    if kind == "dephasing":
        return [math.sqrt(1 - p) * np.eye(2, dtype=complex), math.sqrt(p) * _PAULI["Z"]]
    raise ValueError(f"unknown noise channel {kind!r}; choose from {', '.join(CHANNELS)}")


def superoperator(kind: str, strength: float) -> np.ndarray:
    """complex128[4, 4]: ``sum_m K_m (x) conj(K_m)``, acting on ``vec(rho)`` of one qubit indexed
    ``2 * row_bit + column_bit``."""
    return sum(np.kron(k, k.conj()) for k in kraus(kind, strength))


# ---------------------------------------------------------------------------------------------
# Layers


def _moments(circuit: Circuit) -> list[int]:
    """ASAP moments: each gate goes one step after the latest gate on any of its wires."""
    last = [-1] * circuit.n_qubits
    out = []
    for wires in circuit.wires:
        m = 1 + max(last[w] for w in wires)
        for w in wires:
            last[w] = m
        out.append(m)
    return out


def gate_layers(circuit: Circuit) -> tuple[int, ...]:
    """The layer index of every gate, int per gate (non-decreasing), for ``where="layer"`` noise.

    A circuit that records its layers (every family; :func:`bpdiag.circuits.layer_of`) is cut
    there, with the gates before the first layer (a data encoding, a fixed preparation) joining
    layer 0. Any other circuit is split into ASAP moments (gates on disjoint wires, each placed
    right after the latest gate on its wires).
    """
    if circuit.info("layer_starts") is None:
        return tuple(_moments(circuit))
    return tuple(int(k) for k in np.maximum(layer_of(circuit), 0))


# ---------------------------------------------------------------------------------------------
# Lowering to step tables


class DensityTables(NamedTuple):
    """Step tables. ``kernel`` int32[O] indexes the static wire pairs of the 2n register;
    ``angle`` int32[O] is the gate whose angle drives the step (``G`` means angle 0); ``C``
    complex128[O, 5, 4, 4] are the coefficient matrices of
    ``M = C0 + cos(t/2) C1 + sin(t/2) C2 + cos(t) C3 + sin(t) C4``."""

    kernel: np.ndarray
    angle: np.ndarray
    C: np.ndarray


#: Smallest padded gate and step tables (:func:`bpdiag.engines._batch.capacity`), so that small
#: circuits share one compiled function.
MIN_GATES, MIN_STEPS = 32, 64


def density_kernels(circuit: Circuit) -> tuple[tuple[int, int], ...]:
    """Wire pairs of the 2n register a circuit needs, always including ``(w, n+w)`` for every wire
    and the chain/ring pairs on rows and columns, so that one compiled function serves every
    built family of the same size."""
    n = circuit.n_qubits
    out = {(w, n + w) for w in range(n)}
    pairs = set(chain_pairs(n, ring=True))
    pairs |= {k for k in gate_kernels(circuit) if k[1] >= 0}
    for a, b in pairs:
        a, b = min(a, b), max(a, b)
        out |= {(a, b), (n + a, n + b)}
    return tuple(sorted(out))


def _steps(circuit: Circuit, noise: Noise, G: int) -> list[tuple[tuple[int, int], int, np.ndarray]]:
    """The steps ``(wire pair, angle index, C[5, 4, 4])`` of a circuit with noise, in order."""
    n = circuit.n_qubits
    prog = lower(circuit, n_gates=max(G, circuit.n_gates))
    gk = gate_kernels(circuit)
    S = superoperator(noise.kind, noise.strength) if noise.active else None
    per_gate = S is not None and noise.where == "gate"
    per_layer = S is not None and noise.where == "layer"
    layers = gate_layers(circuit)
    order = sorted(range(circuit.n_gates), key=lambda g: (layers[g], g))
    steps: list[tuple[tuple[int, int], int, np.ndarray]] = []

    def channel(w: int) -> None:
        C = np.zeros((5, 4, 4), dtype=complex)
        C[0] = S
        steps.append(((w, n + w), G, C))

    for pos, g in enumerate(order):
        a, b = gk[prog.kernel[g]]
        A, B = prog.A[g], prog.B[g]
        if b < 0:
            A2, B2 = A[::2, ::2], B[::2, ::2]
            AA, BB = np.kron(A2, A2.conj()), np.kron(B2, B2.conj())
            C = np.zeros((5, 4, 4), dtype=complex)
            # U (x) conj(U) with U = cA + sB: c^2 = (1 + cos t)/2, s^2 = (1 - cos t)/2, cs = sin t/2
            C[0], C[3] = (AA + BB) / 2, (AA - BB) / 2
            C[4] = (np.kron(A2, B2.conj()) + np.kron(B2, A2.conj())) / 2
            if per_gate:
                C = S[None] @ C
            steps.append(((a, n + a), g, C))
        else:
            for (u, v), conj in (((a, b), False), ((n + a, n + b), True)):
                C = np.zeros((5, 4, 4), dtype=complex)
                C[1], C[2] = (A.conj(), B.conj()) if conj else (A, B)
                steps.append(((u, v), g, C))
            if per_gate:
                channel(a)
                channel(b)
        last_of_layer = pos + 1 == len(order) or layers[order[pos + 1]] != layers[g]
        if per_layer and last_of_layer:
            for w in range(n):
                channel(w)
    return steps


def count_steps(circuit: Circuit, noise: Noise | str | None = None) -> int:
    """Number of steps (4x4 operators on the 2n register) of a circuit with noise."""
    return len(_steps(circuit, _as_noise(noise), circuit.n_gates))


def lower_density(
    circuit: Circuit,
    noise: Noise | str | None = None,
    *,
    kernels: tuple[tuple[int, int], ...] | None = None,
    n_steps: int | None = None,
    n_gates: int | None = None,
) -> tuple[DensityTables, int]:
    """Step tables of ``circuit`` with ``noise``, padded to ``n_steps`` steps and angles of
    ``n_gates`` gates (defaults: the next power of two, at least 64 steps and 32 gates). Returns
    the tables and the number of active steps."""
    kernels = density_kernels(circuit) if kernels is None else tuple(kernels)
    lookup = {k: i for i, k in enumerate(kernels)}
    G = capacity(circuit.n_gates, MIN_GATES) if n_gates is None else int(n_gates)
    if G < circuit.n_gates:
        raise ValueError(f"n_gates must be >= {circuit.n_gates}, got {G}")
    steps = _steps(circuit, _as_noise(noise), G)
    O = capacity(len(steps), MIN_STEPS) if n_steps is None else int(n_steps)
    if O < len(steps):
        raise ValueError(f"n_steps must be >= {len(steps)}, got {O}")
    kernel = np.zeros(O, dtype=np.int32)
    angle = np.full(O, G, dtype=np.int32)
    Cs = np.zeros((O, 5, 4, 4), dtype=complex)
    Cs[:, 0] = np.eye(4)  # padding: identity
    for i, (pair, g, C) in enumerate(steps):
        if pair not in lookup:
            raise ValueError(f"wire pair {pair} is not among the kernels {kernels}")
        kernel[i], angle[i], Cs[i] = lookup[pair], g, C
    return DensityTables(kernel, angle, Cs), len(steps)


# ---------------------------------------------------------------------------------------------
# The pure, jittable core


def _forward(tables, angles, n_active, kernels, n_qubits: int, dtype):
    """Final density matrices complex[batch, 4**n] from gate angles float[batch, G] (radians)."""
    kernel, angle_index, C = tables
    branches = [functools.partial(_gate, kernel=k, n_register=2 * n_qubits) for k in kernels]
    batch = angles.shape[0]
    angles = jnp.concatenate([angles, jnp.zeros((batch, 1), angles.dtype)], axis=1)

    def body(i, rho):
        t = jax.lax.dynamic_index_in_dim(angles, angle_index[i], axis=1, keepdims=False)
        coef = jnp.stack([jnp.ones_like(t), jnp.cos(t / 2), jnp.sin(t / 2), jnp.cos(t), jnp.sin(t)])
        M = jnp.einsum("jb,jkl->bkl", coef.astype(dtype), C[i].astype(dtype))
        return jax.lax.switch(kernel[i], branches, rho, M)

    rho = jnp.zeros((batch, 4**n_qubits), dtype=dtype).at[:, 0].set(1)
    return jax.lax.fori_loop(0, n_active, body, rho)


def angle_states(tables, angles, n_active, *, kernels, n_qubits: int, dtype=jnp.complex128):
    """Final density matrices, flat: complex[batch, 4**n] (``rho[i, j]`` at ``i * 2**n + j``)."""
    return _forward(tables, angles, n_active, kernels, n_qubits, dtype)


def angle_expvals(
    tables,
    angles,
    obs,
    n_active,
    *,
    kernels,
    n_qubits: int,
    dtype=jnp.complex128,
    masks: tuple = (),
):
    """``Tr[O_k rho]`` float[batch, k] for gate angles float[batch, G] (radians) and diagonal
    observables obs float[2**n, k], or, with flip ``masks`` (static), the ``(diag, off)`` arrays
    of a :class:`~bpdiag.engines._observe.PauliTable` (``Tr[P rho]`` read off ``rho`` directly:
    :func:`bpdiag.engines._observe.rho_expectations`). Pure and jittable; differentiable in
    forward mode."""
    rho = _forward(tables, angles, n_active, kernels, n_qubits, dtype)
    if masks:
        return rho_expectations(rho, PauliTable(obs[0], tuple(masks), obs[1]), n_qubits)
    diag = jnp.real(rho[:, :: 2**n_qubits + 1])
    return diag @ obs


@functools.lru_cache(maxsize=64)
def jitted(
    kind: str, kernels: tuple, n_qubits: int, dtype_name: str = "complex128", masks: tuple = ()
):
    """Jitted ``f(tables, angles, obs, n_active)`` (kind ``expvals``; ``masks`` as in
    :func:`angle_expvals`) or ``f(tables, angles, n_active)`` (kind ``states``), cached per
    (kind, kernels, n, dtype, masks)."""
    opts = dict(kernels=kernels, n_qubits=n_qubits, dtype=DTYPES[dtype_name])
    if kind == "expvals":
        return jax.jit(functools.partial(angle_expvals, masks=tuple(masks), **opts))
    if kind == "states":
        return jax.jit(functools.partial(angle_states, **opts))
    raise ValueError(f"unknown kind {kind!r}; choose from expvals, states")


# ---------------------------------------------------------------------------------------------
# Convenience layer: numpy in, numpy out


def bytes_per_sample(n_qubits: int, dtype: str = "complex128") -> float:
    """Estimated peak bytes per sample in flight: a density matrix and its temporaries."""
    return 4**n_qubits * (16 if dtype == "complex128" else 8) * 8


def _angles(circuit: Circuit, params, x, G: int) -> np.ndarray:
    angles = np.zeros((params.shape[0], G))
    angles[:, : circuit.n_gates] = circuit.angles(params, x if circuit.n_data else None)
    return angles


def _run(circuit, noise, angles, table, *, dtype, memory_budget=None, chunk=None, n_steps=None):
    """Evaluate rows of gate angles float[R, G] in fixed-size chunks: ``Tr[O_k rho]`` float[R, k]
    for the observables of ``table`` (a :class:`~bpdiag.engines._observe.PauliTable`)."""
    tables, n_active = lower_density(circuit, noise, n_gates=angles.shape[1], n_steps=n_steps)
    kernels = density_kernels(circuit)
    n = circuit.n_qubits
    f = jitted("expvals", kernels, n, dtype, table.masks)
    R = len(angles)
    size = plan_chunk(
        R,
        bytes_per_sample(n, dtype),
        what=f"a {n}-qubit density matrix",
        budget=memory_budget,
    )
    size = min(size, chunk or R)
    tables = DensityTables(*(jnp.asarray(t) for t in tables))
    obs = jnp.asarray(table.diag)
    if table.masks:
        obs = (obs, jnp.asarray(table.off))
    # Fixed-size chunks, the last one padded: one shape per call, one compile.
    return batched(lambda b: f(tables, jnp.asarray(b), obs, n_active), angles, chunk=size)


def simulate(
    circuit: Circuit,
    params,
    x=None,
    *,
    noise: Noise | str | None = None,
    where: str = "gate",
    dtype: str = "complex128",
) -> np.ndarray:
    """Final density matrices complex[batch, 2**n, 2**n] for params float[batch, n_params] (or
    [n_params]) and data x float[batch, n_data]; ``noise`` like ``"depolarizing:0.01"``."""
    params, x = _batch(circuit, params, x)
    noise = _as_noise(noise, where)
    G = capacity(circuit.n_gates, MIN_GATES)
    tables, n_active = lower_density(circuit, noise, n_gates=G)
    kernels = density_kernels(circuit)
    f = jitted("states", kernels, circuit.n_qubits, dtype)
    tables = DensityTables(*(jnp.asarray(t) for t in tables))
    rho = np.asarray(f(tables, jnp.asarray(_angles(circuit, params, x, G)), n_active))
    d = 2**circuit.n_qubits
    return rho.reshape(-1, d, d)


def expval(
    circuit: Circuit,
    params,
    x=None,
    *,
    costs="global",
    noise: Noise | str | None = None,
    where: str = "gate",
    dtype: str = "complex128",
) -> np.ndarray:
    """``Tr[O rho]`` float[batch, k] for the costs: any :func:`bpdiag.circuits.cost_terms`
    input (names, Pauli sums, ``@FILE``) or ``readout``; non-diagonal ones read off the final
    ``rho`` directly (:mod:`bpdiag.engines._observe`), after every channel."""
    params, x = _batch(circuit, params, x)
    noise = _as_noise(noise, where)
    angles = _angles(circuit, params, x, capacity(circuit.n_gates, MIN_GATES))
    return _run(circuit, noise, angles, pauli_table(costs, circuit.n_qubits), dtype=dtype)


def shift_gradients(
    circuit: Circuit,
    params,
    x=None,
    *,
    costs="global",
    noise: Noise | str | None = None,
    where: str = "gate",
    which=None,
    dtype: str = "complex128",
    memory_budget: float | None = None,
    n_steps: int | None = None,
    n_gates: int | None = None,
) -> np.ndarray:
    """``d Tr[O rho] / d params[p]`` for p in ``which`` (default: all), by the parameter-shift
    rule on every gate the parameter drives: float[batch, len(which), k] (per radian).

    params float[batch, n_params], x float[batch, n_data] (or None). ``n_steps`` and ``n_gates``
    pad the tables (see :func:`lower_density`) so that circuits of several depths share one
    compiled function."""
    params, x = _batch(circuit, params, x)
    noise = _as_noise(noise, where)
    which = list(range(circuit.n_params)) if which is None else [int(p) for p in which]
    G = capacity(circuit.n_gates, MIN_GATES) if n_gates is None else int(n_gates)
    angles = _angles(circuit, params, x, G)
    table = pauli_table(costs, circuit.n_qubits)
    pm = circuit.param_gates()
    S = params.shape[0]
    plan = []  # (p, gates, their coefficients)
    for p in which:
        gates = sorted(set(pm[p]))
        coefs = [
            sum(s.coef for s in circuit.sources[g] if s.kind == "param" and s.index == p)
            for g in gates
        ]
        plan.append((p, gates, coefs))
    out = np.zeros((S, len(which), table.diag.shape[1]))
    rows = [shifted_angles(angles, gates) for _, gates, _ in plan if gates]
    if not rows:
        return out
    values = _run(
        circuit,
        noise,
        np.concatenate(rows),
        table,
        dtype=dtype,
        memory_budget=memory_budget,
        chunk=2 * S,
        n_steps=n_steps,
    )
    col = {p: i for i, p in enumerate(which)}
    start = 0
    for p, gates, coefs in plan:
        stop = start + 2 * S * len(gates)
        if gates:
            out[:, col[p], :] += combine_shifts(values[start:stop], coefs)
        start = stop
    return out


def gradient(
    circuit: Circuit,
    params,
    x=None,
    *,
    costs="global",
    noise: Noise | str | None = None,
    where: str = "gate",
    dtype: str = "complex128",
) -> np.ndarray:
    """d<cost>/d(params): float[batch, n_params, k], by the parameter-shift rule."""
    return shift_gradients(circuit, params, x, costs=costs, noise=noise, where=where, dtype=dtype)
