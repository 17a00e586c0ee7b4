"""Shot noise of parameter-shift gradients (bpdiag.analyses.shots, and the exact term of
bpdiag.analyses.exact) against bitstrings sampled from exact probabilities, PennyLane with finite
shots, closed forms and brute-force averages."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pennylane as qml
import pytest
from click.testing import CliRunner
from pennylane import numpy as pnp

from bpdiag.analyses.exact import exact_moments
from bpdiag.analyses.shots import sampled_shots
from bpdiag.analyses.variance import summarize, variance
from bpdiag.circuits import Circuit, P, cost_diagonal, dense_hea, mcclean
from bpdiag.engines import jax as je
from bpdiag.engines.pennylane import apply_circuit, measurement

GHZ = Circuit(
    3,
    ("RY", "CNOT", "CNOT", "RY"),
    ((0,), (0, 1), (1, 2), (2,)),
    (P(0), (), (), P(1)),
    name="ghz",
)


def _pennylane_shift_gradients(circuit, params, p, cost, shots, reps, seed):
    """``reps`` independent parameter-shift estimates of dC/dparams[p] by PennyLane, each from
    ``shots`` shots per shifted circuit (one shot vector of ``reps`` entries; default.qubit,
    seeded)."""
    dev = qml.device("default.qubit", wires=circuit.n_qubits, seed=seed)

    @qml.set_shots([(shots, reps)])
    @qml.qnode(dev, diff_method="parameter-shift")
    def f(theta):
        apply_circuit(circuit, theta)
        return measurement(cost, circuit.n_qubits)

    grads = qml.gradients.param_shift(f, argnum=[p])(pnp.array(params, requires_grad=True))
    return np.array([np.asarray(g)[p] for g in grads])


def _bitstring_shift_estimates(circuit, params, p, cost, shots, reps, rng):
    """``reps`` parameter-shift estimates of dC/dparams[p], each from ``shots`` bitstrings per
    shifted circuit drawn (numpy, seeded) from the statevector's exact probabilities and scored
    with the cost's value on each bitstring: no shot-noise formula involved."""
    d = cost_diagonal(cost, circuit.n_qubits)
    means = []
    for sign in (1, -1):
        q = params.copy()
        q[p] += sign * np.pi / 2
        probs = np.abs(je.simulate(circuit, q)[0]) ** 2
        idx = rng.choice(len(d), size=(reps, shots), p=probs / probs.sum())
        means.append(d[idx].mean(axis=1))
    return (means[0] - means[1]) / 2


@pytest.mark.parametrize(
    "circuit, cost, p",
    [(GHZ, "local", 0), (dense_hea(3, 2), "global", 5), (dense_hea(3, 2), "local", 5)],
    ids=["ghz-local", "dense-global", "dense-local"],
)
def test_shot_variance_matches_sampled_bitstrings_and_pennylane(circuit, cost, p):
    shots, reps = 40, 2000
    params = np.random.default_rng(3).uniform(0, 2 * np.pi, circuit.n_params)
    if circuit is GHZ:
        params = np.array([1.1, 0.0])
    pl = _pennylane_shift_gradients(circuit, params, p, cost, shots, reps, seed=17)
    pl_stats = summarize(pl[:, None])
    ours = sampled_shots(
        circuit,
        np.repeat(params[None], reps, 0),
        np.zeros((reps, 0)),
        (cost,),
        [p],
        shots,
        np.random.default_rng(5),
    )
    analytic = ours["shot1"][0, 0, 0] / shots  # the reported shot variance at fixed angles
    assert np.allclose(ours["shot1"], ours["shot1"][0, 0, 0])  # the same angles in every row
    drawn = _bitstring_shift_estimates(
        circuit, params, p, cost, shots, reps, np.random.default_rng(23)
    )
    drawn_stats = summarize(drawn[:, None])
    mine = summarize(ours["noisy"][:, :, 0])
    exact_g = je.gradient(circuit, params[None], costs=(cost,))[0, p, 0]
    for stats in (drawn_stats, pl_stats, mine):
        assert abs(stats["var"] - analytic) < 4 * stats["var_se"], (stats, analytic)
        assert abs(stats["mean"] - exact_g) < 4 * stats["mean_se"]
    if circuit is GHZ:
        # All three Z_i agree in every shot: treating qubits as independent would give a third
        # of the true shot noise, and PennyLane's estimate rules that out.
        s = np.array([1.1 + np.pi / 2, 1.1 - np.pi / 2])
        closed_form = np.sum(np.sin(s) ** 2) / 4 / shots  # <O^2> = 1, <O> = cos(a)
        assert analytic == pytest.approx(closed_form)
        assert abs(pl_stats["var"] - closed_form / 3) > 6 * pl_stats["var_se"]


