"""Noise-induced barren plateaus: Var[dC/dtheta] against depth for several noise strengths.

With local Pauli noise of strength q < 1 (the Pauli-transfer eigenvalue of the channel, e.g.
``q = 1 - 4P/3`` for depolarizing), every layer shrinks the traceless part of the state (and of
the Heisenberg-evolved cost) by at least ``q**m``, where ``m`` is the number of channels every
wire is certain to receive per layer, so ``|dC/dtheta| <= c(n) q**(m L)`` and the gradient
variance decays exponentially with depth L even at fixed n and for a local cost (Wang et al.,
"Noise-induced barren plateaus in variational quantum algorithms", Nat. Commun. 12, 6961 (2021)).
:func:`sweep` samples the variance on a depth grid for several strengths (through
:func:`bpdiag.analyses.variance.variance` with ``noise=``, run on the density-matrix engine
:mod:`bpdiag.engines.density`); :func:`fit_depth_decay` fits ``Var = A * 2**(-r L)`` per strength
and reports the rate ``r`` (bits of variance lost per layer) with its standard error, beside the
rigorous lower bound ``2 m log2(1/q)`` from :func:`rate_bound`.

>>> df = sweep(qubits=(3,), layers=(2, 4), noise="depolarizing:0.05", samples=20)
>>> sorted(set(df["noise_strength"]))
[0.05]
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bpdiag import results as _io
from bpdiag.circuits import TWO_QUBIT, Circuit

#: Noise coordinates of a variance row (appended to the variance table's columns).
NOISE_COLUMNS = ["noise", "noise_strength", "noise_where"]
_GROUP = ["ansatz", "cost", "n_qubits", "param", *NOISE_COLUMNS]


def noise_models(noise: str, where: str = "gate") -> tuple:
    """The :class:`~bpdiag.engines.density.Noise` models of a ``--noise`` value (see
    :func:`bpdiag.engines.density.parse_noise`); ``"none"`` gives the noiseless model."""
    from bpdiag.engines.density import parse_noise

    if where not in ("gate", "layer"):
        raise ValueError(f"noise_where must be 'gate' or 'layer', got {where!r}")
    return parse_noise(noise, where)


def check_config(config) -> tuple:
    """Validate the noise settings of a :class:`~bpdiag.analyses.variance.VarianceConfig` and
    return its noise models. Noisy points run on the density-matrix engine only."""
    models = noise_models(config.noise, config.noise_where)
    if config.engine != "jax" and any(m.kind != "none" for m in models):
        raise ValueError(
            "noise runs on the density-matrix engine; use --engine jax (the default) with --noise"
        )
    return models


def check_memory(config, models, n_max: int) -> None:
    """Raise MemoryError (one line) if one n_max-qubit density matrix cannot fit."""
    from bpdiag._resources import plan_chunk
    from bpdiag.engines.density import bytes_per_sample

    if any(m.kind != "none" for m in models):
        plan_chunk(
            1,
            bytes_per_sample(n_max, config.dtype),
            what=f"a {n_max}-qubit density matrix",
            budget=config.memory_budget,
        )


@functools.lru_cache(maxsize=32)
def _capacity(config, n: int, model) -> tuple[int, int]:
    """(steps, gates) capacity covering every (ansatz, depth) of the grid at n qubits, so that one
    compiled program serves the whole depth sweep."""
    from bpdiag.analyses.variance import circuit_for
    from bpdiag.engines.density import _capacity as pow2
    from bpdiag.engines.density import count_steps

    steps = gates = 0
    for a in config.ansatz:
        for L in config.layers:
            c = circuit_for(config, a, n, L)
            steps, gates = max(steps, count_steps(c, model)), max(gates, c.n_gates)
    return pow2(steps, 64), pow2(gates)


def gradients(config, circuit: Circuit, params: np.ndarray, x: np.ndarray, model) -> np.ndarray:
    """Derivatives float[samples, n_diff, k] of every cost of ``config`` with respect to the
    parameter(s) ``config.param`` under noise ``model``, by the density-matrix engine."""
    from bpdiag.analyses.variance import param_index
    from bpdiag.engines.density import shift_gradients

    n_steps, n_gates = _capacity(config, circuit.n_qubits, model)
    return shift_gradients(
        circuit,
        params,
        x,
        costs=config.cost,
        noise=model,
        which=param_index(circuit, config.param),
        dtype=config.dtype,
        memory_budget=config.memory_budget,
        n_steps=n_steps,
        n_gates=n_gates,
    )


# ---------------------------------------------------------------------------------------------
# Theory


def pauli_factor(kind: str, strength: float) -> float:
    """q: the largest Pauli-transfer eigenvalue (in absolute value) of a unital one-qubit channel
    on the traceless Paulis: ``1 - 4P/3`` (depolarizing), ``1`` (dephasing: Z is untouched).
    Amplitude damping is not unital: ``nan``."""
    if kind == "depolarizing":
        return abs(1 - 4 * strength / 3)
    if kind == "dephasing":
        return 1.0
    if kind == "none":
        return 1.0
    return float("nan")


def channels_per_layer(circuit: Circuit, where: str) -> int:
    """m: channels every wire is certain to receive per layer, as a lower bound.

    ``layer``: 1 (one channel on every wire after every layer). ``gate``: per layer, the sum over
    maximal runs of one-qubit gates (no two-qubit gate in between) of the smallest number of gates
    any wire gets in the run; the minimum over layers. Within such a run the layer map is a tensor
    product of one-qubit unital maps, each contracting the traceless Paulis by q per channel, so
    every traceless string shrinks by at least q**m (Wang et al. 2021). Channels after two-qubit
    gates only shrink it further and are not counted.
    """
    if where == "layer":
        return 1
    from bpdiag.engines.density import gate_layers

    layers = gate_layers(circuit)
    n = circuit.n_qubits
    per_layer: dict[int, int] = {}
    count = [0] * n
    current = None

    def close(layer) -> None:
        if layer is not None:
            per_layer[layer] = per_layer.get(layer, 0) + min(count)

    for g, (gate, wires) in enumerate(zip(circuit.gates, circuit.wires, strict=True)):
        if layers[g] != current or gate in TWO_QUBIT:
            close(current)
            count = [0] * n
            current = layers[g]
        if gate not in TWO_QUBIT:
            count[wires[0]] += 1
    close(current)
    return min(per_layer.values()) if per_layer else 0


def rate_bound(kind: str, strength: float, m: int) -> float:
    """Lower bound on the decay rate of Var[dC/dtheta] with depth, in bits per layer:
    ``2 m log2(1/q)`` (Wang et al. 2021); 0 when q = 1, nan for non-unital noise."""
    q = pauli_factor(kind, strength)
    if not q == q:  # nan
        return float("nan")
    if q <= 0:
        return float("inf")
    return 2 * m * math.log2(1 / q)


# ---------------------------------------------------------------------------------------------
# Sweep and fit


def sweep(
    qubits: Sequence[int] = (4,),
    layers: Sequence[int] = tuple(range(1, 13)),
    ansatz: Sequence[str] = ("dense",),
    cost: Sequence[str] = ("local",),
    samples: int = 200,
    *,
    noise: str = "depolarizing:0,0.01,0.02,0.05",
    where: str = "gate",
    param: str = "middle",
    seed: int = 0,
    dtype: str = "complex128",
    out: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
    **options,
) -> pd.DataFrame:
    """Var[dC/dtheta] on a (ansatz, n_qubits, n_layers) grid for every noise model in ``noise``
    (comma-separated, e.g. ``"depolarizing:0,0.01,0.05"``), applied after every gate or layer.

    Returns the variance table (see :func:`bpdiag.analyses.variance.variance`) with the columns
    ``noise, noise_strength, noise_where``. Every noise model sees the same parameter draws.

    With ``param="middle"`` the differentiated gate depends on the depth's parity (an RY for even
    depths, an RZ for odd ones in the dense HEA), so fit depth decays on depths of one parity.
    """
    from bpdiag.analyses.variance import variance

    return variance(
        qubits,
        layers,
        ansatz,
        cost,
        samples,
        param=param,
        seed=seed,
        dtype=dtype,
        out=out,
        resume=resume,
        progress=progress,
        noise=noise,
        noise_where=where,
        **options,
    )


def _bound_for(row, config: dict) -> float:
    from bpdiag.analyses.variance import VarianceConfig, circuit_for

    fields = {k: v for k, v in config.items() if k in VarianceConfig.__dataclass_fields__}
    cfg = VarianceConfig(**fields) if fields else VarianceConfig()
    c = circuit_for(cfg, row["ansatz"], int(row["n_qubits"]), 2)
    m = channels_per_layer(c, row["noise_where"]) if row["noise"] != "none" else 0
    return rate_bound(row["noise"], float(row["noise_strength"]), m)


def fit_depth_decay(df: pd.DataFrame, min_layers: int = 1) -> pd.DataFrame:
    """Fit ``Var = A * 2**(-r L)`` against depth L >= ``min_layers`` per (ansatz, cost, n_qubits,
    param, noise, noise_strength, noise_where), by weighted least squares on log2(var) (weights
    from var_se; standard errors inflated by the reduced chi^2 when it exceeds 1).

    Returns columns ``ansatz, cost, n_qubits, param, noise, noise_strength, noise_where, rate,
    rate_se, log2_A, points, rate_bound``: ``rate`` in bits of variance lost per layer and
    ``rate_bound`` the lower bound of :func:`rate_bound` (Wang et al. 2021). Groups with fewer
    than 3 positive variances are skipped.
    """
    if "noise" not in df:
        df = df.assign(noise="none", noise_strength=0.0, noise_where="none")
    out = []
    config = df.attrs.get("config", {})
    group = _GROUP + [c for c in ("method",) if c in df]  # exact and sampled rows apart
    for key, g in df.groupby(group, sort=False):
        g = g[(g["var"] > 0) & (g["n_layers"] >= min_layers)]
        if g["n_layers"].nunique() < 3:
            continue
        L = g["n_layers"].to_numpy(float)
        var = g["var"].to_numpy(float)
        y = np.log2(var)
        sy = np.maximum(g["var_se"].to_numpy(float) / (var * math.log(2)), 1e-6)
        W = 1 / sy**2
        X = np.stack([np.ones_like(L), -L], axis=1)
        cov = np.linalg.inv(X.T @ (W[:, None] * X))
        beta = cov @ X.T @ (W * y)
        resid = y - X @ beta
        dof = len(L) - 2
        scale = max(1.0, float(resid @ (W * resid)) / dof)
        row = dict(zip(group, key, strict=True))
        row |= {
            "rate": float(beta[1]),
            "rate_se": float(math.sqrt(cov[1, 1] * scale)),
            "log2_A": float(beta[0]),
            "points": int(len(L)),
        }
        row["rate_bound"] = _bound_for(row, config)
        out.append(row)
    cols = [*group, "rate", "rate_se", "log2_A", "points", "rate_bound"]
    return pd.DataFrame(out, columns=cols)


def write(df: pd.DataFrame, out: str | Path, min_layers: int = 1) -> dict[str, Path]:
    """Write ``noise.csv`` (the variance rows), ``noise.json`` (config, depth fits, units) and
    the figure ``noise.png``/``.pdf`` (Var against depth per strength)."""
    from bpdiag.figures.noise import noise_figure

    fits = fit_depth_decay(df, min_layers=min_layers)
    meta = {
        "analysis": "noise",
        "config": df.attrs.get("config", {}),
        "timing": df.attrs.get("timing", []),
        "depth_fits": fits.to_dict(orient="records"),
        "min_layers": min_layers,
        "units": {
            "var": "1/rad^2",
            "noise_strength": "probability (depolarizing, dephasing) or damping rate",
            "rate": "log2(var) lost per layer",
        },
    }
    return _io.write_result(df, meta, out, "noise", figure=noise_figure)
