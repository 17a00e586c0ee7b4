"""Circuit frontends (bpdiag.frontends): every lowered circuit is checked against the frontend's
own simulator (PennyLane default.qubit, Qiskit Statevector) on random parameters and data."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pennylane")
qiskit = pytest.importorskip("qiskit")

import pennylane as qml  # noqa: E402
from qiskit import QuantumCircuit  # noqa: E402
from qiskit.circuit import Parameter  # noqa: E402
from qiskit.quantum_info import Statevector  # noqa: E402

from bpdiag.circuits import Source  # noqa: E402
from bpdiag.engines import jax as je  # noqa: E402
from bpdiag.frontends import circuit_family, load_circuit  # noqa: E402

COSTS = ("global", "readout")  # Z...Z and every Z_i
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _overlap(a, b) -> float:
    return abs(np.vdot(a, b))  # 1 when equal up to a global phase


def _z_strings(state: np.ndarray, n: int) -> np.ndarray:
    """<Z...Z>, <Z_0>, ..., <Z_{n-1}> of a bpdiag-ordered state (wire 0 most significant)."""
    p = np.abs(state.reshape((2,) * n)) ** 2
    signs = np.array([[1 - 2 * ((b >> (n - 1 - w)) & 1) for w in range(n)] for b in range(2**n)])
    flat = p.reshape(-1)
    out = [flat @ np.prod(signs, axis=1)] + [flat @ signs[:, w] for w in range(n)]
    return np.array(out)


def _qiskit_state(qc, values) -> np.ndarray:
    """Qiskit's state in bpdiag's wire order (Qiskit is little-endian)."""
    bound = qc.remove_final_measurements(inplace=False).assign_parameters(values)
    return Statevector(bound).reverse_qargs().data


def _fd_jacobian(f, p: np.ndarray, h: float = 1e-3) -> np.ndarray:
    """Fourth-order central differences: float[len(p), k] (error ~1e-12 for smooth f)."""
    out = []
    for k in range(len(p)):
        e = np.zeros_like(p)
        e[k] = h
        out.append((-f(p + 2 * e) + 8 * f(p + e) - 8 * f(p - e) + f(p - 2 * e)) / (12 * h))
    return np.array(out)


# ---------------------------------------------------------------------------------------------
# PennyLane


@pytest.mark.parametrize(
    "name",
    ["StronglyEntanglingLayers", "BasicEntanglerLayers", "SimplifiedTwoDesign", "RandomLayers"],
)
def test_pennylane_templates_match_default_qubit(name):
    n, L = 3, 2
    c = load_circuit(f"pennylane:{name}", n, L, seed=5)
    shapes = getattr(qml, name).shape(L, n)
    shapes = [shapes] if isinstance(shapes[0], int) else list(shapes)
    rng = np.random.default_rng(1)
    w = rng.uniform(-np.pi, np.pi, c.n_params)
    arrays, start = [], 0
    for s in shapes:
        arrays.append(w[start : start + int(np.prod(s))].reshape(s))
        start += int(np.prod(s))
    extra = {"seed": 5} if name == "RandomLayers" else {}

    @qml.qnode(qml.device("default.qubit", wires=n))
    def state(*a):
        getattr(qml, name)(*a, wires=range(n), **extra)
        return qml.state()

    assert c.n_params == sum(int(np.prod(s)) for s in shapes)
    assert _overlap(state(*arrays), je.simulate(c, w)[0]) == pytest.approx(1, abs=1e-12)
    assert c.info("param_labels")[0].startswith(("weights[", "initial_layer_weights["))


def test_pennylane_gradient_and_parameter_order():
    """bpdiag's adjoint gradient equals PennyLane's (jax interface) to 1e-10; perturbing weight
    k in PennyLane and parameter k in bpdiag moves the state identically."""
    from pennylane import numpy as pnp

    n, L = 3, 2
    c = load_circuit("pennylane:StronglyEntanglingLayers", n, L)
    shape = qml.StronglyEntanglingLayers.shape(L, n)
    w = np.random.default_rng(2).uniform(-np.pi, np.pi, c.n_params)
    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev, diff_method="backprop")
    def expvals(flat):
        qml.StronglyEntanglingLayers(flat.reshape(shape), wires=range(n))
        zs = [qml.expval(qml.prod(*[qml.Z(i) for i in range(n)]))]
        return zs + [qml.expval(qml.Z(i)) for i in range(n)]

    jac = np.asarray(qml.jacobian(lambda f: pnp.stack(expvals(f)))(pnp.array(w)))  # [k, P]
    ours = je.gradient(c, w, costs=COSTS)[0]  # [P, k]
    np.testing.assert_allclose(ours, jac.T, atol=1e-10)

    @qml.qnode(dev)
    def state(flat):
        qml.StronglyEntanglingLayers(flat.reshape(shape), wires=range(n))
        return qml.state()

    for k in (0, 7, c.n_params - 1):
        v = w.copy()
        v[k] += 0.37
        assert _overlap(state(v), je.simulate(c, v)[0]) == pytest.approx(1, abs=1e-12)


def test_pennylane_user_function_with_data_and_affine_angles(tmp_path):
    """FILE.py:FUNCTION returning (qfunc, {name: shape}); x marked as data; 2*w+0.3 and a
    shared weight kept exactly; Rot and CRX lowered through PennyLane's decompositions."""
    code = """
import pennylane as qml

def family(n_qubits, n_layers):
    def qfunc(x, weights):
        for i in range(n_qubits):
            qml.RY(x[i], wires=i)
        for layer in range(n_layers):
            for i in range(n_qubits):
                qml.Rot(*weights[layer, i], wires=i)
            qml.CRX(2 * weights[layer, 0, 0] + 0.3, wires=[0, 1])
            qml.IsingZZ(weights[layer, 1, 2], wires=[1, 2])
    return qfunc, {"x": (n_qubits,), "weights": (n_layers, n_qubits, 3)}
"""
    path = tmp_path / "fam.py"
    path.write_text(code)
    n, L = 3, 2
    c = load_circuit(f"{path}:family", n, L, data_params="x")
    assert c.n_data == n and c.n_params == L * n * 3
    assert c.info("data_labels") == ("x[0]", "x[1]", "x[2]")
    assert c.info("param_labels")[:2] == ("weights[0,0,0]", "weights[0,0,1]")
    rng = np.random.default_rng(3)
    x, w = rng.uniform(-np.pi, np.pi, n), rng.uniform(-np.pi, np.pi, c.n_params)
    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev)
    def state(x, w):
        qfunc, _ = _load(path)(n, L)
        qfunc(x, w.reshape(L, n, 3))
        return qml.state()

    assert _overlap(state(x, w), je.simulate(c, w, x)[0]) == pytest.approx(1, abs=1e-12)
    # the CRX angle 2*w + 0.3 appears as exact Source terms (split by the decomposition)
    doubled = [s for srcs in c.sources for s in srcs if s.kind == "param" and s.coef == 1.0]
    assert doubled and any(
        any(s.kind == "const" and abs(abs(s.coef) - 0.15) < 1e-15 for s in srcs)
        for srcs in c.sources
    )
    g = je.gradient(c, w, x, costs=COSTS)[0]
    fd = _fd_jacobian(lambda p: _z_strings(state(x, p), n), w)
    np.testing.assert_allclose(g, fd, atol=1e-10)


