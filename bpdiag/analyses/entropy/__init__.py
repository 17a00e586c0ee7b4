"""Entanglement of data-encoded states against the Page curve: volume law or area law?

Pipeline (one grid point = state kind, encoding, ansatz, n_qubits, n_layers):
option rows (:func:`bpdiag.data.prepare`, scaled features) → a torch encoder
``Linear → ReLU → Linear(n) → Tanh`` scaled to angles in [-pi, pi] (seeded random init) →
an encoding from :mod:`bpdiag.circuits.encodings` (``angle``, ``zz``, ``reupload``, ``amplitude``) →
optionally ``n_layers`` ansatz layers with random parameters → states by the JAX engine →
entanglement entropies of every contiguous cut ``A = {0..m-1}``, ``m = 1..n//2`` (and, on
request, of random qubit subsets of each size), averaged over rows with standard errors.
Reference states for calibration: ``product`` (Haar-random single-qubit states), ``ghz`` and
``haar`` (Haar-random n-qubit states).

The rooms: :mod:`._theory` (Page value, purity, maximum), :mod:`._kernel` (the batched entropy
kernel), :mod:`._encoder` (option rows, the random encoder, trained checkpoints), :mod:`._grid`
(configuration, grid points, states of a point), :mod:`._fits` (volume-law / area-law verdicts).
This module runs the grid and returns a :class:`~bpdiag.analyses._common.Result`; it writes
nothing (the ``bpdiag entropy`` command writes through :mod:`bpdiag.results`).

>>> round(page_entropy(2, 1), 12)  # two qubits: 1/3 nat
0.333333333333
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from bpdiag._resources import plan_chunk, point_seed
from bpdiag.analyses._common import MemorySink, Result, Sink, point_cost, portable, run_grid
from bpdiag.analyses.entropy._encoder import (
    ENCODER,
    Trained,
    encode_angles,
    load_features,
    load_trained,
    random_encoder,
)
from bpdiag.analyses.entropy._fits import verdict_from_curve, verdicts
from bpdiag.analyses.entropy._grid import (
    COLUMNS,
    ENGINES,
    KEY,
    PARAMS,
    STATES,
    EntropyConfig,
    _circuit,
    _engine_plan,
    _points,
    _states,
)
from bpdiag.analyses.entropy._kernel import (
    UNITS,
    Entropies,
    contiguous_cuts,
    entanglement_entropies,
    entropy_bytes_per_row,
    random_cuts,
    summarize,
)
from bpdiag.analyses.entropy._theory import LN2, max_entropy, page_entropy, page_purity

__all__ = [
    "COLUMNS",
    "ENGINES",
    "KEY",
    "LN2",
    "PARAMS",
    "STATES",
    "UNITS",
    "Entropies",
    "EntropyConfig",
    "Trained",
    "contiguous_cuts",
    "encode_angles",
    "entanglement_entropies",
    "entropy",
    "entropy_bytes_per_row",
    "load_features",
    "load_trained",
    "max_entropy",
    "page_entropy",
    "page_purity",
    "random_cuts",
    "random_encoder",
    "summarize",
    "verdict_from_curve",
    "verdicts",
]

REFERENCES = [
    "D. N. Page, Phys. Rev. Lett. 71, 1291 (1993)",
    "E. Lubkin, J. Math. Phys. 19, 1028 (1978)",
    "V. Havlicek et al., Nature 567, 209 (2019)",
]


def _point_rows(config: EntropyConfig, point, states: np.ndarray) -> pd.DataFrame:
    state, enc, ansatz, n, L = point
    kinds = [("contiguous", contiguous_cuts(n))]
    if config.random_cuts:
        rng = np.random.default_rng(point_seed(config.seed, "cuts", n))
        kinds.append(("random", random_cuts(n, config.random_cuts, rng=rng)))
    scale = 1.0 if config.unit == "nats" else 1.0 / LN2
    every = [c for _, cuts in kinds for c in cuts]
    ent = entanglement_entropies(
        states, n, every, unit=config.unit, memory_budget=config.memory_budget
    )
    rows, start = [], 0
    for kind, cuts in kinds:
        part = slice(start, start + len(cuts))
        start += len(cuts)
        for rec in summarize(Entropies(ent.vn[:, part], ent.renyi2[:, part]), cuts):
            m = rec["cut_size"]
            page = page_entropy(n, m) * scale
            rows.append(
                {
                    "state": state,
                    "encoding": enc,
                    "ansatz": ansatz,
                    "n_qubits": n,
                    "n_layers": L,
                    "cut": kind,
                    **rec,
                    "page": page,
                    "page_renyi2": -math.log(page_purity(n, m)) * scale,
                    "max_entropy": max_entropy(n, m) * scale,
                    "volume_fraction": rec["entropy"] / page,
                    "rows": int(states.shape[0]),
                    "unit": config.unit,
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def _point(task) -> tuple[pd.DataFrame, dict]:
    """One grid point, as a task of :func:`~bpdiag.analyses._common.run_grid`:
    ``task = (config, point, plan, angles, rows, trained, circuit)`` with ``plan`` the compiled
    programs (:func:`_engine_plan`), ``angles`` the encoder angles ``{(n, amplitude):
    float[rows, .]}`` a data point needs, ``rows`` its state count, ``trained`` the trained
    model (its point only) and ``circuit`` the point's circuit (None: Haar states). Returns the
    point's rows and its timing record (seconds)."""
    config, p, plan, angles, R, trained, circuit = task
    t0 = time.perf_counter()
    angles_for = lambda n, amplitude=False: angles[n, amplitude]  # noqa: E731
    states = _states(config, p, plan, angles_for, R, trained, circuit)
    t1 = time.perf_counter()
    frame = _point_rows(config, p, states)
    t2 = time.perf_counter()
    return frame, dict(zip(KEY, p)) | {"states_s": t1 - t0, "entropy_s": t2 - t1}


