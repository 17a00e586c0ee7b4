"""Pauli-sum costs: parsing, named Hamiltonians, engines on non-diagonal costs, the variance.

Every check is against something independent: hand-built sums, PennyLane's and Qiskit's own
Pauli algebra, Kronecker-product matrices, PennyLane ``default.qubit`` expectations and
gradients, and the Haar closed form.
"""

from __future__ import annotations

import functools

import numpy as np
import pennylane as qml
import pytest
from click.testing import CliRunner
from pennylane import numpy as pnp

from bpdiag.circuits import cost_diagonal, cost_terms, cost_weight, dense_hea, random_circuit
from bpdiag.circuits.observables import format_terms, is_diagonal, parse_pauli_sum
from bpdiag.cli import main
from bpdiag.engines import _convert
from bpdiag.engines import _observe as ob
from bpdiag.engines.pennylane import apply_circuit

_M = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0, -1.0]).astype(complex),
}


def _kron(letters: str) -> np.ndarray:
    """Wire 0 is the leftmost (most significant) factor."""
    return functools.reduce(np.kron, [_M[p] for p in letters])


def _string(n: int, ops: dict[int, str]) -> str:
    return "".join(ops.get(w, "I") for w in range(n))


def _matrix(terms, n: int) -> np.ndarray:
    return sum(c * _kron(_string(n, ops)) for c, ops in terms)


def _as_dict(terms):
    return {tuple(sorted(ops.items())): c for c, ops in terms}


# ---------------------------------------------------------------------------------------------
# Parsing


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Z0 Z1 + 0.5 X2", [(1.0, {0: "Z", 1: "Z"}), (0.5, {2: "X"})]),
        ("0.25*(X0 X1 + Y0 Y1)", [(0.25, {0: "X", 1: "X"}), (0.25, {0: "Y", 1: "Y"})]),
        ("-1.5 Y3", [(-1.5, {3: "Y"})]),
        ("2*Z0*Z1 - Z1 Z0 + 3", [(1.0, {0: "Z", 1: "Z"}), (3.0, {})]),
        ("X0 X0 + Z1 - Z1", [(1.0, {})]),  # X^2 = I; zeros dropped
        ("(X0 + Y1)(X0 - Y1)", [(0.0, {})]),  # = I - I + [Y1, X0] terms cancel: zero sum
        ("1e-1 Z2 + .5 X0 Z2 I", [(0.1, {2: "Z"}), (0.5, {0: "X", 2: "Z"})]),
    ],
)
def test_expressions_parse_to_hand_built_sums(text, expected):
    expected = [(c, ops) for c, ops in expected if c != 0.0]
    assert _as_dict(parse_pauli_sum(text)) == pytest.approx(_as_dict(expected))


def test_parsed_sums_agree_with_pennylane_and_qiskit():
    from qiskit.quantum_info import SparsePauliOp

    text = "0.3*(X0 Y1 - 2 Z2) + Y0 Y0 Z1 - 0.7 X2 Z0"
    ours = _matrix(parse_pauli_sum(text), 3)
    X, Y, Z = qml.PauliX, qml.PauliY, qml.PauliZ
    op = 0.3 * (X(0) @ Y(1) - 2 * Z(2)) + Y(0) @ Y(0) @ Z(1) - 0.7 * X(2) @ Z(0)
    assert np.allclose(ours, qml.matrix(op, wire_order=[0, 1, 2]), atol=1e-12)
    # Qiskit labels are little-endian: qubit i is character -1 - i.
    spo = SparsePauliOp.from_sparse_list(
        [("XY", [0, 1], 0.3), ("Z", [2], -0.6), ("Z", [1], 1.0), ("XZ", [2, 0], -0.7)], 3
    )
    from_qiskit = cost_terms(_convert.as_cost(spo), 3)
    from_pl = cost_terms(_convert.as_cost(op), 3)
    assert _as_dict(from_qiskit) == pytest.approx(_as_dict(parse_pauli_sum(text)))
    assert _as_dict(from_pl) == pytest.approx(_as_dict(parse_pauli_sum(text)))
    # pauli_sentence of our PennyLane measurement is the same sum
    ps = qml.pauli.pauli_sentence(op)
    assert {tuple(sorted(w.items())): float(np.real(c)) for w, c in ps.items()} == pytest.approx(
        _as_dict(parse_pauli_sum(text))
    )


def test_format_round_trips_exactly():
    terms = cost_terms("tfim", 5) + [(-1 / 3, {1: "Y"}), (2.5, {})]
    back = cost_terms(format_terms(terms), 5)
    merged = _as_dict(cost_terms(terms, 5))
    assert _as_dict(back) == merged  # exact floats


