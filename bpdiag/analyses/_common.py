"""What every analysis shares: the result object, the sink that resume goes through, parameter
selection and initialisation, the per-point summaries, one weighted fit, the Haar value, and the
one loop over a grid's points (:func:`run_grid`: in this process, local worker processes or a
Dask cluster).

Analyses compute and return a :class:`Result`; they never open files. A caller that wants every
finished point on disk at once (``--resume``) passes a sink (:class:`bpdiag.results.CsvSink`);
without one, an in-memory :class:`MemorySink` collects the rows.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from bpdiag.circuits import Circuit, cost_weight
from bpdiag.circuits.transforms import tie_params


@dataclass
class Result:
    """What an analysis returns.

    table: the tidy long-format DataFrame (one row per measured point).
    meta: the full configuration, fits, units and timings (JSON-serialisable).
    tables: further named tables of the same analysis (e.g. per-parameter rows), if any.
    """

    table: pd.DataFrame
    meta: dict = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __repr__(self) -> str:
        extra = f", tables={sorted(self.tables)}" if self.tables else ""
        return f"Result(table: {len(self.table)} rows x {self.table.shape[1]} columns{extra})"


class Sink(Protocol):
    """Where an analysis puts each finished point as it goes (see :mod:`bpdiag.results`)."""

    def done(self) -> set[tuple]:
        """Keys of the points already finished (for resume)."""

    def append(self, frame: pd.DataFrame) -> None:
        """Record one finished point's rows."""

    def read(self) -> pd.DataFrame:
        """Every row recorded so far (including those from before a resume)."""


class MemorySink:
    """A sink that keeps rows in memory: the default when the caller passes none.

    columns: the table's columns; key: the columns that identify a point.
    """

    def __init__(self, columns: list[str], key: list[str]):
        self.columns, self.key = list(columns), list(key)
        self.frames: list[pd.DataFrame] = []

    def done(self) -> set[tuple]:
        return {
            tuple(r) for f in self.frames for r in f[self.key].itertuples(index=False, name=None)
        }

    def append(self, frame: pd.DataFrame) -> None:
        self.frames.append(frame)

    def read(self) -> pd.DataFrame:
        if not self.frames:
            return pd.DataFrame(columns=self.columns)
        return pd.concat(self.frames, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# Parameters


def parse_init(init: str) -> tuple[str, float]:
    """``uniform`` (angles uniform in [0, 2 pi)), ``normal:SIGMA`` (radians) or
    ``identity-blocks[:K]`` (Grant et al. 2019, blocks of K layers; see bpdiag.analyses.exact)."""
    if init == "uniform":
        return "uniform", 0.0
    if init == "identity-blocks" or init.startswith("identity-blocks:"):
        k = init.split(":", 1)[1] if ":" in init else "1"
        if not k.isdigit() or int(k) < 1:
            raise ValueError(f"identity-blocks:K needs an integer K >= 1, got {init!r}")
        return "identity-blocks", float(k)
    if init.startswith("normal:"):
        try:
            sigma = float(init.split(":", 1)[1])
        except ValueError:
            sigma = -1.0
        if 0 < sigma < math.inf:
            return "normal", sigma
        raise ValueError(
            f"normal init needs a positive sigma (finite), e.g. normal:0.1, got {init!r}"
        )
    raise ValueError(
        f"init must be 'uniform', 'normal:SIGMA' or 'identity-blocks[:K]', got {init!r}"
    )


def _conforms(value, hint) -> bool:
    """Whether a TOML ``value`` has the type ``hint`` (a resolved annotation): an int is not a
    float's ``4.7`` nor a bool; a tuple axis takes a list of its items or one item."""
    import types
    import typing

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint in (object, typing.Any):
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, a) for a in args)
    if hint is type(None):
        return value is None
    if origin in (tuple, list, Sequence) or hint in (tuple, list):
        item = args[0] if args else object
        items = value if isinstance(value, (list, tuple)) else [value]
        return all(_conforms(v, item) for v in items)
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok and math.isfinite(value)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def check_types(where: str, values: dict, hints: dict) -> None:
    """Raise a one-line ``ValueError`` naming the first of ``values`` (options read from a TOML
    file) whose type does not match its annotation in ``hints`` (``typing.get_type_hints``):
    ``qubits = "2..8"``, ``[2, "x"]``, ``ansatz = 5``, ``samples = 4.7``, ``lr = inf``."""
    for name, value in values.items():
        hint = hints.get(name)
        if hint is not None and not _conforms(value, hint):
            raise ValueError(f"{where}{name} = {value!r}: needs {_describe(hint)}")


