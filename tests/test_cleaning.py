"""Data that cannot be priced is removed with its own reason count (issue 20 §5)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from bpdiag.cli import main
from bpdiag.data import REASONS, clean, synthesize
from bpdiag.results.data import save_options


@pytest.fixture(scope="module")
def base() -> pd.DataFrame:
    rows, _ = clean(synthesize(seed=1, years=0.5, rows=1200))
    return rows


#: (column, value, reason): one unpriceable row each.
BAD = [
    ("close", np.inf, "non_finite_price"),
    ("close", -np.inf, "missing_or_zero_price"),  # -inf <= 0: the existing rule
    ("underlying_price", np.inf, "non_finite_price"),
    ("underlying_price", -np.inf, "non_finite_price"),
    ("strike", np.inf, "non_finite_price"),
    ("underlying_price", -1.0, "non_positive_price"),
    ("underlying_price", 0.0, "non_positive_price"),
    ("strike", 0.0, "non_positive_price"),
    ("strike", -100.0, "non_positive_price"),
    ("close", 0.0, "missing_or_zero_price"),
]


def _corrupt(base: pd.DataFrame, bad=BAD) -> pd.DataFrame:
    """``base`` with one copy of a distinct contract per ``bad`` entry, that entry's column
    spoilt (each copy a fresh key, so no duplicate rule can take it)."""
    parts = [base]
    for i, (col, value, _) in enumerate(bad):
        r = base.iloc[[i]].copy()
        r["expiry"] = r["expiry"] + pd.Timedelta(days=700 + i)  # a contract nobody else has
        r[col] = value
        parts.append(r)
    return pd.concat(parts, ignore_index=True)


def test_unpriceable_rows_are_removed_with_their_reason(base):
    rows, report = clean(_corrupt(base))
    counts = report.set_index("reason")["count"]
    assert list(report["reason"]) == list(REASONS)
    want = pd.Series([r for *_, r in BAD]).value_counts()
    for reason, n in want.items():
        assert counts[reason] == n, (reason, counts.to_dict())
    assert len(rows) == len(base)
    assert counts.sum() == report.attrs["rows_in"] - report.attrs["rows_out"]
    for col in ("close", "strike", "underlying_price"):
        v = rows[col].to_numpy(float)
        assert np.isfinite(v).all() and (v > 0).all(), col


def test_validate_and_train_on_a_spoilt_file(base, tmp_path):
    # The loader itself refuses a non-positive strike (one line, exit 2): spoil prices only.
    bad = [b for b in BAD if b[0] != "strike"]
    path = tmp_path / "spoilt.csv"
    save_options(_corrupt(base, bad), path)
    runner = CliRunner()
    res = runner.invoke(main, ["data", "validate", str(path)])
    assert res.exit_code == 0, res.output
    assert f"kept {len(base)}" in res.output
    for reason in ("non_finite_price", "non_positive_price"):
        line = next(ln for ln in res.output.splitlines() if ln.split()[:1] == [reason])
        assert int(line.split()[1]) == sum(r == reason for *_, r in bad)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = runner.invoke(
            main,
            ["train", "--data", str(path), "--epochs", "1", "--subset", "200", "--no-baselines"]
            + ["--layers", "1", "--qubits", "2", "--out", str(tmp_path / "run")],
        )
    assert res.exit_code == 0, res.output
    runtime = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert not runtime, [str(w.message) for w in runtime]
    assert "RuntimeWarning" not in res.output
