"""Entanglement entropies, Page values, encodings and the `bpdiag entropy` command.

References are independent of the code under test: closed forms (Page 1993 by exact rational
sums, Lubkin 1978), GHZ and product states, and PennyLane (`qml.math.vn_entropy`,
`qml.math.purity`, `qml.vn_entropy` in a QNode, `AmplitudeEmbedding`, `IsingZZ`).
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pennylane as qml
import pytest

from bpdiag._resources import point_seed
from bpdiag.analyses import entropy as E
from bpdiag.circuits import ANSATZE, build, layer_of, original_circuit, random_circuit
from bpdiag.circuits import encodings as enc
from bpdiag.engines import jax as je
from bpdiag.engines import pennylane as pe
from bpdiag.engines import states as states_engine

LN2 = math.log(2)


def _page_exact(n: int, m: int) -> float:
    """Page's sum with exact rationals."""
    k = min(m, n - m)
    dA, dB = 2**k, 2 ** (n - k)
    s = sum(Fraction(1, j) for j in range(dB + 1, dA * dB + 1)) - Fraction(dA - 1, 2 * dB)
    return float(s)


def _pl_entropies(state: np.ndarray, cut) -> tuple[float, float]:
    rho = qml.math.reduce_statevector(state, list(cut))
    idx = list(range(len(cut)))
    vn = float(qml.math.vn_entropy(rho, idx))
    r2 = -math.log(float(qml.math.purity(rho, idx)))
    return vn, r2


# ------------------------------------------------------------------------------ Page values


def test_page_values_match_exact_sums_and_limits():
    assert E.page_entropy(2, 1) == pytest.approx(1 / 3, abs=1e-15)
    for n in range(1, 9):
        for m in range(n + 1):
            assert E.page_entropy(n, m) == pytest.approx(_page_exact(n, m), abs=1e-13)
            assert E.page_entropy(n, m) == pytest.approx(E.page_entropy(n, n - m), abs=1e-15)
    # digamma branch (n > 20) against the large-d expansion m ln 2 - d_A / (2 d_B)
    for n, m in ((24, 12), (30, 10)):
        approx = m * LN2 - 2.0**m / 2.0 ** (n - m + 1)
        assert E.page_entropy(n, m) == pytest.approx(approx, abs=1e-6)
    assert E.page_purity(2, 1) == pytest.approx(4 / 5)  # (2 + 2) / (4 + 1)
    assert E.max_entropy(6, 4) == pytest.approx(2 * LN2)
    with pytest.raises(ValueError, match="cut size"):
        E.page_entropy(4, 5)


def test_haar_states_match_page_within_standard_error():
    rng = np.random.default_rng(7)
    n, R = 6, 4000
    z = rng.normal(size=(R, 2**n)) + 1j * rng.normal(size=(R, 2**n))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    cuts = E.contiguous_cuts(n) + [(1, 4), (0, 2, 5)]
    ent = E.entanglement_entropies(z, n, cuts)
    for c, cut in enumerate(cuts):
        m = len(cut)
        mean, se = ent.vn[:, c].mean(), ent.vn[:, c].std(ddof=1) / math.sqrt(R)
        assert abs(mean - _page_exact(n, m)) < 3 * se, (cut, mean, _page_exact(n, m), se)
        purity = np.exp(-ent.renyi2[:, c])
        pse = purity.std(ddof=1) / math.sqrt(R)
        assert abs(purity.mean() - E.page_purity(n, m)) < 3 * pse


def test_haar_reference_through_the_analysis():
    df = E.entropy(qubits=(4, 7), rows=3000, state=("haar",), seed=3).table
    assert set(df["state"]) == {"haar"}
    z = (df["entropy"] - df["page"]).abs() / df["entropy_se"]
    assert (z < 3.5).all(), df
    assert np.allclose(df["volume_fraction"], 1, atol=0.01)


# ------------------------------------------------------------------------------ references