def _describe(hint) -> str:
    """``hint`` in words: ``tuple[int, ...]`` -> 'an integer or a list of integers'."""
    import types
    import typing

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args if a is not type(None))
    if origin in (tuple, list, Sequence):
        one = _describe(args[0]) if args else "a value"
        return f"{one} or a list of them"
    words = {int: "an integer", float: "a finite number", str: "a string", bool: "true or false"}
    return words.get(hint, "a table" if hint is dict or origin is dict else str(hint))


#: The named parameter choices (besides an index or a label).
PARAM_NAMES = ("middle", "first", "last", "all")


def param_labels(circuit: Circuit) -> tuple[str, ...]:
    """One label per parameter, in the circuit's parameter order: ``meta["param_labels"]`` when a
    frontend recorded them (e.g. ``"weights[0,1]"``), else ``"θ[k]"``."""
    labels = circuit.info("param_labels")
    if labels is not None and len(labels) == circuit.n_params:
        return tuple(str(s) for s in labels)
    return tuple(f"θ[{k}]" for k in range(circuit.n_params))


def param_index(circuit: Circuit, which: str | int) -> list[int]:
    """Indices of the parameters whose derivative is sampled.

    which: ``middle``, ``first``, ``last``, ``all``, an index (an int, or a string of one, in
    the circuit's own parameter order) or a label (:func:`param_labels`). An index out of range
    or an unknown label raises a one-line ``ValueError``.

    >>> from bpdiag.circuits import dense_hea
    >>> param_index(dense_hea(2, 1), "θ[2]"), param_index(dense_hea(2, 1), "last")
    ([2], [3])
    """
    P = circuit.n_params
    if P == 0:
        raise ValueError(f"circuit {circuit.name!r} has no trainable parameters")
    if isinstance(which, str) and which in PARAM_NAMES:
        return {"middle": [P // 2], "first": [0], "last": [P - 1], "all": list(range(P))}[which]
    labels = param_labels(circuit)
    if isinstance(which, str) and which in labels:
        return [labels.index(which)]
    k = as_param_index(which)
    if k is None:
        raise ValueError(
            f"unknown parameter {which!r} for circuit {circuit.name!r}: give "
            f"{', '.join(PARAM_NAMES)}, an index 0..{P - 1} or a label such as {labels[0]!r}"
        )
    if not 0 <= k < P:
        raise ValueError(
            f"parameter index {k} is out of range: circuit {circuit.name!r} has {P} "
            f"parameters (0..{P - 1})"
        )
    return [k]


def as_param_index(which) -> int | None:
    """``which`` as a parameter index when it is one (an int or a string of one), else None."""
    if isinstance(which, (bool, np.bool_)):
        return None
    if isinstance(which, (int, np.integer)):
        return int(which)
    try:
        return int(str(which).strip())
    except ValueError:
        return None


def draw(circuit: Circuit, samples: int, init: str, rng: np.random.Generator):
    """Random parameters float64[samples, n_params] and data angles float64[samples, n_data]."""
    kind, sigma = parse_init(init)
    if kind == "normal":
        params = rng.normal(0, sigma, size=(samples, circuit.n_params))
    else:
        params = rng.uniform(0, 2 * np.pi, size=(samples, circuit.n_params))
    if kind == "identity-blocks":  # inverse blocks start equal to their forward blocks
        params = tie_params(circuit, params)
    x = rng.uniform(-np.pi, np.pi, size=(samples, circuit.n_data))
    return params, x


# ---------------------------------------------------------------------------------------------
# Summaries, fits and theory


def summarize(grads: np.ndarray) -> dict[str, float]:
    """Mean and variance (ddof=1) of float[samples, n_params_differentiated] with standard errors.

    With several parameters the per-parameter variances are averaged; standard errors come from
    the per-sample spread (delta method), which is valid for any distribution with finite 4th
    moment.
    """
    S = grads.shape[0]
    mean_p = grads.mean(axis=0)
    dev2 = (grads - mean_p) ** 2 * S / (S - 1)  # unbiased per-sample contributions
    var = float(dev2.mean())
    var_se = float(dev2.mean(axis=1).std(ddof=1) / math.sqrt(S))
    m = grads.mean(axis=1)
    return {
        "mean": float(m.mean()),
        "mean_se": float(m.std(ddof=1) / math.sqrt(S)),
        "var": var,
        "var_se": var_se,
        "log2_var": math.log2(var) if var > 0 else float("-inf"),
    }


def weighted_line_fit(x, y, y_se, *, floor: float = 1e-6) -> dict[str, float]:
    """Weighted least squares of ``y = a + b x``: the one fit every analysis uses.

    x, y, y_se: float[k] (k >= 2). Weights are ``1 / max(y_se, floor)^2``. When the line does
    not fit within the error bars (reduced chi^2 > 1) the standard errors are inflated by
    sqrt(chi^2 / dof). Returns ``a, a_se, b, b_se, chi2, dof``.

    >>> round(weighted_line_fit([0, 1, 2], [1, 3, 5], [0.1, 0.1, 0.1])["b"], 12)
    2.0
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    sy = np.maximum(np.asarray(y_se, float), floor)
    if len(x) < 2:
        raise ValueError(f"a line fit needs at least 2 points, got {len(x)}")
    W = 1 / sy**2
    X = np.stack([np.ones_like(x), x], axis=1)
    cov = np.linalg.inv(X.T @ (W[:, None] * X))
    beta = cov @ X.T @ (W * y)
    resid = y - X @ beta
    dof = len(x) - 2
    chi2 = float(resid @ (W * resid))
    scale = max(1.0, chi2 / dof) if dof > 0 else 1.0
    return {
        "a": float(beta[0]),
        "a_se": float(math.sqrt(cov[0, 0] * scale)),
        "b": float(beta[1]),
        "b_se": float(math.sqrt(cov[1, 1] * scale)),
        "chi2": chi2,
        "dof": dof,
    }


#: A variance at or below this fraction of the 2-design value is a structural zero: the
#: differentiated parameter is dead there (figures draw it on a floor, fits leave it out).
ZERO_FACTOR = 1e-12


def structural_zero(var, n_qubits, cost: str) -> np.ndarray:
    """bool[...]: where ``var`` (float[...], at ``n_qubits`` int[...]) is a structural zero
    (``<= ZERO_FACTOR`` x :func:`haar_variance`)."""
    var = np.asarray(var, dtype=float)
    ref = np.array([haar_variance(int(n), cost) for n in np.ravel(n_qubits)]).reshape(var.shape)
    return var <= ZERO_FACTOR * ref


def haar_variance(n_qubits: int, cost: str) -> float:
    """Var[dC/dtheta] when the unitaries before and after a rotation exp(-i theta P/2) are
    independent Haar-random (2-designs), for a traceless cost O with Tr(O^2)/d = w:

        Var = w * d^2 / (2 (d^2 - 1) (d + 1)),   d = 2**n,

    with w = :func:`~bpdiag.circuits.cost_weight` = Tr(O_0^2)/d, the sum of the squared
    non-identity coefficients of the Pauli sum (1 for global, zz; 1/n for local); the identity part
    of O never changes a gradient. Derivation: dC = <phi| i[G, O'] |phi> with a Haar
    state phi and O' = V^+ O V; E_phi gives Tr(K^2)/(d(d+1)) and the Haar twirl of O'(x)O' gives
    E Tr(K^2) = (d w / 2) d^2/(d^2 - 1). (McClean et al. 2018; Cerezo et al. 2021.)
    """
    d = 2.0**n_qubits
    w = cost_weight(cost, n_qubits)
    return w / (2 * (1 - d**-2) * (d + 1))  # = w d^2 / (2 (d^2 - 1) (d + 1)), no overflow


# ---------------------------------------------------------------------------------------------
# Running a grid: one task per point, on one process, local worker processes or a Dask cluster

#: Where the points of a grid run: ``local`` (this process, or ``jobs`` worker processes) or
#: ``dask`` (the cluster at ``address``; without one, a local Dask cluster of ``jobs`` workers).
EXECUTORS = ("local", "dask")


def point_cost(n_qubits: int, n_layers: int, samples: int, *, density: bool = False) -> float:
    """The work of one grid point, for ordering only (largest first): ``2^n`` amplitudes (``4^n``
    for a density matrix or a Pauli-path tensor) x ``max(layers, 1)`` x ``max(samples, 1)``."""
    width = 2.0 ** (2 * n_qubits if density else n_qubits)
    return width * max(int(n_layers), 1) * max(int(samples), 1)


def portable(config):
    """``config`` as a grid task ships it: a copy without its resolved circuit family
    (``_family``, :func:`bpdiag.frontends.attach_family`, which may hold closures no pickle
    takes). Tasks carry the circuits they need, built where the grid is planned."""
    if "_family" not in vars(config):
        return config
    import copy

    out = copy.copy(config)
    del vars(out)["_family"]
    return out


def _die_with_parent() -> None:
    """Worker initializer: on Linux the kernel sends SIGKILL to the worker when its parent
    dies (``PR_SET_PDEATHSIG``), so a killed run with ``--jobs N`` leaves no workers behind;
    the worker ignores SIGINT (the parent handles Ctrl-C and stops the pool)."""
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes
        import os

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
        if os.getppid() == 1:  # the parent died before the call: go now
            os._exit(1)


def _terminate(pool) -> None:
    """Stop a process pool now: kill its workers, then shut it down without waiting."""
    for proc in list(getattr(pool, "_processes", {}).values()):
        if proc.is_alive():
            proc.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def check_executor(executor: str, jobs: int, address: str | None) -> None:
    """Refuse, in one line (``ValueError``), an unknown executor, ``jobs`` < 1 and an
    ``address`` without the ``dask`` executor."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be 'local' or 'dask', got {executor!r}")
    if isinstance(jobs, bool) or int(jobs) != jobs or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, got {jobs}")
    if address and executor != "dask":
        raise ValueError("an address names a Dask scheduler: it needs executor 'dask'")


def executor_map(executor: str = "local", jobs: int = 1, address: str | None = None):
    """``(map_unordered, close)``: ``map_unordered(fn, items)`` runs ``fn(item)`` for every item
    (submitted in the order given) and yields the results as they finish; ``close()`` ends what
    this call started (None: nothing to end).

    ``local`` with ``jobs`` 1: in this process, in order. ``local`` with ``jobs`` > 1: that many
    spawned worker processes (killed with their parent). ``dask``: the scheduler at ``address``
    (``close`` closes only this client; the user's scheduler and workers keep running), or
    without ``address`` a local cluster of ``jobs`` single-threaded worker processes (stopped by
    ``close``). Bad choices and a scheduler that does not answer raise a one-line
    ``ValueError``."""
    check_executor(executor, jobs, address)
    if executor == "local" and jobs == 1:

        def serial(fn, items):
            for item in items:
                yield fn(item)

        return serial, None
    if executor == "local":
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        pool = ProcessPoolExecutor(
            max_workers=jobs, mp_context=mp.get_context("spawn"), initializer=_die_with_parent
        )

        def local(fn, items):
            futures = [pool.submit(fn, item) for item in items]
            try:
                for f in as_completed(futures):
                    yield f.result()
            except BaseException:  # Ctrl-C, SIGTERM, a failed point: no worker outlives this
                for f in futures:
                    f.cancel()
                _terminate(pool)
                raise

        return local, pool.shutdown
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ValueError(
            "--executor dask needs dask[distributed]: pip install 'bpdiag[dask]'"
        ) from None
    if address:  # the user's cluster: close only our client, leave it running
        try:
            client = Client(address)
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"no Dask scheduler answers at {address} ({exc})") from None
        close = client.close
    else:  # a cluster of our own: stop it with the client
        cluster = LocalCluster(
            n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)

        def close():
            client.close()
            cluster.close()

    def dask(fn, items):
        items = list(items)
        # one task each; earlier items first (Dask runs higher priorities first)
        futures = [
            client.submit(fn, item, pure=False, priority=len(items) - i)
            for i, item in enumerate(items)
        ]
        try:
            for f in as_completed(futures):
                yield f.result()
        except BaseException:  # leave the user's cluster idle, not computing a dead run
            client.cancel(futures)
            raise

    return dask, close


def _indexed(fn, item):
    """``(i, fn(task))`` of an ``(i, task)`` item: results arrive tagged with their point."""
    i, task = item
    return i, fn(task)


def run_grid(
    fn,
    tasks: Sequence,
    on_result,
    *,
    cost: Sequence[float] | None = None,
    executor: str = "local",
    jobs: int = 1,
    address: str | None = None,
) -> None:
    """The one loop over the points of a grid: ``fn(task)`` for every task (one task per point),
    ``on_result(i, result)`` in this process as each one finishes (the caller appends the
    point's rows to its sink there, so a killed run keeps every finished point).

    fn: a module-level function (it is pickled to worker processes and Dask workers);
    tasks: its arguments, in grid order (``i`` is the index into them); cost: each task's work
    (:func:`point_cost`): with worker processes or Dask the largest points are submitted first
    (ties in grid order), so the longest point does not start last; in this process the points
    run in grid order. Results arrive in any order; callers sort their tables into grid order,
    so the output does not depend on the executor (each point's randomness comes from its own
    coordinates). ``executor``, ``jobs``, ``address``: :func:`executor_map`. Nothing is started
    when there is nothing to do."""
    check_executor(executor, jobs, address)
    tasks = list(tasks)
    if not tasks:
        return
    order = list(range(len(tasks)))
    if not (executor == "local" and jobs == 1) and cost is not None:
        order.sort(key=lambda i: -float(cost[i]))
    mapper, close = executor_map(executor, jobs, address)
    try:
        for i, result in mapper(functools.partial(_indexed, fn), [(i, tasks[i]) for i in order]):
            on_result(i, result)
    finally:
        if close is not None:
            close()
