"""The density-matrix engine against PennyLane default.mixed, and noise-induced barren plateaus.

References: PennyLane's ``default.mixed`` with its own channels (``DepolarizingChannel``,
``AmplitudeDamping``, ``PhaseFlip``) placed by hand; the statevector engine for noiseless circuits;
the analytic contraction bound of Wang et al. 2021 for the decay rate with depth.
"""

import numpy as np
import pandas as pd
import pennylane as qml
import pytest
from click.testing import CliRunner
from pennylane import numpy as pnp

from bpdiag.analyses import noise as nm
from bpdiag.analyses.variance import haar_variance, noise_variance, variance
from bpdiag.circuits import (
    C,
    Circuit,
    P,
    angle_maps,
    dense_hea,
    mcclean,
    observables,
    original_circuit,
    random_circuit,
    sparse_hea,
)
from bpdiag.circuits.encodings import encoded_circuit
from bpdiag.cli import main
from bpdiag.engines import density as de
from bpdiag.engines import jax as je

_OPS = {
    "RX": qml.RX,
    "RY": qml.RY,
    "RZ": qml.RZ,
    "RZZ": qml.IsingZZ,
    "CNOT": qml.CNOT,
    "CZ": qml.CZ,
    "H": qml.Hadamard,
    "S": qml.S,
    "X": qml.PauliX,
    "Z": qml.PauliZ,
}
_CHANNELS = {
    "depolarizing": qml.DepolarizingChannel,
    "amplitude_damping": qml.AmplitudeDamping,
    "dephasing": qml.PhaseFlip,
}


def _reference(circuit, kind, p, after, measure, diff_method="backprop"):
    """A default.mixed QNode f(params, x): every gate, then ``kind(p)`` on the wires
    ``after[g]`` (a list per gate, placed by the test), then ``measure(n)``."""
    dev = qml.device("default.mixed", wires=circuit.n_qubits)

    @qml.qnode(dev, diff_method=diff_method, interface="autograd")
    def f(params, x):
        for g, (gate, wires, srcs) in enumerate(
            zip(circuit.gates, circuit.wires, circuit.sources, strict=True)
        ):
            if srcs:
                angle = 0.0
                for s in srcs:
                    if s.kind == "param":
                        angle = angle + s.coef * params[s.index]
                    elif s.kind == "data":
                        angle = angle + s.coef * x[s.index]
                    else:
                        angle = angle + s.coef
                _OPS[gate](angle, wires=list(wires))
            else:
                _OPS[gate](wires=list(wires))
            for w in after[g]:
                _CHANNELS[kind](p, wires=w)
        return measure(circuit.n_qubits)

    return f


def _state(n):
    return qml.density_matrix(wires=range(n))


def _costs(n):
    local = qml.sum(*[qml.PauliZ(w) for w in range(n)]) / n
    return qml.expval(qml.prod(*[qml.PauliZ(w) for w in range(n)])), qml.expval(local)


def _inputs(c, seed, batch=2):
    rng = np.random.default_rng(seed)
    params = rng.uniform(-np.pi, 2 * np.pi, (batch, c.n_params))
    x = rng.uniform(-np.pi, np.pi, (batch, c.n_data)) if c.n_data else np.zeros((batch, 0))
    return params, x


# ---------------------------------------------------------------------------------------------
# Channels and parsing


@pytest.mark.parametrize("kind", de.CHANNELS)
@pytest.mark.parametrize("p", [0.13, 0.5, 0.9])
def test_kraus_matches_pennylane(kind, p):
    ours = de.kraus(kind, p)
    theirs = _CHANNELS[kind].compute_kraus_matrices(p)
    np.testing.assert_allclose(np.array(ours), np.array(theirs), atol=1e-14)
    # trace preserving: sum K^+ K = I
    np.testing.assert_allclose(sum(k.conj().T @ k for k in ours), np.eye(2), atol=1e-14)


def test_parse_noise():
    models = de.parse_noise("depolarizing:0.01,0.05,amplitude_damping:0.1,none", "layer")
    assert [m.label for m in models] == [
        "depolarizing:0.01",
        "depolarizing:0.05",
        "amplitude_damping:0.1",
        "none",
    ]
    assert models[0].where == "layer" and models[-1].where == "none"
    assert de.parse_noise("dephasing:0.2,0.2") == (de.Noise("dephasing", 0.2, "gate"),)
    for bad, match in [
        ("depolarizing:1.5", "must be in"),
        ("bitflip:0.1", "unknown noise channel"),
        ("0.1", "channel:strength"),
        ("depolarizing:abc", "must be a number"),
        ("", "no noise model"),
    ]:
        with pytest.raises(ValueError, match=match):
            de.parse_noise(bad)


