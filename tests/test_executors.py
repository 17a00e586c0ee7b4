"""Every grid command on every executor: the same bytes.

The runner (:func:`bpdiag.analyses._common.run_grid`) is checked with a fake executor that
returns the points in the reverse of their submission order (the tables must not change, the
largest points must go first). The commands are run against a Dask scheduler and two workers
started as separate processes, as a user runs them (``dask scheduler`` / ``dask worker``), and
each output folder is compared file by file with a run in this process: every CSV and figure
byte for byte, the JSON provenance with its timing fields (``timing``, ``wall_s``,
``written_at``) left out.
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from bpdiag.analyses import _common
from bpdiag.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: Fields of the JSON provenance that hold wall times (the only ones that may differ).
TIMING = {"timing", "wall_s", "written_at"}


def _strip(obj):
    """``obj`` (parsed JSON) without its timing fields, at any depth."""
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in TIMING}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _same_output(a: pathlib.Path, b: pathlib.Path) -> list[str]:
    """Assert that folders ``a`` and ``b`` hold the same files with the same bytes (JSON: the
    same content but for :data:`TIMING`); returns the names compared."""
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        x, y = (a / name).read_bytes(), (b / name).read_bytes()
        if name.endswith(".json") and not name.startswith("."):
            assert _strip(json.loads(x)) == _strip(json.loads(y)), name
        else:
            assert x == y, name
    return names


def _run(args: list[str]) -> None:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)


def _fails(args: list[str], *words: str) -> None:
    """Exit code 2, exactly one ``Error:`` line holding every one of ``words``, no traceback."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    errors = [ln for ln in result.output.splitlines() if ln.startswith("Error:")]
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert len(errors) == 1, result.output
    for w in words:
        assert w in errors[0], errors[0]


# ---------------------------------------------------------------------------------------------
# The runner, with a fake executor


class Reversed:
    """A fake executor: records the order of submission, then returns every result in the
    reverse of it (the worst arrival order for a writer that expects grid order)."""

    def __init__(self):
        self.submitted: list[int] = []

    def __call__(self, executor, jobs, address):
        def mapper(fn, items):
            items = list(items)
            self.submitted = [i for i, _ in items]
            return reversed([fn(item) for item in items])

        return mapper, None


def test_largest_points_go_first_and_results_keep_their_point(monkeypatch):
    fake = Reversed()
    monkeypatch.setattr(_common, "executor_map", fake)
    got = []
    costs = [1.0, 8.0, 2.0, 8.0, 4.0]
    _common.run_grid(
        lambda t: t * 10,
        [0, 1, 2, 3, 4],
        lambda i, r: got.append((i, r)),
        cost=costs,
        executor="dask",
        address="tcp://fake:1",
    )
    assert fake.submitted == [1, 3, 4, 2, 0]  # by cost, ties in grid order
    assert got == [(0, 0), (2, 20), (4, 40), (3, 30), (1, 10)]  # arrival: reversed
    # in this process: grid order, whatever the costs
    got.clear()
    monkeypatch.undo()
    _common.run_grid(lambda t: t, [0, 1, 2], lambda i, r: got.append(i), cost=[1, 3, 2])
    assert got == [0, 1, 2]


def test_point_cost_orders_by_work():
    assert _common.point_cost(10, 2, 100) == 2**10 * 2 * 100
    assert _common.point_cost(3, 0, 0) == 8  # no layers, no samples: still some work
    assert _common.point_cost(4, 1, 1, density=True) == 4**4


def _variance(tmp, out, extra=()):
    args = ["variance", "--qubits", "2,3", "--layers", "1,2", "--samples", "12"]
    args += ["--out", tmp / out, *extra]
    _run(args)
    return tmp / out


@pytest.mark.parametrize(
    "extra",
    [
        [],
        pytest.param(
            ["--param", "all", "--method", "sample,exact", "--shots", "100", "--cost", "global"],
            marks=pytest.mark.slow,
        ),
    ],
    ids=["sample", "all-exact-shots"],
)
def test_any_arrival_order_writes_the_same_bytes(monkeypatch, tmp_path, extra):
    """Points returned in the reverse of their (largest-first) submission: every file but the
    timings equals a run in grid order, also the partial tables appended as points arrive."""
    local = _variance(tmp_path, "local", extra)
    monkeypatch.setattr(_common, "executor_map", Reversed())
    fake = _variance(tmp_path, "fake", ["--executor", "dask", "--address", "tcp://x:1", *extra])
    names = _same_output(local, fake)
    assert "variance.csv" in names