def entropy(
    qubits: Sequence[int] = tuple(range(2, 11)),
    encoding: Sequence[str] = ("angle", "zz"),
    layers: Sequence[int] = (0, 1, 2, 5),
    rows: int = 500,
    *,
    state: Sequence[str] = ("data",),
    data: str | Path = "synthetic",
    features: np.ndarray | None = None,
    ansatz: str = "original",
    params: str = "shared",
    hidden: int = 16,
    random_cuts: int = 0,
    pairs: str = "linear",
    unit: str = "nats",
    seed: int = 0,
    dtype: str = "complex128",
    checkpoint: str | Path | None = None,
    sink: Sink | None = None,
    progress: bool = False,
    memory_budget: float | None = None,
    engine: str = "jax",
    device: str = "default.qubit",
    fallback: bool = False,
    circuit=None,
    executor: str = "local",
    jobs: int = 1,
    address: str | None = None,
) -> Result:
    """Entanglement entropies of data-encoded (and reference) states on a grid.

    For each grid point (state, encoding, ansatz, n_qubits, n_layers) and each cut size
    ``m = 1..n//2``: the mean over ``rows`` states of the von Neumann and Rényi-2 entropies of
    the contiguous cut ``{0..m-1}`` (``cut = "contiguous"``) and, with ``random_cuts = K``, of K
    random m-qubit subsets (``cut = "random"``), with standard errors; the exact Page value
    ``page``, ``page_renyi2 = -ln E Tr rho^2`` of Haar states, ``max_entropy = m ln 2`` and
    ``volume_fraction = entropy / page``. Entropies are in ``unit`` (nats or bits).

    Data states: ``rows`` training rows of ``data`` (or the given ``features``
    float[rows, F], already scaled) → a seeded random torch encoder per n (``n`` outputs, or
    ``2**n`` for ``amplitude``) → angles ``pi * tanh(...)`` → ``encoding`` → ``n_layers`` layers
    of ``ansatz`` with parameters uniform in [0, 2 pi): one vector per point (``params =
    "shared"``, like one model) or one per row (``"row"``). ``state`` may add ``product``,
    ``ghz`` and ``haar`` references (``encoding = ansatz = "none"``, ``n_layers = 0``).
    ``checkpoint`` (a ``bpdiag train`` checkpoint or run folder) adds ``state = "trained"``: the
    trained model's own encoder, circuit and weights on ``rows`` of its training rows
    (:func:`load_trained`), at its qubit count and depth.

    Columns: ``state, encoding, ansatz, n_qubits, n_layers, cut, cut_size, entropy, entropy_se,
    renyi2, renyi2_se, page, page_renyi2, max_entropy, volume_fraction, rows, unit``.

    Returns a :class:`~bpdiag.analyses._common.Result`: ``.table`` the table above (in grid
    order); ``.meta`` the JSON provenance (``analysis, config, data, encoder, verdicts, timing,
    units, references``); ``.tables["verdicts"]`` the :func:`verdicts` table. Each finished
    point goes to ``sink`` at once (default: a :class:`~bpdiag.analyses._common.MemorySink`);
    points the sink already holds (``sink.done()``, a resumed run) are skipped, and the table is
    ``sink.read()``. Pass :class:`bpdiag.results.CsvSink` with ``COLUMNS`` and ``KEY`` to
    append to disk as the run goes.

    ``engine = "pennylane"`` computes the states with a PennyLane QNode (one call per row) on
    ``device`` (``default.qubit``, ``lightning.qubit``, ``lightning.gpu``, ``default.mixed``, ...;
    same random draws, so the same numbers as the JAX engine to rounding); ``default.mixed``
    returns density matrices, whose reduced states give the entropies. Circuit encodings only
    (not ``amplitude``), complex128. A device that cannot be created raises
    :class:`bpdiag.engines.pennylane.DeviceUnavailable` (one line), or with ``fallback`` warns
    and uses ``default.qubit``.

    ``circuit`` (a spec string, a family ``(n_qubits, n_layers) -> circuit`` or one circuit
    object; :mod:`bpdiag.frontends`) replaces ``ansatz``: data states are the ``angle`` or
    ``zz`` encoding followed by the circuit (``n_layers = 0``: the encoding alone), its
    parameters uniform in [0, 2 pi); the ``ansatz`` column holds the circuit's label. Circuits
    with data inputs of their own are refused (for now).

    ``executor``, ``jobs``, ``address``: where the points run, one task each (``"local"``: this
    process, or ``jobs`` worker processes; ``"dask"``: the scheduler at ``address``;
    :func:`bpdiag.analyses._common.run_grid`); the table is the same on every executor.
    """
    t_start = time.perf_counter()
    if engine == "pennylane":
        from bpdiag.engines.pennylane import resolve_device

        device = resolve_device(device, fallback=fallback)
    config = EntropyConfig(
        tuple(qubits),
        tuple(encoding),
        tuple(layers),
        int(rows),
        tuple(state),
        ansatz,
        params,
        str(data),
        int(hidden),
        int(random_cuts),
        pairs,
        unit,
        int(seed),
        dtype,
        None if checkpoint is None else str(checkpoint),
        engine,
        device,
        memory_budget=memory_budget,
        circuit=circuit,
    )
    sink = MemorySink(COLUMNS, KEY) if sink is None else sink
    done = sink.done()
    trained = None
    if config.checkpoint is not None:
        trained = load_trained(config.checkpoint, config.rows, seed=config.seed)
    points = _points(config, trained)
    todo = [p for p in points if p not in done]
    _check_memory(config, points)
    data_info: dict = {}
    feats = None
    if any(p[0] == "data" for p in todo):
        feats, data_info = _features(config, features)
    angles_for = _angle_cache(config, feats)
    if trained is not None:
        data_info["trained"] = trained.info
    plan = _engine_plan(config, todo, trained) if config.engine == "jax" else {}
    shipped = portable(config)
    tasks, costs = [], []
    for p in todo:
        R = {
            "data": len(feats) if feats is not None else 0,
            "trained": len(trained.angles) if trained is not None else 0,
        }.get(p[0], config.rows)
        angles = {}  # the encoder's angles of this point's n, computed here (one encoder per n)
        if p[0] == "data":
            key = (p[3], p[1] == "amplitude")
            angles[key] = angles_for(*key)
        c = _circuit(config, p, trained) if p[0] != "haar" else None
        tasks.append((shipped, p, plan, angles, R, trained if p[0] == "trained" else None, c))
        costs.append(point_cost(p[3], p[4], R))
    timing: dict[int, dict] = {}
    bar = _progress(len(points), progress)
    bar.update(len(points) - len(todo))

    def arrived(i: int, out) -> None:
        frame, timing[i] = out
        sink.append(frame)
        bar.update(1)

    try:
        run_grid(_point, tasks, arrived, cost=costs, executor=executor, jobs=jobs, address=address)
    finally:
        bar.close()
    timing = [timing[i] for i in sorted(timing)]
    df = _in_grid_order(sink.read(), points)
    v = verdicts(df) if len(df) else pd.DataFrame()
    meta = _meta(config, df, data_info, v, timing)
    meta["wall_s"] = time.perf_counter() - t_start
    return Result(df, meta, {"verdicts": v})


