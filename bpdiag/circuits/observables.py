"""Costs and observables: the one place they are defined.

A cost is a named Pauli sum. :func:`cost_terms` gives it as ``[(coefficient, {wire: letter})]``
without ever building a ``2**n`` object, so every consumer converts from one definition:
diagonals (:func:`cost_diagonal`, for statevector engines), bit-packed Pauli keys
(:func:`cost_paulis`, for the Lie algebra and Pauli-path methods), PennyLane measurements
(:func:`bpdiag.engines.pennylane.measurement`).

* ``global``: ``Z_0 Z_1 ... Z_{n-1}``;  ``local``: ``(1/n) sum_i Z_i``;
* ``zz``: ``Z_0 Z_1`` (the 2-local cost);  ``z0``: ``Z_0``;
* ``readout`` (not a single cost): ``Z_0, ..., Z_{n-1}`` as separate observables.

>>> cost_terms("local", 2)
[(0.5, {0: 'Z'}), (0.5, {1: 'Z'})]
"""

from __future__ import annotations

import numpy as np

from bpdiag.circuits.pauli import from_wires

COSTS = ("global", "local", "zz", "z0")


def _check(cost: str, n_qubits: int) -> None:
    if cost not in COSTS:
        raise ValueError(f"unknown cost {cost!r}; choose from {', '.join(COSTS)}")
    if cost == "zz" and n_qubits < 2:
        raise ValueError("the zz cost needs n_qubits >= 2")


def cost_terms(cost: str, n_qubits: int) -> list[tuple[float, dict[int, str]]]:
    """The cost as Pauli terms ``[(coefficient, {wire: 'X'|'Y'|'Z'})]`` (an empty dict is the
    identity). Linear in ``n_qubits``; nothing of size ``2**n`` is built."""
    _check(cost, n_qubits)
    n = n_qubits
    if cost == "global":
        return [(1.0, {w: "Z" for w in range(n)})]
    if cost == "local":
        return [(1.0 / n, {w: "Z"}) for w in range(n)]
    if cost == "zz":
        return [(1.0, {0: "Z", 1: "Z"})]
    return [(1.0, {0: "Z"})]  # z0


def cost_weight(cost: str, n_qubits: int) -> float:
    """``Tr(O^2) / 2**n`` of the cost, i.e. the sum of its squared Pauli coefficients."""
    return float(sum(c * c for c, _ in cost_terms(cost, n_qubits)))


def cost_paulis(cost: str, n_qubits: int) -> tuple[np.ndarray, np.ndarray]:
    """The cost as bit-packed Pauli keys (:mod:`bpdiag.circuits.pauli`): ``(keys uint64[m],
    coefs float64[m])``."""
    terms = cost_terms(cost, n_qubits)
    keys = np.array([from_wires(ops, n_qubits) for _, ops in terms], dtype=np.uint64)
    return keys, np.array([c for c, _ in terms], dtype=float)


def z_signs(n_qubits: int) -> np.ndarray:
    """float64[2**n, n]: entry [b, w] is the eigenvalue (+1/-1) of Z on wire w in basis state b."""
    idx = np.arange(2**n_qubits)
    bits = (idx[:, None] >> (n_qubits - 1 - np.arange(n_qubits))[None, :]) & 1
    return 1.0 - 2.0 * bits


def cost_diagonal(cost: str, n_qubits: int) -> np.ndarray:
    """Diagonal of a cost observable, float64[2**n], built from :func:`cost_terms` (every named
    cost is a sum of Z strings)."""
    terms = cost_terms(cost, n_qubits)
    s = z_signs(n_qubits)
    out = np.zeros(2**n_qubits)
    for coef, ops in terms:
        if any(letter != "Z" for letter in ops.values()):
            raise ValueError(f"cost {cost!r} is not diagonal in the computational basis")
        out += coef * np.prod(s[:, sorted(ops)], axis=1) if ops else coef
    return out


def observables(costs: tuple[str, ...] | str, n_qubits: int) -> np.ndarray:
    """Stack of observable diagonals, float64[2**n, k]. ``"readout"`` expands to Z_0..Z_{n-1}."""
    if isinstance(costs, str):
        costs = (costs,)
    cols = []
    for c in costs:
        if c == "readout":
            cols.extend(z_signs(n_qubits).T)
        else:
            cols.append(cost_diagonal(c, n_qubits))
    return np.stack(cols, axis=1)
