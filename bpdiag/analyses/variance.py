"""Gradient variance Var[dC/dtheta] over random parameters (McClean et al. 2018).

For each grid point (ansatz, n_qubits, n_layers) we draw ``samples`` parameter vectors (and, for
circuits with data gates, data angles uniform in [-pi, pi)), compute the derivative of every cost
with respect to the chosen parameter, and report its sample mean and variance with standard
errors. One forward pass serves every cost. Single-parameter derivatives use the parameter-shift
rule on the gate angles (two forward runs, no reverse pass); ``param="all"`` uses the adjoint
gradient of all parameters and averages the per-parameter variances.

Each point draws its randomness from ``(seed, ansatz, n_qubits, n_layers)`` only, so its numbers do
not depend on the rest of the grid; identity padding and register embedding (used to compile one
program for many points) leave every amplitude unchanged.

>>> df = variance(qubits=(2, 3), layers=(2,), ansatz=("dense",), cost=("global",), samples=50)
>>> list(df.columns[:5])
['ansatz', 'cost', 'n_qubits', 'n_layers', 'param']
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bpdiag import results as _io
from bpdiag._resources import as_axes, plan_chunk, point_seed
from bpdiag.analyses._common import draw, haar_variance, param_index, parse_init, summarize  # noqa: F401
from bpdiag.circuits import ANSATZE, COSTS, Circuit, build, observables
from bpdiag.engines._program import gate_kernels

PARAMS = ("middle", "first", "last", "all")
ENGINES = ("jax", "pennylane")
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
    "noise",
    "noise_strength",
    "noise_where",
    # bpdiag.analyses.exact (issue 11): method, shot noise
    "method",
    "shots",
    "shot_var",
    "shot_var_se",
    "noisy_var",
    "noisy_var_se",
    "shots_needed",
]
_KEY = ["ansatz", "cost", "n_qubits", "n_layers", "param", "noise", "noise_strength", "noise_where"]
_KEY += ["method"]
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
    param: str = "middle"
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

    def __post_init__(self) -> None:
        as_axes(self, ("qubits", "layers", "ansatz", "cost"))
        if min(self.qubits) < 1:
            raise ValueError(f"n_qubits must be >= 1, got {min(self.qubits)}")
        if min(self.layers) < 1:
            raise ValueError(f"n_layers must be >= 1, got {min(self.layers)}")
        for a in self.ansatz:
            if a not in ANSATZE:
                raise ValueError(f"unknown ansatz {a!r}; choose from {', '.join(ANSATZE)}")
        for c in self.cost:
            if c not in COSTS:
                raise ValueError(f"unknown cost {c!r}; choose from {', '.join(COSTS)}")
        if "zz" in self.cost and min(self.qubits) < 2:
            raise ValueError("the zz cost needs n_qubits >= 2")
        if self.samples < 2:
            raise ValueError(f"samples must be >= 2, got {self.samples}")
        if self.param not in PARAMS:
            raise ValueError(f"param must be one of {', '.join(PARAMS)}, got {self.param!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if self.dtype not in ("complex128", "complex64"):
            raise ValueError(f"dtype must be complex128 or complex64, got {self.dtype!r}")
        parse_init(self.init)
        from bpdiag.analyses.noise import check_config

        check_config(self)
        from bpdiag.analyses.exact import check_config as check_exact

        check_exact(self)


def circuit_for(config: VarianceConfig, ansatz: str, n: int, layers: int) -> Circuit:
    """The circuit of one grid point."""
    opts = {}
    if ansatz == "sparse":
        opts = {"pattern": config.sparse_pattern, "density": config.sparse_density}
    circuit = build(ansatz, n, layers, seed=config.seed, **opts)
    kind, block = parse_init(config.init)
    if kind == "identity-blocks":
        from bpdiag.circuits.transforms import identity_blocks

        circuit = identity_blocks(circuit, int(block))
    return circuit


# ---------------------------------------------------------------------------------------------
# Engines


def _bytes_per_row(n_register: int, dtype: str, adjoint: bool) -> float:
    itemsize = 16 if dtype == "complex128" else 8
    return 2**n_register * itemsize * (14 if adjoint else 8)


def _jax_gradients(
    config: VarianceConfig, circuit: Circuit, params, x, costs, *, n_register, capacity, kernels
) -> np.ndarray:
    """Derivatives float[samples, n_diff, k] of every cost, by the JAX engine."""
    import jax.numpy as jnp

    from bpdiag.engines import jax as je
    from bpdiag.engines._program import Program, embed_observables, lower

    prog_np = lower(circuit, kernels=kernels, n_register=n_register, n_gates=capacity)
    prog = Program(*(jnp.asarray(t) for t in prog_np))
    obs = observables(costs, circuit.n_qubits)
    obs = jnp.asarray(embed_observables(obs, circuit.n_qubits, n_register))
    which = param_index(circuit, config.param)
    S = params.shape[0]
    if config.param == "all":
        f = je.jitted("jac_params", kernels, n_register, config.dtype)
        chunk = plan_chunk(
            S,
            _bytes_per_row(n_register, config.dtype, True),
            what=f"{circuit.name} on {circuit.n_qubits} qubits",
            budget=config.memory_budget,
        )
        out = [
            np.asarray(f(prog, params[i : i + chunk], x[i : i + chunk], obs))
            for i in range(0, S, chunk)
        ]
        return np.concatenate(out)[:, which, :]
    # Parameter shift on the gate angles: d/dp = sum_g coef_g [f(t_g + pi/2) - f(t_g - pi/2)] / 2
    angles = params @ prog_np.pm + x @ prog_np.dm + prog_np.const
    p = which[0]
    gates = np.nonzero(prog_np.pm[p])[0]
    rows = []
    for g in gates:
        for sign in (1, -1):
            shifted = angles.copy()
            shifted[:, g] += sign * np.pi / 2
            rows.append(shifted)
    rows = np.concatenate(rows)
    f = je.jitted("angles", kernels, n_register, config.dtype)
    # Only the gate tables enter the compiled function: keep pm/dm out so that shapes (and the
    # compiled program) are shared by every point of this register.
    empty = jnp.zeros((0, capacity))
    prog = prog._replace(pm=empty, dm=empty)
    chunk = plan_chunk(
        len(rows),
        _bytes_per_row(n_register, config.dtype, False),
        what=f"{circuit.name} on {circuit.n_qubits} qubits",
        budget=config.memory_budget,
    )
    chunk = min(chunk, 2 * S)  # one shape per point size: at most one compile per register
    if n_register >= _SHARED_PREFIX_FROM and len(gates) == 1:
        return _shift_shared_prefix(
            prog,
            angles,
            int(gates[0]),
            prog_np.pm[p, gates[0]],
            obs,
            circuit.n_gates,
            kernels,
            n_register,
            config,
            max(1, chunk // 3),
        )
    values = []
    for i in range(0, len(rows), chunk):
        block = rows[i : i + chunk]
        pad = chunk - len(block)
        if pad:
            block = np.concatenate([block, np.repeat(block[-1:], pad, axis=0)])
        res = np.asarray(f(prog, block, obs, circuit.n_gates))
        values.append(res[: chunk - pad])
    values = np.concatenate(values).reshape(len(gates), 2, S, -1)
    coef = prog_np.pm[p, gates][:, None, None]
    grad = (coef * (values[:, 0] - values[:, 1]) / 2).sum(axis=0)
    return grad[:, None, :]


def _shift_shared_prefix(prog, angles, g, coef, obs, n_gates, kernels, n_register, config, chunk):
    """Parameter shift on gate g with the gates before it run once per sample (1.5 circuit
    passes per sample instead of 2): for large registers, where every pass is memory-bound."""
    import jax.numpy as jnp

    from bpdiag.engines import jax as je

    f = je.jitted("segment", kernels, n_register, config.dtype)
    S = angles.shape[0]
    out = []
    for i in range(0, S, chunk):
        block = angles[i : i + chunk]
        pad = chunk - len(block)
        if pad:
            block = np.concatenate([block, np.repeat(block[-1:], pad, axis=0)])
        zero = jnp.zeros((chunk, 2**n_register), dtype=je.DTYPES[config.dtype]).at[:, 0].set(1)
        mid, _ = f(prog, block, zero, 0, g, obs)
        values = []
        for sign in (1, -1):
            shifted = block.copy()
            shifted[:, g] += sign * np.pi / 2
            values.append(np.asarray(f(prog, shifted, mid, g, n_gates, obs)[1]))
        out.append((coef * (values[0] - values[1]) / 2)[: chunk - pad])
    return np.concatenate(out)[:, None, :]


def _pennylane_gradients(config: VarianceConfig, circuit: Circuit, params, x, costs):
    from bpdiag.engines import pennylane as pe

    which = param_index(circuit, config.param)
    g = pe.gradient(
        circuit, params, x if circuit.n_data else None, costs=costs, device=config.device
    )
    return g[:, which, :]


def _register_for(n: int, grid_max: int) -> int:
    return max(n, min(_SMALL_REGISTER, grid_max)) if n <= _SMALL_REGISTER else n


# ---------------------------------------------------------------------------------------------
# The analysis


def _points(config: VarianceConfig) -> list[tuple]:
    """(ansatz, n, L, noise model) for every grid point; noise models vary fastest."""
    from bpdiag.analyses.noise import check_config

    models = check_config(config)
    grid = [(a, n, L) for a in config.ansatz for n in config.qubits for L in config.layers]
    return [(a, n, L, m) for a, n, L in grid for m in models]


def _done_keys(path: Path) -> set[tuple]:
    return _io.finished_keys(path, COLUMNS, _KEY, "variance")


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
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
    memory_budget: float | None = None,
    method: str | Sequence[str] = "sample",
    shots: int | None = None,
    **options,
) -> pd.DataFrame:
    """Sample Var[dC/dtheta] on a grid of (ansatz, n_qubits, n_layers) for every cost.

    Returns a tidy DataFrame, one row per (ansatz, cost, n_qubits, n_layers, param) with
    columns ``ansatz, cost, n_qubits, n_layers, param, samples, mean, mean_se, var, var_se,
    log2_var``. Costs are dimensionless expectations in [-1, 1]; derivatives are per radian.

    With ``out``, each finished point is appended to ``out/variance.csv`` at once; with
    ``resume`` the points already there are skipped (the final file equals an uninterrupted
    run's). ``df.attrs["timing"]`` holds wall times (they are never written to the CSV).

    ``method="exact"`` (or ``("sample", "exact")``) adds exact rows without sampling noise
    (``samples`` = 0, standard errors 0; :mod:`bpdiag.analyses.exact`); ``shots=N`` adds the
    shot-noise columns of N-shot parameter-shift gradients.
    """
    config = VarianceConfig(
        tuple(qubits),
        tuple(layers),
        tuple(ansatz),
        tuple(cost),
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
    path = Path(out) / "variance.csv" if out is not None else None
    if path is not None and path.exists() and not resume:
        path.unlink()
    done = _done_keys(path) if path is not None else set()
    points = _points(config)
    grid_max = max(config.qubits)
    # Validate memory for the largest point before any work.
    if config.engine == "jax":
        plan_chunk(
            1,
            _bytes_per_row(max(grid_max, 2), config.dtype, config.param == "all"),
            what=f"a {grid_max}-qubit statevector",
            budget=config.memory_budget,
        )
    from bpdiag.analyses import noise as _noise

    _noise.check_memory(config, [p[3] for p in points], grid_max)
    # One compiled program per register: padded gate capacity and the union of wire kernels.
    capacity: dict[int, int] = {}
    kernels: dict[int, set] = {}
    for a, n, L, _ in points:
        N = _register_for(n, grid_max)
        c = circuit_for(config, a, n, L)
        capacity[N] = max(capacity.get(N, 0), c.n_gates)
        kernels.setdefault(N, set()).update(gate_kernels(c))
    capacity = {N: 1 << max(4, math.ceil(math.log2(G))) for N, G in capacity.items()}
    rows, timing = [], []
    bar = _progress(points, progress)
    for a, n, L, nz in points:
        keys = {(a, c, n, L, config.param, *nz.key, m) for c in config.cost for m in config.method}
        if keys <= done:
            bar.update(1)
            continue
        circuit = circuit_for(config, a, n, L)
        if "exact" in config.method and not {k for k in keys if k[-1] == "exact"} <= done:
            from bpdiag.analyses.exact import point_frame

            frame = point_frame(config, circuit, a, n, L, nz)
            timing.append(
                {
                    "ansatz": a,
                    "n_qubits": n,
                    "n_layers": L,
                    "method": "exact",
                    "seconds": frame.attrs["seconds"],
                }
            )
            if path is not None:
                _io.append_csv(frame, path)
            rows.append(frame)
        if "sample" not in config.method or {k for k in keys if k[-1] == "sample"} <= done:
            bar.update(1)
            continue
        rng = np.random.default_rng(point_seed(config.seed, a, n, L, config.param, config.init))
        params, x = draw(circuit, config.samples, config.init, rng)
        t0 = time.perf_counter()
        if nz.kind != "none":  # density-matrix engine
            grads = _noise.gradients(config, circuit, params, x, nz)
        elif config.engine == "jax":
            N = _register_for(n, grid_max)
            grads = _jax_gradients(
                config,
                circuit,
                params,
                x,
                config.cost,
                n_register=N,
                capacity=capacity[N],
                kernels=tuple(sorted(kernels[N])),
            )
        else:
            grads = _pennylane_gradients(config, circuit, params, x, config.cost)
        shot = None
        if config.shots:
            from bpdiag.analyses.exact import sampled_shot_rows, shot_columns

            shot = sampled_shot_rows(config, circuit, params, x, a, n, L)
        seconds = time.perf_counter() - t0
        timing.append({"ansatz": a, "n_qubits": n, "n_layers": L, "seconds": seconds})
        timing[-1]["noise"] = f"{nz.label}@{nz.where}"
        point_rows = []
        for k, c in enumerate(config.cost):
            row = {"ansatz": a, "cost": c, "n_qubits": n, "n_layers": L, "param": config.param}
            row["samples"] = config.samples
            row.update(summarize(grads[:, :, k]))
            row.update(noise=nz.kind, noise_strength=nz.strength, noise_where=nz.where)
            row["method"] = "sample"
            if shot is not None:
                row.update(shot_columns(shot, k, row["var"], config.shots))
            point_rows.append(row)
        frame = pd.DataFrame(point_rows, columns=COLUMNS)
        if path is not None:
            _io.append_csv(frame, path)
        rows.append(frame)
        bar.update(1)
    bar.close()
    if path is not None:
        df = pd.read_csv(path)
        order = {(*p[:3], *p[3].key): i for i, p in enumerate(points)}
        coords = ["ansatz", "n_qubits", "n_layers", "noise", "noise_strength", "noise_where"]
        df["_o"] = [order.get(k, -1) for k in df[coords].itertuples(index=False, name=None)]
        df = df.sort_values(["_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
    else:
        df = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=COLUMNS)
    df.attrs["config"] = asdict(config)
    df.attrs["timing"] = timing
    return df


def _progress(points, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=len(points), desc="variance", unit="point", disable=not enabled, leave=False)


# ---------------------------------------------------------------------------------------------
# Fits and theory


def fit_decay(df: pd.DataFrame) -> pd.DataFrame:
    """Fit Var = A * 2**(-b * n) per (ansatz, cost, n_layers, param) by weighted least squares
    on log2(var) (weights from var_se). Returns columns ``ansatz, cost, n_layers, param, b,
    b_se, log2_A, points``; b is in bits of variance lost per qubit. Groups with fewer than 2
    positive variances are skipped."""
    out = []
    by = ["ansatz", "cost", "n_layers", "param"]
    by += [c for c in ("noise", "noise_strength", "noise_where") if c in df]  # one fit per model
    by += [c for c in ("method",) if c in df]
    for key, g in df.groupby(by, sort=False):
        g = g[g["var"] > 0]
        if g["n_qubits"].nunique() < 2:
            continue
        n = g["n_qubits"].to_numpy(float)
        y = np.log2(g["var"].to_numpy(float))
        sy = g["var_se"].to_numpy(float) / (g["var"].to_numpy(float) * math.log(2))
        sy = np.maximum(sy, 1e-6)
        W = 1 / sy**2
        X = np.stack([np.ones_like(n), -n], axis=1)
        cov = np.linalg.inv(X.T @ (W[:, None] * X))
        beta = cov @ X.T @ (W * y)
        resid = y - X @ beta
        dof = len(n) - 2
        # Inflate by the reduced chi^2 when the model does not fit within the error bars.
        scale = max(1.0, float(resid @ (W * resid)) / dof) if dof > 0 else 1.0
        out.append(
            dict(zip(by, key))
            | {
                "b": float(beta[1]),
                "b_se": float(math.sqrt(cov[1, 1] * scale)),
                "log2_A": float(beta[0]),
                "points": int(len(n)),
            }
        )
    return pd.DataFrame(out)


def write(df: pd.DataFrame, out: str | Path) -> dict[str, Path]:
    """Write ``variance.csv`` (already appended), ``variance.json`` and the figure."""
    from bpdiag.figures.variance import variance_figure

    fits = fit_decay(df)
    figure = variance_figure
    if "noise" in df and (df["noise"] != "none").any():  # Var against depth per noise strength
        from bpdiag.figures.noise import noise_figure as figure
    meta = {
        "analysis": "variance",
        "config": df.attrs.get("config", {}),
        "timing": df.attrs.get("timing", []),
        "fits": fits.to_dict(orient="records"),
        "units": {"mean": "1/rad", "var": "1/rad^2", "b": "log2(var) per qubit"},
    }
    if figure is not variance_figure:
        from bpdiag.analyses.noise import fit_depth_decay

        meta["depth_fits"] = fit_depth_decay(df).to_dict(orient="records")
    from bpdiag.analyses import exact as _exact

    if figure is variance_figure and _exact.has_extras(df):  # exact lines + sampled points
        figure = _exact.variance_method_figure
    paths = _io.write_result(df, meta, out, "variance", figure=figure)
    paths.update(_exact.write_shots(df, meta, out))
    return paths
