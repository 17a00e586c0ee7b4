"""Gradient variance Var[dC/dtheta] over random parameters (McClean et al. 2018).

For each grid point (ansatz, n_qubits, n_layers) we draw ``samples`` parameter vectors (and, for
circuits with data gates, data angles uniform in [-pi, pi)), compute the derivative of every cost
with respect to the chosen parameter, and report its sample mean and variance with standard
errors. One forward pass serves every cost. Single-parameter derivatives use the parameter-shift
rule on the gate angles (two forward runs, no reverse pass); ``param="all"`` uses the adjoint
gradient of all parameters and averages the per-parameter variances into the main row, and keeps
every parameter's own variance in a per-parameter table (``Result.tables["params"]``,
:data:`PARAM_COLUMNS`). ``param`` is also an index (in the circuit's own parameter order) or a
label (``"weights[1,0,2]"``, recorded by :mod:`bpdiag.frontends`; ``"θ[k]"`` otherwise).

This module orchestrates the variance family: the exact method (:mod:`bpdiag.analyses.exact`),
shot noise (:mod:`bpdiag.analyses.shots`) and noise (:mod:`bpdiag.analyses.noise`) are called
from here and never import it. :func:`variance` returns a :class:`~bpdiag.analyses._common.Result`;
finished points go to the ``sink`` the caller passes (an on-disk
:class:`bpdiag.results.CsvSink` for ``--resume``), never to a file opened here.

Each point draws its randomness from ``(seed, ansatz, n_qubits, n_layers)`` only, so its numbers do
not depend on the rest of the grid; identity padding and register embedding (used to compile one
program for many points) leave every amplitude unchanged.

>>> res = variance(qubits=(2, 3), layers=(2,), ansatz=("dense",), cost=("global",), samples=50)
>>> list(res.table.columns[:5])
['ansatz', 'cost', 'n_qubits', 'n_layers', 'param']
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from bpdiag._resources import (
    COMPILE,
    COMPILE_ADJOINT,
    MAX_GRID,
    MAX_LAYERS,
    MAX_SAMPLES,
    MAX_SHOTS,
    amplitudes,
    as_axes,
    available_memory,
    check_size,
    human_bytes,
    plan_chunk,
    point_seed,
    process_baseline,
)
from bpdiag.analyses import exact as _exact
from bpdiag.analyses import exact_mps as _mps
from bpdiag.analyses import noise as _noise
from bpdiag.analyses import shots as _shots
from bpdiag.analyses._common import (  # noqa: F401  (draw, haar_variance: public here too)
    PARAM_NAMES,
    ZERO_FACTOR,
    MemorySink,
    Result,
    Sink,
    as_param_index,
    draw,
    haar_variance,
    param_index,
    param_labels,
    parse_init,
    point_cost,
    portable,
    run_grid,
    structural_zero,
    summarize,
    weighted_line_fit,
)
from bpdiag.circuits import ANSATZE, Circuit, build, layer_of
from bpdiag.circuits.observables import check_cost, is_diagonal
from bpdiag.circuits.transforms import identity_blocks
from bpdiag.engines import _convert
from bpdiag.engines._batch import batched, bytes_per_row, capacity, combine_shifts, shifted_angles
from bpdiag.engines._observe import DEFAULT_METHOD, basis_circuits, measured, n_flips
from bpdiag.engines._program import Program, gate_kernels, lower

PARAMS = PARAM_NAMES  # and any index or label (bpdiag.analyses._common.param_index)
#: Exact rows: ``exact_backend`` (dense | mps), ``chi`` (bond dimension of the MPS value; empty
#: for dense), ``var_rel_change`` (relative change of var when chi was last doubled; 0 when
#: nothing was truncated), ``var_lo``/``var_hi`` (proved bounds, empty where none is proved)
#: and ``bound`` (``exact``, ``exact+dropped``: negligible pair chains skipped with their proved
#: bound, or ``none``: converged in chi only). Empty on sampled rows.
EXACT_FIELDS = ["exact_backend", "chi", "var_rel_change", "var_lo", "var_hi", "bound"]
ENGINES = ("jax", "pennylane", "fast")
COLUMNS = [
    "ansatz",
    "cost",
    "n_qubits",
    "n_layers",
    "param",
    "samples",
    "mean",
    "mean_se",
    "var",
    "var_se",
    "log2_var",
    *_noise.NOISE_COLUMNS,
    # the exact method and shot noise (issue 11)
    "method",
    *_shots.SHOT_FIELDS,
    # the exact method's backend and its convergence in bond dimension (issue 17)
    *EXACT_FIELDS,
]
KEY = ["ansatz", "cost", "n_qubits", "n_layers", "param", *_noise.NOISE_COLUMNS, "method"]
#: The per-parameter table of ``param="all"`` (``Result.tables["params"]``): one row per
#: (point, cost, method, parameter). ``param`` is the index in the circuit's parameter order;
#: ``layer`` is empty when the circuit records no layers; ``wire``/``gate`` list every gate the
#: parameter drives (``"0-1"``, ``"RY"``); ``dead`` is :func:`dead_params`'s sampled verdict.
PARAM_COLUMNS = [
    "ansatz",
    "cost",
    "n_qubits",
    "n_layers",
    *_noise.NOISE_COLUMNS,
    "method",
    "param",
    "label",
    "layer",
    "wire",
    "gate",
    "samples",
    "var",
    "var_se",
    "dead",
]
PARAM_KEY = ["ansatz", "cost", "n_qubits", "n_layers", *_noise.NOISE_COLUMNS, "method", "param"]
#: |dC/dtheta| at or below this (for every sample) counts as zero: :func:`dead_params`.
DEAD_TOL = 1e-12
#: The columns that identify a grid point (its rows, one per cost and method, finish together).
POINT = ["ansatz", "n_qubits", "n_layers", *_noise.NOISE_COLUMNS]
UNITS = {"mean": "1/rad", "var": "1/rad^2", "b": "log2(var) per qubit"}
NOISE_UNITS = {
    "var": "1/rad^2",
    "noise_strength": "probability (depolarizing, dephasing) or damping rate",
    "rate": "log2(var) lost per layer",
}
#: From this register size on, the gates before a shifted gate run once for both shifts.
_SHARED_PREFIX_FROM = 12
#: Register size shared by every small circuit, so one compiled program serves n = 1..8.
_SMALL_REGISTER = 8


@dataclass(frozen=True)
class VarianceConfig:
    """Everything that determines a variance run's numbers (written to the JSON)."""

    qubits: tuple[int, ...] = tuple(range(2, 9))
    layers: tuple[int, ...] = (1, 2, 5, 10, 20, 50)
    ansatz: tuple[str, ...] = ("dense",)
    cost: tuple[str, ...] = ("global", "local")
    samples: int = 200
    param: str | int = "middle"  # a name of PARAMS, an index or a label
    init: str = "uniform"
    seed: int = 0
    engine: str = "jax"
    device: str = "default.qubit"
    dtype: str = "complex128"
    sparse_pattern: str = "brickwall"
    sparse_density: float = 0.5
    memory_budget: float | None = field(default=None, compare=False)
    noise: str = "none"  # e.g. "depolarizing:0.01,0.05" (bpdiag.analyses.noise)
    noise_where: str = "gate"
    method: tuple[str, ...] = ("sample",)  # "sample" and/or "exact" (bpdiag.analyses.exact)
    shots: int | None = None  # parameter-shift shots per circuit: report shot noise
    mcclean_axes: str = "average"  # exact method: average McClean's random axes, or "fixed"
    exact_backend: str = "auto"  # exact method: dense | mps | auto (bpdiag.analyses.exact_mps)
    exact_tol: float = 1e-3  # mps: double chi until var changes by at most this (relative)
    exact_chi: int = 16  # mps: the first bond dimension
    circuit: object = None  # a circuit spec (bpdiag.frontends): replaces ansatz
    data_params: object = None  # which of the circuit's parameters are data inputs

    def __post_init__(self) -> None:
        as_axes(self, ("qubits", "layers", "ansatz", "cost"))
        if self.circuit is not None:
            _use_circuit(self)
        if min(self.qubits) < 1:
            raise ValueError(f"n_qubits must be >= 1, got {min(self.qubits)}")
        if min(self.layers) < 1:
            raise ValueError(f"n_layers must be >= 1, got {min(self.layers)}")
        _check_sizes(self)
        for a in self.ansatz if self.circuit is None else ():
            if a not in ANSATZE:
                raise ValueError(f"unknown ansatz {a!r}; choose from {', '.join(ANSATZE)}")
        for c in self.cost:  # names, Pauli sums, @FILE (bpdiag.circuits.cost_terms)
            check_cost(c, min(self.qubits))
        if self.samples < 2:
            raise ValueError(f"samples must be >= 2, got {self.samples}")
        _check_param(self)
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if self.dtype not in ("complex128", "complex64"):
            raise ValueError(f"dtype must be complex128 or complex64, got {self.dtype!r}")
        parse_init(self.init)
        _noise.check_config(self)
        _check_method(self)