# ---------------------------------------------------------------------------------------------
# Layers


def test_gate_layers_of_built_families():
    # dense: per layer 2n rotations then n-1 CZs
    assert de.gate_layers(dense_hea(3, 3)) == tuple(l for l in range(3) for _ in range(8))
    # sparse brickwall, n = 3: one CZ per layer
    assert de.gate_layers(sparse_hea(3, 3)) == tuple(l for l in range(3) for _ in range(7))
    # mcclean: the RY(pi/4) preparation joins layer 0
    assert de.gate_layers(mcclean(3, 2)) == (0,) * 8 + (1,) * 5
    # original with re-uploading: each encoding joins the layer it precedes
    assert de.gate_layers(encoded_circuit("reupload", 3, 2)) == (0,) * 9 + (1,) * 9


def test_gate_layers_of_other_circuits_are_moments():
    c = Circuit(
        3,
        ("RX", "RX", "CNOT", "RX", "RZ"),
        ((0,), (1,), (0, 1), (2,), (0,)),
        (P(0), P(1), (), C(0.3), P(2)),
    )
    assert de.gate_layers(c) == (0, 0, 1, 0, 2)


# ---------------------------------------------------------------------------------------------
# Against default.mixed


@pytest.mark.parametrize("kind", de.CHANNELS)
@pytest.mark.parametrize("seed", [0, 1])
def test_gate_noise_matches_default_mixed(kind, seed):
    c = random_circuit(3, 18, seed=seed, n_data=2)
    params, x = _inputs(c, seed)
    p = 0.05 + 0.1 * seed
    after = [list(w) for w in c.wires]
    rho_ref = _reference(c, kind, p, after, _state)
    # PennyLane's own parameter-shift (its backprop through AmplitudeDamping can give nan)
    costs_ref = _reference(c, kind, p, after, _costs, diff_method="parameter-shift")
    noise = de.Noise(kind, p, "gate")
    rho = de.simulate(c, params, x, noise=noise)
    for i in range(len(params)):
        np.testing.assert_allclose(rho[i], np.asarray(rho_ref(params[i], x[i])), atol=1e-10)
    ev = de.expval(c, params, x, costs=("global", "local"), noise=noise)
    grad = de.gradient(c, params, x, costs=("global", "local"), noise=noise)
    for i in range(len(params)):
        np.testing.assert_allclose(ev[i], np.array(costs_ref(params[i], x[i])), atol=1e-10)
        jac = qml.jacobian(lambda q, i=i: pnp.stack(costs_ref(q, x[i])))(
            pnp.array(params[i], requires_grad=True)
        )
        np.testing.assert_allclose(grad[i], np.asarray(jac).T, atol=1e-10)


@pytest.mark.parametrize(
    "circuit, last_gates",
    [
        (dense_hea(3, 2), [7, 15]),
        (encoded_circuit("reupload", 3, 2), [8, 17]),
        (mcclean(3, 2, seed=4), [7, 12]),
    ],
    ids=["dense", "original", "mcclean"],
)
def test_layer_noise_matches_default_mixed(circuit, last_gates):
    params, x = _inputs(circuit, 7)
    after = [list(range(3)) if g in last_gates else [] for g in range(circuit.n_gates)]
    ref = _reference(circuit, "depolarizing", 0.1, after, _state)
    rho = de.simulate(circuit, params, x, noise="depolarizing:0.1", where="layer")
    for i in range(len(params)):
        np.testing.assert_allclose(rho[i], np.asarray(ref(params[i], x[i])), atol=1e-10)


def test_layer_noise_on_moments_matches_hand_placement():
    c = Circuit(
        3,
        ("RX", "RX", "CNOT", "RX", "RZ"),
        ((0,), (1,), (0, 1), (2,), (0,)),
        (P(0), P(1), (), C(0.3), P(2)),
    )
    # moments: {RX0, RX1, RX2}, {CNOT}, {RZ0}; the channels go after each; RX(2) commutes forward
    reordered = Circuit(
        3,
        tuple(c.gates[g] for g in (0, 1, 3, 2, 4)),
        tuple(c.wires[g] for g in (0, 1, 3, 2, 4)),
        tuple(c.sources[g] for g in (0, 1, 3, 2, 4)),
    )
    after = [[], [], [0, 1, 2], [0, 1, 2], [0, 1, 2]]
    ref = _reference(reordered, "amplitude_damping", 0.3, after, _state)
    params = np.array([[0.4, 1.3, -2.1]])
    rho = de.simulate(c, params, noise="amplitude_damping:0.3", where="layer")
    np.testing.assert_allclose(rho[0], np.asarray(ref(params[0], None)), atol=1e-10)


