"""One circuit description, consumed by every engine.

A :class:`Circuit` is an immutable list of gates. Gate ``k`` is ``gates[k]`` acting on
``wires[k]``; if it is a rotation, its angle (radians) is

    angle = sum(coef * params[i] for ("param", i, coef))  +  coef * x[j] for ("data", j, coef)
            +  const

given by ``sources[k]``: a tuple of :class:`Source` terms (empty for fixed gates). Rotations are
``R_P(angle) = exp(-i angle P / 2)`` as in PennyLane; the gate set (rotation words, fixed gates
by matrix, expansions of what frontends emit) is defined in :mod:`bpdiag.circuits.gates`. Wire 0
is the most significant qubit (PennyLane's convention): the amplitude of basis state
``|b_0 b_1 ... b_{n-1}>`` sits at index ``sum(b_w << (n - 1 - w))`` of a flat state, or at
``state[b_0, ..., b_{n-1}]`` of a ``(2,)*n`` tensor.

Ansatz families are functions that build circuits: :func:`dense_hea`, :func:`sparse_hea`,
:func:`mcclean`, :func:`original_circuit`; :func:`build` picks one by name. Costs are diagonal
observables built by :func:`cost_diagonal`.

>>> c = dense_hea(3, 2)
>>> c.n_qubits, c.n_params, len(c.gates)
(3, 12, 16)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bpdiag.circuits.gates import FIXED, NAMED_ROTATIONS, Source, arity, is_rotation

#: Gate names for random circuits and docs: the named rotations and every fixed gate.
GATES = NAMED_ROTATIONS + tuple(FIXED)
#: The gates of the built-in families (the default gate set of :func:`random_circuit`).
BASIC_GATES = ("RX", "RY", "RZ", "RZZ", "CNOT", "CZ", "H", "S", "X", "Z")

ANSATZE = ("dense", "sparse", "mcclean", "original")


def P(i: int, coef: float = 1.0) -> tuple[Source, ...]:
    """Angle = ``coef * params[i]``."""
    return (Source("param", i, coef),)


def X(j: int, coef: float = 1.0) -> tuple[Source, ...]:
    """Angle = ``coef * x[j]`` (a data feature)."""
    return (Source("data", j, coef),)


def C(value: float) -> tuple[Source, ...]:
    """A fixed angle (radians)."""
    return (Source("const", -1, float(value)),)


@dataclass(frozen=True)
class Circuit:
    """An immutable gate list. Validated once here; engines trust it.

    Attributes:
        n_qubits: number of wires, >= 1.
        gates: gate names (:mod:`bpdiag.circuits.gates`): a rotation ``"R" + word`` or a fixed gate.
        wires: wires of each gate (1 or 2 distinct ints, as many as the gate's arity).
        sources: for each gate, the tuple of :class:`Source` terms of its angle (empty if fixed).
        n_params: number of trainable parameters (>= 1 + the largest param index used).
        n_data: number of data features (>= 1 + the largest data index used).
        name: a label for tables and figures.
        meta: free-form description (family, layers, options) — not used by engines.
    """

    n_qubits: int
    gates: tuple[str, ...]
    wires: tuple[tuple[int, ...], ...]
    sources: tuple[tuple[Source, ...], ...]
    n_params: int = -1
    n_data: int = -1
    name: str = "circuit"
    meta: tuple[tuple[str, object], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.n_qubits < 1:
            raise ValueError(f"n_qubits must be >= 1, got {self.n_qubits}")
        k = len(self.gates)
        if len(self.wires) != k or len(self.sources) != k:
            raise ValueError(
                f"gates, wires and sources must have equal length, got {k}, "
                f"{len(self.wires)}, {len(self.sources)}"
            )
        max_p, max_d = -1, -1
        for g, (gate, wires, srcs) in enumerate(zip(self.gates, self.wires, self.sources)):
            try:
                k = arity(gate)
            except ValueError as exc:
                raise ValueError(f"gate {g}: {exc}") from None
            if len(wires) != k:
                raise ValueError(f"gate {g} ({gate}) needs {k} wire(s), got {wires}")
            if any(not 0 <= w < self.n_qubits for w in wires) or len(set(wires)) != k:
                raise ValueError(f"gate {g} ({gate}): bad wires {wires} for {self.n_qubits} qubits")
            rotation = is_rotation(gate)
            if rotation and not srcs:
                raise ValueError(f"gate {g} ({gate}) is a rotation and needs an angle source")
            if not rotation and srcs:
                raise ValueError(f"gate {g} ({gate}) is fixed and takes no angle")
            for s in srcs:
                if s.kind == "param":
                    max_p = max(max_p, s.index)
                elif s.kind == "data":
                    max_d = max(max_d, s.index)
                elif s.kind != "const":
                    raise ValueError(f"gate {g}: unknown source kind {s.kind!r}")
                if s.kind != "const" and s.index < 0:
                    raise ValueError(f"gate {g}: negative {s.kind} index {s.index}")
        object.__setattr__(self, "n_params", max(self.n_params, max_p + 1))
        object.__setattr__(self, "n_data", max(self.n_data, max_d + 1))

    @property
    def n_gates(self) -> int:
        return len(self.gates)

    def info(self, key: str, default=None):
        """Look up a ``meta`` entry."""
        return dict(self.meta).get(key, default)

    def param_gates(self) -> list[list[int]]:
        """For each parameter, the indices of the gates it drives."""
        out: list[list[int]] = [[] for _ in range(self.n_params)]
        for g, srcs in enumerate(self.sources):
            for s in srcs:
                if s.kind == "param":
                    out[s.index].append(g)
        return out

    def angles(self, params: np.ndarray, x: np.ndarray | None = None) -> np.ndarray:
        """Gate angles in radians: float64[..., n_gates] (0 for fixed gates).

        params: float[..., n_params]; x: float[..., n_data] or None.
        """
        params = np.asarray(params, dtype=float)
        pm, dm, const = angle_maps(self)
        out = params @ pm + const
        if self.n_data:
            if x is None:
                raise ValueError(f"circuit {self.name!r} needs {self.n_data} data features (x)")
            out = out + np.asarray(x, dtype=float) @ dm
        return out


def angle_maps(circuit: Circuit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear maps from (params, x) to gate angles.

    Returns ``pm`` float64[n_params, n_gates], ``dm`` float64[n_data, n_gates] and ``const``
    float64[n_gates], so that ``angles = params @ pm + x @ dm + const``.
    """
    pm = np.zeros((circuit.n_params, circuit.n_gates))
    dm = np.zeros((circuit.n_data, circuit.n_gates))
    const = np.zeros(circuit.n_gates)
    for g, srcs in enumerate(circuit.sources):
        for s in srcs:
            if s.kind == "param":
                pm[s.index, g] += s.coef
            elif s.kind == "data":
                dm[s.index, g] += s.coef
            else:
                const[g] += s.coef
    return pm, dm, const


class _Builder:
    """Accumulates gates; hands out parameter indices in order of use."""

    def __init__(self, n: int):
        self.n = n
        self.gates: list[str] = []
        self.wires: list[tuple[int, ...]] = []
        self.sources: list[tuple[Source, ...]] = []
        self.n_params = 0
        self.layer_starts: list[int] = []

    def layer(self) -> None:
        """Mark the next gate as the start of a new layer."""
        self.layer_starts.append(len(self.gates))

    def add(self, gate: str, wires: tuple[int, ...], sources: tuple[Source, ...] = ()) -> None:
        self.gates.append(gate)
        self.wires.append(tuple(int(w) for w in wires))
        self.sources.append(sources)

    def rot(self, gate: str, wire: int) -> None:
        self.add(gate, (wire,), P(self.n_params))
        self.n_params += 1

    def circuit(self, name: str, **meta) -> Circuit:
        if self.layer_starts or "n_layers" in meta:  # a layered family (possibly 0 layers)
            meta.setdefault("layer_starts", tuple(self.layer_starts))
        return Circuit(
            self.n,
            tuple(self.gates),
            tuple(self.wires),
            tuple(self.sources),
            n_params=self.n_params,
            name=name,
            meta=tuple(sorted(meta.items())),
        )


def layer_of(circuit: Circuit) -> np.ndarray:
    """The layer of every gate, int64[n_gates]: ``-1`` for gates before the first layer (a state
    preparation or data encoding), else the index of the layer the gate belongs to.

    The one source of layer structure: read from ``meta["layer_starts"]``, which every family
    records when it builds a circuit (and every transform keeps up to date). A circuit without it
    (a random or hand-made circuit) raises ``ValueError``.

    >>> from bpdiag.circuits import dense_hea
    >>> layer_of(dense_hea(2, 2)).tolist()
    [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    """
    starts = circuit.info("layer_starts")
    if starts is None:
        raise ValueError(f"circuit {circuit.name!r} records no layer structure (layer_starts)")
    out = np.full(circuit.n_gates, -1, dtype=np.int64)
    for k, start in enumerate(starts):
        out[start:] = k
    return out


def n_layers(circuit: Circuit) -> int:
    """Number of layers recorded in ``meta["layer_starts"]`` (0 when none are recorded)."""
    return len(circuit.info("layer_starts", ()) or ())