def test_the_sink_gets_points_as_they_arrive(monkeypatch):
    """Each point is appended the moment it arrives (not at the end): the sink sees the points
    in arrival order, and the table comes back in grid order."""
    from bpdiag.analyses import variance as va

    class Watch(va.MemorySink):
        def __init__(self):
            super().__init__(va.COLUMNS, va.KEY)
            self.seen = []

        def append(self, frame):
            self.seen.append(int(frame["n_qubits"].iloc[0]))
            super().append(frame)

    sink, fake = Watch(), Reversed()
    monkeypatch.setattr(_common, "executor_map", fake)
    res = va.variance(
        (2, 3, 4), (1,), cost=("global",), samples=6, sink=sink, executor="dask", address="x"
    )
    assert sink.seen == [2, 3, 4]  # submitted 4, 3, 2 (largest first); arrived reversed
    assert fake.submitted == [2, 1, 0]
    assert list(res.table["n_qubits"]) == [2, 3, 4]


@pytest.mark.parametrize(
    "args, words",
    [
        (["variance", "--address", "tcp://127.0.0.1:1"], ["--address", "--executor dask"]),
        (["entropy", "--address", "tcp://127.0.0.1:1"], ["--address", "--executor dask"]),
        (["lie", "--address", "tcp://127.0.0.1:1"], ["--address", "--executor dask"]),
        (["variance", "--executor", "ray"], ["--executor"]),
        (["lie", "--jobs", "0"], ["--jobs"]),
    ],
)
def test_bad_executor_options_exit_2(args, words, tmp_path):
    _fails([*args, "--out", tmp_path / "o"], *words)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "command",
    [
        ["variance", "--qubits", "2", "--layers", "1", "--samples", "4"],
        ["entropy", "--qubits", "2", "--layers", "0", "--rows", "4"],
        ["lie", "--qubits", "2", "--samples", "0"],
    ],
    ids=["variance", "entropy", "lie"],
)
def test_an_address_that_does_not_answer_is_one_line(command, tmp_path):
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{_free_port()}"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        args = [*command, "--executor", "dask", "--address", address]
        _fails([*args, "--out", tmp_path / "o"], address)


# ---------------------------------------------------------------------------------------------
# Against a scheduler and workers in processes of their own


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A Dask scheduler and two single-threaded workers, each a process of its own started as
    a user starts them; yields the scheduler's address."""
    pytest.importorskip("distributed")
    from dask.distributed import Client

    here = tmp_path_factory.mktemp("dask")
    file = here / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    py, quiet = sys.executable, {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen(
            [
                py,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--scheduler-file",
                str(file),
                "--dashboard-address",
                ":0",
            ],  # fmt: skip
            env=env,
            cwd=here,
            **quiet,
        )  # fmt: skip
    ]
    try:
        deadline = time.monotonic() + 60
        while not file.exists() or not file.read_text().strip():
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.2)
        address = json.loads(file.read_text())["address"]
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        py,
                        "-m",
                        "distributed.cli.dask_worker",
                        address,
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--no-nanny",
                    ],  # fmt: skip
                    env=env,
                    cwd=ROOT,
                    **quiet,
                )  # fmt: skip
            )
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


#: Each grid command on a tiny grid (``variance --noise`` is the noise analysis).
GRIDS = {
    "variance": ["variance", "--qubits", "2..4", "--layers", "1,2", "--samples", "16"],
    "exact": [
        "variance", "--qubits", "2,3", "--layers", "1,2", "--samples", "8", "--param", "all",
        "--method", "sample,exact", "--shots", "64", "--cost", "global",
    ],
    "noise": [
        "variance", "--qubits", "2", "--layers", "1,2,3", "--samples", "8", "--cost", "local",
        "--noise", "depolarizing:0,0.05",
    ],
    "entropy": [
        "entropy", "--qubits", "2,3", "--layers", "0,1", "--rows", "16",
        "--state", "data,product,haar",
    ],
    "lie": ["lie", "--qubits", "2,3", "--ansatz", "dense,sparse", "--samples", "16",
            "--deep-layers", "3"],
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("name", list(GRIDS))
def test_dask_cluster_writes_the_bytes_of_a_local_run(cluster, name, tmp_path):
    args = GRIDS[name]
    _run([*args, "--out", tmp_path / "local"])
    _run([*args, "--executor", "dask", "--address", cluster, "--out", tmp_path / "dask"])
    names = _same_output(tmp_path / "local", tmp_path / "dask")
    assert any(n.endswith(".csv") for n in names) and any(n.endswith(".png") for n in names)


@pytest.mark.slow
def test_dask_resume_completes_a_killed_local_run(cluster, tmp_path):
    """A local run killed after its first points (the table cut there, half a line left), then
    resumed on the cluster: the bytes of one whole run."""
    import shutil

    args = GRIDS["variance"]
    _run([*args, "--out", tmp_path / "whole"])
    part = tmp_path / "part"
    shutil.copytree(tmp_path / "whole", part)
    lines = (part / "variance.csv").read_text().splitlines(keepends=True)
    (part / "variance.csv").write_text("".join(lines[:5]) + lines[5][:9])  # 2 points and a bit
    _run([*args, "--out", part, "--resume", "--executor", "dask", "--address", cluster])
    _same_output(tmp_path / "whole", part)
