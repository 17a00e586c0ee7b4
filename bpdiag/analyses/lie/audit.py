"""The audit: why a circuit is untrainable. For every (ansatz, n_qubits, n_layers) of a grid,
dead and redundant parameters (:mod:`.dead`), the DLA (:mod:`.dla`), and the cost variance the
DLA predicts at ``deep_layers`` next to the one sampled with the JAX engine.

Numerics that need many circuits share one compiled JAX program (:class:`SharedEngine`); every
structural verdict is checked against engine gradients (exact parameter shift,
:func:`bpdiag.engines._batch.shifted_angles`).

>>> res = lie(("original",), (2,), (1,), samples=0)
>>> int(res.table.loc[0, "n_dead"])
2
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import jax.numpy as jnp
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from bpdiag._resources import MAX_LAYERS, MAX_SAMPLES, as_axes, check_size, point_seed
from bpdiag.analyses._common import Result, point_cost, portable, run_grid, summarize
from bpdiag.analyses.lie.dead import ALGEBRAIC_MAX_QUBITS, dead_parameters, redundancy
from bpdiag.analyses.lie.dla import DLA, dla, predicted_variance
from bpdiag.circuits import ANSATZE, Circuit, angle_maps, build, cost_terms, z_signs
from bpdiag.circuits.observables import check_cost, cost_diagonal, is_diagonal
from bpdiag.engines import jax as je
from bpdiag.engines._batch import batched, capacity, combine_shifts, shifted_angles
from bpdiag.engines._observe import basis_circuits, measured
from bpdiag.engines._program import Program, embed_observables, gate_kernels, lower

PARAM_COLUMNS = [
    "ansatz",
    "n_qubits",
    "n_layers",
    "cost",
    "param",
    "gate",
    "wire",
    "dead",
    "redundant",
    "reason",
    "grad_max",
]
COLUMNS = [
    "ansatz",
    "n_qubits",
    "n_layers",
    "cost",
    "n_params",
    "n_dead",
    "n_redundant",
    "rank",
    "eff_dim",
    "dla_dim",
    "dla_log2",
    "dla_kind",
    "deep_layers",
    "deep_dla_dim",
    "theory",
    "predicted_var",
    "sampled_var",
    "sampled_var_se",
    "samples",
]
#: A parameter whose engine gradient stays below this on every sample is numerically zero.
GRAD_ZERO = 1e-12
#: Largest n of the audit: dead parameters (light cones) and the DLA (classification) are
#: structural and polynomial in n; what needs a statevector is limited by the next constants.
MAX_QUBITS = 1000
#: Up to this n the statevector numerics run: QFI rank and effective dimension, engine gradients
#: checking every dead verdict, and the sampled cost variance. Above it they are "not computed"
#: (NaN in the table, said in the JSON).
STATEVECTOR_MAX_QUBITS = 12
#: Up to this n the classified DLA is checked against the enumerated one in every audit.
CROSSCHECK_MAX_QUBITS = 6
#: Units of the table columns (written to the JSON).
UNITS = {
    "predicted_var": "Var over parameters of the cost C (dimensionless), not of dC/dθ",
    "sampled_var": "same, sampled with the JAX engine at deep_layers; ± sampled_var_se",
    "rank": "rank of the quantum Fisher information (max over random points); NaN: not "
    "computed (n > STATEVECTOR_MAX_QUBITS)",
    "dla_dim": "exact dimension of the DLA (an integer, 4^n - 1 at most); dla_log2 its log2",
    "eff_dim": "rank of the outcome-distribution Fisher information over data points",
    "grad_max": "max |dC/dθ| (1/rad) over random parameters and inputs (JAX engine)",
}


# ---------------------------------------------------------------------------------------------
# Numerics on the JAX engine: one compiled program serves every circuit of a run


class SharedEngine:
    """Runs many circuits through one compiled JAX program: a shared register (the largest
    circuit; smaller ones are embedded, their extra wires stay in |0>), the union of wire kernels,
    a padded gate table (:func:`bpdiag.engines._batch.capacity`; only each circuit's own gates
    run), fixed batch size and two observables, so one compilation serves a whole ``lie`` run."""

    def __init__(self, circuits: Sequence[Circuit], dtype: str = "complex128", batch: int = 256):
        self.N = max(c.n_qubits for c in circuits)
        self.kernels = tuple(sorted(set().union(*(gate_kernels(c) for c in circuits))))
        self.G = capacity(max(c.n_gates for c in circuits))
        self.dtype = dtype
        self.batch = batch

    def expvals(self, circuit: Circuit, angles: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """Expectations float[B, 2] of two diagonal observables obs float[2**n, 2] for gate
        angles float[B, n_gates] (radians)."""
        if obs.shape[1] != 2:
            raise ValueError(f"obs must have 2 columns, got {obs.shape[1]}")
        p = lower(circuit, kernels=self.kernels, n_register=self.N, n_gates=self.G)
        empty = jnp.zeros((0, self.G))
        prog = Program(
            jnp.asarray(p.kernel),
            jnp.asarray(p.A),
            jnp.asarray(p.B),
            empty,
            empty,
            jnp.zeros(self.G),
        )
        f = je.jitted("angles", self.kernels, self.N, self.dtype)
        o = jnp.asarray(embed_observables(obs, circuit.n_qubits, self.N))
        ang = np.zeros((angles.shape[0], self.G))
        ang[:, : circuit.n_gates] = angles
        return batched(lambda a: f(prog, a, o, circuit.n_gates), ang, chunk=self.batch)


def _engine_for(circuit: Circuit, engine: SharedEngine | None) -> SharedEngine:
    return engine if engine is not None else SharedEngine([circuit], batch=64)


def _cost_obs(cost: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """float[2**n, 2]: the cost's diagonal, and a random positive combination of its Pauli terms
    (its gradient vanishes only where every term's does, with probability 1). Both from
    :func:`bpdiag.circuits.cost_terms`, the one definition of the costs."""
    terms = cost_terms(cost, n)
    coefs = np.array([c for c, _ in terms])
    w = rng.uniform(0.5, 1.5, size=len(terms))
    s = z_signs(n)
    if any(letter != "Z" for _, ops in terms for letter in ops.values()):
        raise ValueError(f"cost {cost!r} is not diagonal in the computational basis")
    diag = np.stack([np.prod(s[:, sorted(ops)], axis=1) for _, ops in terms], axis=1)
    return np.stack([diag @ coefs, diag @ w], axis=1)


def _measured_obs(
    circuit: Circuit, cost: str, rng: np.random.Generator
) -> tuple[float, list[tuple[Circuit, np.ndarray]]]:
    """How the engine measures ``cost`` on ``circuit``: ``(constant, [(circuit_g, obs_g)])``
    with ``<cost> = constant + sum_g <obs_g[:, 0]>`` on ``circuit_g`` and ``obs_g[:, 1]`` the
    group's share of the random positive combination of :func:`_cost_obs`. A diagonal cost is
    one group, the circuit itself (:func:`_cost_obs`, unchanged); a cost with X/Y factors is
    split into qubit-wise commuting groups, each measured after its basis change
    (:func:`bpdiag.engines._observe.measured`)."""
    n = circuit.n_qubits
    if is_diagonal(cost, n):
        return 0.0, [(circuit, _cost_obs(cost, n, rng))]
    terms = cost_terms(cost, n)
    w = rng.uniform(0.5, 1.5, size=len(terms))
    constant, parts = measured(circuit, cost)
    _, weighted = measured(circuit, [(float(wi), ops) for wi, (_, ops) in zip(w, terms)])
    return constant, [
        (cg, np.stack([cost_diagonal(d, n), cost_diagonal(dw, n)], axis=1))
        for (cg, d), (_, dw) in zip(parts, weighted)
    ]


def gradient_max(
    circuit: Circuit,
    cost: str = "local",
    *,
    rng: np.random.Generator,
    samples: int = 8,
    engine: SharedEngine | None = None,
) -> np.ndarray:
    """Max |dC/dtheta_p| over ``samples`` random parameters and inputs and over the two
    observables of :func:`_cost_obs`, float64[P] (1/rad). Computed by the JAX engine with the
    exact parameter-shift rule on gate angles, ``dC/dt = (C(t + pi/2) - C(t - pi/2)) / 2``; a
    cost with X/Y factors as the sum over its measured groups (:func:`_measured_obs`; the engine
    must know their basis-changed circuits: :func:`bpdiag.engines._observe.basis_circuits`)."""
    if circuit.n_params == 0:
        return np.zeros(0)
    engine = _engine_for(circuit, engine)
    _, groups = _measured_obs(circuit, cost, rng)
    params = rng.uniform(0, 2 * np.pi, size=(samples, circuit.n_params))
    x = rng.uniform(-np.pi, np.pi, size=(samples, circuit.n_data))
    pm, _, _ = angle_maps(circuit)
    gates = np.nonzero(np.any(pm != 0, axis=0))[0]
    vals = 0.0
    for cg, obs in groups:  # basis changes are appended: gate indices of circuit stay
        angles = cg.angles(params, x if circuit.n_data else None)
        vals = vals + engine.expvals(cg, shifted_angles(angles, gates), obs)  # [T * 2 * S, 2]
    grad = np.stack([combine_shifts(vals, pm[p, gates]) for p in range(circuit.n_params)], 1)
    return np.abs(grad).max(axis=(0, 2))  # grad: [S, P, 2]


def sample_cost_variance(
    circuit: Circuit,
    cost: str = "local",
    *,
    samples: int = 500,
    x=None,
    rng: np.random.Generator,
    engine: SharedEngine | None = None,
) -> dict:
    """Sample Var_theta[C] over parameters uniform in [0, 2 pi) at the fixed data point ``x``
    (float[n_data]) with the JAX engine. Returns the dict of
    :func:`bpdiag.analyses._common.summarize` (mean, mean_se, var, var_se, log2_var)."""
    engine = _engine_for(circuit, engine)
    params = rng.uniform(0, 2 * np.pi, size=(samples, circuit.n_params))
    xx = None
    if circuit.n_data:
        if x is None:
            raise ValueError(f"circuit {circuit.name!r} needs a data point x")
        xx = np.repeat(np.asarray(x, float).reshape(1, -1), samples, axis=0)
    constant, groups = _measured_obs(circuit, cost, rng)
    if len(groups) == 1 and groups[0][0] is circuit:  # a diagonal cost: as before
        values = engine.expvals(circuit, circuit.angles(params, xx), groups[0][1])[:, :1]
        return summarize(values)
    values = constant
    for cg, obs in groups:
        values = values + engine.expvals(cg, cg.angles(params, xx), obs)[:, :1]
    return summarize(values)


# ---------------------------------------------------------------------------------------------
# The audit


@dataclass(frozen=True)
class LieConfig:
    """Everything that determines a ``lie`` run's numbers (written to the JSON).

    ``circuit`` (a spec string, a family ``(n_qubits, n_layers) -> circuit`` or a circuit object:
    :mod:`bpdiag.frontends`) replaces ``ansatz``; ``ansatz`` then holds its label. A fixed circuit
    is audited at its own size (the default grid becomes that size, any other is refused) and is
    its own deep circuit (``deep_layers`` does not apply to it)."""

    ansatz: tuple[str, ...] = ("original", "dense", "sparse")
    qubits: tuple[int, ...] = (2, 3, 4, 5, 6)
    layers: tuple[int, ...] = (2,)
    cost: tuple[str, ...] = ("local",)
    deep_layers: int = 50
    samples: int = 500
    seed: int = 0
    sparse_pattern: str = "brickwall"
    sparse_density: float = 0.5
    circuit: object = None
    data_params: object = None
    numeric_qubits: int = 8

    def __post_init__(self) -> None:
        as_axes(self, ("ansatz", "qubits", "layers", "cost"))
        if self.circuit is not None:
            from bpdiag.frontends import attach_family

            object.__setattr__(self, "circuit", attach_family(self).label)
        for a in self.ansatz if self.circuit is None else ():
            if a not in ANSATZE:
                raise ValueError(f"unknown ansatz {a!r}; choose from {', '.join(ANSATZE)}")
        if min(self.qubits) < 1:
            raise ValueError(f"n_qubits must be >= 1, got {min(self.qubits)}")
        if max(self.qubits) > MAX_QUBITS:
            raise ValueError(
                f"n_qubits must be <= {MAX_QUBITS} for the audit, got {max(self.qubits)}"
            )
        if min(self.layers) < 1:
            raise ValueError(f"n_layers must be >= 1, got {min(self.layers)}")
        for c in self.cost:  # names, Pauli sums, @FILE (bpdiag.circuits.cost_terms)
            check_cost(c, min(self.qubits))
        if not 0 <= self.numeric_qubits <= STATEVECTOR_MAX_QUBITS:
            raise ValueError(
                f"numeric_qubits must be in 0..{STATEVECTOR_MAX_QUBITS}, got {self.numeric_qubits}"
            )
        if self.deep_layers < 1:
            raise ValueError(f"deep_layers must be >= 1, got {self.deep_layers}")
        check_size("deep_layers", self.deep_layers, MAX_LAYERS)
        check_size("n_layers", max(self.layers), MAX_LAYERS)
        check_size("samples", self.samples, MAX_SAMPLES)
        if self.samples != 0 and self.samples < 2:
            raise ValueError(f"samples must be 0 (no sampling) or >= 2, got {self.samples}")

    @property
    def fixed(self) -> bool:
        """Whether ``circuit`` is one fixed circuit (audited at its own size only)."""
        return self.circuit is not None and self._family.fixed is not None

    def circuit_at(self, ansatz: str, n: int, layers: int) -> Circuit:
        """The circuit of one grid point (``circuit``'s family when one is given)."""
        if self.circuit is not None:
            return self._family(n, layers)
        opts = {}
        if ansatz == "sparse":
            opts = {"pattern": self.sparse_pattern, "density": self.sparse_density}
        return build(ansatz, n, layers, seed=self.seed, **opts)

    def deep(self, ansatz: str, n: int) -> Circuit:
        """The deep circuit whose cost variance is predicted and sampled."""
        if self.fixed:
            return self._family.fixed
        return self.circuit_at(ansatz, n, self.deep_layers)


def audit(
    circuit: Circuit,
    cost: str = "local",
    *,
    deep: Circuit | None = None,
    samples: int = 500,
    seed: int = 0,
    engine: SharedEngine | None = None,
    numeric_qubits: int = STATEVECTOR_MAX_QUBITS,
) -> tuple[list[dict], dict, dict]:
    """Audit one circuit: per-parameter rows (``param, gate, wire, dead, redundant, reason,
    grad_max``), a summary dict (the :data:`COLUMNS` measurements) and JSON details.

    ``deep`` (default: ``circuit``) is the deep version used for the predicted and sampled cost
    variance (``samples`` = 0 skips sampling). Statevector numerics (QFI rank, engine gradients,
    sampling) run only for ``n <= numeric_qubits``. Raises ``RuntimeError`` if a structurally dead
    parameter has a nonzero engine gradient (that would be a bug).
    """
    rng = np.random.default_rng(
        point_seed(seed, "lie", circuit.name, circuit.n_qubits, circuit.info("n_layers", 0), cost)
    )
    times = {}
    n = circuit.n_qubits
    small = n <= min(numeric_qubits, STATEVECTOR_MAX_QUBITS)
    t0 = time.perf_counter()
    params = dead_parameters(circuit, cost)
    times["dead"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    P = circuit.n_params
    if small:
        gmax = gradient_max(circuit, cost, rng=rng, engine=engine)
        red = redundancy(circuit, rng=rng)
    else:
        gmax = np.full(P, np.nan)
        red = {"rank": np.nan, "eff_dim": np.nan, "redundant": np.zeros(P, bool)}
    times["numeric"] = time.perf_counter() - t0
    n_numeric_only = 0
    for p, row in enumerate(params):
        row["redundant"] = bool(red["redundant"][p]) if small else None
        row["grad_max"] = float(gmax[p])
        if small and row["dead"] and gmax[p] > GRAD_ZERO:
            raise RuntimeError(
                f"parameter {p} of {circuit.name!r} was proven dead but its gradient is "
                f"{gmax[p]:.3g}: please report this bug"
            )
        if small and not row["dead"] and gmax[p] <= GRAD_ZERO:
            n_numeric_only += 1
            row["reason"] = "gradient zero on every sample, but no structural proof was found"
        if row["redundant"]:
            note = "state derivative is a combination of earlier parameters' (QFI)"
            row["reason"] = f"{row['reason']}; {note}" if row["reason"] else note
    t0 = time.perf_counter()
    x0 = rng.uniform(-np.pi, np.pi, size=circuit.n_data) if circuit.n_data else None
    g = dla(circuit, x=x0)
    if g.pauli and n <= CROSSCHECK_MAX_QUBITS and g.method == "classified":
        ref = dla(circuit, x=x0, method="enumerate")
        if ref.dim != g.dim:
            raise RuntimeError(
                f"classified DLA dimension {g.dim} differs from the enumerated {ref.dim} for "
                f"{circuit.name!r}: please report this bug"
            )
    deep = circuit if deep is None else deep
    pred = predicted_variance(deep, cost, x=x0)
    times["dla"] = time.perf_counter() - t0
    sampled = {"var": float("nan"), "var_se": float("nan")}
    if samples and small and deep.n_qubits <= STATEVECTOR_MAX_QUBITS:
        t0 = time.perf_counter()
        sampled = sample_cost_variance(deep, cost, samples=samples, x=x0, rng=rng, engine=engine)
        times["sample"] = time.perf_counter() - t0
    summary = {
        "cost": cost,
        "n_params": circuit.n_params,
        "n_dead": sum(r["dead"] for r in params),
        "n_redundant": int(red["redundant"].sum()) if small else np.nan,
        "rank": red["rank"],
        "eff_dim": red["eff_dim"],
        "dla_dim": g.dim,
        "dla_log2": g.log2_dim,
        "dla_kind": g.kind,
        "deep_layers": deep.info("n_layers", 0),
        "deep_dla_dim": pred.dla.dim,
        "theory": pred.theory,
        "predicted_var": pred.var,
        "sampled_var": sampled["var"],
        "sampled_var_se": sampled["var_se"],
        "samples": samples,
    }
    details = {
        "dla": _dla_json(g),
        "deep_dla": _dla_json(pred.dla),
        "numerically_zero_without_proof": n_numeric_only,
        "not_computed": []
        if small
        else [
            "QFI rank, effective dimension, engine gradients and sampled variance: they need a "
            "statevector and run for n <= numeric_qubits = "
            f"{min(numeric_qubits, STATEVECTOR_MAX_QUBITS)}; n = {n}"
        ],
        "dead_method": "light cones" + (" + algebra" if n <= ALGEBRAIC_MAX_QUBITS else ""),
        "x0": None if x0 is None else x0.tolist(),
        "timing": times,
    }
    return params, summary, details


def _dla_json(g: DLA) -> dict:
    return {
        "dim": str(g.dim) if g.dim >= 2**53 else g.dim,
        "log2_dim": g.log2_dim,
        "kind": g.kind,
        "pauli": g.pauli,
        "method": g.method,
        "center": g.center,
        "components": [
            {
                "kind": c.kind,
                "dim": c.dim if c.dim < 2**53 else str(c.dim),
                "rank": c.rank,
                "copies": c.copies,
            }
            for c in g.components
        ],
    }


def _dim_text(dim: int) -> str:
    return str(dim) if dim < 10**12 else f"2^{math.log2(dim):.2f}"


def verdict(row: dict, params: Sequence[dict] = ()) -> str:
    """A readable verdict for one circuit row of :func:`lie` (and its parameter rows)."""
    head = f"{row['ansatz']} n={row['n_qubits']} L={row['n_layers']} ({row['n_params']} params)"
    P, dead = row["n_params"], row["n_dead"]
    lines = [head]
    by_reason: dict[str, list[int]] = {}
    for p in params:
        if p["dead"]:
            name = p.get("label", p["param"])
            by_reason.setdefault(p["reason"].split("; state derivative")[0], []).append(name)
    if dead == P and P:
        lines.append(f"  UNTRAINABLE: all {P} parameters are dead")
    elif dead:
        lines.append(f"  {dead} of {P} parameters are dead")
    else:
        lines.append("  no dead parameters")
    for reason, ids in by_reason.items():
        which = ",".join(str(i) for i in ids[:8]) + (",..." if len(ids) > 8 else "")
        lines.append(f"    params {which}: {reason}")
    red = row["n_redundant"]
    if isinstance(row["rank"], float) and not np.isfinite(row["rank"]):
        lines.append("  QFI rank not computed (n above numeric_qubits: no statevector)")
    else:
        lines.append(
            f"  QFI rank {row['rank']} of {P}"
            + (f" ({red} redundant)" if red else "")
            + f"; outcome-distribution effective dimension {row['eff_dim']}"
        )
    dim, n = row["dla_dim"], row["n_qubits"]
    full = 4**n - 1
    kind = row["dla_kind"]
    text = str(dim) if dim < 10**12 else f"2^{row['dla_log2']:.4f}"
    if dim == full:
        shape = "all of su(2^n)"
    elif dim and "u(1)" in kind and "+" not in kind:
        shape = "abelian: only commuting phases"
    else:
        shape = f"2^{row['dla_log2']:.2f} of the 4^{n} - 1 dimensions of su(2^n)"
        if dim < 10**12:
            shape = f"{dim} of the {full} dimensions of su(2^n)"
    lines.append(f"  DLA {kind} (dim {text}): {shape}")
    pv, sv, se = row["predicted_var"], row["sampled_var"], row["sampled_var_se"]
    pred = "n/a" if not np.isfinite(pv) else f"{pv:.3e}"
    samp = "not sampled" if not np.isfinite(sv) else f"{sv:.3e} ± {se:.1e}"
    lines.append(
        f"  Var[C] at L={row['deep_layers']} (DLA dim {_dim_text(row['deep_dla_dim'])}): "
        f"predicted {pred} "
        f"[{row['theory']}], sampled {samp}"
    )
    return "\n".join(lines)


def _audit_point(task) -> tuple[list[dict], dict, dict]:
    """One (circuit, cost) of the grid, as a task of :func:`~bpdiag.analyses._common.run_grid`:
    ``task = (config, circuit, deep circuit, cost, shared engine)``; :func:`audit`'s result."""
    config, circuit, deep, cost, engine = task
    return audit(
        circuit,
        cost,
        deep=deep,
        samples=config.samples,
        seed=config.seed,
        engine=engine,
        numeric_qubits=config.numeric_qubits,
    )


def lie(
    ansatz: Sequence[str] = ("original", "dense", "sparse"),
    qubits: Sequence[int] = (2, 3, 4, 5, 6),
    layers: Sequence[int] = (2,),
    cost=("local",),
    *,
    deep_layers: int = 50,
    samples: int = 500,
    seed: int = 0,
    sparse_pattern: str = "brickwall",
    sparse_density: float = 0.5,
    circuit=None,
    data_params=None,
    numeric_qubits: int = 8,
    progress: bool = False,
    executor: str = "local",
    jobs: int = 1,
    address: str | None = None,
) -> Result:
    """Audit every (ansatz, n_qubits, n_layers) for every cost (a name or several): dead and
    redundant parameters, DLA, predicted vs sampled cost variance at ``deep_layers``.

    ``cost``: one cost or several, each a name, a Pauli sum (``"Z0 Z1 + 0.5 X0"``), ``@FILE``
    (:func:`bpdiag.circuits.cost_terms`), a PennyLane operator or a Qiskit ``SparsePauliOp``.
    ``circuit``: your circuit instead of ``ansatz`` (a spec string, a family ``(n_qubits,
    n_layers) -> circuit`` or one circuit object; :mod:`bpdiag.frontends`), with
    ``data_params`` naming its data inputs; a fixed circuit is audited at its own size and is
    its own deep circuit. ``numeric_qubits``: the statevector numerics (QFI rank, effective
    dimension, engine-gradient check of the dead verdicts, sampled variance) run for n up to this
    (at most :data:`STATEVECTOR_MAX_QUBITS`); above it they are NaN ("not computed") while the
    dead parameters (light cones), the DLA (classification) and the predicted variance are
    computed at every n.

    Returns a :class:`~bpdiag.analyses._common.Result`: ``.table`` has one row per circuit,
    columns :data:`COLUMNS` (variances are of the dimensionless cost, over parameters);
    ``.tables["params"]`` one row per parameter, columns :data:`PARAM_COLUMNS` (with
    ``circuit=``, a ``label`` column after ``param``: the frontend's parameter names); ``.meta``
    the config, per-circuit details (DLA components, readable ``verdict``, timings, in grid
    order) under ``"circuits"``, and :data:`UNITS`.

    ``executor``, ``jobs``, ``address``: where the (circuit, cost) audits run, one task each
    (``"local"``: this process, or ``jobs`` worker processes; ``"dask"``: the scheduler at
    ``address``; :func:`bpdiag.analyses._common.run_grid`); the tables are the same on every
    executor.
    """
    from bpdiag.engines._convert import as_costs

    config = LieConfig(
        tuple(ansatz),
        tuple(qubits),
        tuple(layers),
        as_costs(cost),
        int(deep_layers),
        int(samples),
        int(seed),
        sparse_pattern,
        float(sparse_density),
        circuit,
        data_params,
        int(numeric_qubits),
    )
    points = [(a, n, L) for a in config.ansatz for n in config.qubits for L in config.layers]
    circuits = {p: config.circuit_at(*p) for p in points}
    deeps = {(a, n): config.deep(a, n) for a, n, _ in points}
    every = list(circuits.values()) + list(deeps.values())
    every = [c for c in every if c.n_qubits <= config.numeric_qubits]
    engine = None
    if every:
        engine = SharedEngine(every + [b for c in every for b in basis_circuits(c, config.cost)])
    columns = PARAM_COLUMNS
    if config.circuit is not None:
        columns = PARAM_COLUMNS[:5] + ["label"] + PARAM_COLUMNS[5:]
    rows, prows, details = [], [], []
    todo = [(p, c) for p in points for c in config.cost]
    shipped = portable(config)
    tasks = [(shipped, circuits[p], deeps[p[:2]], cost, engine) for p, cost in todo]
    costs = [point_cost(p[1], config.deep_layers, config.samples) for p, _ in todo]
    audited: dict[int, tuple] = {}
    bar = tqdm(total=len(todo), desc="lie", unit="circuit", disable=not progress, leave=False)

    def arrived(i: int, out) -> None:
        audited[i] = out
        bar.update(1)

    try:
        run_grid(
            _audit_point, tasks, arrived, cost=costs, executor=executor, jobs=jobs, address=address
        )
    finally:
        bar.close()
    for i, ((a, n, L), cost) in enumerate(todo):  # in grid order, whatever the arrival order
        c = circuits[(a, n, L)]
        params, summary, det = audited[i]
        labels = c.info("param_labels")
        if config.circuit is not None:
            for r in params:
                r["label"] = labels[r["param"]] if labels else f"p[{r['param']}]"
        if config.fixed:
            summary["deep_layers"] = L  # the fixed circuit is its own deep circuit
        coords = {"ansatz": a, "n_qubits": n, "n_layers": L}
        prows.extend(coords | {"cost": cost} | r for r in params)
        row = coords | summary
        rows.append(row)
        text = verdict(row, params)
        if config.fixed:
            text += (
                "\n  (a fixed circuit is its own deep circuit: the prediction assumes it is deep "
                "enough to be a 2-design; pass a family to vary the depth)"
            )
        details.append(coords | det | {"verdict": text})
    meta = {"analysis": "lie", "config": asdict(config), "circuits": details, "units": UNITS}
    return Result(
        pd.DataFrame(rows, columns=COLUMNS),
        meta,
        {"params": pd.DataFrame(prows, columns=columns)},
    )