def _load(path):
    from bpdiag.frontends.spec import load_object

    return load_object(f"{path}:family")


# ---------------------------------------------------------------------------------------------
# Qiskit and OpenQASM


@pytest.mark.parametrize("name", ["real_amplitudes", "efficient_su2", "pauli_two_design"])
def test_qiskit_library_matches_statevector(name):
    from qiskit.circuit import library

    n, L = 3, 2
    c = load_circuit(f"qiskit:{name}", n, L)
    kw = {"seed": 0} if name == "pauli_two_design" else {}
    qc = getattr(library, name)(n, reps=L, **kw)
    w = np.random.default_rng(4).uniform(-np.pi, np.pi, c.n_params)
    assert c.info("param_labels") == tuple(p.name for p in qc.parameters)
    assert _overlap(_qiskit_state(qc, w), je.simulate(c, w)[0]) == pytest.approx(1, abs=1e-12)


def test_qiskit_gradient_order_and_feature_map_data():
    """z_feature_map (data) composed with real_amplitudes (trainable): Z strings and their
    gradients against Statevector; perturbing Qiskit parameter k is perturbing bpdiag's k."""
    from qiskit.circuit.library import real_amplitudes, z_feature_map

    n = 3
    qc = z_feature_map(n, reps=2).compose(real_amplitudes(n, reps=2))
    c = circuit_family(qc, data_params="x").fixed
    xs = [p for p in qc.parameters if p.name.startswith("x")]
    ws = [p for p in qc.parameters if not p.name.startswith("x")]
    assert (c.n_data, c.n_params) == (len(xs), len(ws))
    rng = np.random.default_rng(5)
    x, w = rng.uniform(-np.pi, np.pi, len(xs)), rng.uniform(-np.pi, np.pi, len(ws))

    def theirs(wv):
        return _qiskit_state(qc, dict(zip(xs, x)) | dict(zip(ws, wv)))

    np.testing.assert_allclose(
        je.expval(c, w, x, costs=COSTS)[0], _z_strings(theirs(w), n), atol=1e-12
    )
    g = je.gradient(c, w, x, costs=COSTS)[0]
    np.testing.assert_allclose(g, _fd_jacobian(lambda p: _z_strings(theirs(p), n), w), atol=1e-10)
    for k in (0, 4, len(ws) - 1):
        v = w.copy()
        v[k] += 0.41
        assert _overlap(theirs(v), je.simulate(c, v, x)[0]) == pytest.approx(1, abs=1e-12)


