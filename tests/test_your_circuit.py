"""Issue 16, "Your circuit, your observable": the user's circuit and cost on ``lie``, ``train``
(and ``entropy``), checked against the same circuits built natively and against theory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pennylane as qml
import pytest
from click.testing import CliRunner

from bpdiag.analyses import lie as la
from bpdiag.circuits import Circuit, P, dense_hea
from bpdiag.cli import main
from bpdiag.engines import numpy as ne

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
QASM = str(EXAMPLES / "colleague.qasm")
MODEL = str(EXAMPLES / "my_model.py")


def _rx_ring(n: int, layers: int) -> Circuit:
    """BasicEntanglerLayers by hand: per layer RX(w) on every wire, then CNOT(i, i+1 mod n)."""
    gates, wires, srcs = [], [], []
    for layer in range(layers):
        for w in range(n):
            gates.append("RX")
            wires.append((w,))
            srcs.append(P(layer * n + w))
        for i in range(n):
            gates.append("CNOT")
            wires.append((i, (i + 1) % n))
            srcs.append(())
    return Circuit(n, tuple(gates), tuple(wires), tuple(srcs), name="rx_ring")


# ---------------------------------------------------------------------------------------------
# lie


@pytest.mark.parametrize("cost", ["global", "Z0 Z1 + 0.5 X2"])
def test_imported_template_audits_like_the_same_circuit_built_natively(cost):
    imported = la.lie(
        qubits=(3,), layers=(2,), cost=cost, circuit="pennylane:BasicEntanglerLayers",
        deep_layers=3, samples=0,
    )  # fmt: skip
    native = la.lie(qubits=(3,), layers=(2,), cost=cost, circuit=_rx_ring, deep_layers=3, samples=0)
    a, b = imported.tables["params"], native.tables["params"]
    assert list(a["dead"]) == list(b["dead"])
    assert a["dead"].any() and not a["dead"].all()  # the check has something to tell apart
    for col in ("n_dead", "rank", "dla_dim", "dla_kind", "deep_dla_dim"):
        assert imported.table.loc[0, col] == native.table.loc[0, col], col
    # PennyLane's own labels on the rows: weights[layer, wire]
    assert list(a["label"][:3]) == ["weights[0,0]", "weights[0,1]", "weights[0,2]"]


def test_dla_of_imported_circuit_matches_pennylane_lie_closure():
    # RX generators moved through the CNOT rings to the input, closed by qml.lie_closure
    res = la.lie(qubits=(3,), layers=(2,), circuit="pennylane:BasicEntanglerLayers", samples=0,
                 deep_layers=2)  # fmt: skip
    n = 3
    ring = [qml.CNOT(wires=[i, (i + 1) % n]) for i in range(n)]
    gens = [qml.X(w) for w in range(n)]
    for w in range(n):
        op = qml.X(w)
        for g in ring:  # G = F^dagger X F with F the ring applied so far
            op = qml.simplify(qml.adjoint(g) @ op @ g)
        gens.append(op)
    dim = len(qml.lie_closure([qml.pauli_decompose(qml.matrix(g, wire_order=range(n)))
                               for g in gens]))  # fmt: skip
    assert res.table.loc[0, "dla_dim"] == dim


def test_pauli_sum_cost_predicted_variance_matches_sampled():
    cost = "X0 X1 + 0.5 Y2 - 0.3 Z0 X2"
    res = la.lie(qubits=(3,), layers=(2,), cost=cost, circuit=dense_hea, deep_layers=30,
                 samples=3000)  # fmt: skip
    row = res.table.iloc[0]
    assert row["theory"].startswith("O in ig")
    # Haar value over SU(8) (DLA su(2^3)): Var = (sum of squared Pauli coefficients) / (2^n + 1)
    haar = (1 + 0.25 + 0.09) / 9
    assert row["predicted_var"] == pytest.approx(haar, rel=1e-9)
    assert abs(row["sampled_var"] - row["predicted_var"]) < 3.5 * row["sampled_var_se"]


def test_library_operators_are_costs_like_their_strings():
    from qiskit.quantum_info import SparsePauliOp

    kw = dict(qubits=(2,), layers=(1,), ansatz=("dense",), deep_layers=2, samples=50)
    text = la.lie(cost="X0 Z1 + 0.5 Y1", **kw)
    op = SparsePauliOp.from_list([("ZX", 1.0), ("YI", 0.5)])  # Qiskit: qubit 0 rightmost
    qk = la.lie(cost=op, **kw)
    pl = la.lie(cost=qml.X(0) @ qml.Z(1) + 0.5 * qml.Y(1), **kw)
    pd.testing.assert_frame_equal(qk.table, pl.table)  # the same cost, the same run
    cols = ["n_dead", "dla_dim", "predicted_var"]  # the sampled seed follows the cost's text
    pd.testing.assert_frame_equal(qk.table[cols], text.table[cols])
    assert text.table.loc[0, "predicted_var"] > 0


def test_fixed_qasm_circuit_is_audited_at_its_own_size():
    res = la.lie(circuit=QASM, cost="global", samples=0)
    row = res.table.iloc[0]
    assert (row["n_qubits"], row["n_params"], row["n_dead"]) == (3, 9, 3)
    p = res.tables["params"]
    assert list(p.loc[p["dead"], "label"]) == ["c0", "c1", "c2"]  # the trailing RZs
    # the same RZs are alive for a cost with X factors
    alive = la.lie(circuit=QASM, cost="X0 X1 X2", samples=0)
    assert alive.table.loc[0, "n_dead"] == 0
    with pytest.raises(ValueError, match="fixed circuit.*pass a family"):
        la.lie(circuit=QASM, qubits=(4,))


def test_builtin_params_table_keeps_its_columns():
    res = la.lie(("original",), (2,), (1,), deep_layers=2, samples=0)
    assert list(res.tables["params"].columns) == la.PARAM_COLUMNS


def test_cli_lie_with_circuit_and_bad_specs(tmp_path):
    r = CliRunner()
    out = tmp_path / "lie"
    res = r.invoke(main, ["lie", "--circuit", QASM, "--cost", "global", "--samples", "20",
                          "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "params c0,c1,c2" in res.output
    params = pd.read_csv(out / "lie_params.csv")
    assert "label" in params and params["dead"].sum() == 3
    meta = json.loads((out / "lie.json").read_text())
    assert meta["config"]["circuit"] == QASM
    for args, message in (
        (["--circuit", QASM, "--qubits", "2..3"], "fixed circuit"),
        (["--circuit", "nope.qasm"], "no such OpenQASM file"),
        (["--circuit", f"{MODEL}:missing"], "has no attribute"),
        (["--cost", "Q9", "--qubits", "2"], "unknown cost"),
    ):
        res = r.invoke(main, ["lie", *args, "--out", str(tmp_path / "bad")])
        assert res.exit_code == 2 and message in res.output, res.output
        assert "Traceback" not in res.output
        assert len([ln for ln in res.output.splitlines() if ln.startswith("Error")]) == 1


# ---------------------------------------------------------------------------------------------
# train


def _fit(**kw):
    from bpdiag.train import TrainConfig, fit

    base = dict(qubits=3, layers=2, subset=60, epochs=1, baselines=False, plots=False)
    return fit(TrainConfig(**(base | kw)))


def test_user_circuit_identical_to_the_builtin_family_trains_identically():
    builtin = _fit()
    mine = _fit(circuit=f"{MODEL}:ansatz")
    np.testing.assert_allclose(
        mine.predictions["price_pred"], builtin.predictions["price_pred"], rtol=1e-6
    )
    assert mine.summary["ansatz"] == mine.summary["circuit"] == f"{MODEL}:ansatz"
    assert mine.summary["n_params_quantum"] == builtin.summary["n_params_quantum"] == 6


def test_data_params_are_fed_by_the_encoder_without_a_second_encoding():
    # examples/my_model.py:reuploading with x as data is the built-in re-uploading circuit
    builtin = _fit(reupload=True)
    mine = _fit(circuit=f"{MODEL}:reuploading", data_params="x")
    np.testing.assert_allclose(
        mine.predictions["price_pred"], builtin.predictions["price_pred"], rtol=1e-6
    )


def test_user_circuit_layer_and_matched_twin():
    from bpdiag.frontends import load_circuit
    from bpdiag.model import build_model, hybrid_circuit

    user = load_circuit(f"{MODEL}:ansatz", 3, 2)
    c = hybrid_circuit(circuit=user)
    assert c.gates[:3] == ("RY",) * 3 and c.n_data == 3 and c.n_params == user.n_params
    twin = build_model(5, qubits=3, circuit=user, twin="matched")
    assert sum(p.numel() for p in twin.middle_parameters()) == user.n_params
    with_data = load_circuit(f"{MODEL}:reuploading", 3, 2, data_params="x")
    assert hybrid_circuit(circuit=with_data) is with_data  # no extra encoding in front


def test_builtin_train_records_are_unchanged():
    from bpdiag.train import TrainConfig

    d = TrainConfig().to_dict()
    assert "circuit" not in d and "data_params" not in d


def test_cli_train_with_a_python_family(tmp_path):
    args = ["train", "--circuit", f"{MODEL}:ansatz", "--qubits", "2", "--layers", "1"]
    args += ["--subset", "60", "--epochs", "1", "--no-baselines", "--out", str(tmp_path)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert f"{MODEL}:ansatz n=2 L=1" in res.output
    s = pd.read_csv(tmp_path / "summary.csv")
    assert s.loc[0, "circuit"] == f"{MODEL}:ansatz" and s.loc[0, "n_params_quantum"] == 2
    assert (tmp_path / "predictions.csv").exists()
    for bad, message in (
        ([f"{MODEL}:missing"], "has no attribute"),
        (["nothing"], "expected pennylane:NAME"),
        ([QASM, "--qubits", "5"], "fixed circuit"),
        ([f"{MODEL}:ansatz", "--reupload"], "--reupload"),
    ):
        res = CliRunner().invoke(main, ["train", "--circuit", *bad, "--out", str(tmp_path / "b")])
        assert res.exit_code == 2 and message in res.output, res.output
        assert "Traceback" not in res.output


# ---------------------------------------------------------------------------------------------
# entropy


def test_entropy_circuit_is_the_encoding_then_the_user_circuit():
    from bpdiag.analyses.entropy._grid import EntropyConfig, _circuit
    from bpdiag.circuits.encodings import encoded_circuit

    config = EntropyConfig(qubits=(3,), layers=(0, 2), encoding=("angle",),
                           circuit=f"{MODEL}:ansatz")  # fmt: skip
    mine = _circuit(config, ("data", "angle", config.ansatz, 3, 2))
    native = encoded_circuit("angle", 3, 2, ansatz="original")
    assert (mine.n_params, mine.n_data) == (native.n_params, native.n_data) == (6, 3)
    rng = np.random.default_rng(3)  # Qiskit orders commuting gates its own way: compare states
    params, x = rng.uniform(0, 2 * np.pi, (5, 6)), rng.uniform(-np.pi, np.pi, (5, 3))
    np.testing.assert_allclose(ne.simulate(mine, params, x), ne.simulate(native, params, x),
                               atol=1e-12)  # fmt: skip
    assert _circuit(config, ("data", "angle", config.ansatz, 3, 0)).gates == ("RY",) * 3


def test_cli_entropy_with_circuit(tmp_path):
    args = ["entropy", "--circuit", "pennylane:StronglyEntanglingLayers", "--qubits", "4"]
    args += ["--layers", "0,3", "--rows", "40", "--encoding", "angle", "--out", str(tmp_path)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    t = pd.read_csv(tmp_path / "entropy.csv")
    assert set(t["ansatz"]) == {"pennylane:StronglyEntanglingLayers"}
    half = t[(t["cut"] == "contiguous") & (t["cut_size"] == 2)].set_index("n_layers")["entropy"]
    assert half[0] < 1e-12 < 0.5 < half[3]  # product state, then entangled by the layers
    for bad, message in (
        ([QASM, "--qubits", "5"], "fixed circuit"),
        ([f"{MODEL}:ansatz", "--encoding", "amplitude"], "angle or zz"),
    ):
        res = CliRunner().invoke(main, ["entropy", "--circuit", *bad, "--out", str(tmp_path / "b")])
        assert res.exit_code == 2 and message in res.output, res.output
