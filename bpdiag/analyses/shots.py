"""Shot noise of parameter-shift gradients estimated from N bitstrings per shifted circuit.

A parameter-shift gradient ``g = c (C(t+pi/2) - C(t-pi/2)) / 2`` estimated from N shots per
shifted circuit has, at fixed angles, variance ``c^2 (v_+ + v_-) / (4 N)`` with
``v = <O^2> - <O>^2`` the single-shot variance of the cost (for the local cost mean_i Z_i,
``<O^2>`` contains every ``<Z_i Z_j>``: shots are correlated bitstrings, not independent qubits).
Averaged over the angles this is ``s1 / N``; the gradient's spread exceeds its shot noise once
``N > s1 / Var[g]`` (``shots_needed``). The exact (sampling-free) ``s1`` comes from
:func:`bpdiag.analyses.exact.exact_moments` with ``shots=True``.

:func:`sampled_shots` runs the shifted circuits of sampled parameters on the JAX engine, reads
the exact probabilities of every single-shot value of each cost and draws multinomial shot
counts. A cost with X/Y factors is measured group by group (its qubit-wise commuting groups, each
on its basis-changed circuit), every group with its own ``shots`` bitstrings (equal allocation),
so its ``v`` is the sum of the groups' single-shot variances (and its exact ``s1`` the sum of the
groups' exact ``s1``). :func:`shot_columns` turns them into the variance table's shot columns and
:func:`shot_table` selects the rows written to ``variance_shots.csv``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd

from bpdiag._resources import plan_chunk
from bpdiag.analyses._common import summarize
from bpdiag.circuits import Circuit, angle_maps, cost_diagonal
from bpdiag.circuits.observables import is_diagonal
from bpdiag.engines._batch import batched, bytes_per_row, capacity, shifted_angles
from bpdiag.engines._observe import measured
from bpdiag.engines._program import Program, gate_kernels, lower

#: Columns of the shot table (``variance_shots.csv``).
SHOT_COLUMNS = [
    "ansatz",
    "cost",
    "n_qubits",
    "n_layers",
    "param",
    "method",
    "var",
    "shots",
    "shot_var",
    "shot_var_se",
    "noisy_var",
    "noisy_var_se",
    "shots_needed",
]
#: The shot-noise columns of a variance row.
SHOT_FIELDS = ["shots", "shot_var", "shot_var_se", "noisy_var", "noisy_var_se", "shots_needed"]


def levels(cost: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct single-shot values v float[m] of a cost and the indicator float[2**n, m]."""
    diag = cost_diagonal(cost, n)
    values, inverse = np.unique(np.round(diag, 12), return_inverse=True)
    return values, np.eye(len(values))[inverse]


def _measurements(circuit: Circuit, costs) -> list[tuple[Circuit, list[tuple[int, str]]]]:
    """What is measured, circuit by circuit: ``[(circuit_g, [(cost index, diagonal cost)])]``.
    Diagonal costs are read on ``circuit`` itself; a non-diagonal cost on one basis-changed
    circuit per qubit-wise commuting group (:func:`bpdiag.engines._observe.measured`; its
    identity term is a constant and draws no shots)."""
    out: list[tuple[Circuit, list[tuple[int, str]]]] = [(circuit, [])]
    for k, cost in enumerate(costs):
        if is_diagonal(cost, circuit.n_qubits):
            out[0][1].append((k, cost))
            continue
        for cg, diag in measured(circuit, cost)[1]:
            out.append((cg, [(k, diag)]))
    return [(c, m) for c, m in out if m]


def _probs(f, prog, obs, n_gates: int, rows):
    return f(prog, rows, obs, n_gates)