def test_qiskit_affine_angles_kept_exactly():
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(2)
    qc.rx(2 * a + 0.3, 0)
    qc.ry(a, 1)  # a shared parameter
    qc.p(b, 1)  # RZ up to a global phase
    qc.cx(0, 1)
    qc.sx(0)
    qc.crx(a - b, 1, 0)
    qc.u(a, b, 0.2, 1)
    qc.measure_all()  # final measurements are dropped
    c = circuit_family(qc).fixed
    assert c.sources[0] == (Source("param", 0, 2.0), Source("const", -1, 0.3))
    assert c.sources[1] == (Source("param", 0, 1.0),)
    assert c.gates[2] == "RZ" and c.sources[2] == (Source("param", 1, 1.0),)
    assert c.param_gates()[0].__len__() >= 4
    for p in np.random.default_rng(6).uniform(-np.pi, np.pi, (3, 2)):
        assert _overlap(_qiskit_state(qc, p), je.simulate(c, p)[0]) == pytest.approx(1, abs=1e-12)


def test_qasm_file_declaration_order(tmp_path):
    path = tmp_path / "c.qasm"
    path.write_text(
        'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float[64] zeta;\ninput float[64] alpha;\n'
        "qubit[2] q;\nh q[0];\nrx(2 * zeta + 0.5) q[0];\ncx q[0], q[1];\nry(alpha) q[1];\n"
        "rz(zeta) q[1];\n"
    )
    c = load_circuit(str(path))
    assert c.info("param_labels") == ("zeta", "alpha")
    qc = qiskit.qasm3.loads(path.read_text())
    by = {p.name: p for p in qc.parameters}
    for p in np.random.default_rng(7).uniform(-np.pi, np.pi, (3, 2)):
        theirs = _qiskit_state(qc, {by["zeta"]: p[0], by["alpha"]: p[1]})
        assert _overlap(theirs, je.simulate(c, p)[0]) == pytest.approx(1, abs=1e-12)
    with pytest.raises(ValueError, match="pass a family"):
        load_circuit(str(path), 3, 1)


# ---------------------------------------------------------------------------------------------
# Bad input: one line each


def _one_line(spec, match, **kw):
    with pytest.raises(ValueError, match=match) as err:
        circuit_family(spec, **kw)(2, 1)
    assert "\n" not in str(err.value)