# Non-diagonal costs: each qubit-wise commuting group measured with its own `shots` (equal
# allocation). The groups are written out by hand here; PennyLane diagonalises them.
_GROUPED = {
    "heisenberg": [  # n = 3: the XX, YY and ZZ bonds, each weight 1/2
        [(0.5, "XX", (0, 1)), (0.5, "XX", (1, 2))],
        [(0.5, "YY", (0, 1)), (0.5, "YY", (1, 2))],
        [(0.5, "ZZ", (0, 1)), (0.5, "ZZ", (1, 2))],
    ],
    "0.3 X0 Y1 - 0.7 Y2 + 0.2 Z0 X2 + 0.5": [  # greedy first fit; the constant draws no shots
        [(0.3, "XY", (0, 1)), (-0.7, "Y", (2,))],
        [(0.2, "ZX", (0, 2))],
    ],
}


def _group_op(group):
    def word(s, ws):
        return qml.prod(*[getattr(qml, f"Pauli{letter}")(w) for letter, w in zip(s, ws)])

    return qml.sum(*[c * word(s, ws) for c, s, ws in group])


def _group_reference(circuit, params, p, group):
    """PennyLane default.qubit: (<O_g>, Var(O_g)) on both shifted circuits, and the
    probabilities of the bitstrings after PennyLane's own diagonalising gates of the group."""
    dev = qml.device("default.qubit", wires=circuit.n_qubits)
    basis = {w: letter for _, s, ws in group for letter, w in zip(s, ws)}
    op = _group_op(group)

    @qml.qnode(dev)
    def moments(q):
        apply_circuit(circuit, q)
        return qml.expval(op), qml.var(op)

    with qml.QueuingManager.stop_recording():
        rotation = [
            gate
            for w, letter in sorted(basis.items())
            for gate in getattr(qml, f"Pauli{letter}")(w).diagonalizing_gates()
        ]

    @qml.qnode(dev)
    def probs(q):
        apply_circuit(circuit, q)
        for gate in rotation:
            qml.apply(gate)
        return qml.probs(wires=range(circuit.n_qubits))

    out = []
    for sign in (1, -1):
        q = params.copy()
        q[p] += sign * np.pi / 2
        m, v = moments(q)
        out.append((float(m), float(v), np.asarray(probs(q))))
    return out


@pytest.mark.parametrize("cost", list(_GROUPED))
def test_grouped_shot_estimator_mean_and_variance(cost):
    circuit, p, shots, reps = dense_hea(3, 2), 5, 50, 3000
    params = np.random.default_rng(8).uniform(0, 2 * np.pi, circuit.n_params)
    n = circuit.n_qubits
    bits = (np.arange(2**n)[:, None] >> (n - 1 - np.arange(n))) & 1
    closed, brute = 0.0, np.zeros(reps)
    rng = np.random.default_rng(29)
    exact_g = 0.0
    for group in _GROUPED[cost]:
        value = sum(c * np.prod(1 - 2 * bits[:, list(ws)], axis=1) for c, _, ws in group)
        for sign, (mean, var, pr) in zip((1, -1), _group_reference(circuit, params, p, group)):
            closed += var / (4 * shots)  # c = 1: one gate, coefficient 1
            exact_g += sign * mean / 2
            draws = rng.choice(2**n, size=(reps, shots), p=pr / pr.sum())
            brute += sign * value[draws].mean(axis=1) / 2
    ours = sampled_shots(
        circuit,
        np.repeat(params[None], reps, 0),
        np.zeros((reps, 0)),
        (cost, "global"),
        [p],
        shots,
        np.random.default_rng(5),
    )
    np.testing.assert_allclose(ours["shot1"][:, 0, 0] / shots, closed, rtol=1e-10)
    assert exact_g == pytest.approx(je.gradient(circuit, params, costs=(cost,))[0, p, 0])
    for est in (brute, ours["noisy"][:, 0, 0]):
        stats = summarize(est[:, None])
        assert abs(stats["mean"] - exact_g) < 4 * stats["mean_se"], (stats, exact_g)
        assert abs(stats["var"] - closed) < 4 * stats["var_se"], (stats, closed)


