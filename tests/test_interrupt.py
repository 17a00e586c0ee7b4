"""Ctrl-C stops promptly with one line and exit 130, keeping a valid partial table; study
workers die with their parent (issue 20 §6)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "from bpdiag.cli import main; main()"]
GRID = ["--qubits", "2..8", "--layers", "1,2,5,10", "--samples", "200", "--cost", "global"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals and /proc"),
]


def _lines(path: Path) -> int:
    return path.read_text().count("\n") if path.exists() else 0


def _wait_for(cond, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_ctrl_c_keeps_a_partial_table_that_resume_completes(tmp_path):
    full = tmp_path / "full"
    subprocess.run([*CLI, "variance", *GRID, "--out", str(full)], cwd=ROOT, check=True)
    part = tmp_path / "part"
    proc = subprocess.Popen(
        [*CLI, "variance", *GRID, "--out", str(part)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    csv = part / "variance.csv"
    assert _wait_for(lambda: _lines(csv) >= 2, 120), "no point was appended"
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 5
    assert proc.returncode == 130, err
    assert "Exception ignored" not in err and "Traceback" not in err and "Aborted" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted:"), err
    n_partial = _lines(csv)
    assert 2 <= n_partial < _lines(full / "variance.csv")
    cmd = [*CLI, "variance", *GRID, "--out", str(part), "--resume"]
    subprocess.run(cmd, cwd=ROOT, check=True)
    assert csv.read_bytes() == (full / "variance.csv").read_bytes()


def _children(pid: int) -> set[int]:
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_study_workers_die_with_their_parent(tmp_path, sig):
    conf = tmp_path / "s.toml"
    conf.write_text(
        "qubits = [2]\nlayers = [1]\nsubsets = [60]\nseeds = [0, 1, 2, 3, 4, 5, 6, 7]\n"
        "epochs = 200\nbootstrap = 200\n"
    )
    proc = subprocess.Popen(
        [*CLI, "study", "--config", str(conf), "--jobs", "2", "--out", str(tmp_path / "o")],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    workers: set[int] = set()

    def started() -> bool:
        workers.update(p for p in _children(proc.pid) if _alive(p))
        return len(workers) >= 2

    assert _wait_for(started, 120), "the workers did not start"
    time.sleep(1.0)
    proc.send_signal(sig)
    proc.communicate(timeout=30)
    if sig != signal.SIGKILL:
        assert proc.returncode in (130, 143), proc.returncode
    assert _wait_for(lambda: not any(_alive(p) for p in workers), 5.0), [
        p for p in workers if _alive(p)
    ]
    for p in workers:  # belt and braces: never leave a stray process behind a failed test
        if _alive(p):
            os.kill(p, signal.SIGKILL)
