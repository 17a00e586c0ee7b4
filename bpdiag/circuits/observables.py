"""Costs and observables: the one place they are defined."""

from __future__ import annotations

import numpy as np

COSTS = ("global", "local", "zz")


# ---------------------------------------------------------------------------------------------
# Costs: all are diagonal in the computational basis.


def z_signs(n_qubits: int) -> np.ndarray:
    """float64[2**n, n]: entry [b, w] is the eigenvalue (+1/-1) of Z on wire w in basis state b."""
    idx = np.arange(2**n_qubits)
    bits = (idx[:, None] >> (n_qubits - 1 - np.arange(n_qubits))[None, :]) & 1
    return 1.0 - 2.0 * bits


def cost_diagonal(cost: str, n_qubits: int) -> np.ndarray:
    """Diagonal of a cost observable: float64[2**n].

    ``global``: Z x Z x ... x Z; ``local``: mean_i Z_i; ``zz``: Z_0 Z_1; ``z0``: Z_0;
    ``readout``: not a single cost — use :func:`observables`.
    """
    s = z_signs(n_qubits)
    if cost == "global":
        return np.prod(s, axis=1)
    if cost == "local":
        return s.mean(axis=1)
    if cost == "zz":
        if n_qubits < 2:
            raise ValueError("the zz cost needs n_qubits >= 2")
        return s[:, 0] * s[:, 1]
    if cost == "z0":
        return s[:, 0]
    raise ValueError(f"unknown cost {cost!r}; choose from {', '.join(COSTS)}")


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
