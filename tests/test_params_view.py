"""The per-parameter view (issue 16 §4): ``param="all"`` keeps every parameter's variance, with
where it sits and whether the draws saw it dead; ``param`` also takes an index or a label."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from bpdiag.analyses.exact import exact_moments
from bpdiag.analyses.variance import variance
from bpdiag.circuits import build, dense_hea
from bpdiag.cli import main


def test_pennylane_engine_gives_the_same_per_parameter_rows():
    kw = dict(
        qubits=(2, 3), layers=(2,), ansatz=("dense", "mcclean"), cost=("global", "local"),
        samples=6, seed=2, param="all",
    )  # fmt: skip
    a = variance(**kw).tables["params"]
    b = variance(**kw, engine="pennylane").tables["params"]
    n_params = sum(build(a, n, 2, seed=2).n_params for a in ("dense", "mcclean") for n in (2, 3))
    assert len(a) == 2 * n_params  # two costs
    where = ["ansatz", "cost", "n_qubits", "param", "label", "layer", "wire", "gate", "dead"]
    pd.testing.assert_frame_equal(a[where], b[where])
    np.testing.assert_allclose(a["var"], b["var"], rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(a["var_se"], b["var_se"], rtol=1e-7, atol=1e-14)


def test_last_layer_rz_is_dead_under_the_global_cost_and_nothing_else_is():
    """RZ then CZ are diagonal: before a Z readout the last layer's RZ angles drop out of C."""
    L = 3
    per = variance(qubits=(3,), layers=(L,), cost=("global",), samples=20, param="all")
    per = per.tables["params"]
    structural = (per["gate"] == "RZ") & (per["layer"] == L - 1)
    assert structural.sum() == 3  # one per wire
    assert (per["dead"] == structural).all(), per
    assert (per.loc[structural, "var"] < 1e-24).all()
    c = dense_hea(3, L)
    for p in per.loc[structural, "param"]:  # the exact method agrees: zero second moment
        assert exact_moments(c, "global", param=int(p))["var"] == pytest.approx(0, abs=1e-24)
    assert sorted(per["wire"].unique()) == ["0", "1", "2"]
    assert per["label"].tolist() == [f"θ[{k}]" for k in range(c.n_params)]


def test_one_layer_two_qubit_ry_variances_match_the_closed_form():
    """dense_hea(2, 1): RY(a) RZ(b) on wire 0, RY(c) RZ(d) on wire 1, CZ. Everything after the
    RYs commutes with Z, so C_global = cos a cos c and C_local = (cos a + cos c) / 2: with
    uniform angles Var[dC/da] = E[sin^2 a] E[cos^2 c] = 1/4 (global) and 1/8 (local)."""
    res = variance(qubits=(2,), layers=(1,), cost=("global", "local"), samples=3000, param="all")
    per = res.tables["params"].set_index(["cost", "param"])
    c = dense_hea(2, 1)
    for cost, closed in (("global", 1 / 4), ("local", 1 / 8)):
        for p in (0, 2):  # the RY parameters
            row = per.loc[(cost, p)]
            assert row["gate"] == "RY" and not row["dead"]
            assert exact_moments(c, cost, param=p)["var"] == pytest.approx(closed, abs=1e-12)
            assert abs(row["var"] - closed) < 4 * row["var_se"], (cost, p, row)
    # the main row (unchanged) is still the average over the parameters
    main_row = res.table.set_index("cost").loc["global"]
    assert main_row["param"] == "all"
    assert main_row["var"] == pytest.approx(per.loc["global", "var"].mean(), rel=1e-12)


def test_an_index_or_a_label_equals_that_parameters_all_row():
    kw = dict(qubits=(3,), layers=(2,), cost=("global", "local"), samples=30, seed=4)
    per = variance(**kw, param="all").tables["params"]
    for which in (3, "3", "θ[3]"):
        one = variance(**kw, param=which).table
        assert one["param"].tolist() == [3 if which == "3" else which] * 2
        ref = per[per["param"] == 3]
        np.testing.assert_allclose(one["var"], ref["var"], rtol=1e-9)
        np.testing.assert_allclose(one["var_se"], ref["var_se"], rtol=1e-7)