# ---------------------------------------------------------------------------------------------
# Noiseless limit and autodiff


@pytest.mark.parametrize("noise", ["none", "depolarizing:0"])
def test_noiseless_density_equals_statevector(noise):
    c = random_circuit(3, 18, seed=3, n_data=1)
    params, x = _inputs(c, 5)
    psi = je.simulate(c, params, x)
    rho = de.simulate(c, params, x, noise=noise)
    np.testing.assert_allclose(rho, np.einsum("bi,bj->bij", psi, psi.conj()), atol=1e-12)
    costs = ("global", "local", "zz")
    np.testing.assert_allclose(
        de.gradient(c, params, x, costs=costs, noise=noise),
        je.gradient(c, params, x, costs=costs),
        atol=1e-10,
    )


def test_forward_autodiff_equals_parameter_shift():
    import jax
    import jax.numpy as jnp

    c = random_circuit(3, 18, seed=0, n_data=2)
    params, x = _inputs(c, 9)
    noise = de.Noise("dephasing", 0.2, "gate")
    G = 32
    tables, n_active = de.lower_density(c, noise, n_gates=G)
    tables = de.DensityTables(*map(jnp.asarray, tables))
    obs = jnp.asarray(observables(("global", "local"), 3))
    f = de.jitted("expvals", de.density_kernels(c), 3, "complex128")
    angles = np.zeros((len(params), G))
    angles[:, : c.n_gates] = c.angles(params, x)
    v = np.random.default_rng(1).normal(size=c.n_params)  # a direction in parameter space
    dv = np.zeros(G)
    dv[: c.n_gates] = v @ angle_maps(c)[0]  # d angles / d params, along v
    tangent = jnp.broadcast_to(jnp.asarray(dv), angles.shape)
    _, jvp = jax.jvp(lambda a: f(tables, a, obs, n_active), (jnp.asarray(angles),), (tangent,))
    shift = de.gradient(c, params, x, costs=("global", "local"), noise=noise)
    np.testing.assert_allclose(np.asarray(jvp), np.einsum("bpk,p->bk", shift, v), atol=1e-10)


