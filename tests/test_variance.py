"""Var[dC/dtheta]: physics (Haar limit, decay trends), reproducibility, resume, engines, CLI."""

import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from bpdiag.analyses.variance import (
    fit_decay,
    haar_variance,
    summarize,
    variance,
)
from bpdiag.circuits import dense_hea
from bpdiag.cli import main


def test_haar_closed_form_by_brute_force_for_one_qubit():
    """d = 2: Haar unitaries on both sides of RY(theta), checked by Monte Carlo with scipy."""
    from scipy.stats import unitary_group

    rng = np.random.default_rng(0)
    Y = np.array([[0, -1j], [1j, 0]])
    Z = np.diag([1.0, -1.0])
    grads = []
    for _ in range(20000):
        U1 = unitary_group.rvs(2, random_state=rng)
        U2 = unitary_group.rvs(2, random_state=rng)
        psi = U1[:, 0]
        O = U2.conj().T @ Z @ U2
        grads.append(np.real(psi.conj() @ (1j * (Y / 2 @ O - O @ Y / 2)) @ psi))
    # For n = 1 the local and global costs coincide: d^2 / (2 (d^2 - 1)(d + 1)) = 2/9.
    assert haar_variance(1, "global") == pytest.approx(2 / 9)
    se = np.std(np.square(grads)) / math.sqrt(len(grads))
    assert abs(np.var(grads) - 2 / 9) < 4 * se


def test_deep_dense_hea_reaches_the_haar_value():
    df = variance(
        qubits=range(2, 7), layers=(50,), cost=("global", "local"), samples=1000, seed=3
    ).table
    haar = np.array([haar_variance(n, c) for n, c in zip(df["n_qubits"], df["cost"])])
    z = (df["var"].to_numpy() - haar) / df["var_se"].to_numpy()
    assert np.all(np.abs(z) < 3.5), df.assign(haar=haar, z=z)


def test_global_cost_decays_exponentially_local_cost_slowly_at_shallow_depth():
    df = variance(
        qubits=range(2, 9), layers=(2, 10), cost=("global", "local"), samples=400, seed=1
    ).table
    fits = fit_decay(df).set_index(["cost", "n_layers"])
    g10 = fits.loc[("global", 10)]
    assert abs(g10["b"] - 1.0) < 3 * g10["b_se"] + 0.1  # Var ~ 2^-n, the Haar rate
    g2, l2 = fits.loc[("global", 2)], fits.loc[("local", 2)]
    assert g2["b"] - l2["b"] > 3 * math.hypot(g2["b_se"], l2["b_se"])
    assert l2["b"] < 0.8


def test_original_circuit_has_exactly_zero_gradients():
    """RZ and CNOT only phase and permute basis states, so <Z_i> ignores every RZ(w)."""
    df = variance(
        qubits=(2, 4), layers=(1, 3), ansatz=("original",), cost=("local",), samples=20
    ).table
    assert (df["var"].abs() < 1e-28).all() and (df["mean"].abs() < 1e-14).all()


def test_summarize_against_normal_samples():
    rng = np.random.default_rng(0)
    S, sigma = 4000, 0.3
    out = summarize(rng.normal(0.1, sigma, size=(S, 1)))
    assert out["var"] == pytest.approx(sigma**2, rel=0.08)
    # For normal samples SE(var) = sigma^2 sqrt(2 / (S - 1)).
    assert out["var_se"] == pytest.approx(sigma**2 * math.sqrt(2 / (S - 1)), rel=0.1)
    assert out["mean"] == pytest.approx(0.1, abs=4 * out["mean_se"])


def test_param_all_averages_per_parameter_variances():
    # Independent reference: the exact per-parameter variances (Pauli-path second moments),
    # averaged over the parameters; the sampled value must agree within its error bar.
    from bpdiag.analyses.exact import exact_moments

    df = variance(qubits=(3,), layers=(2,), cost=("global",), samples=400, param="all", seed=5)
    row = df.table.iloc[0]
    c = dense_hea(3, 2)
    exact = np.mean([exact_moments(c, "global", param=p)["var"] for p in range(c.n_params)])
    assert abs(row["var"] - exact) < 4 * row["var_se"]
    # and it is the average, not one parameter's value: the parameters' variances differ
    single = [exact_moments(c, "global", param=p)["var"] for p in (0, c.n_params - 1)]
    assert max(single) - min(single) > 8 * row["var_se"]