def test_bad_inputs_give_one_line_errors(tmp_path):
    _one_line(str(tmp_path / "missing.qasm"), "no such OpenQASM file")
    _one_line(f"{tmp_path / 'missing.py'}:f", "no such Python file")
    (tmp_path / "m.py").write_text(
        "import pennylane as qml\nfrom qiskit import QuantumCircuit\nfrom qiskit.circuit import "
        "Parameter\n"
        "def number(n, L):\n    return 3\n"
        "def square(n, L):\n    def q(w):\n        qml.RX(w[0] ** 2, wires=0)\n"
        "    return q, (1,)\n"
        "def measured(n, L):\n    def q(w):\n        qml.RX(w[0], wires=0)\n"
        "        qml.measure(0)\n"
        "        qml.RY(w[0], wires=0)\n    return q, (1,)\n"
        "def reset(n, L):\n    qc = QuantumCircuit(1)\n    qc.rx(Parameter('a'), 0)\n"
        "    qc.reset(0)\n    return qc\n"
        "def mid(n, L):\n    qc = QuantumCircuit(1, 1)\n    qc.measure(0, 0)\n"
        "    qc.rx(Parameter('a'), 0)\n    return qc\n"
        "def cos(n, L):\n    qc = QuantumCircuit(1)\n    qc.rx(Parameter('a').sin(), 0)\n"
        "    return qc\n"
    )
    m = tmp_path / "m.py"
    _one_line(f"{m}:number", "returned a int")
    _one_line(f"{m}:nothere", "no attribute")
    _one_line(f"{m}:square", "not affine")
    _one_line(f"{m}:measured", "mid-circuit measurement")
    _one_line(f"{m}:reset", "reset")
    _one_line(f"{m}:mid", "measure")
    _one_line(f"{m}:cos", "not affine")
    _one_line("pennylane:QFT", "no weight shape")
    _one_line("qiskit:zz_feature_map", "not affine.*multiplies data inputs.*z_feature_map")
    _one_line("pennylane:NoSuchTemplate", "no such PennyLane template")
    _one_line("qiskit:no_such_function", "not a circuit-library function")
    _one_line("not a spec", "expected pennylane:NAME")
    _one_line(3.5, "not a circuit")


def test_without_qiskit_the_pip_command_is_named(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "qiskit", None)  # import qiskit -> ImportError
    (tmp_path / "c.qasm").write_text("OPENQASM 3.0;\nqubit[1] q;\n")
    for spec in ("qiskit:real_amplitudes", str(tmp_path / "c.qasm")):
        with pytest.raises(ValueError, match=r'pip install "bpdiag\[qiskit\]"'):
            circuit_family(spec)


# ---------------------------------------------------------------------------------------------
# Wiring: bpdiag.variance and bpdiag variance --circuit


@pytest.mark.parametrize("spec", ["pennylane:StronglyEntanglingLayers", "qiskit:real_amplitudes"])
def test_cli_variance_circuit(spec, tmp_path):
    import pandas as pd
    from click.testing import CliRunner

    from bpdiag.cli import main

    args = ["variance", "--circuit", spec, "--qubits", "2..3", "--layers", "1,2"]
    args += ["--samples", "20", "--cost", "local", "--out", str(tmp_path)]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    df = pd.read_csv(tmp_path / "variance.csv")
    assert set(df["ansatz"]) == {spec} and len(df) == 4
    assert sorted(set(zip(df["n_qubits"], df["n_layers"]))) == [(2, 1), (2, 2), (3, 1), (3, 2)]
    assert (df["var"] >= 0).all() and df["var"].max() > 1e-4


def test_variance_with_a_callable_family_and_a_fixed_circuit():
    """A callable family runs the grid (the ansatz column holds its name); the JAX and the
    PennyLane engines agree on the same draws; a fixed circuit runs at its own size only."""
    import bpdiag
    from bpdiag.circuits import dense_hea

    kw = dict(qubits=(2, 3), layers=(1,), cost=("local",), samples=20, param="first")
    kw["circuit"] = dense_hea
    res = bpdiag.variance(**kw)
    ref = bpdiag.variance(**kw, engine="pennylane")
    assert list(res.table["ansatz"]) == ["dense_hea"] * 2
    assert (res.table["var"] > 1e-3).all()
    np.testing.assert_allclose(res.table["var"], ref.table["var"], rtol=1e-9)
    fixed = dense_hea(2, 3)
    one = bpdiag.variance(cost=("local",), samples=10, circuit=fixed)
    assert one.table[["n_qubits", "n_layers"]].values.tolist() == [[2, 3]]
    with pytest.raises(ValueError, match="pass a family"):
        bpdiag.variance(qubits=(2, 3), layers=(1,), samples=10, circuit=fixed)


# ---------------------------------------------------------------------------------------------
# The full gate set: every newly native gate through each frontend, against its own simulator

PAULI_SUM = "X0 Y1 + 0.5 Z2 X0 - 0.3 Y2 + 0.2 X1 X2"


def _pl_pauli_sum():
    return (
        qml.X(0) @ qml.Y(1) + 0.5 * qml.Z(2) @ qml.X(0) - 0.3 * qml.Y(2) + 0.2 * qml.X(1) @ qml.X(2)
    )


