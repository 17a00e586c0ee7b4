"""Noise-induced barren plateaus: Var[dC/dtheta] against depth for several noise strengths.

With local Pauli noise of strength q < 1 (the Pauli-transfer eigenvalue of the channel, e.g.
``q = 1 - 4P/3`` for depolarizing), every layer shrinks the traceless part of the state (and of
the Heisenberg-evolved cost) by at least ``q**m``, where ``m`` is the number of channels every
wire is certain to receive per layer, so ``|dC/dtheta| <= c(n) q**(m L)`` and the gradient
variance decays exponentially with depth L even at fixed n and for a local cost (Wang et al.,
"Noise-induced barren plateaus in variational quantum algorithms", Nat. Commun. 12, 6961 (2021)).
:func:`bpdiag.analyses.variance.noise_variance` samples the variance on a depth grid for several
strengths (the variance analysis with ``noise=``, run on the density-matrix engine
:mod:`bpdiag.engines.density` through :func:`gradients`); :func:`fit_depth_decay` fits
``Var = A * 2**(-r L)`` per strength and reports the rate ``r`` (bits of variance lost per layer)
with its standard error, beside the rigorous lower bound ``2 m log2(1/q)`` from
:func:`rate_bound`. This module holds the physics only and never imports the variance analysis
(which orchestrates it).

>>> round(rate_bound("depolarizing", 0.3, 2), 6)  # 4 log2(1 / 0.6): q = 0.6, m = 2
2.947862
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from bpdiag._resources import plan_chunk
from bpdiag.analyses._common import param_index, weighted_line_fit
from bpdiag.circuits import Circuit
from bpdiag.engines._batch import capacity

# bpdiag.engines.density imports JAX: it is loaded inside the functions that run it, so that
# importing the analyses stays fast.

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
    from bpdiag.engines.density import bytes_per_sample

    if any(m.kind != "none" for m in models):
        plan_chunk(
            1,
            bytes_per_sample(n_max, config.dtype),
            what=f"a {n_max}-qubit density matrix",
            budget=config.memory_budget,
        )


def grid_capacity(circuits: Sequence[Circuit], model) -> tuple[int, int]:
    """(steps, gates) table capacity covering every circuit of a depth sweep under ``model``, so
    that one compiled program serves the whole sweep."""
    from bpdiag.engines.density import MIN_GATES, MIN_STEPS, count_steps

    steps = max(count_steps(c, model) for c in circuits)
    gates = max(c.n_gates for c in circuits)
    return capacity(steps, MIN_STEPS), capacity(gates, MIN_GATES)


def gradients(
    config, circuit: Circuit, params: np.ndarray, x: np.ndarray, model, *, n_steps, n_gates
) -> np.ndarray:
    """Derivatives float[samples, n_diff, k] of every cost of ``config`` with respect to the
    parameter(s) ``config.param`` under noise ``model``, by the density-matrix engine, with
    tables padded to ``n_steps``/``n_gates`` (:func:`grid_capacity`)."""
    from bpdiag.engines.density import shift_gradients

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
    from bpdiag.engines.density import gate_layers  # JAX: see the note at the imports

    layers = gate_layers(circuit)
    n = circuit.n_qubits
    per_layer: dict[int, int] = {}
    count = [0] * n
    current = None

    def close(layer) -> None:
        if layer is not None:
            per_layer[layer] = per_layer.get(layer, 0) + min(count)

    for g, wires in enumerate(circuit.wires):
        if layers[g] != current or len(wires) == 2:
            close(current)
            count = [0] * n
            current = layers[g]
        if len(wires) == 1:
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
# Fit


def fit_depth_decay(
    df: pd.DataFrame,
    min_layers: int = 1,
    *,
    circuit: Callable[[str, int], Circuit] | None = None,
) -> pd.DataFrame:
    """Fit ``Var = A * 2**(-r L)`` against depth L >= ``min_layers`` per (ansatz, cost, n_qubits,
    param, noise, noise_strength, noise_where), by weighted least squares on log2(var)
    (:func:`bpdiag.analyses._common.weighted_line_fit`: weights from var_se, standard errors
    inflated by the reduced chi^2 when it exceeds 1).

    Returns columns ``ansatz, cost, n_qubits, param, noise, noise_strength, noise_where, rate,
    rate_se, log2_A, points, rate_bound``: ``rate`` in bits of variance lost per layer and
    ``rate_bound`` the lower bound of :func:`rate_bound` (Wang et al. 2021), which needs
    ``circuit(ansatz, n_qubits)`` (a circuit of the grid, to count the channels per layer; the
    variance analysis passes its own; without it noisy rows get NaN). Groups with fewer than 3
    positive variances are skipped.
    """
    if "noise" not in df:
        df = df.assign(noise="none", noise_strength=0.0, noise_where="none")
    out = []
    group = _GROUP + [c for c in ("method",) if c in df]  # exact and sampled rows apart
    for key, g in df.groupby(group, sort=False):
        g = g[(g["var"] > 0) & (g["n_layers"] >= min_layers)]
        if g["n_layers"].nunique() < 3:
            continue
        L = g["n_layers"].to_numpy(float)
        var = g["var"].to_numpy(float)
        fit = weighted_line_fit(-L, np.log2(var), g["var_se"].to_numpy(float) / (var * math.log(2)))
        row = dict(zip(group, key, strict=True))
        row |= {"rate": fit["b"], "rate_se": fit["b_se"], "log2_A": fit["a"], "points": len(L)}
        row["rate_bound"] = _bound_for(row, circuit)
        out.append(row)
    cols = [*group, "rate", "rate_se", "log2_A", "points", "rate_bound"]
    return pd.DataFrame(out, columns=cols)


def _bound_for(row: dict, circuit) -> float:
    if row["noise"] == "none":
        return rate_bound("none", 0.0, 0)
    if circuit is None:
        return float("nan")
    m = channels_per_layer(circuit(row["ansatz"], int(row["n_qubits"])), row["noise_where"])
    return rate_bound(row["noise"], float(row["noise_strength"]), m)