@pytest.mark.parametrize(
    "param, message",
    [("99", "parameter index 99 is out of range"), ("nope", "unknown parameter 'nope'")],
)
def test_cli_bad_index_or_label_exits_2_with_one_line(param, message, tmp_path):
    args = ["variance", "--qubits", "2", "--layers", "1", "--samples", "4", "--param", param]
    r = CliRunner().invoke(main, args + ["--out", str(tmp_path)])
    assert r.exit_code == 2, r.output
    error = [line for line in r.output.splitlines() if line.startswith("Error")]
    assert len(error) == 1 and message in error[0], r.output
    assert "Traceback" not in r.output


def test_cli_label_of_a_frontend_circuit(tmp_path):
    pytest.importorskip("pennylane")
    base = ["variance", "--circuit", "pennylane:BasicEntanglerLayers", "--qubits", "3"]
    base += ["--layers", "2", "--samples", "12", "--cost", "local"]
    runner = CliRunner()
    r = runner.invoke(main, base + ["--param", "weights[0,1]", "--out", str(tmp_path / "one")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, base + ["--param", "all", "--out", str(tmp_path / "all")])
    assert r.exit_code == 0, r.output
    one = pd.read_csv(tmp_path / "one/variance.csv")
    per = pd.read_csv(tmp_path / "all/variance_params.csv")
    assert one["param"].tolist() == ["weights[0,1]"]
    row = per[per["label"] == "weights[0,1]"].iloc[0]
    assert row["param"] == 1 and row["gate"] == "RX" and str(row["wire"]) == "1"
    # the template records its layers: weights[k, i] is in layer k
    layer = dict(
        zip(per.loc[per["cost"] == "local", "label"], per.loc[per["cost"] == "local", "layer"])
    )
    assert (layer["weights[0,1]"], layer["weights[1,2]"]) == (0, 1)
    assert one["var"].iloc[0] == pytest.approx(row["var"], rel=1e-9)


ALL = ["variance", "--qubits", "2,3", "--layers", "1,2", "--samples", "10", "--param", "all"]


def test_cli_param_all_writes_the_table_and_heat_map_and_resumes_byte_identically(tmp_path):
    runner = CliRunner()
    full = tmp_path / "full"
    r = runner.invoke(main, ALL + ["--out", str(full)])
    assert r.exit_code == 0, r.output
    assert "Per parameter" in r.output
    for ext in ("csv", "json", "png", "pdf"):
        assert (full / f"variance_params.{ext}").stat().st_size > 0
    per = pd.read_csv(full / "variance_params.csv")
    assert list(per.columns[:4]) == ["ansatz", "cost", "n_qubits", "n_layers"]
    assert {"param", "label", "layer", "wire", "gate", "samples", "var", "var_se", "dead"} <= set(
        per.columns
    )
    # 2 costs x (4 + 8 + 6 + 12) parameters
    assert len(per) == 2 * 30
    # killed half-way through both tables: resume ends byte-identical
    killed = tmp_path / "killed"
    killed.mkdir()
    for name in ("variance.csv", "variance_params.csv"):
        text = (full / name).read_text()
        (killed / name).write_text(text[: text.index("\n", len(text) // 2) + 7])
    r = runner.invoke(main, ALL + ["--out", str(killed), "--resume"])
    assert r.exit_code == 0, r.output
    for name in ("variance.csv", "variance_params.csv"):
        assert (killed / name).read_bytes() == (full / name).read_bytes(), name


def test_other_params_write_no_per_parameter_files(tmp_path):
    args = ["variance", "--qubits", "2", "--layers", "1", "--samples", "4", "--out", str(tmp_path)]
    assert CliRunner().invoke(main, args).exit_code == 0
    assert not list(tmp_path.glob("variance_params*"))
