"""The circuit description: validation and the structure of every ansatz family."""

import numpy as np
import pytest

from bpdiag.circuits import (
    C,
    Circuit,
    P,
    X,
    build,
    cost_diagonal,
    dense_hea,
    mcclean,
    observables,
    original_circuit,
    sparse_hea,
    z_signs,
)
from bpdiag.circuits.encodings import encoded_circuit


def test_circuit_is_immutable_and_counts_params():
    c = Circuit(2, ("RY", "CZ", "RX"), ((0,), (0, 1), (1,)), (P(0), (), P(3) + X(1)))
    assert c.n_params == 4 and c.n_data == 2
    with pytest.raises(AttributeError):
        c.n_qubits = 3


@pytest.mark.parametrize(
    "gates, wires, sources, message",
    [
        (("FOO",), ((0,),), ((),), "unknown gate"),
        (("CZ",), ((0,),), ((),), "needs 2 wire"),
        (("RX",), ((5,),), (P(0),), "bad wires"),
        (("CZ",), ((1, 1),), ((),), "bad wires"),
        (("RX",), ((0,),), ((),), "needs an angle"),
        (("CZ",), ((0, 1),), (P(0),), "takes no angle"),
        (("RX", "RY"), ((0,),), (P(0), P(1)), "equal length"),
    ],
)
def test_bad_circuits_raise_one_line(gates, wires, sources, message):
    with pytest.raises(ValueError, match=message) as err:
        Circuit(2, gates, wires, sources)
    assert "\n" not in str(err.value)


def test_dense_hea_structure():
    c = dense_hea(4, 3)
    assert c.n_params == 2 * 4 * 3
    assert c.gates.count("CZ") == 3 * 3
    assert c.gates[:2] == ("RY", "RZ")
    ring = dense_hea(4, 1, ring=True)
    assert (3, 0) in ring.wires and ring.gates.count("CZ") == 4


def test_sparse_brickwall_alternates_and_random_density():
    c = sparse_hea(6, 2, pattern="brickwall")
    cz = [w for g, w in zip(c.gates, c.wires) if g == "CZ"]
    assert cz == [(0, 1), (2, 3), (4, 5), (1, 2), (3, 4)]
    r = sparse_hea(12, 200, pattern="random", density=0.3, seed=1)
    frac = r.gates.count("CZ") / (11 * 200)
    assert abs(frac - 0.3) < 0.03
    assert sparse_hea(6, 5, pattern="random", seed=1) == sparse_hea(6, 5, pattern="random", seed=1)
    with pytest.raises(ValueError, match="density"):
        sparse_hea(3, 1, pattern="random", density=0)


def test_mcclean_axes_are_seeded_and_mixed():
    a, b = mcclean(5, 20, seed=3), mcclean(5, 20, seed=4)
    assert a == mcclean(5, 20, seed=3) and a != b
    rot = [g for g, s in zip(a.gates, a.sources) if s and s[0].kind == "param"]
    assert set(rot) == {"RX", "RY", "RZ"}
    assert a.gates[:5] == ("RY",) * 5 and a.sources[0] == C(np.pi / 4)


def test_original_circuit_matches_the_study():
    c = original_circuit(4, 2)
    assert c.n_data == 4 and c.n_params == 8
    assert c.gates[:4] == ("RY",) * 4 and all(s[0].kind == "data" for s in c.sources[:4])
    cnots = [w for g, w in zip(c.gates, c.wires) if g == "CNOT"]
    assert cnots[:4] == [(0, 1), (1, 2), (2, 3), (3, 0)]
    assert encoded_circuit("reupload", 3, 3).gates.count("RY") == 9


def test_build_rejects_unknown_and_bad_sizes():
    with pytest.raises(ValueError, match="unknown ansatz"):
        build("nope", 2, 1)
    with pytest.raises(ValueError, match="n_qubits must be >= 1, got 0"):
        build("dense", 0, 1)


def test_cost_diagonals_against_kronecker_products():
    Z, I = np.diag([1.0, -1.0]), np.eye(2)

    def kron(*ms):
        out = np.ones((1, 1))
        for m in ms:
            out = np.kron(out, m)
        return out

    n = 3
    assert np.allclose(cost_diagonal("global", n), np.diag(kron(Z, Z, Z)))
    local = (kron(Z, I, I) + kron(I, Z, I) + kron(I, I, Z)) / 3
    assert np.allclose(cost_diagonal("local", n), np.diag(local))
    assert np.allclose(cost_diagonal("zz", n), np.diag(kron(Z, Z, I)))
    assert np.allclose(observables("readout", n)[:, 1], np.diag(kron(I, Z, I)))
    assert z_signs(2).tolist() == [[1, 1], [1, -1], [-1, 1], [-1, -1]]


def test_angles_follow_sources():
    c = Circuit(1, ("RX", "RY", "RZ"), ((0,),) * 3, (P(0, 2.0), X(0) + C(0.5), P(1) + P(0)))
    ang = c.angles(np.array([0.1, 0.3]), np.array([1.0]))
    assert np.allclose(ang, [0.2, 1.5, 0.4])


# --- the one layer structure and the one cost table --------------------------------------------


def test_layer_of_matches_the_family_definitions():
    from bpdiag.circuits import layer_of, n_layers, random_circuit

    n, L = 4, 3
    # dense: 2n rotations then n-1 CZs per layer, nothing before the first layer
    per = 2 * n + (n - 1)
    assert layer_of(dense_hea(n, L)).tolist() == [k for k in range(L) for _ in range(per)]
    # McClean: an RY(pi/4) preparation on every qubit (layer -1), then n rotations + n-1 CZs
    got = layer_of(mcclean(n, L)).tolist()
    assert got == [-1] * n + [k for k in range(L) for _ in range(2 * n - 1)]
    # original: RY(x) encoding (layer -1), then n RZ and an n-CNOT ring per layer
    c = original_circuit(n, L)
    assert layer_of(c).tolist() == [-1] * n + [k for k in range(L) for _ in range(2 * n)]
    assert n_layers(c) == L
    # re-uploading puts the encoding at the start of every later layer
    r = encoded_circuit("reupload", n, L)
    assert layer_of(r).tolist() == [-1] * n + [0] * (2 * n) + [1] * (3 * n) + [2] * (3 * n)
    with pytest.raises(ValueError, match="layer"):
        layer_of(random_circuit(3, 10))


@pytest.mark.parametrize("cost", ["global", "local", "zz", "z0"])
@pytest.mark.parametrize("n", [2, 3, 4])
def test_cost_diagonals_equal_kronecker_products_of_pauli_z(cost, n):
    from bpdiag.circuits import cost_weight

    Z, I2 = np.diag([1.0, -1.0]), np.eye(2)

    def z_on(wires):
        m = np.ones((1, 1))
        for w in range(n):
            m = np.kron(m, Z if w in wires else I2)
        return m

    O = {
        "global": z_on(range(n)),
        "local": sum(z_on([w]) for w in range(n)) / n,
        "zz": z_on([0, 1]),
        "z0": z_on([0]),
    }[cost]
    np.testing.assert_allclose(np.diag(O), cost_diagonal(cost, n), atol=1e-15)
    assert np.allclose(O, np.diag(np.diag(O)))
    assert cost_weight(cost, n) == pytest.approx(np.trace(O @ O) / 2**n)