@pytest.mark.slow
def test_grouped_exact_shot_noise_matches_sampled():
    N = 100
    kw = dict(qubits=(3,), layers=(2,), samples=1500, method=("sample", "exact"), shots=N)
    costs = ("X0 X1 + Y0 Y1 + 0.5 Z2", "X0 + X1 X2")  # commuting terms: the exact method runs
    df = variance(cost=costs, seed=2, **kw).table.set_index(["cost", "method"])
    for c in costs:
        ex, sa = df.loc[(c, "exact")], df.loc[(c, "sample")]
        assert abs(sa["shot_var"] - ex["shot_var"]) < 4 * sa["shot_var_se"], c


def _grid(n_params, init):
    if init == "uniform":
        g = 2 * np.pi * np.arange(3) / 3
        pts = np.array(list(itertools.product(g, repeat=n_params)))
        return pts, np.full(len(pts), 1 / len(pts))
    sigma = float(init.split(":")[1])
    x, w = np.polynomial.hermite_e.hermegauss(14)
    w = w / w.sum()
    pts = np.array(list(itertools.product(x * sigma, repeat=n_params)))
    return pts, np.prod(np.array(list(itertools.product(w, repeat=n_params))), axis=1)


@pytest.mark.parametrize(
    "circuit, init",
    [
        (dense_hea(2, 1), "uniform"),
        (dense_hea(3, 1), "uniform"),
        (dense_hea(2, 1), "normal:0.4"),
        (mcclean(2, 2, seed=1), "normal:0.7"),
    ],
)
def test_exact_shot_noise_matches_grid_average(circuit, init):
    pts, w = _grid(circuit.n_params, init)
    for cost in ("global", "local"):
        d = cost_diagonal(cost, circuit.n_qubits)
        for p in range(circuit.n_params):
            total = 0.0
            for sign in (1, -1):
                q = pts.copy()
                q[:, p] += sign * np.pi / 2
                probs = np.abs(je.simulate(circuit, q)) ** 2
                total += w @ (probs @ d**2 - (probs @ d) ** 2)
            m = exact_moments(circuit, cost, param=p, init=init, shots=True, axes="fixed")
            assert m["shot1"] == pytest.approx(total / 4, abs=1e-10)


def test_variance_table_shot_columns_are_consistent():
    N = 200
    df = variance(
        qubits=(3, 5),
        layers=(3,),
        ansatz=("dense",),
        cost=("global", "local"),
        samples=1500,
        method=("sample", "exact"),
        shots=N,
    ).table
    key = ["cost", "n_qubits"]
    ex = df[df["method"] == "exact"].set_index(key).sort_index()
    sa = df[df["method"] == "sample"].set_index(key).sort_index()
    assert (ex["shots"] == N).all() and (ex["shot_var_se"] == 0).all()
    # Sampled shot noise (analytic per sample) agrees with the exact average over angles.
    assert ((sa["shot_var"] - ex["shot_var"]).abs() < 4 * sa["shot_var_se"]).all()
    # Noisy gradients: their variance is the gradient's plus the shot noise.
    se = np.hypot(sa["noisy_var_se"], sa["var_se"])
    assert (
        (sa["noisy_var"] - sa["var"] - sa["shot_var"]).abs() < 4 * se + 4 * sa["shot_var_se"]
    ).all()
    np.testing.assert_allclose(ex["noisy_var"], ex["var"] + ex["shot_var"])
    # shots_needed is the smallest N whose shot noise does not exceed the variance.
    s1 = ex["shot_var"] * N
    assert (s1 / ex["shots_needed"] <= ex["var"] * (1 + 1e-12)).all()
    assert (s1 / (ex["shots_needed"] - 1) > ex["var"]).all()


def test_shots_cli_and_refusals(tmp_path):
    from bpdiag.cli import main

    runner = CliRunner()
    out = tmp_path / "s"
    r = runner.invoke(
        main,
        [
            "variance",
            "--qubits",
            "2,3",
            "--layers",
            "2",
            "--cost",
            "global,local",
            "--samples",
            "100",
            "--method",
            "sample,exact",
            "--shots",
            "100",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "Shots per circuit" in r.output
    table = pd.read_csv(out / "variance_shots.csv")
    assert set(table["method"]) == {"exact", "sample"} and (table["shots"] == 100).all()
    assert (out / "variance_shots.png").exists() and (out / "variance.png").exists()
    bad = runner.invoke(main, ["variance", "--shots", "0", "--out", str(tmp_path / "b")])
    assert bad.exit_code == 2
    bad = runner.invoke(
        main,
        [
            "variance",
            "--qubits",
            "3",
            "--layers",
            "2",
            "--init",
            "identity-blocks",
            "--method",
            "exact",
            "--shots",
            "10",
            "--out",
            str(tmp_path / "c"),
        ],
    )
    assert bad.exit_code == 2 and "identity-blocks" in bad.output
    assert "Traceback" not in bad.output