def test_cost_file_one_term_per_line(tmp_path):
    f = tmp_path / "h.txt"
    f.write_text("# a comment\nZ0 Z1\n\n-0.5 X1   # field\n0.25*(Y0 + Y0)\n")
    assert _as_dict(cost_terms(f"@{f}", 2)) == _as_dict(
        [(1.0, {0: "Z", 1: "Z"}), (-0.5, {1: "X"}), (0.5, {0: "Y"})]
    )
    (tmp_path / "bad.txt").write_text("Z0\nZ0 +\n")
    with pytest.raises(ValueError, match="line 2"):
        cost_terms(f"@{tmp_path / 'bad.txt'}", 2)


@pytest.mark.parametrize(
    "text, message",
    [
        ("Z0 +", "ends where a term is expected"),
        ("(Z0 + X1", "is not closed"),
        ("Z0 ** 2", "unexpected '\\*'"),
        ("X", "needs a wire"),
        ("Z0 q1", "unexpected 'q'"),
        ("X0 Y0", "not Hermitian"),
        ("Z3", "wire 3 is outside the 3-qubit circuit"),
        ("bogus", "unknown cost 'bogus'"),
        ("", "empty"),
    ],
)
def test_bad_expressions_raise_one_line(text, message):
    with pytest.raises(ValueError, match=message) as exc:
        cost_terms(text, 3)
    assert "\n" not in str(exc.value)


def test_builtin_costs_keep_their_terms():
    assert cost_terms("local", 3) == [(1 / 3, {0: "Z"}), (1 / 3, {1: "Z"}), (1 / 3, {2: "Z"})]
    assert cost_terms("global", 2) == [(1.0, {0: "Z", 1: "Z"})]
    assert cost_terms("zz", 3) == [(1.0, {0: "Z", 1: "Z"})]
    assert cost_terms("z0", 3) == [(1.0, {0: "Z"})]


# ---------------------------------------------------------------------------------------------
# Named costs against Kronecker products


def _chain(n: int, letters: str) -> np.ndarray:
    return sum(
        _kron("I" * i + p + p + "I" * (n - i - 2)) for i in range(n - 1) for p in letters
    ) / (n - 1)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_named_hamiltonians_against_kronecker_products(n):
    fields = sum(_kron("I" * i + "X" + "I" * (n - i - 1)) for i in range(n)) / n
    want = {
        "heisenberg": _chain(n, "XYZ"),
        "xy": _chain(n, "XY"),
        "tfim": _chain(n, "Z") + fields,
    }
    for name, matrix in want.items():
        assert np.allclose(_matrix(cost_terms(name, n), n), matrix, atol=1e-12), name
        assert not is_diagonal(name, n)
        w = np.trace(matrix @ matrix).real / 2**n  # traceless: Tr(O^2)/d
        assert cost_weight(name, n) == pytest.approx(w)
        with pytest.raises(ValueError, match="not diagonal"):
            cost_diagonal(name, n)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_projector_cost(n):
    d = 2**n
    P0 = np.zeros((d, d))
    P0[0, 0] = 1
    O = np.eye(d) - P0
    assert np.allclose(_matrix(cost_terms("projector", n), n), O, atol=1e-12)
    assert np.array_equal(cost_diagonal("projector", n), np.diag(O))
    O0 = O - np.trace(O) / d * np.eye(d)  # identity term excluded from the weight
    assert cost_weight("projector", n) == pytest.approx(np.trace(O0 @ O0) / d)
    assert cost_weight(cost_terms("projector", n), n) == pytest.approx(cost_weight("projector", n))


def test_projector_never_expands_for_diagonals():
    assert cost_diagonal("projector", 22).sum() == 2**22 - 1
    with pytest.raises(ValueError, match="expanded only for n <= 16"):
        cost_terms("projector", 22)


def test_diagonal_expression_equals_kron_diagonal():
    text = "0.5 Z0 Z2 - Z1 + 0.25"
    assert np.allclose(cost_diagonal(text, 3), np.diag(_matrix(parse_pauli_sum(text), 3)).real)


# ---------------------------------------------------------------------------------------------
# Engines on non-diagonal costs, against PennyLane default.qubit


