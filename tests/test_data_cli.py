"""``bpdiag data synth|info|validate|features``: exit codes and what they print or write."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from bpdiag.cli import main
from bpdiag.data import FEATURES, REASONS, clean, load_default, load_options

#: ``../shared/data/real`` relative to the repository root.
REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
CONVERTED = REAL / "jgoetzmann_nse_options_valuation" / "converted_bhavcopy_NIFTY_20250814.csv"


def _converted() -> Path:
    """The real converted chain: skip only without the shared folder; fail if the file is lost."""
    if not REAL.is_dir():
        pytest.skip(f"shared real-data folder not present: {REAL}")
    assert CONVERTED.is_file(), f"{CONVERTED} is missing from the shared real-data folder"
    return CONVERTED


def run(*args: str):
    return CliRunner().invoke(main, ["data", *args])


def _fails_cleanly(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    for needle in needles:
        assert needle in errors[0]


def test_synth_writes_a_loadable_table(tmp_path):
    out = tmp_path / "s.csv.gz"
    result = run("synth", "--seed", "1", "--out", str(out), "--rows", "1000", "--years", "0.5")
    assert result.exit_code == 0, result.output
    df = load_options(out)
    assert len(df) == 1000
    assert f"wrote {len(df)} rows" in result.output
    assert run("synth", "--out", str(out), "--rows", "1").exit_code == 2


def test_info_default_and_real_file():
    result = run("info")
    assert result.exit_code == 0, result.output
    df = load_default()
    lines = dict(line.split(None, 1) for line in result.output.splitlines() if line.strip())
    assert lines["rows"].strip() == str(len(df))
    assert str(df["date"].min().date()) in result.output
    assert f"{df['expiry'].nunique()} (" in result.output


def test_info_real_file():
    real = run("info", str(_converted()))
    assert real.exit_code == 0, real.output
    assert "2025-08-14" in real.output and "NIFTY" in real.output


def test_validate_prints_every_reason(tmp_path):
    result = run("validate", "--out", str(tmp_path / "r.csv"))
    assert result.exit_code == 0, result.output
    for reason in REASONS:
        assert reason in result.output
    rows, report = clean(load_default())
    assert f"kept {len(rows)}" in result.output
    written = pd.read_csv(tmp_path / "r.csv")
    assert written["count"].tolist() == report["count"].tolist()


def test_validate_real_chain():
    result = run("validate", str(_converted()))
    assert result.exit_code == 0, result.output
    _, report = clean(load_options(CONVERTED), "NIFTY")
    n = report.set_index("reason")["count"]["no_trades"]
    assert any(line.split() == ["no_trades", str(n)] for line in result.output.splitlines())


def test_features_writes_features_and_target(tmp_path):
    out = tmp_path / "f.csv"
    result = run("features", "--out", str(out))
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert set(FEATURES) <= set(table.columns) and "target_close" in table.columns
    assert len(table) == len(clean(load_default())[0])


def test_bad_input_is_one_line_with_exit_code_2(tmp_path):
    _fails_cleanly(run("info", str(tmp_path / "missing.csv")), "missing.csv", "no such file")
    (tmp_path / "empty.csv").write_bytes(b"")
    _fails_cleanly(run("validate", str(tmp_path / "empty.csv")), "empty.csv", "empty file")
    (tmp_path / "bad.csv").write_text(
        "date,underlying,expiry,strike,option_type,close,volume\n"
        "2024-01-02,NIFTY,2024-01-04,21000,CE,100,5\n"
        "2024-13-45,NIFTY,2024-01-04,21000,PE,90,5\n"
    )
    _fails_cleanly(
        run("features", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "o.csv")),
        "bad.csv",
        "line 3",
        "column date",
    )
    with zipfile.ZipFile(tmp_path / "z.zip", "w") as zf:
        zf.writestr("a.txt", "x")
    _fails_cleanly(run("info", str(tmp_path / "z.zip")), "z.zip", "no CSV")
    (tmp_path / "u16.csv").write_bytes("date,close\n".encode("utf-16"))
    _fails_cleanly(run("validate", str(tmp_path / "u16.csv")), "UTF-16")