def _check_memory(config: EntropyConfig, points: list[tuple]) -> None:
    """Memory for the largest point, before any work (amplitude + ansatz holds 2**n columns)."""
    nmax = max(p[3] for p in points)
    itemsize = 16 if config.dtype == "complex128" else 8
    budget = config.memory_budget
    plan_chunk(1, 2**nmax * itemsize * 8, what=f"a {nmax}-qubit statevector", budget=budget)
    if config.engine == "pennylane" and config.device == "default.mixed":  # rows x 4**n at once
        plan_chunk(
            1,
            config.rows * 4**nmax * 16 * 3,
            what=f"{config.rows} density matrices of {nmax} qubits (default.mixed)",
            budget=budget,
        )


def _features(config: EntropyConfig, features: np.ndarray | None) -> tuple[np.ndarray, dict]:
    """The data rows float64[rows, F]: the given ``features`` or :func:`load_features`."""
    if features is not None:
        feats = np.atleast_2d(np.asarray(features, dtype=np.float64))[: config.rows]
        info = {"source": "features argument", "rows_used": int(len(feats))}
    else:
        feats, info = load_features(config)
    if len(feats) < 2:
        raise ValueError(f"need at least 2 data rows, got {len(feats)}")
    return feats, info


def _angle_cache(config: EntropyConfig, feats: np.ndarray | None):
    """``angles_for(n, amplitude=False)``: the encoder angles float64[rows, n] (or [rows, 2**n]
    for amplitude) of the data rows, one seeded random encoder per (n, kind), computed once."""
    cache: dict = {}

    def angles_for(n: int, amplitude: bool = False) -> np.ndarray:
        key = (n, amplitude)
        if key not in cache:
            n_out = 2**n if amplitude else n
            tag = "encoder-amplitude" if amplitude else "encoder"
            enc = random_encoder(
                feats.shape[1], n_out, hidden=config.hidden, seed=point_seed(config.seed, tag, n)
            )
            cache[key] = encode_angles(feats, enc)
        return cache[key]

    return angles_for


