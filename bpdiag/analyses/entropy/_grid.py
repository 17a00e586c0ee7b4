"""The grid of the entropy analysis: its configuration, its points and the states of a point.

One grid point = (state kind, encoding, ansatz, n_qubits, n_layers). Data states: encoder angles
→ :func:`bpdiag.circuits.encodings.encoded_circuit` (the one encoded-circuit builder) → states
by the JAX engine (:mod:`bpdiag.engines.states`) or a PennyLane QNode. References: ``product``
and ``ghz`` (:func:`bpdiag.circuits.transforms.preparation`) and ``haar`` (sampled directly).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bpdiag._resources import MAX_LAYERS, MAX_SAMPLES, as_axes, check_size, point_seed
from bpdiag.analyses.entropy._encoder import Trained
from bpdiag.analyses.entropy._kernel import UNITS
from bpdiag.circuits import ANSATZE, Circuit
from bpdiag.circuits.encodings import (
    ENCODINGS,
    PAIRS,
    angle,
    compose,
    encoded_circuit,
    encoding_features,
)
from bpdiag.circuits.transforms import PREPARATIONS, preparation
from bpdiag.engines._batch import capacity

#: Largest sizes the entropy grid accepts (an n-qubit state is 2^n amplitudes; a cut an SVD).
MAX_CUTS = 100_000
MAX_ENTROPY_QUBITS = 30


STATES = ("data", "product", "ghz", "haar", "trained")
PARAMS = ("shared", "row")
ENGINES = ("jax", "pennylane")
COLUMNS = [
    "state",
    "encoding",
    "ansatz",
    "n_qubits",
    "n_layers",
    "cut",
    "cut_size",
    "entropy",
    "entropy_se",
    "renyi2",
    "renyi2_se",
    "page",
    "page_renyi2",
    "max_entropy",
    "volume_fraction",
    "rows",
    "unit",
]
#: The columns that identify a grid point (the resume key).
KEY = ["state", "encoding", "ansatz", "n_qubits", "n_layers"]
#: Register shared by every small circuit, so one compiled program serves n = 2..8.
_SMALL_REGISTER = 8


@dataclass(frozen=True)
class EntropyConfig:
    """Everything that determines an entropy run's numbers (written to the JSON)."""

    qubits: tuple[int, ...] = tuple(range(2, 11))
    encoding: tuple[str, ...] = ("angle", "zz")
    layers: tuple[int, ...] = (0, 1, 2, 5)
    rows: int = 500
    state: tuple[str, ...] = ("data",)
    ansatz: str = "original"
    params: str = "shared"
    data: str = "synthetic"
    hidden: int = 16
    random_cuts: int = 0
    pairs: str = "linear"
    unit: str = "nats"
    seed: int = 0
    dtype: str = "complex128"
    checkpoint: str | None = None
    engine: str = "jax"
    device: str = "default.qubit"
    memory_budget: float | None = field(default=None, compare=False)
    circuit: object = None  # a circuit spec (bpdiag.frontends): replaces ansatz

    def __post_init__(self) -> None:
        as_axes(self, ("qubits", "encoding", "layers", "state"))
        if self.circuit is not None:
            _use_circuit(self)
        object.__setattr__(self, "data", str(self.data))
        if min(self.qubits) < 2:
            raise ValueError(f"n_qubits must be >= 2, got {min(self.qubits)}")
        if min(self.layers) < 0:
            raise ValueError(f"n_layers must be >= 0, got {min(self.layers)}")
        if self.rows < 2:
            raise ValueError(f"rows must be >= 2 (for a standard error), got {self.rows}")
        for e in self.encoding:
            if e not in ENCODINGS:
                raise ValueError(f"unknown encoding {e!r}; choose from {', '.join(ENCODINGS)}")
        for s in self.state:
            if s not in STATES:
                raise ValueError(f"unknown state {s!r}; choose from {', '.join(STATES)}")
        if self.circuit is None and self.ansatz not in ANSATZE:
            raise ValueError(f"unknown ansatz {self.ansatz!r}; choose from {', '.join(ANSATZE)}")
        if self.params not in PARAMS:
            raise ValueError(f"params must be one of {', '.join(PARAMS)}, got {self.params!r}")
        if self.pairs not in PAIRS:
            raise ValueError(f"pairs must be one of {', '.join(PAIRS)}, got {self.pairs!r}")
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {self.unit!r}")
        if self.hidden < 1:
            raise ValueError(f"hidden must be >= 1, got {self.hidden}")
        if self.random_cuts < 0:
            raise ValueError(f"random_cuts must be >= 0, got {self.random_cuts}")
        check_size("random_cuts", self.random_cuts, MAX_CUTS)
        check_size("n_qubits", max(self.qubits), MAX_ENTROPY_QUBITS)
        check_size("n_layers", max(self.layers), MAX_LAYERS)
        check_size("rows", self.rows, MAX_SAMPLES)
        if self.dtype not in ("complex128", "complex64"):
            raise ValueError(f"dtype must be complex128 or complex64, got {self.dtype!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if self.engine == "pennylane":
            if self.dtype != "complex128":
                raise ValueError(
                    f"dtype {self.dtype} is for the jax engine; "
                    "the pennylane engine runs complex128"
                )
            if "data" in self.state and "amplitude" in self.encoding:
                raise ValueError(
                    "encoding 'amplitude' runs on the jax engine only; the pennylane engine runs "
                    "the circuit encodings (angle, zz, reupload)"
                )
        if self.checkpoint is not None:
            object.__setattr__(self, "checkpoint", str(self.checkpoint))
            if "trained" not in self.state:
                object.__setattr__(self, "state", self.state + ("trained",))
        elif "trained" in self.state:
            raise ValueError("state 'trained' needs a checkpoint of `bpdiag train` (--checkpoint)")
        if (
            "data" in self.state
            and "amplitude" in self.encoding
            and self.params == "row"
            and max(self.layers) > 0
        ):
            raise ValueError(
                "amplitude encoding with an ansatz needs params='shared' (one parameter vector "
                "for all rows)"
            )


def _use_circuit(config: EntropyConfig) -> None:
    """Resolve ``config.circuit`` into its family (:func:`bpdiag.frontends.attach_family`; a
    fixed circuit's default grid is layers 0 and its own); ``ansatz`` and ``circuit`` become its
    label. Only the angle and zz encodings go in front, and the circuit has no data inputs."""
    from bpdiag.frontends import attach_family

    family = attach_family(config, fixed_layers=lambda L: (0, L))
    bad = [e for e in config.encoding if e not in ("angle", "zz")]
    if bad:
        raise ValueError(f"with a circuit, encoding must be angle or zz, got {bad[0]!r}")
    n0, L0 = min(config.qubits), max(max(config.layers), 1)
    if family(n0, L0).n_data:
        raise ValueError(
            f"{family.label} has data inputs of its own; entropy runs circuits without them "
            "after the encoding (for now)"
        )
    object.__setattr__(config, "circuit", family.label)


def _points(config: EntropyConfig, trained: Trained | None = None) -> list[tuple]:
    """Grid points (state, encoding, ansatz, n_qubits, n_layers): data first, then the trained
    model's one point, then references."""
    pts = []
    if "data" in config.state:
        for enc in config.encoding:
            for n in config.qubits:
                for L in config.layers:
                    pts.append(("data", enc, config.ansatz, n, L))
    if trained is not None:
        pts.append(trained.point)
    for s in config.state:
        if s not in ("data", "trained"):
            pts.extend((s, "none", "none", n, 0) for n in config.qubits)
    return pts


def _circuit(config: EntropyConfig, point, trained: Trained | None = None) -> Circuit | None:
    state, enc, ansatz, n, L = point
    if state == "trained":
        return trained.circuit
    if state == "data" and config.circuit is not None:
        head = encoded_circuit(enc, n, 0, pairs=config.pairs)
        if not L:
            return head
        user = config._family(n, L)
        return compose(head, user, name=f"{enc}+{user.name}", encoding=enc, n_layers=L)
    if state == "data":
        return encoded_circuit(enc, n, L, ansatz=ansatz, seed=config.seed, pairs=config.pairs)
    if state in PREPARATIONS:
        return preparation(state, n)
    return None  # haar: sampled directly


def _register_for(n: int) -> int:
    return _SMALL_REGISTER if n <= _SMALL_REGISTER else n


def _engine_plan(config: EntropyConfig, points, trained: Trained | None = None) -> dict:
    """Per register: the union of wire kernels and a padded gate capacity, so that one compiled
    program serves every circuit of that register (extra wires stay |0>, padding gates are
    skipped; both leave every amplitude unchanged)."""
    from bpdiag.engines._program import gate_kernels

    plan: dict[int, dict] = {}
    for p in points:
        c = _circuit(config, p, trained)
        if c is None:
            continue
        if p[1] == "amplitude" and c.n_gates:
            c = compose(angle(c.n_qubits), c)
        N = _register_for(c.n_qubits)
        entry = plan.setdefault(N, {"kernels": set(), "gates": 1})
        entry["kernels"].update(gate_kernels(c))
        entry["gates"] = max(entry["gates"], c.n_gates)
    for entry in plan.values():
        entry["kernels"] = tuple(sorted(entry["kernels"])) or ((0, -1),)
        entry["gates"] = capacity(entry["gates"])
    return plan


def _states(
    config: EntropyConfig, point, plan, angles_for, rows: int, trained=None, circuit=None
) -> np.ndarray:
    """The states complex[rows, 2**n] of one grid point (``circuit``: the point's circuit when
    built already, :func:`_circuit`)."""
    from bpdiag.engines.states import amplitude_states, simulate_states

    state, enc, _, n, L = point
    extra = (config.params,) if state == "data" else ()
    rng = np.random.default_rng(point_seed(config.seed, *point, *extra))
    if state == "haar":  # Haar-random: normalised complex Gaussian vectors
        z = rng.normal(size=(rows, 2**n)) + 1j * rng.normal(size=(rows, 2**n))
        return z / np.linalg.norm(z, axis=1, keepdims=True)
    c = _circuit(config, point, trained) if circuit is None else circuit
    if config.engine == "pennylane":
        return _pennylane_states(config, point, c, rng, angles_for, rows, trained)
    N = _register_for(n)
    engine = dict(
        n_register=N,
        n_gates=plan[N]["gates"],
        kernels=plan[N]["kernels"],
        dtype=config.dtype,
        memory_budget=config.memory_budget,
    )
    if state == "product":  # Haar-random qubit states: polar angle arccos(1 - 2u)
        x = np.concatenate(
            [np.arccos(1 - 2 * rng.random((rows, n))), rng.uniform(0, 2 * np.pi, (rows, n))],
            axis=1,
        )
        return simulate_states(c, np.zeros(0), x, **engine)
    if state == "ghz":
        return simulate_states(c, np.zeros((rows, 0)), None, **engine)
    if state == "trained":
        return simulate_states(c, trained.params, trained.angles, **engine)
    shape = (c.n_params,) if config.params == "shared" else (rows, c.n_params)
    params = rng.uniform(0, 2 * np.pi, size=shape)
    if enc == "amplitude":
        return amplitude_states(angles_for(n, amplitude=True), c, params, **engine)
    x = encoding_features(enc, angles_for(n), pairs=config.pairs)
    return simulate_states(c, params, x, **engine)


def _pennylane_states(config, point, c: Circuit, rng, angles_for, rows: int, trained=None):
    """The states of one grid point from a PennyLane QNode on ``config.device``, one call per
    row, with the same random draws as the JAX path: complex128[rows, 2**n], or
    complex128[rows, 2**n, 2**n] density matrices from a mixed-state device (default.mixed)."""
    from bpdiag.engines import pennylane as pe

    state, enc, _, n, _ = point
    if state == "product":
        x = np.concatenate(
            [np.arccos(1 - 2 * rng.random((rows, n))), rng.uniform(0, 2 * np.pi, (rows, n))],
            axis=1,
        )
        params = np.zeros(0)
    elif state == "ghz":
        params, x = np.zeros((rows, 0)), None
    elif state == "trained":
        params, x = trained.params, trained.angles
    else:
        shape = (c.n_params,) if config.params == "shared" else (rows, c.n_params)
        params = rng.uniform(0, 2 * np.pi, size=shape)
        x = encoding_features(enc, angles_for(n), pairs=config.pairs)
    return pe.simulate(c, params, x if c.n_data else None, device=config.device)