def _check_param(config: VarianceConfig) -> None:
    """``param``: a name of :data:`PARAMS`, an index (an int or a string of digits, kept as an
    int) or a non-empty label (looked up in every circuit before anything runs)."""
    param = config.param
    if isinstance(param, str) and param in PARAMS:
        return
    k = as_param_index(param)
    if k is not None:
        if k < 0:
            raise ValueError(f"parameter index {k} is out of range: indices start at 0")
        object.__setattr__(config, "param", k)
    elif not isinstance(param, str) or not param.strip():
        raise ValueError(
            f"param must be one of {', '.join(PARAMS)}, an index or a label, got {param!r}"
        )


def _draw_param(config: VarianceConfig) -> str:
    """The ``param`` that seeds a point's draws: an index or a label shares ``"all"``'s draws, so
    its row equals that parameter's row of the per-parameter table."""
    return config.param if isinstance(config.param, str) and config.param in PARAMS else "all"


def _check_sizes(config: VarianceConfig) -> None:
    """Bound every size before anything is built: layers, samples, shots, grid points, and the
    statevector of the largest register against the memory budget (``MemoryError``, one line,
    sizes as ``2^n amplitudes``)."""
    check_size("n_layers", max(config.layers), MAX_LAYERS)
    check_size("samples", config.samples, MAX_SAMPLES)
    if isinstance(config.shots, (int, float)) and not isinstance(config.shots, bool):
        check_size("shots", config.shots, MAX_SHOTS)
    points = len(config.qubits) * len(config.layers) * len(config.ansatz)
    check_size("grid points (qubits x layers x ansatze)", points, MAX_GRID)
    n = max(config.qubits)
    budget = _budget(config)
    itemsize = 8 if config.dtype == "complex64" else 16
    method = config.method if not isinstance(config.method, str) else (config.method,)
    if set(method) <= {"exact"}:
        return  # no statevector: the exact backends check their own memory
    if n + math.log2(itemsize) > math.log2(budget):
        raise MemoryError(
            f"a {n}-qubit statevector ({amplitudes(n)}) needs about "
            f"{human_bytes(2**n * itemsize)} but only {human_bytes(budget)} is available"
        )


def _budget(config: VarianceConfig) -> float:
    """Bytes a run may use: ``memory_budget``, else half the memory available now."""
    return 0.5 * available_memory() if config.memory_budget is None else config.memory_budget


