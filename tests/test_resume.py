"""--resume checks what it resumes (issue 20, section 2): a partial table is validated, its last
(possibly incomplete) point is recomputed whole, unknown lines are refused, and a resume with other
options is refused in one line naming the option. Each case ends byte-identical to an
uninterrupted run, or exits with code 2 and one line."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from bpdiag.cli import main
from bpdiag.results import CsvSink

VARIANCE = ["variance", "--qubits", "2,3", "--layers", "1,2", "--samples", "12"]
ENTROPY = ["entropy", "--qubits", "2,3", "--layers", "0,1", "--rows", "8", "--state", "data"]


def _run(args, out, *more):
    r = CliRunner().invoke(main, [*args, "--out", str(out), *more])
    return r


@pytest.fixture(scope="module")
def full_variance(tmp_path_factory):
    out = tmp_path_factory.mktemp("variance_full")
    r = _run(VARIANCE, out)
    assert r.exit_code == 0, r.output
    return out


def _partial(full, tmp_path, name, keep_lines, tail=""):
    """A copy of a finished run folder whose table holds only its first ``keep_lines`` lines
    (header included) plus ``tail``: what a run killed there leaves."""
    part = tmp_path / "part"
    shutil.copytree(full, part)
    lines = (full / name).read_text().splitlines(keepends=True)
    (part / name).write_text("".join(lines[:keep_lines]) + tail)
    return part, "".join(lines)


def test_variance_killed_inside_a_point_ends_byte_identical(full_variance, tmp_path):
    # 2 costs per point: after header + 3 rows the second point has 1 of its 2 rows
    part, text = _partial(full_variance, tmp_path, "variance.csv", 4)
    r = _run(VARIANCE, part, "--resume")
    assert r.exit_code == 0, r.output
    got = (part / "variance.csv").read_text()
    assert got == text
    assert len(got.splitlines()) == 1 + 2 * 2 * 2  # no duplicated row


def test_variance_killed_mid_line_ends_byte_identical(full_variance, tmp_path):
    lines = (full_variance / "variance.csv").read_text().splitlines(keepends=True)
    part, text = _partial(full_variance, tmp_path, "variance.csv", 5, lines[5][:7])
    r = _run(VARIANCE, part, "--resume")
    assert r.exit_code == 0, r.output
    assert (part / "variance.csv").read_text() == text


@pytest.mark.parametrize("garbage", ["hello world\n", "1,2,3\n", "dense,global,2\n"])
def test_a_garbage_line_is_refused_in_one_line(full_variance, tmp_path, garbage):
    part, _ = _partial(full_variance, tmp_path, "variance.csv", 3, garbage + "x")
    r = _run(VARIANCE, part, "--resume")
    assert r.exit_code == 2, r.output
    assert "line 4" in r.output and "not a row" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize(
    "change, flag",
    [
        (["--seed", "1"], "--seed"),
        (["--samples", "13"], "--samples"),
        (["--init", "normal:0.1"], "--init"),
        (["--qubits", "2..4"], "--qubits"),
    ],
)
def test_variance_resume_with_other_options_is_refused(full_variance, tmp_path, change, flag):
    part, text = _partial(full_variance, tmp_path, "variance.csv", 3)
    args = [a for a in VARIANCE]
    for i in range(0, len(change), 2):  # replace or add the option
        if change[i] in args:
            args[args.index(change[i]) + 1] = change[i + 1]
        else:
            args += change[i : i + 2]
    r = _run(args, part, "--resume")
    assert r.exit_code == 2, r.output
    assert f"started with {flag}" in r.output and "Traceback" not in r.output
    assert sum(line.startswith("Error:") for line in r.output.splitlines()) == 1
    # nothing was mixed in: the partial file is untouched, and the old options still resume it
    assert (part / "variance.csv").read_text() == "".join(text.splitlines(True)[:3])
    assert _run(VARIANCE, part, "--resume").exit_code == 0
    assert (part / "variance.csv").read_text() == text


def test_entropy_killed_inside_a_point_ends_byte_identical(tmp_path):
    full = tmp_path / "full"
    assert _run(ENTROPY, full).exit_code == 0
    lines = (full / "entropy.csv").read_text().splitlines(keepends=True)
    # one row per cut: drop the last row of the file (the last point lacks a cut)
    part, text = _partial(full, tmp_path, "entropy.csv", len(lines) - 1)
    r = _run(ENTROPY, part, "--resume")
    assert r.exit_code == 0, r.output
    assert (part / "entropy.csv").read_text() == text
    # another --rows is refused, naming it
    r = _run([*ENTROPY[:-4], "--rows", "9", *ENTROPY[-2:]], part, "--resume")
    assert r.exit_code == 2 and "started with --rows" in r.output


def test_sink_drops_the_last_point_whole_and_keeps_single_row_points(tmp_path):
    cols, key = ["p", "c", "v"], ["p", "c"]
    path = tmp_path / "t.csv"
    path.write_text("p,c,v\n1,a,0.1\n1,b,0.2\n2,a,0.3\n")
    sink = CsvSink(path, cols, key, "test", resume=True, point=["p"])
    assert sink.done() == {(1, "a"), (1, "b")}
    assert path.read_text() == "p,c,v\n1,a,0.1\n1,b,0.2\n"
    path.write_text("p,c,v\n1,a,0.1\n2,a,0.3\n2,b,0.")
    sink = CsvSink(path, cols, key, "test", resume=True)  # one row per point: keep full rows
    assert sink.done() == {(1, "a"), (2, "a")}
    with pytest.raises(ValueError, match="columns"):
        path.write_text("x,y\n1,2\n")
        CsvSink(path, cols, key, "test", resume=True)
    # a fresh (not resumed) sink starts from nothing
    path.write_text("p,c,v\n1,a,0.1\n")
    assert CsvSink(path, cols, key, "test").done() == set()
    assert not path.exists()


def test_study_history_and_duplicates_after_a_kill(tmp_path):
    from bpdiag.analyses.study import HISTORY_COLUMNS, RUN_COLUMNS, StudyConfig, study
    from bpdiag.results.study import study_sinks, write_study

    cfg = StudyConfig(
        qubits=(2,), layers=(1,), subsets=(40,), seeds=(0,), epochs=2, bootstrap=100,
        twins=("identity",), train={"batch_size": 10},
    )  # fmt: skip

    def run(out, resume=False):
        runs, history = study_sinks(out, RUN_COLUMNS, HISTORY_COLUMNS, resume=resume)
        write_study(study(cfg, sink=runs, history_sink=history), out)

    full = tmp_path / "full"
    run(full)
    names = ("runs.csv", "history.csv", "qc.csv")
    want = {n: (full / n).read_text() for n in names}
    assert "wall_s" not in want["runs.csv"].splitlines()[0]  # timings live in the JSON
    # killed after the first run's epochs were written but before its row: history holds
    # epochs of a run that runs.csv does not have; they are recomputed, not duplicated
    part = tmp_path / "part"
    shutil.copytree(full, part)
    runs = want["runs.csv"].splitlines(keepends=True)
    hist = want["history.csv"].splitlines(keepends=True)
    (part / "runs.csv").write_text(runs[0])
    (part / "history.csv").write_text("".join(hist[:3]))
    run(part, resume=True)
    assert {n: (part / n).read_text() for n in names} == want
    # a run that appears twice in runs.csv (two writers) does not change qc
    dup = tmp_path / "dup"
    shutil.copytree(full, dup)
    (dup / "runs.csv").write_text(want["runs.csv"] + runs[1])
    run(dup, resume=True)
    assert {n: (dup / n).read_text() for n in names} == want
    assert len(pd.read_csv(dup / "runs.csv")) == 2


# --- one writer per output folder (issue 20, section 3) -----------------------------------------


def test_a_second_writer_is_refused_and_a_stale_lock_is_taken_over(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / ".bpdiag.lock").write_text(str(holder.pid))
        for args in (VARIANCE, ENTROPY, ["lie", "--qubits", "2", "--samples", "0"]):
            r = _run(args, out)
            assert r.exit_code == 2, r.output
            assert f"another bpdiag run (pid {holder.pid}) is writing to" in r.output
        assert not (out / "variance.csv").exists()  # nothing was written beside the holder
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone: its lock is stale, the run takes it over and releases it at the end
    r = _run(VARIANCE, out)
    assert r.exit_code == 0, r.output
    assert (out / "variance.csv").exists() and not (out / ".bpdiag.lock").exists()


@pytest.mark.slow
def test_two_concurrent_runs_into_one_folder_one_is_refused(tmp_path):
    import subprocess
    import sys

    cmd = [sys.executable, "-c", "from bpdiag.cli import main; main()", *VARIANCE]
    cmd += ["--layers", "1,2,5,10,20", "--out", str(tmp_path / "out")]
    procs = [subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(), p.stderr.read()) for p in procs]
    codes = sorted(c for c, _ in results)
    assert codes == [0, 2], results
    assert any("another bpdiag run" in err for _, err in results)
    df = pd.read_csv(tmp_path / "out" / "variance.csv")
    assert not df.duplicated(["ansatz", "cost", "n_qubits", "n_layers"]).any()