def test_product_and_ghz_references():
    df = E.entropy(qubits=(2, 3, 5), rows=40, state=("product", "ghz"), random_cuts=2, seed=1).table
    prod = df[df["state"] == "product"]
    ghz = df[df["state"] == "ghz"]
    assert len(prod) and len(ghz)
    assert np.abs(prod[["entropy", "renyi2"]].to_numpy()).max() < 1e-12
    assert np.allclose(ghz["entropy"], LN2, atol=1e-12)
    assert np.allclose(ghz["renyi2"], LN2, atol=1e-12)
    assert set(df["cut"]) == {"contiguous", "random"}
    # every cut of a GHZ state, in bits, and non-contiguous/complementary cuts
    n = 5
    ghz_state = np.zeros((1, 2**n))
    ghz_state[0, [0, -1]] = 2**-0.5
    cuts = [(0,), (2,), (1, 3), (0, 4), (0, 1, 2, 3), (4,)]
    ent = E.entanglement_entropies(ghz_state, n, cuts, unit="bits")
    assert np.allclose(ent.vn, 1, atol=1e-12) and np.allclose(ent.renyi2, 1, atol=1e-12)


def test_unentangled_encoding_has_zero_entropy():
    rng = np.random.default_rng(0)
    x = rng.uniform(-np.pi, np.pi, (30, 5))
    states = states_engine.encoded_states("angle", x, 0)
    ent = E.entanglement_entropies(states, 5, [(0,), (0, 1), (1, 3)])
    assert np.abs(ent.vn).max() < 1e-12 and np.abs(ent.renyi2).max() < 1e-12


# ------------------------------------------------------------------------------ PennyLane


def test_entropies_of_random_circuits_match_pennylane():
    rng = np.random.default_rng(11)
    for n, seed in ((3, 0), (4, 1), (5, 2)):
        c = random_circuit(n, 8 * n, seed=seed, n_data=2)
        params = rng.uniform(-np.pi, np.pi, (6, c.n_params))
        x = rng.uniform(-np.pi, np.pi, (6, c.n_data))
        states = je.simulate(c, params, x)
        cuts = E.contiguous_cuts(n) + [(n - 1,), (0, n - 1), tuple(range(1, n))]
        ent = E.entanglement_entropies(states, n, cuts, workers=2)
        for b in range(len(states)):
            for k, cut in enumerate(cuts):
                vn, r2 = _pl_entropies(states[b], cut)
                assert abs(ent.vn[b, k] - vn) < 1e-10
                assert abs(ent.renyi2[b, k] - r2) < 1e-10
        bits = E.entanglement_entropies(states, n, cuts, unit="bits")
        np.testing.assert_allclose(bits.vn, ent.vn / LN2, atol=1e-12)


def test_pipeline_states_match_a_pennylane_qnode():
    """Encoded states (every encoding, with ansatz layers) against PennyLane gates and
    `qml.vn_entropy` measured in a QNode."""
    from bpdiag.data import prepare

    X = prepare("synthetic", seed=0, subset=60).X_train[:4]
    n, L = 4, 2
    angles = E.encode_angles(X, E.random_encoder(X.shape[1], n, hidden=8, seed=5))
    assert np.abs(angles).max() <= np.pi
    rng = np.random.default_rng(2)
    dev = qml.device("default.qubit", wires=n)
    for encoding in ("angle", "zz", "reupload", "amplitude"):
        c = enc.encoded_circuit(encoding, n, L, ansatz="dense")
        p = rng.uniform(0, 2 * np.pi, c.n_params)
        feats = angles if encoding != "amplitude" else np.abs(X[:, :16]) + 0.1
        states = states_engine.encoded_states(encoding, feats, L, p, n_qubits=n, ansatz="dense")
        ent = E.entanglement_entropies(states, n, [(0,), (0, 1), (1, 2)])
        for wires, k in (([0], 0), ([0, 1], 1), ([1, 2], 2)):

            @qml.qnode(dev)
            def f(row, wires=wires, encoding=encoding, c=c, p=p):
                if encoding == "amplitude":
                    qml.AmplitudeEmbedding(row, wires=range(n), pad_with=0.0, normalize=True)
                elif encoding == "reupload":
                    pe.apply_circuit(c, p, row)
                else:
                    for w in range(n):
                        qml.RY(row[w], wires=w)
                    if encoding == "zz":  # Havlicek et al. 2019, written out here
                        for i in range(n - 1):
                            phi = (np.pi - row[i]) * (np.pi - row[i + 1])
                            qml.IsingZZ(2 * phi, wires=[i, i + 1])
                    pe.apply_circuit(enc.compose(*enc.ansatz_layers("dense", n, L)), p, None)
                if encoding == "amplitude":
                    pe.apply_circuit(c, p, None)
                return qml.vn_entropy(wires=wires)

            ref = np.array([float(f(row)) for row in feats])
            np.testing.assert_allclose(ent.vn[:, k], ref, atol=1e-10, err_msg=encoding)