def estimate_memory(config: VarianceConfig) -> dict:
    """Predicted peak memory of the run's largest point on the JAX engine, in bytes.

    Returns ``{"peak", "baseline", "observables", "gradients"}``: ``peak`` is the process
    baseline (resident now, the JAX runtime if not loaded yet, the compiler's working memory,
    more for the adjoint program of ``param="all"``; :func:`bpdiag._resources.process_baseline`)
    plus the larger of the two transient peaks:
    building the cost diagonals (the sign table ``z_signs``, int64/float64[2**n, n] and its
    temporaries: about ``2**n * (24 n + 16 k)`` bytes for k costs, plus ``16 M`` per amplitude
    for the M flip masks of each non-diagonal cost: :func:`bpdiag.engines._observe.pauli_table`)
    and the gradient batches
    (statevector copies alive at once, measured per path on CPU: parameter shift with a shared
    prefix 4 + 5 per sample of a batch; plain parameter shift 8 per row; adjoint 36 + 7 per
    row). Raises ``MemoryError`` (one line) when not even one row fits the budget."""
    n = max(config.qubits)
    k = len(config.cost)
    state = bytes_per_row(n, config.dtype, 1)
    diag = all(c == "projector" for c in config.cost)
    obs = 2**n * 8 * (k + 1) if diag else 2**n * (24 * n + 16 * k)
    obs += 2**n * 16 * sum(n_flips(c, n) for c in config.cost)
    S, budget = config.samples, config.memory_budget
    what = f"a {n}-qubit statevector"
    if config.param == "all":
        rows = plan_chunk(S, _bytes_per_row(n, config.dtype, True), what=what, budget=budget)
        grad = state * (36 + 7 * rows)
    else:
        row = _bytes_per_row(n, config.dtype, False)
        chunk = min(plan_chunk(2 * S, row, what=what, budget=budget), 2 * S)
        if n >= _SHARED_PREFIX_FROM:
            grad = state * (4 + 5 * max(1, chunk // 3))
        else:
            grad = state * 8 * chunk
    base = process_baseline()
    if config.param == "all":  # the adjoint program's compiler needs more than a shift pair's
        base += COMPILE_ADJOINT - COMPILE
    return {"peak": base + max(obs, grad), "baseline": base, "observables": obs, "gradients": grad}


def _check_memory(config: VarianceConfig) -> None:
    """The pre-run check: the largest point's transient peak must fit the budget."""
    n = max(config.qubits)
    if config.engine != "jax":
        return
    est = estimate_memory(config)
    need = max(est["observables"], est["gradients"])
    budget = _budget(config)
    if need > budget:
        part = "building its cost diagonals" if est["observables"] >= need else "its gradients"
        raise MemoryError(
            f"a {n}-qubit point ({amplitudes(n)}) needs about {human_bytes(need)} for "
            f"{part} but only {human_bytes(budget)} is available"
        )


def _check_method(config: VarianceConfig) -> None:
    """Validate (and normalise) the ``method``, ``shots`` and ``mcclean_axes`` fields."""
    method = config.method
    if isinstance(method, str):
        method = tuple(m.strip() for m in method.split(",") if m.strip())
    method = tuple(dict.fromkeys(method))
    if not method or any(m not in _exact.METHODS for m in method):
        raise ValueError(f"method must be sample and/or exact, got {config.method!r}")
    object.__setattr__(config, "method", method)
    shots = config.shots
    if shots is not None:
        if int(shots) != shots or shots < 1:
            raise ValueError(f"shots must be an integer >= 1, got {shots}")
        object.__setattr__(config, "shots", int(shots))
    _mps.pick_backend(config.exact_backend, 1)
    if not 0 < config.exact_tol < 1:
        raise ValueError(f"exact tol must be in (0, 1), got {config.exact_tol}")
    if int(config.exact_chi) != config.exact_chi or not 1 <= config.exact_chi <= 4096:
        raise ValueError(f"exact chi must be an integer in [1, 4096], got {config.exact_chi}")
    if config.mcclean_axes not in ("average", "fixed"):
        raise ValueError(f"mcclean_axes must be 'average' or 'fixed', got {config.mcclean_axes!r}")
    noisy = config.noise not in ("none", "", None)
    if noisy and "exact" in method:
        raise ValueError(
            "the exact method is for noiseless circuits; drop --noise or use --method sample"
        )
    if noisy and shots:
        raise ValueError("--shots models noiseless circuits; drop --noise or --shots")


def _use_circuit(config: VarianceConfig) -> None:
    """Resolve ``config.circuit`` into its family (:func:`bpdiag.frontends.attach_family`);
    ``circuit`` becomes the family's label too (the table's ``ansatz`` column)."""
    from bpdiag.frontends import attach_family

    family = attach_family(config)
    object.__setattr__(config, "circuit", family.label)


def circuit_for(config: VarianceConfig, ansatz: str, n: int, layers: int) -> Circuit:
    """The circuit of one grid point (``config.circuit``'s family when one is given)."""
    opts = {}
    if ansatz == "sparse":
        opts = {"pattern": config.sparse_pattern, "density": config.sparse_density}
    if config.circuit is not None:
        circuit = config._family(n, layers)
    else:
        circuit = build(ansatz, n, layers, seed=config.seed, **opts)
    kind, block = parse_init(config.init)
    if kind == "identity-blocks":
        circuit = identity_blocks(circuit, int(block))
    return circuit


# ---------------------------------------------------------------------------------------------
# Engines


def _bytes_per_row(n_register: int, dtype: str, adjoint: bool) -> float:
    return bytes_per_row(n_register, dtype, 14 if adjoint else 8)


def _jax_gradients(
    config: VarianceConfig,
    circuit: Circuit,
    params,
    x,
    costs,
    *,
    n_register,
    capacity,
    kernels,
    which=None,
) -> np.ndarray:
    """Derivatives float[samples, n_diff, k] of every cost, by the JAX engine."""
    import jax.numpy as jnp  # heavy (JAX): loaded when a point runs, not on import

    from bpdiag.engines import jax as je

    prog_np = lower(circuit, kernels=kernels, n_register=n_register, n_gates=capacity)
    prog = Program(*(jnp.asarray(t) for t in prog_np))
    # Diagonal costs: their diagonals; others: flips and diagonals (bpdiag.engines._observe)
    obs, masks = je.observables_for(costs, circuit.n_qubits, n_register)
    which = param_index(circuit, config.param) if which is None else which
    S = params.shape[0]
    what = f"{circuit.name} on {circuit.n_qubits} qubits"
    if config.param == "all":
        f = je.jitted("jac_params", kernels, n_register, config.dtype, masks)
        row = _bytes_per_row(n_register, config.dtype, True)
        chunk = plan_chunk(S, row, what=what, budget=config.memory_budget)
        # Unpadded: the last chunk keeps its own size (as the adjoint runs always have).
        jac = batched(lambda p, d: f(prog, p, d, obs), params, x, chunk=chunk, pad=False)
        return jac[:, which, :]
    # Parameter shift on the gate angles: d/dp = sum_g coef_g [f(t_g + pi/2) - f(t_g - pi/2)] / 2
    angles = params @ prog_np.pm + x @ prog_np.dm + prog_np.const
    p = which[0]
    gates = np.nonzero(prog_np.pm[p])[0]
    coefs = prog_np.pm[p, gates]
    f = je.jitted("angles", kernels, n_register, config.dtype, masks)
    # Only the gate tables enter the compiled function: keep pm/dm out so that shapes (and the
    # compiled program) are shared by every point of this register.
    empty = jnp.zeros((0, capacity))
    prog = prog._replace(pm=empty, dm=empty)
    row = _bytes_per_row(n_register, config.dtype, False)
    chunk = plan_chunk(len(gates) * 2 * S, row, what=what, budget=config.memory_budget)
    chunk = min(chunk, 2 * S)  # one shape per point size: at most one compile per register
    if n_register >= _SHARED_PREFIX_FROM and len(gates) == 1:
        args = (kernels, n_register, config, circuit.n_gates, chunk // 3, masks)
        return _shift_shared_prefix(prog, angles, int(gates[0]), coefs, obs, *args)
    rows = shifted_angles(angles, gates)
    values = batched(lambda b: f(prog, b, obs, circuit.n_gates), rows, chunk=chunk)
    return combine_shifts(values, coefs)[:, None, :]


def _shift_shared_prefix(
    prog, angles, g, coefs, obs, kernels, n_register, config, n_gates, chunk, masks=()
):
    """Parameter shift on gate g with the gates before it run once per sample (1.5 circuit
    passes per sample instead of 2): for large registers, where every pass is memory-bound."""
    import jax.numpy as jnp

    from bpdiag.engines import jax as je

    f = je.jitted("segment", kernels, n_register, config.dtype, masks)
    chunk = max(1, chunk)

    def run(block):
        zero = jnp.zeros((chunk, 2**n_register), dtype=je.DTYPES[config.dtype]).at[:, 0].set(1)
        mid, _ = f(prog, block, zero, 0, g, obs)
        rows = shifted_angles(block, [g])  # (sign, sample): chunk rows each
        values = [np.asarray(f(prog, r, mid, g, n_gates, obs)[1]) for r in np.split(rows, 2)]
        return combine_shifts(np.concatenate(values), coefs)

    return batched(run, angles, chunk=chunk)[:, None, :]


def _fast_gradients(config: VarianceConfig, circuit: Circuit, params, x, costs, which):
    """Derivatives float[samples, n_diff, k] of every cost, by the fused CPU engine
    (:mod:`bpdiag.engines.fast`): ``param="all"`` by one forward and one adjoint sweep per
    sample and cost, one parameter by its shift pair."""
    from bpdiag.engines import fast as fe  # numba: loaded when a point runs

    if config.param == "all":
        return fe.gradient(circuit, params, x, costs=costs, dtype=config.dtype)[:, which, :]
    g = fe.shift_gradient(circuit, params, x, param=which[0], costs=costs, dtype=config.dtype)
    return g[:, None, :]


def _pennylane_gradients(config: VarianceConfig, circuit: Circuit, params, x, costs):
    from bpdiag.engines import pennylane as pe  # heavy: PennyLane

    which = param_index(circuit, config.param)
    g = pe.gradient(
        circuit, params, x if circuit.n_data else None, costs=costs, device=config.device
    )
    return g[:, which, :]


def _cost_gradients(costs, circuit: Circuit, grad_fn, method: str | None = None) -> np.ndarray:
    """Derivatives float[samples, n_diff, k] of every cost: the diagonal ones in one
    ``grad_fn(circuit, costs)`` call (their own code path); the others in the same call
    (``method="direct"``, the default: Pauli strings applied to the final state) or each as the
    sum over its basis-changed groups (``"rotate"``: :func:`bpdiag.engines._observe.measured`).
    """
    n = circuit.n_qubits
    method = DEFAULT_METHOD if method is None else method
    diag = [k for k, c in enumerate(costs) if is_diagonal(c, n)]
    if len(diag) == len(costs) or method == "direct":
        return grad_fn(circuit, tuple(costs))
    parts = {}
    if diag:
        g = grad_fn(circuit, tuple(costs[k] for k in diag))
        parts.update({k: g[..., j] for j, k in enumerate(diag)})
    for k, c in enumerate(costs):
        if k not in parts:
            parts[k] = sum(grad_fn(cg, (d,))[..., 0] for cg, d in measured(circuit, c)[1])
    return np.stack([parts[k] for k in range(len(costs))], axis=-1)


def _register_for(n: int, grid_max: int) -> int:
    return max(n, min(_SMALL_REGISTER, grid_max)) if n <= _SMALL_REGISTER else n


# ---------------------------------------------------------------------------------------------
# Rows of one point


def _exact_one(config: VarianceConfig, circuit: Circuit, cost: str, param) -> dict:
    """One exact result on the configured backend (``auto``: dense for small n), with the
    :data:`EXACT_FIELDS` and ``log2_var`` filled in."""
    axes = "auto" if config.mcclean_axes == "average" else "fixed"
    backend = _mps.pick_backend(config.exact_backend, circuit.n_qubits)
    opts = dict(param=param, init=config.init, axes=axes, memory_budget=config.memory_budget)
    if backend == "mps":
        if config.shots:
            raise ValueError("exact shot noise needs --exact-backend dense; drop --shots")
        m = _mps.mps_moments(circuit, cost, tol=config.exact_tol, chi=config.exact_chi, **opts)
        return m | {"exact_backend": "mps"}
    grouped = bool(config.shots) and not is_diagonal(cost, circuit.n_qubits)
    m = _exact.exact_moments(circuit, cost, shots=bool(config.shots) and not grouped, **opts)
    if grouped:  # one basis-rotated circuit per commuting group (bpdiag.analyses.shots)
        m["shot1"] = _exact_group_shot1(circuit, cost, opts)
    var, dropped = m["var"], m["dropped"]
    return m | {
        "exact_backend": "dense",
        "log2_var": math.log2(var) if var > 0 else float("-inf"),
        "chi": float("nan"),
        "var_rel_change": 0.0,
        "var_lo": max(var - dropped, 0.0),
        "var_hi": var + dropped,
        "bound": "exact+dropped" if dropped > 0 else "exact",
    }


def _exact_frame(config: VarianceConfig, circuit: Circuit, a: str, n: int, L: int, nz):
    """Exact rows (one per cost) of a grid point: ``samples`` 0 and standard errors 0; the
    backend's fields (:data:`EXACT_FIELDS`) and its light cone, routing and work in
    ``info`` (for the run's timing records)."""
    rows, info = [], []
    for cost in config.cost:
        m = _exact_one(config, circuit, cost, config.param)
        var = m["var"]
        row = {"ansatz": a, "cost": cost, "n_qubits": n, "n_layers": L, "param": config.param}
        row |= {"samples": 0, "mean": m["mean"], "mean_se": 0.0, "var": var, "var_se": 0.0}
        row["log2_var"] = m["log2_var"]
        row |= {"noise": nz.kind, "noise_strength": nz.strength, "noise_where": nz.where}
        row["method"] = "exact"
        if config.shots:
            row |= _shots.exact_columns(m["shot1"], var, int(config.shots))
        else:
            row |= {c: float("nan") for c in _shots.SHOT_FIELDS}
        row |= {c: m[c] for c in EXACT_FIELDS}
        rows.append(row)
        keys = ("exact_backend", "chi", "cone_qubits", "swaps", "work", "peak")
        info.append({"cost": cost} | {k: m[k] for k in keys if k in m})
    return pd.DataFrame(rows, columns=COLUMNS), info


def _exact_group_shot1(circuit: Circuit, cost, opts: dict) -> float:
    """The exact ``s1`` of a non-diagonal cost measured group by group, as
    :func:`bpdiag.analyses.shots.sampled_shots` measures it (each qubit-wise commuting group with
    its own N shots): the sum over the groups of each group's ``s1``, each the exact ``s1`` of the
    group's Z strings on its basis-changed circuit (:func:`bpdiag.engines._observe.measured`;
    the groups' estimates are independent, so their shot variances add)."""
    parts = measured(circuit, cost)[1]
    return float(sum(_exact.exact_moments(cg, z, shots=True, **opts)["shot1"] for cg, z in parts))


def _point_shots(config: VarianceConfig, circuit: Circuit, params, x, a: str, n: int, L: int):
    """:func:`bpdiag.analyses.shots.sampled_shots` for one sampled grid point (seeded from it)."""
    key = (config.seed, a, n, L, _draw_param(config), config.init, "shots", config.shots)
    return _shots.sampled_shots(
        circuit,
        params,
        x,
        tuple(config.cost),
        param_index(circuit, config.param),
        int(config.shots),
        np.random.default_rng(point_seed(*key)),
        dtype=config.dtype,
        memory_budget=config.memory_budget,
    )


# ---------------------------------------------------------------------------------------------
# The analysis


def _points(config: VarianceConfig) -> list[tuple]:
    """(ansatz, n, L, noise model) for every grid point; noise models vary fastest."""
    models = _noise.check_config(config)
    grid = [(a, n, L) for a in config.ansatz for n in config.qubits for L in config.layers]
    return [(a, n, L, m) for a, n, L in grid for m in models]


def _sample_frame(config, circuit, a, n, L, nz, grads, shot) -> pd.DataFrame:
    rows = []
    for k, c in enumerate(config.cost):
        row = {"ansatz": a, "cost": c, "n_qubits": n, "n_layers": L, "param": config.param}
        row["samples"] = config.samples
        row.update(summarize(grads[:, :, k]))
        row.update(noise=nz.kind, noise_strength=nz.strength, noise_where=nz.where)
        row["method"] = "sample"
        if shot is not None:
            row.update(_shots.shot_columns(shot, k, row["var"], config.shots))
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def _run_grid(
    config: VarianceConfig,
    sink: Sink,
    progress: bool,
    params_sink: Sink | None = None,
    *,
    executor: str = "local",
    jobs: int = 1,
    address: str | None = None,
) -> list[dict]:
    """Compute every point not yet in ``sink`` (and, for ``param="all"``, ``params_sink``) and
    append its rows as it finishes; returns the timings, in grid order. Each point is one task
    of :func:`~bpdiag.analyses._common.run_grid` (:func:`_point`), on ``executor``. A point's
    per-parameter rows go first, so a point the main sink holds is in ``params_sink`` too."""
    done = sink.done()
    pdone = {k[:-1] for k in params_sink.done()} if params_sink is not None else set()
    points = _points(config)
    grid_max = max(config.qubits)
    # Validate memory for the largest point before any work.
    if config.engine == "jax" and "sample" in config.method:
        _check_memory(config)
    _noise.check_memory(config, [p[3] for p in points], grid_max)
    # One compiled program per register: padded gate capacity and the union of wire kernels.
    gates: dict[int, int] = {}
    kernels: dict[int, set] = {}
    for a, n, L, _ in points:
        N = _register_for(n, grid_max)
        c = circuit_for(config, a, n, L)
        param_index(c, config.param)  # an index out of range or an unknown label: before any work
        rotated = basis_circuits(c, config.cost) if DEFAULT_METHOD == "rotate" else ()
        for cc in (c, *rotated):  # the basis changes of non-diagonal costs, when rotated
            gates[N] = max(gates.get(N, 0), cc.n_gates)
            kernels.setdefault(N, set()).update(gate_kernels(cc))
    caps = {N: capacity(G) for N, G in gates.items()}
    density_caps = functools.cache(
        lambda n, model: _noise.grid_capacity(
            [circuit_for(config, a, n, L) for a in config.ansatz for L in config.layers], model
        )
    )
    shipped = portable(config)
    tasks, costs = [], []
    for a, n, L, nz in points:
        todo = {}  # method -> (main rows needed, per-parameter rows needed)
        for m in config.method:
            keys = {(a, c, n, L, *nz.key, m) for c in config.cost}
            main = not {(*k[:4], config.param, *k[4:]) for k in keys} <= done
            todo[m] = (main, params_sink is not None and not keys <= pdone)
        if not any(any(v) for v in todo.values()):
            continue
        N = _register_for(n, grid_max)
        engine = {"n_register": N, "capacity": caps[N], "kernels": tuple(sorted(kernels[N]))}
        if nz.kind != "none" and any(todo.get("sample", ())):
            engine["density"] = density_caps(n, nz)
        tasks.append((shipped, circuit_for(config, a, n, L), (a, n, L, nz), todo, engine))
        density = nz.kind != "none" or set(config.method) == {"exact"}
        costs.append(point_cost(n, L, config.samples, density=density) * len(config.cost))
    timing: dict[int, list[dict]] = {}
    bar = _progress(points, progress)
    bar.update(len(points) - len(tasks))

    def arrived(i: int, out) -> None:
        frames, times = out
        for params_rows, frame in frames:
            (params_sink if params_rows else sink).append(frame)
        timing[i] = times
        bar.update(1)

    try:
        run_grid(_point, tasks, arrived, cost=costs, executor=executor, jobs=jobs, address=address)
    finally:
        bar.close()
    return [t for i in sorted(timing) for t in timing[i]]


def _point(task) -> tuple[list[tuple[bool, pd.DataFrame]], list[dict]]:
    """One grid point, as a task of :func:`~bpdiag.analyses._common.run_grid`:
    ``task = (config, circuit, (ansatz, n, L, noise model), todo, engine)`` with ``todo`` the
    methods' (main rows needed, per-parameter rows needed) and ``engine`` the point's compiled
    program (register, gate capacity, wire kernels; ``density``: the noisy tables' capacity).
    Returns the frames to append, in order (``(True, frame)``: per-parameter rows), and the
    point's timing records (seconds)."""
    config, circuit, (a, n, L, nz), todo, engine = task
    frames, timing = [], []
    if any(todo.get("exact", ())):
        t0 = time.perf_counter()
        if todo["exact"][1]:
            frames.append((True, _exact_params_frame(config, circuit, a, n, L, nz)))
        info = []
        if todo["exact"][0]:
            frame, info = _exact_frame(config, circuit, a, n, L, nz)
            frames.append((False, frame))
        seconds = time.perf_counter() - t0
        timing.append(
            {"ansatz": a, "n_qubits": n, "n_layers": L, "method": "exact", "seconds": seconds}
        )
        if info:
            timing[-1]["exact"] = info
    if not any(todo.get("sample", ())):
        return frames, timing
    seed = point_seed(config.seed, a, n, L, _draw_param(config), config.init)
    params, x = draw(circuit, config.samples, config.init, np.random.default_rng(seed))
    t0 = time.perf_counter()
    if nz.kind != "none":  # density-matrix engine
        n_steps, n_gates = engine["density"]
        grads = _noise.gradients(config, circuit, params, x, nz, n_steps=n_steps, n_gates=n_gates)
    elif config.engine == "jax":
        opts = {k: engine[k] for k in ("n_register", "capacity", "kernels")}
        opts["which"] = param_index(circuit, config.param)  # labels: of the circuit itself

        def jax_fn(cg, costs):
            return _jax_gradients(config, cg, params, x, costs, **opts)

        grads = _cost_gradients(config.cost, circuit, jax_fn)
    elif config.engine == "fast":
        which = param_index(circuit, config.param)

        def fast_fn(cg, costs):
            return _fast_gradients(config, cg, params, x, costs, which)

        from bpdiag.engines import fast as fe  # its costs: diagonal only (PAULI_COSTS)

        method = None if fe.PAULI_COSTS else "rotate"
        grads = _cost_gradients(config.cost, circuit, fast_fn, method=method)
    else:
        grads = _pennylane_gradients(config, circuit, params, x, config.cost)
    shot = _point_shots(config, circuit, params, x, a, n, L) if config.shots else None
    seconds = time.perf_counter() - t0
    timing.append({"ansatz": a, "n_qubits": n, "n_layers": L, "seconds": seconds})
    timing[-1]["noise"] = f"{nz.label}@{nz.where}"
    if todo["sample"][1]:
        frames.append((True, _params_frame(config, circuit, a, n, L, nz, grads)))
    if todo["sample"][0]:
        frames.append((False, _sample_frame(config, circuit, a, n, L, nz, grads, shot)))
    return frames, timing


# ---------------------------------------------------------------------------------------------
# The per-parameter view (param="all")


def param_info(circuit: Circuit) -> list[dict]:
    """Where each parameter sits, in the circuit's parameter order: ``param`` (index),
    ``label`` (:func:`~bpdiag.analyses._common.param_labels`), ``layer`` (the
    :func:`bpdiag.circuits.layer_of` layer of its first gate; None when the circuit records no
    layers or the parameter drives no gate), ``wire`` (the wires of its gates, ``"0"`` or
    ``"0-1"``) and ``gate`` (their names, ``"RY"``, ``"RX+RY"`` when it drives several kinds)."""
    try:
        layers = layer_of(circuit)
    except ValueError:
        layers = None
    out = []
    for p, (label, gs) in enumerate(zip(param_labels(circuit), circuit.param_gates())):
        wires = dict.fromkeys(w for g in gs for w in circuit.wires[g])
        layer = int(layers[gs[0]]) if layers is not None and gs else None
        out.append(
            {
                "param": p,
                "label": label,
                "layer": layer,
                "wire": "-".join(str(w) for w in wires),
                "gate": "+".join(dict.fromkeys(circuit.gates[g] for g in gs)),
            }
        )
    return out


def dead_params(grads: np.ndarray, tol: float = DEAD_TOL) -> np.ndarray:
    """bool[n_params]: parameters whose derivative float[samples, n_params] is zero (``|g| <=
    tol``) for every sample.

    A *sampled* statement: these draws saw no gradient, which a parameter with a rare non-zero
    gradient can also show. The proof that a parameter is dead for every angle is structural:
    the Lie-algebra audit's structurally dead parameters (:mod:`bpdiag.analyses.lie`).
    """
    return np.all(np.abs(grads) <= tol, axis=0)


def _param_rows(config, circuit, a, n, L, nz, method: str, stats) -> pd.DataFrame:
    """Per-parameter rows of one point; ``stats(k, p) -> (samples, var, var_se, dead)``."""
    info = param_info(circuit)
    rows = []
    for k, c in enumerate(config.cost):
        for p in info:
            row = {"ansatz": a, "cost": c, "n_qubits": n, "n_layers": L}
            row |= {"noise": nz.kind, "noise_strength": nz.strength, "noise_where": nz.where}
            row |= {"method": method, **p}
            row |= dict(zip(("samples", "var", "var_se", "dead"), stats(k, p["param"])))
            rows.append(row)
    return _params_dtypes(pd.DataFrame(rows, columns=PARAM_COLUMNS))


def _params_frame(config, circuit, a, n, L, nz, grads) -> pd.DataFrame:
    """The sampled per-parameter rows: grads float[samples, n_params, k] (every parameter)."""
    dead = [dead_params(grads[:, :, k]) for k in range(grads.shape[2])]

    def stats(k, p):
        s = summarize(grads[:, [p], k])  # that parameter's variance, with its standard error
        return config.samples, s["var"], s["var_se"], bool(dead[k][p])

    return _param_rows(config, circuit, a, n, L, nz, "sample", stats)


def _exact_params_frame(config, circuit, a, n, L, nz) -> pd.DataFrame:
    """The exact per-parameter rows (:func:`bpdiag.analyses.exact.exact_moments` of each
    parameter): ``samples`` 0, ``var_se`` 0, ``dead`` when Var <= DEAD_TOL**2."""
    var = {
        (k, p): _exact_one(config, circuit, c, p)["var"]
        for k, c in enumerate(config.cost)
        for p in range(circuit.n_params)
    }

    def stats(k, p):
        return 0, var[k, p], 0.0, bool(abs(var[k, p]) <= DEAD_TOL**2)

    return _param_rows(config, circuit, a, n, L, nz, "exact", stats)


def _params_dtypes(df: pd.DataFrame) -> pd.DataFrame:
    """One set of dtypes for the per-parameter table, built or read back from a CSV."""
    return df.astype(
        {"param": "int64", "layer": "Int64", "wire": str, "gate": str, "label": str, "dead": bool}
    )


def _ordered(table: pd.DataFrame, config: VarianceConfig) -> pd.DataFrame:
    """Rows in grid order (a resumed sink holds them in the order they were finished)."""
    points = _points(config)
    order = {(*p[:3], *p[3].key): i for i, p in enumerate(points)}
    coords = ["ansatz", "n_qubits", "n_layers", *_noise.NOISE_COLUMNS]
    o = [order.get(k, -1) for k in table[coords].itertuples(index=False, name=None)]
    return table.assign(_o=o).sort_values(["_o"], kind="stable").drop(columns="_o")


def variance(
    qubits: Sequence[int] = tuple(range(2, 9)),
    layers: Sequence[int] = (1, 2, 5, 10, 20, 50),
    ansatz: Sequence[str] = ("dense",),
    cost: Sequence[str] = ("global", "local"),
    samples: int = 200,
    *,
    param: str = "middle",
    init: str = "uniform",
    seed: int = 0,
    engine: str = "jax",
    device: str = "default.qubit",
    dtype: str = "complex128",
    sink: Sink | None = None,
    params_sink: Sink | None = None,
    progress: bool = False,
    memory_budget: float | None = None,
    method: str | Sequence[str] = "sample",
    shots: int | None = None,
    executor: str = "local",
    jobs: int = 1,
    address: str | None = None,
    **options,
) -> Result:
    """Sample Var[dC/dtheta] on a grid of (ansatz, n_qubits, n_layers) for every cost.

    Returns a :class:`~bpdiag.analyses._common.Result`. ``.table``: one row per (ansatz, cost,
    n_qubits, n_layers, param, noise model, method) with the columns :data:`COLUMNS`
    (``samples, mean, mean_se, var, var_se, log2_var``, the noise coordinates, ``method`` and
    the shot columns). Costs are any :func:`bpdiag.circuits.cost_terms` input (names, Pauli
    sums such as ``"Z0 Z1 + 0.5 X2"``, ``"@FILE"``; PennyLane operators and Qiskit
    ``SparsePauliOp`` are converted to a Pauli-sum string, which the ``cost`` column holds);
    expectations are dimensionless, derivatives per radian. ``.meta``: ``config``, ``timing``
    (wall times, never in the table), ``fits`` (:func:`fit_decay` records), ``units`` and,
    with noise, ``depth_fits`` (:func:`bpdiag.analyses.noise.fit_depth_decay` records).
    ``.tables["shots"]``: the shot rows (:func:`bpdiag.analyses.shots.shot_table`) when
    ``shots`` is given.

    ``param`` picks the differentiated parameter: ``middle``, ``first``, ``last``, ``all``
    (the main row averages the per-parameter variances), an index in the circuit's parameter
    order (``7``) or a label (``"weights[1,0,2]"``: ``circuit.info("param_labels")``, else
    ``"θ[k]"``); the ``param`` column holds it as given. An index or label draws what ``"all"``
    draws, so its row equals that parameter's per-parameter row. ``param="all"`` adds
    ``.tables["params"]``: one row per (point, cost, method, parameter) with the columns
    :data:`PARAM_COLUMNS` (where each parameter sits: :func:`param_info`; its ``var``,
    ``var_se`` and the sampled ``dead`` flag: :func:`dead_params`), appended to ``params_sink``
    (default: in memory) point by point like the main table.

    Each finished point is appended to ``sink`` at once (default: a
    :class:`~bpdiag.analyses._common.MemorySink`); points whose keys (:data:`KEY`) the sink
    already holds are skipped, so a resumed on-disk sink ends equal to an uninterrupted run.
    The table is what the sink holds, in grid order.

    ``executor``: where the points run, one task each (:func:`bpdiag.analyses._common.run_grid`):
    ``"local"`` (this process; ``jobs`` > 1: that many worker processes) or ``"dask"`` (the
    scheduler at ``address``, e.g. ``"tcp://host:8786"``; without one, a local Dask cluster of
    ``jobs`` workers). Points arrive in any order and are appended as they do; the table and
    every number are the same on every executor.

    ``engine``: ``"jax"`` (the batched XLA statevector), ``"fast"`` (fused CPU kernels,
    :mod:`bpdiag.engines.fast`: one parameter by its shift pair, ``param="all"`` by one forward
    and one adjoint sweep per sample) or ``"pennylane"`` (on ``device``); noise runs on the
    density-matrix engine whatever the engine.

    ``method="exact"`` (or ``("sample", "exact")``) adds exact rows without sampling noise
    (``samples`` = 0, standard errors 0; :mod:`bpdiag.analyses.exact`); ``shots=N`` adds the
    shot-noise columns of N-shot parameter-shift gradients (:mod:`bpdiag.analyses.shots`).
    Further ``options`` are :class:`VarianceConfig` fields (``noise``, ``noise_where``,
    ``sparse_pattern``, ``sparse_density``, ``mcclean_axes``, ``circuit``, ``data_params``).

    ``circuit=`` (a spec string such as ``"pennylane:StronglyEntanglingLayers"``,
    ``"qiskit:real_amplitudes"``, ``"FILE.qasm"``, ``"FILE.py:FUNCTION"``; a callable
    ``(n_qubits, n_layers)``; or a circuit object: :mod:`bpdiag.frontends`) replaces ``ansatz``;
    the ``ansatz`` column then holds the spec string (a callable's ``__name__``). A fixed
    circuit runs at its own size only. ``data_params`` (a label prefix or a list of names) marks
    the circuit's data inputs, drawn like the encodings' data.
    """
    config = VarianceConfig(
        tuple(qubits),
        tuple(layers),
        tuple(ansatz),
        _convert.as_costs(cost),
        int(samples),
        param,
        init,
        int(seed),
        engine,
        device,
        dtype,
        memory_budget=memory_budget,
        method=method,
        shots=shots,
        **options,
    )
    sink = MemorySink(COLUMNS, KEY) if sink is None else sink
    if config.param != "all":
        params_sink = None
    elif params_sink is None:
        params_sink = MemorySink(PARAM_COLUMNS, PARAM_KEY)
    timing = _run_grid(
        config, sink, progress, params_sink, executor=executor, jobs=jobs, address=address
    )
    table = _ordered(sink.read(), config).reset_index(drop=True)
    meta = {
        "analysis": "variance",
        "config": asdict(config),
        "timing": timing,
        "fits": fit_decay(table).to_dict(orient="records"),
        "units": dict(UNITS),
        "haar": _haar_records(config),
        "zero_factor": ZERO_FACTOR,
    }
    if (table["noise"] != "none").any():
        meta["depth_fits"] = _depth_fits(table, config).to_dict(orient="records")
    tables = {}
    shot = _shots.shot_table(table)
    if shot is not None:
        tables["shots"] = shot
    if params_sink is not None:
        per = _params_dtypes(params_sink.read())
        tables["params"] = _ordered(per, config).reset_index(drop=True)
    return Result(table, meta, tables)


def _haar_records(config: VarianceConfig) -> list[dict]:
    """The Haar (2-design) variance for every n of the grid's range and every cost it has."""
    n_range = range(min(config.qubits), max(config.qubits) + 1)
    return [
        {"cost": c, "n_qubits": n, "var": haar_variance(n, c)}
        for c in config.cost
        for n in n_range
        if _fits(c, n)
    ]


def _fits(cost: str, n: int) -> bool:
    try:
        check_cost(cost, n)
    except ValueError:
        return False
    return True


def _depth_fits(table: pd.DataFrame, config: VarianceConfig, min_layers: int = 1):
    def circuit(a: str, n: int) -> Circuit:  # the channel count of a grid circuit
        return circuit_for(config, a, n, 2)

    return _noise.fit_depth_decay(table, min_layers=min_layers, circuit=circuit)


def noise_variance(
    qubits: Sequence[int] = (4,),
    layers: Sequence[int] = tuple(range(1, 13)),
    ansatz: Sequence[str] = ("dense",),
    cost: Sequence[str] = ("local",),
    samples: int = 200,
    *,
    noise: str = "depolarizing:0,0.01,0.02,0.05",
    noise_where: str = "gate",
    param: str = "middle",
    seed: int = 0,
    dtype: str = "complex128",
    min_layers: int = 1,
    sink: Sink | None = None,
    progress: bool = False,
    **options,
) -> Result:
    """Var[dC/dtheta] on a (ansatz, n_qubits, n_layers) grid for every noise model in ``noise``
    (comma-separated, e.g. ``"depolarizing:0,0.01,0.05"``), applied after every gate or layer
    (``noise_where``): the noise analysis (``bpdiag reproduce`` writes it as ``noise.csv``). It was
    ``bpdiag.analyses.noise.sweep``.

    Returns a :class:`~bpdiag.analyses._common.Result` whose table is :func:`variance`'s (with
    ``noise, noise_strength, noise_where``) and whose meta holds ``config``, ``timing``,
    ``depth_fits`` (Var = A 2**(-rate L) per model, fitted on depths >= ``min_layers``, with the
    bound of Wang et al. 2021), ``min_layers`` and ``units``. Every noise model sees the same
    parameter draws.

    With ``param="middle"`` the differentiated gate depends on the depth's parity (an RY for even
    depths, an RZ for odd ones in the dense HEA), so fit depth decays on depths of one parity.
    """
    res = variance(
        qubits,
        layers,
        ansatz,
        cost,
        samples,
        param=param,
        seed=seed,
        dtype=dtype,
        sink=sink,
        progress=progress,
        noise=noise,
        noise_where=noise_where,
        **options,
    )
    config = VarianceConfig(**res.meta["config"])
    meta = {
        "analysis": "noise",
        "config": res.meta["config"],
        "timing": res.meta["timing"],
        "depth_fits": _depth_fits(res.table, config, min_layers).to_dict(orient="records"),
        "min_layers": min_layers,
        "units": dict(NOISE_UNITS),
    }
    return Result(res.table, meta)


def _progress(points, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=len(points), desc="variance", unit="point", disable=not enabled, leave=False)


# ---------------------------------------------------------------------------------------------
# Fits


def fit_decay(df: pd.DataFrame) -> pd.DataFrame:
    """Fit Var = A * 2**(-b * n) per (ansatz, cost, n_layers, param) by weighted least squares
    on log2(var) (:func:`~bpdiag.analyses._common.weighted_line_fit`, weights from var_se);
    structural zeros (:func:`~bpdiag.analyses._common.structural_zero`: a dead parameter) are
    left out.
    Returns columns ``ansatz, cost, n_layers, param, b, b_se, log2_A, points``; b is in bits of
    variance lost per qubit. Groups with fewer than 2 positive variances are skipped."""
    out = []
    by = ["ansatz", "cost", "n_layers", "param"]
    by += [c for c in _noise.NOISE_COLUMNS if c in df]  # one fit per model
    by += [c for c in ("method",) if c in df]
    for key, g in df.groupby(by, sort=False):
        cost = key[by.index("cost")]
        g = g[(g["var"] > 0) & ~structural_zero(g["var"], g["n_qubits"], cost)]
        if g["n_qubits"].nunique() < 2:
            continue
        n = g["n_qubits"].to_numpy(float)
        var = g["var"].to_numpy(float)
        fit = weighted_line_fit(-n, np.log2(var), g["var_se"].to_numpy(float) / (var * math.log(2)))
        rec = {"b": fit["b"], "b_se": fit["b_se"], "log2_A": fit["a"], "points": int(len(n))}
        out.append(dict(zip(by, key)) | rec)
    return pd.DataFrame(out)


__all__ = [
    "COLUMNS",
    "KEY",
    "PARAM_COLUMNS",
    "PARAM_KEY",
    "dead_params",
    "param_info",
    "VarianceConfig",
    "circuit_for",
    "estimate_memory",
    "fit_decay",
    "haar_variance",
    "noise_variance",
    "summarize",
    "variance",
]