def sampled_shots(
    circuit: Circuit,
    params: np.ndarray,
    x: np.ndarray,
    costs: tuple[str, ...],
    which: list[int],
    shots: int,
    rng: np.random.Generator,
    *,
    dtype: str = "complex128",
    memory_budget: float | None = None,
) -> dict[str, np.ndarray]:
    """Parameter-shift gradients from ``shots`` bitstrings per shifted circuit and measured group.

    For each sample (params float[S, P], x float[S, D]), differentiated parameter in ``which``
    and gate it drives, the two shifted circuits are run on the JAX engine; their probabilities
    of each single-shot value of every cost give the exact single-shot variance
    ``v = <O^2> - <O>^2`` (correlations between qubits included) and a multinomial draw of
    ``shots`` outcomes (seeded by ``rng``) gives the noisy estimate.

    A cost with X/Y factors is measured as hardware measures it: each of its qubit-wise
    commuting groups ``O_g`` (:func:`bpdiag.engines._observe.qwc_groups`) on its own
    basis-changed circuit, with **the same ``shots`` for every group** (equal allocation: a
    shifted circuit of a cost with G groups takes ``G * shots`` bitstrings). The groups'
    estimates are independent, so ``v = sum_g (<O_g^2> - <O_g>^2)`` and the gradient's shot
    variance is ``sum_gates c^2 (v_+ + v_-) / (4 shots)`` as for a diagonal cost.

    Returns ``shot1`` float[S, len(which), k] (sum over the param's gates of
    c^2 (v_+ + v_-) / 4: the shot-noise variance times ``shots``) and ``noisy`` float[S,
    len(which), k] (the estimated gradients).
    """
    import jax.numpy as jnp  # heavy: loaded only when shots are asked for

    from bpdiag.engines import jax as je

    n = circuit.n_qubits
    S = params.shape[0]
    pm, _, _ = angle_maps(circuit)
    gates_of = [np.nonzero(pm[p])[0] for p in which]
    # rows are ordered (param, gate, sign, sample), as shifted_angles lays them out
    index = [
        (a, float(pm[p, g]), sign)
        for a, p in enumerate(which)
        for g in gates_of[a]
        for sign in (1, -1)
    ]
    shot1 = np.zeros((S, len(which), len(costs)))
    noisy = np.zeros((S, len(which), len(costs)))
    chunk = plan_chunk(
        sum(2 * S * len(g) for g in gates_of),
        bytes_per_row(n, dtype, 8),
        what=f"{circuit.name} on {n} qubits",
        budget=memory_budget,
    )
    for cg, parts in _measurements(circuit, costs):
        # the basis change appends constant-angle gates: the shifted gates keep their indices
        angles = cg.angles(params, x if cg.n_data else None)
        rows = np.concatenate([shifted_angles(angles, gates) for gates in gates_of])
        lv = [levels(d, n) for _, d in parts]
        obs = jnp.asarray(np.concatenate([ind for _, ind in lv], axis=1))
        kernels = gate_kernels(cg)
        G = capacity(cg.n_gates)
        empty = jnp.zeros((0, G))
        prog = Program(*(jnp.asarray(t) for t in lower(cg, kernels=kernels, n_gates=G)))
        prog = prog._replace(pm=empty, dm=empty)
        f = je.jitted("angles", kernels, n, dtype)
        padded = np.zeros((len(rows), G))
        padded[:, : cg.n_gates] = rows
        run = functools.partial(_probs, f, prog, obs, cg.n_gates)
        probs = batched(run, padded, chunk=min(chunk, S))
        probs = np.clip(probs, 0.0, None).reshape(len(index), S, -1)
        col = 0
        for (k, _), (values, _) in zip(parts, lv):
            m = len(values)
            pk = probs[:, :, col : col + m]
            pk = pk / pk.sum(axis=2, keepdims=True)
            col += m
            mean = pk @ values
            var1 = pk @ values**2 - mean**2
            counts = rng.multinomial(shots, pk.reshape(-1, m)).reshape(pk.shape)
            estimate = counts @ values / shots
            for r, (a, c, sign) in enumerate(index):
                shot1[:, a, k] += c**2 * var1[r] / 4
                noisy[:, a, k] += sign * c * estimate[r] / 2
    return {"shot1": shot1, "noisy": noisy}


def needed(shot1: float, var: float) -> float:
    """Smallest N with shot1 / N <= var (inf when the gradient has no spread)."""
    if var <= 0:
        return float("inf")
    return float(max(1, math.ceil(shot1 / var - 1e-9)))


def shot_columns(shot: dict | None, k: int, var: float, shots: int | None) -> dict[str, float]:
    """The shot-noise columns (:data:`SHOT_FIELDS`) of one sampled row (cost ``k``) from
    :func:`sampled_shots`; NaN without shots."""
    if shot is None or not shots:
        return {c: float("nan") for c in SHOT_FIELDS}
    s1 = shot["shot1"][:, :, k].mean(axis=1)  # per sample, averaged over differentiated params
    S = len(s1)
    noisy = summarize(shot["noisy"][:, :, k])
    mean_s1 = float(s1.mean())
    return {
        "shots": int(shots),
        "shot_var": mean_s1 / shots,
        "shot_var_se": float(s1.std(ddof=1) / math.sqrt(S)) / shots,
        "noisy_var": noisy["var"],
        "noisy_var_se": noisy["var_se"],
        "shots_needed": needed(mean_s1, var),
    }


def exact_columns(shot1: float, var: float, shots: int) -> dict[str, float]:
    """The shot-noise columns of an exact row from the exact ``s1`` (no error bars)."""
    return {
        "shots": int(shots),
        "shot_var": shot1 / shots,
        "shot_var_se": 0.0,
        "noisy_var": var + shot1 / shots,
        "noisy_var_se": 0.0,
        "shots_needed": needed(shot1, var),
    }


def shot_table(df: pd.DataFrame) -> pd.DataFrame | None:
    """The rows of a variance table that carry shot noise, with :data:`SHOT_COLUMNS` (None when
    no row does)."""
    if "shots_needed" not in df or not df["shots_needed"].notna().any():
        return None
    return df[df["shots_needed"].notna()][SHOT_COLUMNS].reset_index(drop=True)