def test_table_matches_pennylane_on_option_rows():
    """The analysis's zz row means equal PennyLane's QNode entropies averaged over the rows."""
    from bpdiag.data import prepare

    X = prepare("synthetic", seed=0, subset=80).X_train[:12]
    n, seed = 4, 9
    res = E.entropy(qubits=(n,), encoding=("zz",), layers=(0,), rows=12, features=X, seed=seed)
    df = res.table
    angles = E.encode_angles(
        X, E.random_encoder(X.shape[1], n, hidden=16, seed=point_seed(seed, "encoder", n))
    )
    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev)
    def f(row, m):
        for w in range(n):
            qml.RY(row[w], wires=w)
        for i in range(n - 1):
            qml.IsingZZ(2 * (np.pi - row[i]) * (np.pi - row[i + 1]), wires=[i, i + 1])
        return qml.vn_entropy(wires=list(range(m)))

    for m in (1, 2):
        vals = np.array([float(f(row, m)) for row in angles])
        got = df[df["cut_size"] == m].iloc[0]
        assert got["entropy"] == pytest.approx(vals.mean(), abs=1e-10)
        assert got["entropy_se"] == pytest.approx(vals.std(ddof=1) / math.sqrt(12), abs=1e-10)
        assert got["rows"] == 12
        assert got["page"] == pytest.approx(_page_exact(n, m), abs=1e-13)


def test_trained_checkpoint_states_match_pennylane(tmp_path):
    """A `bpdiag train` checkpoint: the model's own encoder, circuit and best weights; entropies
    against PennyLane's qml.vn_entropy on the same circuit, weights and angles."""
    import torch

    from bpdiag.train import TrainConfig, fit, load_checkpoint, load_data

    cfg = TrainConfig(subset=30, epochs=1, baselines=False, qubits=3, layers=1, out=str(tmp_path))
    fit(cfg)
    df = E.entropy(state=("trained", "haar"), qubits=(3,), rows=1000, checkpoint=tmp_path).table
    got = df[df["state"] == "trained"].iloc[0]
    assert (got["encoding"], got["ansatz"], got["n_qubits"], got["n_layers"]) == (
        "angle",
        "original",
        3,
        1,
    )
    data = load_data(cfg)
    state = load_checkpoint(tmp_path / "checkpoint_best.pt", cfg, data.X_train.shape[1])
    model = state.model
    model.load_state_dict(state.best.state)
    with torch.no_grad():
        angles = model.angles(torch.as_tensor(data.X_train, dtype=torch.float32)).double().numpy()
    weights = model.middle.weights.detach().double().numpy()
    dev = qml.device("default.qubit", wires=3)

    @qml.qnode(dev)
    def f(row):
        pe.apply_circuit(original_circuit(3, 1), weights, row)
        return qml.vn_entropy(wires=[0])

    vals = np.array([float(f(row)) for row in angles])
    assert got["rows"] == len(angles)
    assert got["entropy"] == pytest.approx(vals.mean(), abs=1e-10)
    with pytest.raises(ValueError, match="needs a checkpoint"):
        E.entropy(state=("trained",), qubits=(3,), rows=10)
    with pytest.raises(FileNotFoundError):
        E.entropy(state=("data",), qubits=(3,), rows=10, checkpoint=tmp_path / "nope.pt")


# ------------------------------------------------------------------------------ encodings


