"""Theory: the Page value of Haar-random states, their mean purity and the maximum entropy.

Entropies of the reduced state ``rho_A`` of ``m`` of ``n`` qubits, in nats: the exact Page value
(Page, PRL 71, 1291 (1993); proved by Foong & Kanno 1994, Sánchez-Ruiz 1995, Sen 1996), Lubkin's
mean purity (J. Math. Phys. 19, 1028 (1978)) and the maximum ``min(m, n-m) ln 2``.

>>> round(page_entropy(2, 1), 12)  # two qubits: 1/3 nat
0.333333333333
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.special import digamma

LN2 = math.log(2.0)


def _check_cut(n: int, m: int) -> None:
    if int(n) != n or n < 1:
        raise ValueError(f"n_qubits must be >= 1, got {n}")
    if int(m) != m or not 0 <= m <= n:
        raise ValueError(f"cut size must be in 0..{n}, got {m}")


@functools.lru_cache(maxsize=1024)
def page_entropy(n: int, m: int) -> float:
    """Exact mean von Neumann entropy (nats) of ``m`` qubits of a Haar-random ``n``-qubit state.

    Page 1993: with ``d_A = 2**min(m, n-m) <= d_B = 2**max(m, n-m)``,
    ``S = sum_{k = d_B + 1}^{d_A d_B} 1/k - (d_A - 1) / (2 d_B)``
    ``  = psi(d_A d_B + 1) - psi(d_B + 1) - (d_A - 1) / (2 d_B)`` (psi: digamma).

    >>> round(page_entropy(4, 2), 10)
    0.9223956599
    """
    _check_cut(n, m)
    k = min(m, n - m)
    if k == 0:
        return 0.0
    dA, dB = 2.0**k, 2.0 ** (n - k)
    if n <= 20:  # the harmonic sum itself, compensated: exact to rounding
        return math.fsum(1.0 / np.arange(dB + 1, dA * dB + 1)) - (dA - 1) / (2 * dB)
    return float(digamma(dA * dB + 1) - digamma(dB + 1) - (dA - 1) / (2 * dB))


def page_purity(n: int, m: int) -> float:
    """Exact mean purity ``E Tr rho_A^2 = (d_A + d_B) / (d_A d_B + 1)`` of ``m`` qubits of a
    Haar-random ``n``-qubit state (Lubkin, J. Math. Phys. 19, 1028 (1978)).

    ``-ln page_purity`` is the "annealed" Rényi-2 Page value: by Jensen's inequality it is a
    lower bound on the mean Rényi-2 entropy (tight for large ``d_A d_B``).
    """
    _check_cut(n, m)
    dA, dB = 2.0**m, 2.0 ** (n - m)
    return (dA + dB) / (dA * dB + 1)


def max_entropy(n: int, m: int) -> float:
    """Largest possible entanglement entropy (nats) of ``m`` of ``n`` qubits:
    ``min(m, n-m) ln 2``."""
    _check_cut(n, m)
    return min(m, n - m) * LN2