def _pl_reference(circuit, params, x, op):
    dev = qml.device("default.qubit", wires=circuit.n_qubits)

    @qml.qnode(dev, diff_method="backprop")
    def f(p, xi):
        apply_circuit(circuit, p, xi)
        return qml.expval(op)

    vals, grads = [], []
    for i in range(len(params)):
        xi = None if x is None else pnp.array(x[i], requires_grad=False)
        p = pnp.array(params[i], requires_grad=True)
        vals.append(float(f(p, xi)))
        grads.append(np.asarray(qml.grad(lambda q, xi=xi: f(q, xi))(p)))
    return np.array(vals), np.array(grads)


X_, Y_, Z_ = qml.PauliX, qml.PauliY, qml.PauliZ
CASES = [
    ("0.3 X0 Y1 - 0.7 Y2 + 0.2 Z0 X2 + 0.5", 0.3 * X_(0) @ Y_(1) - 0.7 * Y_(2)
     + 0.2 * Z_(0) @ X_(2) + 0.5 * qml.Identity(0)),
    ("heisenberg", (X_(0) @ X_(1) + Y_(0) @ Y_(1) + Z_(0) @ Z_(1)
                    + X_(1) @ X_(2) + Y_(1) @ Y_(2) + Z_(1) @ Z_(2)) / 2),
    ("tfim", (Z_(0) @ Z_(1) + Z_(1) @ Z_(2)) / 2 + (X_(0) + X_(1) + X_(2)) / 3),
]  # fmt: skip


@pytest.mark.parametrize("engine", ["jax", "torch", "numpy", "density", "pennylane"])
@pytest.mark.parametrize("family", ["dense", "random"])
def test_engines_match_pennylane_on_pauli_sums(engine, family):
    rng = np.random.default_rng(7)
    if family == "dense":
        circuit, x = dense_hea(3, 2), None
    else:
        circuit = random_circuit(3, 10, seed=2)
        x = rng.uniform(-np.pi, np.pi, (2, circuit.n_data)) if circuit.n_data else None
    params = rng.uniform(0, 2 * np.pi, (2, circuit.n_params))
    for cost, op in CASES:
        want_v, want_g = _pl_reference(circuit, params, x, op)
        v, g = ob.expval_and_gradients(circuit, params, x, cost=cost, engine=engine)
        np.testing.assert_allclose(v, want_v, atol=1e-10, err_msg=cost)
        np.testing.assert_allclose(g, want_g, atol=1e-10, err_msg=cost)


@pytest.mark.parametrize("engine", ["jax", "torch", "numpy", "density"])
def test_engine_functions_measure_pauli_sums_beside_builtin_costs(engine):
    """Each engine's own expval/gradient, several costs in one call (diagonal and not)."""
    import importlib

    eng = importlib.import_module(f"bpdiag.engines.{engine}")
    circuit = random_circuit(3, 14, seed=5, n_data=2)
    rng = np.random.default_rng(11)
    params = rng.uniform(0, 2 * np.pi, (2, circuit.n_params))
    x = rng.uniform(-np.pi, np.pi, (2, circuit.n_data))
    local = (Z_(0) + Z_(1) + Z_(2)) / 3
    costs = (CASES[0][0], "local", CASES[1][0], CASES[2][0])
    ops = (CASES[0][1], local, CASES[1][1], CASES[2][1])
    v = eng.expval(circuit, params, x, costs=costs)
    g = eng.gradient(circuit, params, x, costs=costs)
    assert v.shape == (2, 4) and g.shape == (2, circuit.n_params, 4)
    for k, op in enumerate(ops):
        want_v, want_g = _pl_reference(circuit, params, x, op)
        np.testing.assert_allclose(v[:, k], want_v, atol=1e-10, err_msg=costs[k])
        np.testing.assert_allclose(g[:, :, k], want_g, atol=1e-10, err_msg=costs[k])


def test_direct_and_rotated_measurements_agree_and_torch_module_takes_sums():
    import torch

    from bpdiag.engines.torch import TorchCircuit

    circuit = dense_hea(4, 2)
    params = np.random.default_rng(2).uniform(0, 2 * np.pi, (3, circuit.n_params))
    for cost in ("heisenberg", "0.5 X0 Y3 - Z1 X2 + 0.25"):
        # numpy: nothing to compile (benchmarks/observables.py checks the same on JAX)
        d = ob.expval_and_gradients(circuit, params, cost=cost, engine="numpy", method="direct")
        r = ob.expval_and_gradients(circuit, params, cost=cost, engine="numpy", method="rotate")
        np.testing.assert_allclose(d[0], r[0], atol=1e-12)
        np.testing.assert_allclose(d[1], r[1], atol=1e-12)
        # the regressor's module in float32 / complex64, as train builds it
        m = TorchCircuit(circuit, (cost, "readout"), dtype=torch.complex64)
        out = m(torch.as_tensor(params, dtype=torch.float32)).detach().numpy()
        np.testing.assert_allclose(out[:, 0], d[0], atol=1e-5)
    with pytest.raises(ValueError, match="unknown method"):
        ob.expval(circuit, params, cost="heisenberg", method="basis")