def test_encodings_reuse_the_foundation_circuits():
    for L in (0, 1, 3):
        # re-uploading, written out: RY(x) on every wire, then per layer (RY(x) again for l > 0)
        # RZ(w) on every wire and the CNOT ring
        a, n = enc.encoded_circuit("reupload", 4, L), 4
        gates, wires, starts = ["RY"] * n, [(w,) for w in range(n)], []
        for layer in range(L):
            starts.append(len(gates))
            if layer:
                gates += ["RY"] * n
                wires += [(w,) for w in range(n)]
            gates += ["RZ"] * n + ["CNOT"] * n
            wires += [(w,) for w in range(n)] + [(i, (i + 1) % n) for i in range(n)]
        assert (a.gates, a.wires) == (tuple(gates), tuple(wires))
        assert a.info("layer_starts") == tuple(starts)
        data = [s[0].index for s in a.sources if s and s[0].kind == "data"]
        assert data == list(range(n)) * max(L, 1)
        assert a.n_params == n * L
        a, b = enc.encoded_circuit("angle", 4, L), original_circuit(4, L)
        assert (a.gates, a.wires, a.sources) == (b.gates, b.wires, b.sources)
        assert a.info("layer_starts") == b.info("layer_starts")
    # layer splitting gives back every family gate for gate
    for ansatz in ANSATZE:
        full = build(ansatz, 5, 3, seed=4)
        keep = [g for g, s in enumerate(full.sources) if not any(t.kind == "data" for t in s)]
        joined = enc.compose(*enc.ansatz_layers(ansatz, 5, 3, seed=4))
        assert joined.gates == tuple(full.gates[g] for g in keep)
        assert joined.wires == tuple(full.wires[g] for g in keep)
        assert joined.sources == tuple(full.sources[g] for g in keep)
        assert joined.n_params == full.n_params
        # the layers are the family's own recorded layers (the encoding is not in any layer)
        assert layer_of(joined).tolist() == layer_of(full)[keep].tolist()
        zz = enc.encoded_circuit("zz", 5, 3, ansatz=ansatz, seed=4)
        n_head = enc.zz(5).n_gates
        assert (layer_of(zz)[n_head:] == layer_of(joined)).all()
        assert (layer_of(zz)[:n_head] == -1).all()
    # family options reach the family: a random sparse pattern of density 1 is the dense HEA
    a = enc.encoded_circuit("angle", 4, 2, ansatz="sparse", pattern="random", density=1.0)
    b = enc.encoded_circuit("angle", 4, 2, ansatz="dense")
    assert (a.gates, a.wires, a.sources) == (b.gates, b.wires, b.sources)


def test_reference_preparations_prepare_product_and_ghz_states():
    """transforms.preparation against states written out by hand."""
    from bpdiag.circuits.transforms import ghz_circuit, preparation, product_state_circuit

    for n in (1, 2, 4):
        ghz = je.simulate(ghz_circuit(n), np.zeros((1, 0)))[0]
        want = np.zeros(2**n)
        want[[0, -1]] = 2**-0.5
        np.testing.assert_allclose(ghz, want, atol=1e-12)
    rng = np.random.default_rng(0)
    n = 3
    x = rng.uniform(0, np.pi, (1, 2 * n))
    got = je.simulate(product_state_circuit(n), np.zeros((1, 0)), x)[0]
    qubits = [
        np.array([np.cos(t / 2) * np.exp(-1j * p / 2), np.sin(t / 2) * np.exp(1j * p / 2)])
        for t, p in zip(x[0, :n], x[0, n:])
    ]
    want = functools.reduce(np.kron, qubits)
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert preparation("ghz", 3).gates == ghz_circuit(3).gates
    with pytest.raises(ValueError, match="unknown preparation"):
        preparation("nope", 2)


def test_zz_features_and_amplitude_state():
    x = np.array([[0.1, -0.7, 2.0]])
    f = enc.zz_features(x)
    assert f.shape == (1, 5)
    assert f[0, 3] == pytest.approx((np.pi - 0.1) * (np.pi + 0.7))
    assert f[0, 4] == pytest.approx((np.pi + 0.7) * (np.pi - 2.0))
    assert enc.zz_features(x, "full").shape == (1, 6)
    a = enc.amplitude_state(np.array([[3.0, 0.0, 4.0]]), 2)
    np.testing.assert_allclose(a, [[0.6, 0, 0.8, 0]])
    with pytest.raises(ValueError, match="n_qubits >= 3"):
        enc.amplitude_state(np.ones((1, 5)), 2)
    with pytest.raises(ValueError, match="shared"):
        states_engine.amplitude_states(
            np.ones((2, 4)), enc.encoded_circuit("amplitude", 2, 1), np.ones((2, 2))
        )