def _qk_pauli_sum(n: int):
    from qiskit.quantum_info import SparsePauliOp

    terms = [("XY", [0, 1], 1.0), ("ZX", [2, 0], 0.5), ("Y", [2], -0.3), ("XX", [1, 2], 0.2)]
    return SparsePauliOp.from_sparse_list(terms, num_qubits=n)


def _ours(c, w, x=None):
    """(state, <PAULI_SUM>, d<PAULI_SUM>/dw) on the JAX engine."""
    from bpdiag.engines import _observe

    v, g = _observe.expval_and_gradients(c, w, x, cost=PAULI_SUM, engine="jax")
    return je.simulate(c, w, x)[0], v[0], g[0]


N_PL = 15  # weights of _pl_every_gate


def _pl_every_gate(w, x):
    """Every PennyLane operation bpdiag now keeps natively, on 3 wires, plus a Toffoli (lowered by
    PennyLane's own decomposition), a data input x and affine angles."""
    qml.RY(x[0], wires=0)
    qml.RX(w[0], wires=1)
    qml.RY(2 * w[1] + 0.3, wires=2)
    qml.IsingXX(w[2], wires=[0, 1])
    qml.IsingYY(w[3] - w[0], wires=[1, 2])
    qml.IsingZZ(w[4], wires=[0, 2])
    qml.IsingXY(w[5], wires=[2, 0])
    qml.PauliRot(w[6], "XY", wires=[0, 2])
    qml.PauliRot(w[7], "YIX", wires=[0, 1, 2])
    qml.PauliRot(0.5 * w[8], "XYZ", wires=[2, 1, 0])
    qml.MultiRZ(w[9], wires=[0, 1, 2])
    qml.Hadamard(1)
    qml.PhaseShift(w[10], wires=0)
    qml.ControlledPhaseShift(w[11], wires=[1, 2])
    qml.CRX(w[12], wires=[0, 1])
    qml.CRY(w[13] + x[1], wires=[2, 0])
    qml.CRZ(w[14], wires=[1, 0])
    qml.CRot(w[0], w[1], w[2], wires=[0, 2])
    qml.U1(w[3], wires=1)
    qml.U2(w[4], w[5], wires=2)
    qml.U3(w[6], w[7], w[8], wires=0)
    qml.Rot(w[9], w[10], w[11], wires=1)
    for gate in (qml.S, qml.T, qml.SX, qml.PauliX, qml.PauliY, qml.PauliZ):
        gate(wires=2)
    for gate in (qml.S, qml.T, qml.SX):
        qml.adjoint(gate(wires=1))
    for gate in (qml.CNOT, qml.CY, qml.CZ, qml.CH, qml.SWAP, qml.ISWAP):
        gate(wires=[2, 0])
    qml.Toffoli(wires=[0, 1, 2])
    qml.RX(w[12] * 3, wires=2)


NATIVE = {"RXX", "RYY", "RZZ", "RXY", "RZX", "SWAP", "ISWAP", "CH", "CY", "Sdg", "Tdg", "SXdg", "T",
          "SX", "Y"}  # fmt: skip


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")  # autograd's backprop
def test_pennylane_every_native_gate_against_default_qubit():
    from bpdiag.frontends import lower

    n = 3
    c = lower((_pl_every_gate, {"w": (N_PL,), "x": (2,)}), data_params="x")
    assert (c.n_params, c.n_data) == (N_PL, 2) and NATIVE <= set(c.gates)
    assert c.info("param_labels")[:2] == ("w[0]", "w[1]")
    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev, diff_method="backprop")
    def energy(w, x):
        _pl_every_gate(w, x)
        return qml.expval(_pl_pauli_sum())

    @qml.qnode(dev)
    def state(w, x):
        _pl_every_gate(w, x)
        return qml.state()

    from pennylane import numpy as pnp

    rng = np.random.default_rng(11)
    for _ in range(2):
        w, x = rng.uniform(-np.pi, np.pi, N_PL), rng.uniform(-np.pi, np.pi, 2)
        psi, v, g = _ours(c, w, x)
        assert _overlap(state(w, x), psi) == pytest.approx(1, abs=1e-12)
        assert v == pytest.approx(float(energy(w, x)), abs=1e-10)
        theirs = qml.grad(energy, argnums=0)(pnp.array(w), pnp.array(x, requires_grad=False))
        np.testing.assert_allclose(g, theirs, atol=1e-10)


