"""Nothing lost, nothing mixed, no traceback (issue 20 §4, §7): every bad input is one ``Error:``
line and exit code 2, whatever command meets it; a Dask cluster the user runs outlives a study.

Each case goes through the click entry point (CliRunner) and fails before any real work, so the
fast tests stay fast; the Dask cluster test starts a scheduler and a worker as processes (slow).
"""

from __future__ import annotations

import errno
import io
import pathlib
import socket
import subprocess
import sys
import time
import zipfile

import pytest
from click.testing import CliRunner

from bpdiag.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: A tiny study grid (one run of each kind, one epoch).
TINY_STUDY = (
    "qubits = [2]\nlayers = [1]\nsubsets = [100]\nseeds = [0]\nepochs = 1\nbootstrap = 100\n"
)


def _fails(args: list[str], *words: str) -> str:
    """Run ``bpdiag ARGS``: exit code 2, exactly one ``Error:`` line holding every one of
    ``words``, no traceback. Returns that line."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    errors = [ln for ln in result.output.splitlines() if ln.startswith("Error:")]
    assert "Traceback" not in result.output
    assert result.exit_code == 2, (result.output, result.exception)
    assert len(errors) == 1, result.output
    for w in words:
        assert w in errors[0], errors[0]
    return errors[0]


def _out_commands(tmp: pathlib.Path, out: pathlib.Path) -> dict[str, list]:
    """Every command, with ``--out out`` and options that reach the output folder at once."""
    return {
        "variance": ["variance", "--qubits", "2", "--layers", "1", "--samples", "2"],
        "entropy": ["entropy", "--qubits", "2", "--rows", "4"],
        "lie": ["lie", "--qubits", "2", "--layers", "1"],
        "train": ["train", "--epochs", "1", "--subset", "50", "--no-baselines"],
        "study": ["study", "--config", _toml(tmp, "s.toml", TINY_STUDY)],
        "figures": ["figures", "--results", tmp],
        "reproduce": ["reproduce", ROOT / "analyses" / "variance.toml", "--quick"],
        "data synth": ["data", "synth", "--rows", "40", "--years", "0.05"],
    }


def _toml(tmp: pathlib.Path, name: str, text: str) -> pathlib.Path:
    path = tmp / name
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------------------------
# --out that cannot be written (every command)


@pytest.mark.parametrize("command", list(_out_commands(pathlib.Path("."), pathlib.Path("."))))
def test_read_only_out_is_one_line(command, tmp_path, monkeypatch):
    """A read-only --out (PermissionError; the tests may run as root, so mkdir refuses here)."""
    out = tmp_path / "locked" / "out"

    def refuse(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    args = _out_commands(tmp_path, out)[command]
    monkeypatch.setattr(pathlib.Path, "mkdir", refuse)
    target = out / "t.csv" if command == "data synth" else out
    _fails([*args, "--out", target], "Permission denied", str(tmp_path / "locked"))


@pytest.mark.parametrize("command", ["variance", "study", "figures", "data synth"])
@pytest.mark.parametrize("where", ["under a file", "a file"])
def test_out_under_a_regular_file_is_one_line(command, where, tmp_path):
    """--out under a regular file (NotADirectoryError / FileExistsError) or --out a file (for
    ``data synth``, whose --out is a file: a folder, IsADirectoryError)."""
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    out = blocker / "out" if where == "under a file" else blocker
    args = _out_commands(tmp_path, out)[command]
    if command == "data synth":
        out = out / "t.csv" if where == "under a file" else tmp_path
    line = _fails([*args, "--out", out])
    assert "afile" in line or str(tmp_path) in line


# ---------------------------------------------------------------------------------------------
# TOML of the wrong type, empty, or a folder


@pytest.mark.parametrize(
    "body, words",
    [
        ('qubits = "2..8"', ["qubits", "integer"]),
        ('qubits = [2, "x"]', ["qubits", "integer"]),
        ("ansatz = 5", ["ansatz", "string"]),
        ("samples = 4.7", ["samples", "integer"]),
        ("sparse_density = nan", ["sparse_density", "finite"]),
        ("", ["sets no option"]),
    ],
)
def test_reproduce_config_types(body, words, tmp_path):
    config = _toml(tmp_path, "bad.toml", f"[variance]\n{body}\n")
    _fails(["reproduce", config, "--out", tmp_path / "out"], "bad.toml", *words)
    assert not (tmp_path / "out" / "variance.csv").exists()  # nothing ran


@pytest.mark.parametrize(
    "body, words",
    [
        ('bootstrap = "many"', ["bootstrap", "integer"]),
        ('qubits = "2..8"', ["qubits", "integer"]),
        ("ansatz = 5", ["ansatz", "string"]),
        ("epochs = 2.5", ["epochs", "integer"]),
        ("[train]\nlr = inf", ["lr", "finite"]),
        ("", ["sets no study option"]),
    ],
)
def test_study_config_types(body, words, tmp_path):
    config = _toml(tmp_path, "bad.toml", body + "\n")
    _fails(["study", "--config", config, "--out", tmp_path / "out"], "bad.toml", *words)
    assert not (tmp_path / "out" / "runs.csv").exists()


def test_empty_experiment_file_and_folder_as_config(tmp_path):
    _fails(["reproduce", _toml(tmp_path, "e.toml", ""), "--out", tmp_path / "o"], "e.toml")
    _fails(["reproduce", tmp_path, "--out", tmp_path / "o"], str(tmp_path))
    _fails(["study", "--config", tmp_path, "--out", tmp_path / "o"], "folder")


# ---------------------------------------------------------------------------------------------
# Corrupt inputs: a zip, a checkpoint, a results CSV


def test_corrupt_zip_member_is_one_line(tmp_path):
    """A zip whose CSV is corrupt (zlib.error / bad CRC) names the archive and the member."""
    text = "date,symbol,expiry,strike,option_type,close\n" * 2000
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("options.csv", text)
    raw = bytearray(buf.getvalue())
    start = 30 + len("options.csv")  # local header, then the deflated data
    for i in range(start + 5, start + 40):
        raw[i] ^= 0x5A
    path = tmp_path / "bad.zip"
    path.write_bytes(bytes(raw))
    _fails(["data", "info", path], "bad.zip", "options.csv")


@pytest.mark.parametrize("kind", ["truncated", "garbage", "foreign"])
def test_bad_checkpoint_on_resume_is_one_line(kind, tmp_path):
    import torch

    out = tmp_path / "run"
    out.mkdir()
    buf = io.BytesIO()
    torch.save({"config": {}, "model": {"w": torch.zeros(50)}}, buf)
    blob = {
        "truncated": buf.getvalue()[: len(buf.getvalue()) // 2],
        "garbage": b"this is not a checkpoint\n" * 10,
        "foreign": buf.getvalue(),  # a torch file, not a bpdiag checkpoint
    }[kind]
    (out / "checkpoint_last.pt").write_bytes(blob)
    args = ["train", "--epochs", "1", "--subset", "50", "--no-baselines", "--resume"]
    _fails([*args, "--out", out], "checkpoint_last.pt", "checkpoint")


@pytest.mark.parametrize(
    "content, words",
    [
        ("n_qubits,n_layers\n2,1\n", ["variance.csv", "column"]),
        ("", ["variance.csv", "empty"]),
        ('\x00\xff\xfe garbage "unclosed\n\x00,,\n', ["variance.csv"]),
    ],
)
def test_figures_on_short_or_corrupt_csv(content, words, tmp_path):
    folder = tmp_path / "variance"
    folder.mkdir()
    (folder / "variance.csv").write_bytes(content.encode("latin-1"))
    args = ["figures", "--results", folder, "--only", "variance", "--out", tmp_path / "fig"]
    _fails(args, *words)


# ---------------------------------------------------------------------------------------------
# Non-finite numbers, seeds, contradicting options


@pytest.mark.parametrize(
    "args, option",
    [
        (["variance", "--init", "normal:inf"], "normal:inf"),
        (["variance", "--init", "normal:nan"], "normal:nan"),
        (["variance", "--sparse-density", "nan"], "--sparse-density"),
        (["train", "--lr", "inf"], "--lr"),
        (["train", "--lr-quantum", "nan"], "--lr-quantum"),
        (["data", "features", "--rate", "nan"], "--rate"),
        (["data", "synth", "--years", "inf"], "--years"),
    ],
)
def test_non_finite_values_are_refused(args, option, tmp_path):
    _fails([*args, "--out", tmp_path / "o.csv"], option)
    assert not [p for p in tmp_path.rglob("[!.]*.csv") if p.is_file()]  # no table written


@pytest.mark.parametrize("seed", ["-1", str(2**32), "1.5", "x"])
@pytest.mark.parametrize(
    "command", [["variance"], ["entropy"], ["lie"], ["train"], ["data", "synth"]]
)
def test_one_seed_rule_naming_the_option(command, seed, tmp_path):
    _fails([*command, "--seed", seed, "--out", tmp_path / "o.csv"], "--seed")


@pytest.mark.parametrize(
    "args, words",
    [
        (["variance", "--engine", "pennylane", "--dtype", "complex64"], ["--dtype", "--engine"]),
        (["entropy", "--engine", "pennylane", "--dtype", "complex64"], ["--dtype", "--engine"]),
        (["variance", "--device", "lightning.qubit"], ["--device", "--engine pennylane"]),
        (["entropy", "--engine", "jax", "--device", "default.qubit"], ["--device"]),
        (["study", "--address", "tcp://127.0.0.1:1"], ["--address", "--executor dask"]),
    ],
)
def test_contradicting_options_are_refused(args, words, tmp_path):
    _fails([*args, "--out", tmp_path / "o"], *words)
    assert not (tmp_path / "o").exists()


def test_train_zero_layers_runs(tmp_path):
    # no ansatz layers: the quantum layer is the encoding alone (its weights get no gradient)
    args = ["train", "--layers", "0", "--epochs", "1", "--subset", "50", "--no-baselines"]
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and (tmp_path / "o" / "summary.csv").exists()


# ---------------------------------------------------------------------------------------------
# Dask


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dask_address_that_does_not_answer(tmp_path):
    import dask
    import distributed  # noqa: F401  (its defaults first: leaving `set` must not drop them)

    config = _toml(tmp_path, "s.toml", TINY_STUDY)
    address = f"tcp://127.0.0.1:{_free_port()}"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        args = ["study", "--config", config, "--executor", "dask", "--address", address]
        _fails([*args, "--out", tmp_path / "o"], address)


@pytest.mark.slow
def test_study_leaves_the_users_dask_cluster_running(tmp_path):
    """``--address``: the study closes only its client; the scheduler and its worker (separate
    processes, as a user runs them) keep running and serve another client afterwards."""
    from dask.distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**__import__("os").environ, "PYTHONPATH": str(ROOT)}
    py = sys.executable
    scheduler = subprocess.Popen(
        [py, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--dashboard-address", ":0"],  # fmt: skip
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = None
    try:
        with Client(address, timeout="60s") as c:  # waits for the scheduler to come up
            worker = subprocess.Popen(
                [py, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                 "--no-dashboard"],  # fmt: skip
                env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            c.wait_for_workers(1, timeout=60)
        config = _toml(tmp_path, "s.toml", TINY_STUDY)
        args = ["study", "--config", str(config), "--executor", "dask", "--address", address]
        result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "o")])
        assert result.exit_code == 0, (result.output, result.exception)
        assert (tmp_path / "o" / "runs.csv").read_text().count("\n") == 3  # header + 2 runs
        time.sleep(1.0)
        assert scheduler.poll() is None and worker.poll() is None
        with Client(address, timeout="10s") as c:
            assert len(c.scheduler_info()["workers"]) == 1
            assert c.submit(sum, [1, 2]).result(timeout=30) == 3
    finally:
        for proc in (worker, scheduler):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