def test_pennylane_engine_gives_the_same_numbers():
    kw = dict(
        qubits=(2, 3),
        layers=(2,),
        ansatz=("dense", "mcclean"),
        cost=("global", "local"),
        samples=6,
        seed=2,
    )
    a = variance(**kw).table
    b = variance(**kw, engine="pennylane").table
    np.testing.assert_allclose(a["var"], b["var"], rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(a["mean"], b["mean"], atol=1e-12)


def test_a_point_does_not_depend_on_the_rest_of_the_grid():
    alone = variance(qubits=(3,), layers=(5,), ansatz=("sparse",), samples=50, seed=4).table
    grid = variance(
        qubits=(2, 3, 7), layers=(1, 5), ansatz=("dense", "sparse"), samples=50, seed=4
    ).table
    sub = grid[(grid["ansatz"] == "sparse") & (grid["n_qubits"] == 3) & (grid["n_layers"] == 5)]
    np.testing.assert_allclose(sub["var"].to_numpy(), alone["var"].to_numpy(), rtol=1e-12)


def test_memory_is_predicted():
    with pytest.raises(MemoryError, match="needs about"):
        variance(qubits=(20,), layers=(1,), samples=10, memory_budget=1e6)


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(qubits=(0,)), "n_qubits must be >= 1, got 0"),
        (dict(layers=(0,)), "n_layers must be >= 1, got 0"),
        (dict(samples=1), "samples must be >= 2"),
        (dict(ansatz=("dense", "")), "unknown ansatz ''"),
        (dict(param=7), "parameter index 7 is out of range: circuit 'dense' has 4 parameters"),
        (dict(param="-1"), "parameter index -1 is out of range"),
        (dict(param="weights[0]"), "unknown parameter 'weights\\[0\\]'"),
        (dict(param=""), "param must be one of middle, first, last, all, an index or a label"),
    ],
)
def test_config_validation(kw, message):
    with pytest.raises(ValueError, match=message):
        variance(**{"qubits": (2,), "layers": (1,), **kw})


def test_trailing_comma_in_a_name_list_is_dropped(tmp_path):
    """``--ansatz dense,`` parses to ("dense",) and runs exactly as ``--ansatz dense``."""
    from bpdiag.cli._common import Choices

    assert Choices(("dense", "sparse")).convert("dense,", None, None) == ("dense",)
    base = ["variance", "--qubits", "2", "--layers", "1", "--samples", "4", "--cost", "global"]
    runner = CliRunner()
    for name, value in (("a", "dense,"), ("b", "dense")):
        r = runner.invoke(main, base + ["--ansatz", value, "--out", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
    a, b = (tmp_path / n / "variance.csv" for n in "ab")
    assert a.read_bytes() == b.read_bytes()
    assert pd.read_csv(a)["ansatz"].tolist() == ["dense"]


# ---------------------------------------------------------------------------------------------
# The command


ARGS = [
    "variance",
    "--qubits",
    "2..4",
    "--layers",
    "1,3",
    "--samples",
    "40",
    "--ansatz",
    "dense,sparse",
]


def test_cli_writes_table_json_figure_and_is_byte_reproducible(tmp_path):
    runner = CliRunner()
    r1 = runner.invoke(main, ARGS + ["--out", str(tmp_path / "a")])
    r2 = runner.invoke(main, ARGS + ["--out", str(tmp_path / "b")])
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output
    assert "Fit Var" in r1.output and "2^(-b·n)" in r1.output
    for name in ("variance.csv", "variance.json", "variance.png", "variance.pdf"):
        assert (tmp_path / "a" / name).stat().st_size > 0
    assert (tmp_path / "a/variance.csv").read_bytes() == (tmp_path / "b/variance.csv").read_bytes()
    df = pd.read_csv(tmp_path / "a/variance.csv")
    assert len(df) == 2 * 3 * 2 * 2
    for col in (
        "ansatz",
        "cost",
        "n_qubits",
        "n_layers",
        "param",
        "samples",
        "mean",
        "var",
        "var_se",
    ):
        assert col in df.columns
    import json

    meta = json.loads((tmp_path / "a/variance.json").read_text())
    assert meta["config"]["seed"] == 0 and meta["versions"]["jax"]
    assert {f["cost"] for f in meta["fits"]} == {"global", "local"}


def test_cli_resume_after_a_kill_gives_the_same_csv(tmp_path):
    runner = CliRunner()
    full = tmp_path / "full"
    assert runner.invoke(main, ARGS + ["--out", str(full)]).exit_code == 0
    killed = tmp_path / "killed"
    killed.mkdir()
    text = (full / "variance.csv").read_text()
    cut = text.index("\n", len(text) // 2) + 15  # 5 complete-ish rows, then half a line
    (killed / "variance.csv").write_text(text[:cut])
    r = runner.invoke(main, ARGS + ["--out", str(killed), "--resume"])
    assert r.exit_code == 0, r.output
    assert (killed / "variance.csv").read_text() == text


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--qubits", "8..2"], "empty range"),
        (["--qubits", "x"], "not a list of integers"),
        (["--samples", "0"], "--samples"),
        (["--ansatz", "nope"], "unknown value 'nope'"),
        (["--qubits", "40"], "needs about"),
        (["--init", "normal:-1"], "positive sigma"),
        (["--engine", "pennylane", "--device", "no.such.device"], "not available"),
    ],
)
def test_cli_bad_values_exit_2_with_one_line(extra, message, tmp_path):
    r = CliRunner().invoke(main, ["variance", "--out", str(tmp_path)] + extra)
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert "Traceback" not in r.output


def test_shared_prefix_parameter_shift_equals_the_plain_one(monkeypatch):
    """Large registers run the gates before the shifted gate once for both shifts."""
    import bpdiag.analyses.variance as va

    kw = dict(
        qubits=(3,),
        layers=(3,),
        ansatz=("dense", "mcclean"),
        cost=("global", "zz"),
        samples=12,
        seed=7,
    )
    plain = variance(**kw).table
    monkeypatch.setattr(va, "_SHARED_PREFIX_FROM", 2)
    shared = variance(**kw).table
    np.testing.assert_allclose(shared["var"], plain["var"], rtol=1e-12)
    np.testing.assert_allclose(shared["mean"], plain["mean"], atol=1e-15)