# ---------------------------------------------------------------------------------------------
# Noise: the density engine on Pauli sums, against PennyLane default.mixed


def _mixed_reference(circuit, kind, p, where):
    """default.mixed QNode f(params, x) -> the three CASES expectations, with ``kind(p)`` placed
    as the density engine places it: after every gate on its wires (``gate``), or on every wire
    after the last gate of every recorded layer (``layer``)."""
    from bpdiag.circuits import Circuit
    from bpdiag.engines.density import gate_layers

    channel = {
        "depolarizing": qml.DepolarizingChannel,
        "amplitude_damping": qml.AmplitudeDamping,
        "dephasing": qml.PhaseFlip,
    }[kind]
    n = circuit.n_qubits
    layers = gate_layers(circuit)
    assert list(layers) == sorted(layers)  # layers are contiguous: gate order is layer order
    dev = qml.device("default.mixed", wires=n)

    @qml.qnode(dev, diff_method="parameter-shift", interface="autograd")
    def f(params, x):
        for g in range(circuit.n_gates):
            one = Circuit(
                n,
                (circuit.gates[g],),
                (circuit.wires[g],),
                (circuit.sources[g],),
                circuit.n_params,
                circuit.n_data,
            )
            apply_circuit(one, params, x)
            if where == "gate":
                for w in circuit.wires[g]:
                    channel(p, wires=w)
            elif g + 1 == circuit.n_gates or layers[g + 1] != layers[g]:
                for w in range(n):
                    channel(p, wires=w)
        return [qml.expval(op) for _, op in CASES]

    return f


@pytest.mark.parametrize(
    "kind, where",
    [("depolarizing", "gate"), ("amplitude_damping", "layer"), ("dephasing", "gate")],
)
@pytest.mark.parametrize("family", ["dense", "original"])
def test_noisy_pauli_sums_match_default_mixed(kind, where, family):
    from bpdiag.circuits import original_circuit
    from bpdiag.engines import density as de

    circuit = dense_hea(3, 2) if family == "dense" else original_circuit(3, 2)
    rng = np.random.default_rng(4)
    params = rng.uniform(0, 2 * np.pi, (1, circuit.n_params))
    x = rng.uniform(-np.pi, np.pi, (1, circuit.n_data)) if circuit.n_data else None
    costs = tuple(c for c, _ in CASES)
    v = de.expval(circuit, params, x, costs=costs, noise=f"{kind}:0.07", where=where)
    g = de.gradient(circuit, params, x, costs=costs, noise=f"{kind}:0.07", where=where)
    f = _mixed_reference(circuit, kind, 0.07, where)
    xi = None if x is None else pnp.array(x[0], requires_grad=False)
    want_v = np.array(f(pnp.array(params[0]), xi))
    jac = qml.jacobian(lambda q: pnp.stack(f(q, xi)))(pnp.array(params[0], requires_grad=True))
    np.testing.assert_allclose(v[0], want_v, atol=1e-10)
    np.testing.assert_allclose(g[0], np.asarray(jac).T, atol=1e-10)
    # the noise really acts: the noiseless values differ
    assert np.abs(de.expval(circuit, params, x, costs=costs) - v).max() > 1e-3


def test_qwc_groups_commute_and_cover_the_terms():
    terms = cost_terms("heisenberg", 4) + cost_terms("0.5 X0 Z1 + 2", 4)
    constant, groups = ob.qwc_groups(terms)
    assert constant == 2.0
    assert sum(len(m) for _, m in groups) == len(terms) - 1
    for basis, members in groups:
        for _, ops in members:
            assert all(basis[w] == p for w, p in ops.items())
    # X, Y and Z bonds, and X0 Z1 on its own (it clashes with the X group on wire 1 and the Z
    # group on wire 0)
    assert [len(m) for _, m in groups] == [3, 3, 3, 1]


# ---------------------------------------------------------------------------------------------
# The variance analysis and the command