def test_variance_noiseless_density_rows_equal_statevector_rows():
    df = variance(
        (3,), (2, 3), ("dense", "original"), ("global", "local"), 40, noise="none,depolarizing:0"
    ).table
    a = df[df["noise"] == "none"].reset_index(drop=True)
    b = df[df["noise"] == "depolarizing"].reset_index(drop=True)
    assert len(a) == len(b) == 8
    np.testing.assert_allclose(b["var"], a["var"], rtol=1e-9, atol=1e-20)
    np.testing.assert_allclose(b["mean"], a["mean"], atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Noise-induced barren plateaus (Wang et al. 2021)


def test_channels_per_layer():
    assert nm.channels_per_layer(dense_hea(4, 3), "gate") == 2  # RY, RZ on every wire
    assert nm.channels_per_layer(dense_hea(4, 3), "layer") == 1
    assert nm.channels_per_layer(mcclean(4, 3), "gate") == 1
    assert nm.channels_per_layer(original_circuit(4, 3), "gate") == 1
    assert nm.rate_bound("depolarizing", 0.3, 2) == pytest.approx(4 * np.log2(1 / 0.6))


def test_local_cost_variance_decays_exponentially_with_depth_under_noise():
    res = noise_variance(
        qubits=(4,),
        layers=(2, 4, 6, 8, 10, 12),
        cost=("local",),
        samples=200,
        noise="none,depolarizing:0.02,0.05",
        seed=1,
        min_layers=4,
    )
    df = res.table
    fits = pd.DataFrame(res.meta["depth_fits"]).set_index("noise_strength")
    # the fits in meta are fit_depth_decay's, with the bound from the grid's own circuits
    again = nm.fit_depth_decay(df, min_layers=4)
    np.testing.assert_allclose(again["rate"], fits["rate"], rtol=1e-12)
    assert again["rate_bound"].isna().sum() == 2  # no circuit given: no bound for noisy rows
    clean, weak, strong = fits.loc[0.0], fits.loc[0.02], fits.loc[0.05]
    # Without noise the variance levels off at fixed n, at the 2-design value (McClean 2018).
    deep = df[(df["noise"] == "none") & (df["n_layers"] >= 10)]
    haar = haar_variance(4, "local")
    assert np.all(np.abs(deep["var"] - haar) < 3 * deep["var_se"])
    # With noise it decays at least as fast as the contraction bound, and much faster than
    # without noise; the rate grows with the noise strength.
    for f in (weak, strong):
        assert f["rate"] - 3 * f["rate_se"] > f["rate_bound"] > 0
        assert f["rate"] - 3 * f["rate_se"] > clean["rate"] + 3 * clean["rate_se"]
    assert strong["rate"] - 3 * strong["rate_se"] > weak["rate"] + 3 * weak["rate_se"]
    # Exponential: log2 Var is close to a line in L (residuals within a few error bars).
    for p in (0.02, 0.05):
        g = df[(df["noise_strength"] == p) & (df["n_layers"] >= 4)]
        f = fits.loc[p]
        pred = f["log2_A"] - f["rate"] * g["n_layers"]
        sy = g["var_se"] / (g["var"] * np.log(2))
        assert np.all(np.abs(np.log2(g["var"]) - pred) < 4 * sy + 0.1)


@pytest.mark.slow
def test_decay_rate_grows_with_strength_for_every_channel_layer_noise():
    # Even depths only: with param="middle" the differentiated gate alternates between an RY and
    # an RZ as the depth's parity changes.
    res = noise_variance(
        qubits=(5,),
        layers=(4, 8, 12, 16, 20),
        cost=("local",),
        samples=300,
        noise="none,depolarizing:0.02,0.06,dephasing:0.02,0.06,amplitude_damping:0.02,0.06",
        noise_where="layer",
        seed=2,
        min_layers=4,
    )
    fits = pd.DataFrame(res.meta["depth_fits"])
    clean = next(fits[fits["noise"] == "none"].itertuples())

    def above(a, b):  # a's rate exceeds b's by more than 3 combined standard errors
        return a.rate - b.rate > 3 * np.hypot(a.rate_se, b.rate_se)

    for kind, g in fits[fits["noise"] != "none"].groupby("noise"):
        lo, hi = g.sort_values("noise_strength").iloc[:2].itertuples()
        assert above(lo, clean) and above(hi, lo), kind
        if kind == "depolarizing":
            assert lo.rate - 3 * lo.rate_se > lo.rate_bound
            assert hi.rate - 3 * hi.rate_se > hi.rate_bound


# ---------------------------------------------------------------------------------------------
# Command line


def test_cli_noise_run_resume_and_errors(tmp_path):
    runner = CliRunner()
    out = tmp_path / "v"
    args = [
        "variance",
        "--qubits",
        "2,3",
        "--layers",
        "1,2,3",
        "--samples",
        "12",
        "--cost",
        "local",
        "--noise",
        "depolarizing:0.01,0.1",
        "--out",
        str(out),
    ]
    r = runner.invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "rate in bits per layer" in r.output
    csv = (out / "variance.csv").read_text()
    assert ",noise,noise_strength,noise_where" in csv.splitlines()[0]
    assert len(csv.splitlines()) == 1 + 2 * 3 * 2
    assert (out / "variance.png").exists()
    # a run killed after two points, resumed, gives the same bytes
    lines = csv.splitlines(keepends=True)
    (out / "variance.csv").write_text("".join(lines[:3]) + lines[3][:10])
    r = runner.invoke(main, [*args, "--resume"])
    assert r.exit_code == 0, r.output
    assert (out / "variance.csv").read_text() == csv
    for bad in (
        ["--noise", "depolarizing:2"],
        ["--noise", "depolarizing:0.1", "--engine", "pennylane"],
    ):
        r = runner.invoke(
            main,
            ["variance", "--qubits", "2", "--layers", "1", *bad, "--out", str(tmp_path / "bad")],
        )
        assert r.exit_code == 2
        assert r.output.strip().splitlines()[-1].startswith("Error: ")
    r = runner.invoke(
        main,
        [
            "variance",
            "--qubits",
            "14",
            "--layers",
            "1",
            "--noise",
            "dephasing:0.1",
            "--out",
            str(tmp_path / "big"),
        ],
    )
    assert r.exit_code == 2 and "14-qubit density matrix needs about" in r.output
