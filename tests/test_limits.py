"""Sizes are bounded before anything is built, and the memory estimate covers the real peak
(issue 20 §1)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from bpdiag._resources import check_size, human_bytes, readable_count
from bpdiag.cli import main

ROOT = Path(__file__).resolve().parents[1]

HUGE = [
    "variance --qubits 26 --layers 1 --samples 2",
    "variance --qubits 1100",
    "variance --qubits 1000",
    "variance --qubits 4 --shots 99999999999999999999",
    "variance --layers 1000000000",
    "variance --samples 99999999999",
    "lie --deep-layers 1000000000",
    "entropy --random-cuts 1000000000",
    "entropy --qubits 1100",
    "train --layers 1000000",
    "train --hidden 1000000000",
    "train --qubits 1100",
    "variance --qubits 2..10000000",
]


@pytest.mark.parametrize("args", HUGE)
def test_huge_sizes_fail_in_one_readable_line(args, tmp_path):
    res = CliRunner().invoke(main, [*args.split(), "--out", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    errors = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1, res.output
    assert max(len(w) for w in errors[0].split()) < 30, errors[0]  # no 300-digit numbers
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").glob("*.csv"))


def test_statevector_sizes_are_printed_as_powers_of_two(tmp_path):
    res = CliRunner().invoke(main, ["variance", "--qubits", "1000", "--out", str(tmp_path)])
    assert "2^1000 amplitudes" in res.output, res.output


def test_readable_numbers():
    assert readable_count(12345) == "12,345"
    assert readable_count(2**1000) == "2^1000"
    assert readable_count(10**20 + 1) == "about 10^20"
    assert human_bytes(2**1004) == "2^1004 bytes"
    assert human_bytes(3 * 2**30) == "3.0 GiB"
    with pytest.raises(ValueError, match="^layers must be <= 10, got 11$"):
        check_size("layers", 11, 10)


CHILD = textwrap.dedent(
    """
    import json, sys
    from bpdiag.analyses.variance import VarianceConfig, estimate_memory, variance
    kw = json.loads(sys.argv[1])
    est = estimate_memory(VarianceConfig(**kw))
    variance(**kw)
    hwm = [int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM")]
    print(json.dumps({"estimate": est, "peak": hwm[0]}))
    """
)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)")
@pytest.mark.parametrize(
    "kw",
    [
        {"qubits": [18], "layers": [1], "samples": 4},  # cost diagonals dominate
        {"qubits": [18], "layers": [2], "samples": 8, "cost": ["projector"]},  # shared prefix
        {"qubits": [17], "layers": [1], "samples": 4, "param": "all", "cost": ["projector"]},
        {"qubits": [10], "layers": [2], "samples": 200},  # plain parameter shift
    ],
)
def test_estimate_covers_the_measured_peak(kw):
    out = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(kw)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    est, peak = got["estimate"]["peak"], got["peak"]
    assert peak <= est <= 2 * peak, (human_bytes(est), human_bytes(peak), got)