def _old_count_pennylane(qfunc, shapes) -> int:
    """Gates of the lowering before the full gate set (the basic set, PennyLane decomposing the
    rest): the reference count the native lowering must beat."""
    basic = {"RX", "RY", "RZ", "IsingZZ", "PhaseShift", "CNOT", "CZ", "Hadamard", "S", "PauliX",
             "PauliZ", "GlobalPhase"}  # fmt: skip
    w = {k: np.full(s, 0.3) for k, s in shapes.items()}
    tape = qml.tape.make_qscript(qfunc)(**w)
    (low,), _ = qml.transforms.decompose(tape, stopping_condition=lambda op: op.name in basic)
    return sum(op.name != "GlobalPhase" for op in low.operations) + sum(
        2 * op.name == "Rot" for op in low.operations
    )


def test_native_lowering_has_fewer_gates_and_keeps_parameter_order():
    from qiskit import transpile
    from qiskit.circuit import ParameterVector

    from bpdiag.frontends import lower

    shapes = {"w": (N_PL,), "x": (2,)}
    c = lower((_pl_every_gate, shapes), data_params="x")
    assert c.n_gates < _old_count_pennylane(_pl_every_gate, shapes)
    t = ParameterVector("t", 4)
    qc = QuantumCircuit(3)
    qc.crx(t[2], 0, 1)
    qc.rxx(t[0], 1, 2)
    qc.cp(t[3], 2, 0)
    qc.rzx(t[1], 0, 2)
    qc.swap(0, 1)
    c = circuit_family(qc).fixed
    old = transpile(qc, basis_gates=["rx", "ry", "rz", "rzz", "cx", "cz", "h", "s", "x", "z"],
                    optimization_level=0)  # fmt: skip
    assert c.n_gates < sum(1 for i in old.data if i.operation.name != "barrier")
    assert c.gates == ("RX", "RZX", "RXX", "RZ", "RZ", "RZZ", "RZX", "SWAP")
    assert c.info("param_labels") == ("t[0]", "t[1]", "t[2]", "t[3]")
    assert [s[0].index for s in c.sources[:3]] == [2, 2, 0]


def _qk_every_gate():
    """Every Qiskit instruction bpdiag now keeps natively, plus ccx (decomposed by Qiskit)."""
    from qiskit.circuit import ParameterVector
    from qiskit.circuit.library import U1Gate, U2Gate, U3Gate, XXPlusYYGate

    t = ParameterVector("t", 12)
    qc = QuantumCircuit(3)
    qc.rx(t[0], 0)
    qc.ry(2 * t[1] + 0.3, 1)
    qc.rz(t[2], 2)
    qc.rxx(t[3], 0, 1)
    qc.ryy(t[4] - t[0], 1, 2)
    qc.rzz(t[5], 2, 0)
    qc.rzx(t[6], 1, 0)
    qc.h(2)
    qc.p(t[7], 0)
    qc.cp(t[8], 0, 2)
    qc.crx(t[9], 1, 2)
    qc.cry(t[10], 2, 0)
    qc.crz(t[11], 0, 1)
    qc.u(t[0], t[1], 0.4, 2)
    qc.append(U1Gate(t[2]), [0])
    qc.append(U2Gate(t[3], t[4]), [1])
    qc.append(U3Gate(t[5], 0.1, t[6]), [2])
    qc.r(t[7], t[8], 0)
    qc.append(XXPlusYYGate(t[9], t[10]), [1, 2])
    for name in ("s", "sdg", "t", "tdg", "sx", "sxdg", "x", "y", "z"):
        getattr(qc, name)(1)
    qc.cx(2, 0)
    qc.cy(0, 1)
    qc.cz(1, 2)
    qc.ch(2, 1)
    qc.swap(0, 2)
    qc.iswap(1, 0)
    qc.ccx(0, 1, 2)
    qc.ry(t[11], 2)
    return qc