# ------------------------------------------------------------------------------ verdicts


def test_verdicts_on_synthetic_curves():
    rng = np.random.default_rng(0)
    n = np.arange(2, 13)
    page = np.array([E.page_entropy(k, k // 2) for k in n])
    se = np.full(len(n), 0.01)
    volume = 0.9 * page + rng.normal(0, 0.01, len(n))
    area = 1.2 * (1 - np.exp(-n / 1.5)) + rng.normal(0, 0.01, len(n))
    slow = 0.3 * page + rng.normal(0, 0.01, len(n))
    v = E.verdict_from_curve(n, volume, se)
    assert v["verdict"] == "volume" and v["slope_fraction"] == pytest.approx(0.9, abs=0.05)
    a = E.verdict_from_curve(n, area, se)
    assert a["verdict"] == "area" and abs(a["slope_fraction"]) < 0.1
    assert E.verdict_from_curve(n, slow, se)["verdict"] == "intermediate"
    assert E.verdict_from_curve(n[:2], volume[:2], se[:2])["verdict"] == "insufficient"
    # a noisy curve whose slope cannot be told from either law stays undecided
    noisy = 0.5 * page + rng.normal(0, 0.5, len(n))
    assert E.verdict_from_curve(n, noisy, np.full(len(n), 0.5))["verdict"] == "intermediate"
    # in bits the Page slope is about 1/2 per qubit, so the fraction is unit-free
    b = E.verdict_from_curve(n, volume / LN2, se / LN2, unit="bits")
    assert b["slope_fraction"] == pytest.approx(v["slope_fraction"], rel=1e-9)
    assert b["page_slope"] == pytest.approx(0.5, abs=0.03)


def test_verdicts_of_reference_states():
    res = E.entropy(qubits=range(2, 9), rows=200, state=("product", "ghz", "haar"), seed=2)
    v = E.verdicts(res.table).set_index("state")["verdict"]
    pd.testing.assert_frame_equal(res.tables["verdicts"], E.verdicts(res.table))
    assert [r["verdict"] for r in res.meta["verdicts"]] == list(res.tables["verdicts"]["verdict"])
    assert v["haar"] == "volume" and v["ghz"] == "area" and v["product"] == "area"


# ------------------------------------------------------------------------------ errors, memory


def test_errors_and_memory_chunking():
    with pytest.raises(ValueError, match="n_qubits must be >= 2, got 1"):
        E.entropy(qubits=(1, 2), rows=10)
    with pytest.raises(ValueError, match="unknown encoding"):
        E.entropy(qubits=(2,), encoding=("nope",), rows=10)
    with pytest.raises(ValueError, match="shared"):
        E.entropy(qubits=(2,), encoding=("amplitude",), layers=(1,), params="row", rows=10)
    with pytest.raises(ValueError, match="proper"):
        E.entanglement_entropies(np.ones((1, 8)) / 8**0.5, 3, [(0, 1, 2)])
    rng = np.random.default_rng(1)
    z = rng.normal(size=(9, 32)) + 1j * rng.normal(size=(9, 32))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    full = E.entanglement_entropies(z, 5)
    one_row = E.entropy_bytes_per_row(5, E.contiguous_cuts(5))
    small = E.entanglement_entropies(z, 5, memory_budget=2.5 * one_row, workers=1)
    np.testing.assert_allclose(small.vn, full.vn, atol=1e-14)
    # a budget below one row: one line that names what it would need
    with pytest.raises(MemoryError, match="needs about") as err:
        E.entanglement_entropies(z, 5, memory_budget=100)
    assert "\n" not in str(err.value) and "entropies of 5-qubit states" in str(err.value)


def test_memory_estimate_bounds_the_measured_peak():
    """The estimate against what the kernel really allocates (tracemalloc sees numpy's buffers):
    with a budget of B rows' estimate, the whole batch runs in one chunk and its measured peak
    must stay within the budget (an underestimate fails) but not far below it (an estimate more
    than ~3x too large fails too)."""
    import tracemalloc

    rng = np.random.default_rng(2)
    for n, B in ((10, 64), (12, 16)):
        z = rng.normal(size=(B, 2**n)) + 1j * rng.normal(size=(B, 2**n))
        z /= np.linalg.norm(z, axis=1, keepdims=True)
        cuts = E.contiguous_cuts(n) + [(1, 3), (0, n - 1)]
        budget = B * E.entropy_bytes_per_row(n, cuts)
        E.entanglement_entropies(z[:2], n, cuts, workers=1)  # warm-up: imports, thread pool
        tracemalloc.start()
        try:
            E.entanglement_entropies(z, n, cuts, memory_budget=budget, workers=1)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert 0.3 * budget < peak <= budget, (n, peak, budget)


def test_sink_collects_points_and_a_resumed_sink_skips_them():
    """Points go to the sink as they finish; a sink that already holds some (a resume) gets
    only the rest, and the table comes back in grid order with the same numbers."""
    from bpdiag.analyses._common import MemorySink

    kw = dict(qubits=(2, 3), rows=20, state=("ghz", "haar"), seed=4)
    sink = MemorySink(E.COLUMNS, E.KEY)
    full = E.entropy(**kw, sink=sink)
    assert len(sink.frames) == 4 and list(full.table.columns) == E.COLUMNS
    resumed = MemorySink(E.COLUMNS, E.KEY)
    resumed.append(sink.frames[3])  # the last point finished first
    again = E.entropy(**kw, sink=resumed)
    assert len(resumed.frames) == 4  # three new points, not four
    pd.testing.assert_frame_equal(again.table, full.table)
    assert len(again.meta["timing"]) == 3


# ------------------------------------------------------------------------------ CLI


def test_cli_writes_outputs_byte_identical_and_resumes(tmp_path):
    from click.testing import CliRunner

    from bpdiag.cli import main

    args = [
        "entropy",
        "--qubits",
        "2..4",
        "--layers",
        "0,1",
        "--rows",
        "16",
        "--state",
        "data,ghz",
        "--encoding",
        "zz,amplitude",
    ]
    r = CliRunner().invoke(main, args + ["--out", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    for ext in ("csv", "json", "png", "pdf"):
        assert (tmp_path / "a" / f"entropy.{ext}").exists()
    df = pd.read_csv(tmp_path / "a" / "entropy.csv")
    for col in (
        "state",
        "encoding",
        "n_qubits",
        "n_layers",
        "cut_size",
        "entropy",
        "entropy_se",
        "renyi2",
        "page",
        "volume_fraction",
        "rows",
        "renyi2_se",
        "max_entropy",
        "unit",
    ):
        assert col in df.columns
    assert set(df["encoding"]) == {"zz", "amplitude", "none"}
    assert "verdict" in r.output
    text = (tmp_path / "a" / "entropy.csv").read_text()
    r = CliRunner().invoke(main, args + ["--out", str(tmp_path / "b")])
    assert (tmp_path / "b" / "entropy.csv").read_text() == text
    # a killed run: drop the last point and half a line, then resume
    lines = text.splitlines(keepends=True)
    (tmp_path / "b" / "entropy.csv").write_text("".join(lines[:-4]) + lines[-4][:10])
    r = CliRunner().invoke(main, args + ["--out", str(tmp_path / "b"), "--resume"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "b" / "entropy.csv").read_text() == text
    # bad input: one line, exit code 2
    r = CliRunner().invoke(main, ["entropy", "--qubits", "1..3", "--out", str(tmp_path / "c")])
    assert r.exit_code == 2 and "n_qubits must be >= 2" in r.output
    assert "Traceback" not in r.output


# ------------------------------------------------------------------------------ devices


@pytest.mark.parametrize("device", ["default.qubit", "lightning.qubit", "default.mixed"])
def test_pennylane_engine_matches_jax_engine(device):
    """States from a PennyLane QNode on each device (density matrices on default.mixed) give
    the JAX engine's table to 1e-10: same draws, same cuts, every encoding with a circuit."""
    X = np.random.default_rng(3).normal(size=(6, 5))
    kw = dict(
        qubits=(2, 4),
        encoding=("angle", "zz", "reupload"),
        layers=(0, 1),
        rows=6,
        features=X,
        state=("data", "product", "ghz"),
        random_cuts=1,
        seed=5,
    )
    ref = E.entropy(**kw).table
    res = E.entropy(**kw, engine="pennylane", device=device)
    got = res.table
    assert res.meta["config"]["engine"] == "pennylane"
    assert res.meta["config"]["device"] == device
    cols = E.KEY + ["cut", "cut_size"]
    pd.testing.assert_frame_equal(got[cols], ref[cols])
    for col in ("entropy", "entropy_se", "renyi2", "renyi2_se"):
        np.testing.assert_allclose(got[col], ref[col], atol=1e-10, err_msg=col)
    assert ref["entropy"].max() > 0.3  # something entangled was compared


def test_density_matrix_entropies_match_pennylane_on_mixed_states():
    """Density-matrix input: the entropies of subsystem A (any qubits) of random mixed states,
    against qml.math.vn_entropy / qml.math.purity."""
    rng = np.random.default_rng(0)
    n, B = 4, 3
    M = rng.normal(size=(B, 16, 16)) + 1j * rng.normal(size=(B, 16, 16))
    rho = M @ M.conj().swapaxes(1, 2)
    rho /= np.trace(rho, axis1=1, axis2=2)[:, None, None]
    cuts = [(0,), (2,), (1, 3), (0, 2, 3)]
    ent = E.entanglement_entropies(rho, n, cuts)
    for b in range(B):
        for k, cut in enumerate(cuts):
            vn = float(qml.math.vn_entropy(rho[b], list(cut)))
            r2 = -math.log(float(qml.math.purity(rho[b], list(cut))))
            assert ent.vn[b, k] == pytest.approx(vn, abs=1e-10)
            assert ent.renyi2[b, k] == pytest.approx(r2, abs=1e-10)
    # a mixed state's two sides differ: S(A) for A = {0, 2, 3} is not S({1})
    assert abs(ent.vn[0, 3] - E.entanglement_entropies(rho, n, [(1,)]).vn[0, 0]) > 1e-3


def test_cli_pennylane_device_missing_fallback_and_refusals(tmp_path):
    from click.testing import CliRunner

    from bpdiag.cli import main

    args = ["entropy", "--qubits", "2,3", "--layers", "0,1", "--rows", "8", "--encoding", "zz"]
    missing = [*args, "--engine", "pennylane", "--device", "nosuch.device"]
    r = CliRunner().invoke(main, [*missing, "--out", str(tmp_path / "m")])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    errors = [line for line in r.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "'nosuch.device' is not available here" in errors[0]
    assert "--fallback" in errors[0]
    assert not (tmp_path / "m" / "entropy.csv").exists()
    with pytest.raises(pe.DeviceUnavailable, match="nosuch.device"):
        E.entropy(
            qubits=(2,),
            rows=4,
            features=np.ones((4, 3)),
            engine="pennylane",
            device="nosuch.device",
        )
    # --fallback: one warning, a run on default.qubit, the JAX engine's numbers
    r = CliRunner().invoke(main, [*missing, "--fallback", "--out", str(tmp_path / "f")])
    assert r.exit_code == 0, r.output
    assert "falling back to default.qubit" in r.output
    r_ref = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "j")])
    assert r_ref.exit_code == 0, r_ref.output
    import json

    meta = json.loads((tmp_path / "f" / "entropy.json").read_text())
    assert (meta["config"]["engine"], meta["config"]["device"]) == ("pennylane", "default.qubit")
    got = pd.read_csv(tmp_path / "f" / "entropy.csv")
    ref = pd.read_csv(tmp_path / "j" / "entropy.csv")
    assert len(got) == len(ref) > 0
    for col in ("entropy", "renyi2", "entropy_se"):
        np.testing.assert_allclose(got[col], ref[col], atol=1e-9)
    # what the pennylane engine does not run: one line, exit code 2
    for extra, msg in (
        (["--encoding", "amplitude"], "runs on the jax engine only"),
        (["--dtype", "complex64"], "pennylane engine runs complex128"),
    ):
        r = CliRunner().invoke(
            main, [*args, *extra, "--engine", "pennylane", "--out", str(tmp_path / "x")]
        )
        assert r.exit_code == 2 and msg in r.output, r.output
        assert "Traceback" not in r.output