def _in_grid_order(df: pd.DataFrame, points: list[tuple]) -> pd.DataFrame:
    """Rows sorted by grid point, then cut kind and size (a resumed sink holds them in the order
    they were finished)."""
    if df.empty:
        return df.reset_index(drop=True)
    order = {pt: i for i, pt in enumerate(points)}
    df = df.copy()
    df["_o"] = [order.get(tuple(r), -1) for r in df[KEY].itertuples(index=False, name=None)]
    df = df.sort_values(["_o", "cut", "cut_size"], kind="stable").drop(columns="_o")
    return df.reset_index(drop=True)


def _meta(config: EntropyConfig, df: pd.DataFrame, data: dict, v: pd.DataFrame, timing) -> dict:
    """The JSON provenance of a run: config, data, encoder, verdicts, timing, units."""
    config_dict = asdict(config)
    config_dict["qubits"] = list(config.qubits)
    unit = config.unit
    return {
        "analysis": "entropy",
        "config": config_dict,
        "data": data,
        "encoder": ENCODER.format(hidden=config.hidden),
        "verdicts": v.to_dict(orient="records") if len(df) else [],
        "timing": timing,
        "units": {
            "entropy": unit,
            "renyi2": unit,
            "page": unit,
            "max_entropy": unit,
            "volume_fraction": "1",
            "slope": f"{unit} per qubit",
        },
        "references": list(REFERENCES),
    }


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="entropy", unit="point", disable=not enabled, leave=False)