def _qk_check(c, qc, ws, rng, data=None):
    """State, <PAULI_SUM> and its gradient (4th-order differences) against Statevector; ``ws``:
    the trainable Qiskit parameters in bpdiag's order, ``data``: {data Parameter: value}."""
    op = _qk_pauli_sum(qc.num_qubits)
    data = data or {}

    def energy(wv):
        bound = qc.assign_parameters(data | dict(zip(ws, wv)))
        return np.array([Statevector(bound).expectation_value(op).real])

    w = rng.uniform(-np.pi, np.pi, len(ws))
    x = np.array(list(data.values())) if data else None
    psi, v, g = _ours(c, w, x)
    assert _overlap(_qiskit_state(qc, data | dict(zip(ws, w))), psi) == pytest.approx(1, abs=1e-12)
    assert v == pytest.approx(energy(w)[0], abs=1e-10)
    np.testing.assert_allclose(g, _fd_jacobian(energy, w)[:, 0], atol=1e-10)


def test_qiskit_every_native_gate_against_statevector():
    qc = _qk_every_gate()
    c = circuit_family(qc).fixed
    assert NATIVE - {"RXY"} <= set(c.gates)
    assert c.info("param_labels") == tuple(p.name for p in qc.parameters)
    rng = np.random.default_rng(12)
    for _ in range(2):
        _qk_check(c, qc, list(qc.parameters), rng)


def test_qasm_every_native_gate_against_statevector(tmp_path):
    path = tmp_path / "gates.qasm"
    path.write_text(
        'OPENQASM 3.0;\ninclude "stdgates.inc";\ninput float[64] b;\ninput float[64] a;\n'
        "input float[64] d;\nqubit[3] q;\n"
        "gate rxx_(t) u, v { h u; h v; cx u, v; rz(t) v; cx u, v; h u; h v; }\n"
        "ry(d) q[0];\nrx(2 * a + 0.5) q[1];\np(b) q[2];\ncp(a - b) q[0], q[2];\n"
        "crx(a) q[1], q[0];\ncry(b) q[2], q[1];\ncrz(d + a) q[0], q[1];\nch q[2], q[0];\n"
        "cy q[0], q[2];\nswap q[1], q[2];\nu1(a) q[0];\nu2(b, 0.3) q[1];\nu3(a, b, 0.2) q[2];\n"
        "sx q[0];\nt q[1];\ntdg q[2];\nsdg q[0];\ny q[1];\nccx q[0], q[1], q[2];\n"
        "cu(a, 0.1, b, 0.2) q[2], q[0];\nrxx_(b) q[0], q[1];\nh q[2];\n"
    )
    c = load_circuit(str(path), data_params=["d"])
    assert c.info("param_labels") == ("b", "a") and c.info("data_labels") == ("d",)
    assert {"CH", "CY", "SWAP", "SX", "T", "Tdg", "Sdg", "Y", "RZX", "RZY"} <= set(c.gates)
    qc = qiskit.qasm3.loads(path.read_text())
    by = {p.name: p for p in qc.parameters}
    rng = np.random.default_rng(13)
    for _ in range(2):
        _qk_check(c, qc, [by["b"], by["a"]], rng, {by["d"]: rng.uniform(-np.pi, np.pi)})


def test_affine_maps_are_read_off_the_trace_exactly():
    import jax.numpy as jnp

    from bpdiag.frontends._affine import NotAffine, affine

    def fn(w):  # indexing, reshape, stack, concatenate, sums and products by constants
        m = w.reshape(2, 3)
        return jnp.concatenate([jnp.stack([2 * m[1, 0] + 0.3, m[0, 2] - m[1, 1] / 4]), -m[0]])

    J, b = affine(fn, np.zeros(6))
    ref = np.zeros((5, 6))
    ref[0, 3], ref[1, 2], ref[1, 4] = 2, 1, -0.25
    ref[2:, :3] = -np.eye(3)
    np.testing.assert_array_equal(J, ref)
    np.testing.assert_array_equal(b, [0.3, 0, 0, 0, 0])
    w = np.random.default_rng(0).normal(size=6)
    np.testing.assert_allclose(J @ w + b, fn(jnp.asarray(w)), atol=1e-15)
    for bad in (lambda w: jnp.sin(w), lambda w: w * w, lambda w: 1 / w):
        with pytest.raises(NotAffine):
            affine(bad, np.ones(2))


# ---------------------------------------------------------------------------------------------
# The worked examples (examples/): one per frontend, in the gates their authors wrote