def test_variance_of_heisenberg_reaches_the_haar_value():
    from bpdiag import variance
    from bpdiag.analyses.variance import haar_variance

    df = variance(qubits=(3,), layers=(30,), cost=("heisenberg",), samples=1500, seed=5).table
    assert df["cost"].tolist() == ["heisenberg"]
    haar = haar_variance(3, "heisenberg")
    w = 6 * 0.25  # six bonds terms of weight 1/2: sum of squared coefficients
    assert haar == pytest.approx(w * 64 / (2 * 63 * 9))
    z = (df["var"].iloc[0] - haar) / df["var_se"].iloc[0]
    assert abs(z) < 3.5, (df["var"].iloc[0], haar)


def test_variance_pauli_sum_matches_pennylane_engine_and_keeps_builtins():
    from bpdiag import variance

    kw = dict(qubits=(2, 3), layers=(2,), samples=6, seed=1)
    mixed = variance(cost=("global", "Z0 Z1 + 0.5 X1", "local"), **kw).table
    plain = variance(cost=("global", "local"), **kw).table
    keep = mixed[mixed["cost"] != "Z0 Z1 + 0.5 X1"].reset_index(drop=True)
    assert keep.to_csv() == plain.to_csv()  # built-in costs: same numbers, same bytes
    ref = variance(cost=("Z0 Z1 + 0.5 X1",), engine="pennylane", **kw).table
    got = mixed[mixed["cost"] == "Z0 Z1 + 0.5 X1"]
    np.testing.assert_allclose(got["var"], ref["var"], atol=1e-10)
    np.testing.assert_allclose(got["mean"], ref["mean"], atol=1e-10)


def test_variance_accepts_library_operators():
    from qiskit.quantum_info import SparsePauliOp

    from bpdiag import variance

    kw = dict(qubits=(2,), layers=(2,), samples=4, seed=1)
    spo = SparsePauliOp.from_list([("ZZ", 1.0), ("XI", 0.5)])  # X on qubit 1
    a = variance(cost=(spo,), **kw).table
    b = variance(cost=("Z0 Z1 + 0.5 X1",), **kw).table
    np.testing.assert_allclose(a["var"], b["var"], rtol=0, atol=1e-14)


def test_cli_pauli_sum_with_noise_and_shots_runs(tmp_path):
    """The fast version of the heisenberg commands below: one tiny point each."""
    import pandas as pd

    base = ["variance", "--qubits", "2", "--layers", "1", "--cost", "heisenberg"]
    base += ["--samples", "4"]
    for extra in (["--noise", "depolarizing:0.01"], ["--shots", "100"]):
        out = tmp_path / extra[0].strip("-")
        r = CliRunner().invoke(main, base + extra + ["--out", str(out)])
        assert r.exit_code == 0, r.output
        assert pd.read_csv(out / "variance.csv")["var"].gt(0).all()


def test_cli_pauli_sum_runs_and_bad_expression_exits_2(tmp_path):
    base = ["variance", "--qubits", "2..3", "--layers", "2", "--samples", "20"]
    r = CliRunner().invoke(main, base + ["--cost", "Z0 Z1 + 0.5 X1", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    import pandas as pd

    assert pd.read_csv(tmp_path / "variance.csv")["cost"].unique().tolist() == ["Z0 Z1 + 0.5 X1"]
    r = CliRunner().invoke(main, base + ["--cost", "Z0 Z1 +", "--out", str(tmp_path / "b")])
    assert r.exit_code == 2, r.output
    errors = [line for line in r.output.splitlines() if line.startswith("Error")]
    assert errors == [
        "Error: cannot parse the Pauli sum 'Z0 Z1 +': it ends where a term is expected"
    ]
    assert "Traceback" not in r.output


@pytest.mark.slow  # the density engine compiles once per register size (~20-90 s here)
@pytest.mark.parametrize(
    "extra", [["--noise", "depolarizing:0.01"], ["--shots", "1000"]], ids=["noise", "shots"]
)
def test_cli_heisenberg_runs_with_noise_and_shots(tmp_path, extra):
    import pandas as pd

    args = ["variance", "--qubits", "2..4", "--layers", "1,2", "--cost", "heisenberg"]
    args += ["--samples", "8", "--out", str(tmp_path), *extra]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    df = pd.read_csv(tmp_path / "variance.csv")
    assert len(df) == 6 and (df["cost"] == "heisenberg").all() and (df["var"] > 0).all()
    if extra[0] == "--noise":
        assert (df["noise"] == "depolarizing").all()
    else:
        shots = pd.read_csv(tmp_path / "variance_shots.csv")
        assert (shots["shots"] == 1000).all() and (shots["shot_var"] > 0).all()