def test_worked_examples_match_their_frontends_simulators():
    from bpdiag.frontends.spec import load_object

    examples = EXAMPLES
    n, L = 3, 2
    spec = f"{examples / 'my_model.py'}:xy_ansatz"
    c = load_circuit(spec, n, L)
    qfunc, shapes = load_object(spec)(n, L)
    assert {"RXX", "RYY", "RZX"} <= set(c.gates) and c.n_params == int(np.prod(shapes["weights"]))

    @qml.qnode(qml.device("default.qubit", wires=n))
    def state(w):
        qfunc(w.reshape(shapes["weights"]))
        return qml.state()

    w = np.random.default_rng(14).uniform(-np.pi, np.pi, c.n_params)
    assert _overlap(state(w), je.simulate(c, w)[0]) == pytest.approx(1, abs=1e-12)
    rng = np.random.default_rng(15)
    qc = load_object(f"{examples / 'my_model.py'}:controlled_ansatz")(n, L)
    c = load_circuit(f"{examples / 'my_model.py'}:controlled_ansatz", n, L)
    assert "CNOT" not in c.gates and {"RXX", "RZX", "RZZ"} <= set(c.gates)
    _qk_check(c, qc, list(qc.parameters), rng)
    path = examples / "gates.qasm"
    c = load_circuit(str(path))
    qc = qiskit.qasm3.loads(path.read_text())
    by = {p.name: p for p in qc.parameters}
    assert c.info("param_labels") == ("t0", "t1", "t2", "phi")
    assert {"CH", "SWAP", "SX", "RZX", "RZY"} <= set(c.gates)
    _qk_check(c, qc, [by[k] for k in c.info("param_labels")], rng)


# ---------------------------------------------------------------------------------------------
# Recorded layers: where the frontend says, the layer of every parameter; elsewhere none


@pytest.mark.parametrize(
    "spec, per_layer",
    [
        ("pennylane:StronglyEntanglingLayers", lambda n: 3 * n),
        ("pennylane:RandomLayers", None),  # weights (L, n_rots): row k is layer k
        ("qiskit:real_amplitudes", lambda n: n),  # reps + 1 rotation layers
        ("qiskit:efficient_su2", lambda n: 2 * n),
    ],
)
def test_layers_follow_the_parameters_and_identity_blocks_start_as_the_identity(spec, per_layer):
    from bpdiag.circuits import layer_of, n_layers
    from bpdiag.circuits.transforms import identity_blocks, tie_params

    n, L = 3, 2
    c = load_circuit(spec, n, L)
    layer = layer_of(c)
    assert (np.diff(layer) >= 0).all() and layer.min() >= -1
    first = [layer[gs[0]] for gs in c.param_gates()]
    assert all(layer[g] == first[k] for k, gs in enumerate(c.param_gates()) for g in gs)
    if per_layer is not None:  # parameters in order, per_layer(n) of them per layer
        assert first == [k // per_layer(n) for k in range(c.n_params)]
        assert n_layers(c) == (L + 1 if spec.startswith("qiskit") else L)
    labels = c.info("param_labels")
    if spec.startswith("pennylane"):  # weights[k, ...] is in layer k
        assert all(int(lab.split("[")[1].split(",")[0]) == f for lab, f in zip(labels, first))
    ib = identity_blocks(c)
    w = tie_params(ib, np.random.default_rng(16).uniform(-np.pi, np.pi, ib.n_params))
    zero = np.zeros(2**n)
    zero[0] = 1
    assert _overlap(je.simulate(ib, w)[0], zero) == pytest.approx(1, abs=1e-12)
    # and the state is still the frontend's: the reordering only moves commuting gates
    v = np.random.default_rng(17).uniform(-np.pi, np.pi, c.n_params)
    if spec.startswith("qiskit"):
        from qiskit.circuit import library

        qc = getattr(library, spec.split(":")[1])(n, reps=L)
        assert _overlap(_qiskit_state(qc, v), je.simulate(c, v)[0]) == pytest.approx(1, abs=1e-12)


def test_no_layers_where_the_frontend_does_not_say():
    from qiskit.circuit.library import z_feature_map

    assert load_circuit("qiskit:z_feature_map", 3, 2).info("layer_starts") is None
    assert circuit_family(z_feature_map(3, reps=2)).fixed.info("layer_starts") is None
    with pytest.raises(ValueError, match="records no layer structure"):
        from bpdiag.circuits import layer_of

        layer_of(load_circuit(f"{EXAMPLES / 'my_model.py'}:controlled_ansatz", 3, 2))
