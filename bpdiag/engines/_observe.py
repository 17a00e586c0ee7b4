"""Expectations and gradients of any Pauli-sum cost: the one implementation every engine uses.

A cost (:func:`bpdiag.circuits.cost_terms`: names, expressions, ``@FILE``) that is a sum of Z
strings is a diagonal, measured as ``|psi|**2 @ diag`` (``Tr[diag rho]``) on the engine's own
code path. Any other cost is measured in one of two ways (:data:`METHODS`):

* ``direct`` (the default, :data:`DEFAULT_METHOD`): the Pauli strings act on the final state.
  A string ``P = i**n_Y X^m Z^z`` (``m`` the bit mask of its X/Y wires, ``z`` of its Y/Z wires)
  maps ``|b>`` to ``i**n_Y (-1)**popcount(b & z) |b ^ m>``, so a cost is, per distinct flip mask
  ``m``, a diagonal ``D_m`` and a flip: ``(O psi)[c] = sum_m D_m[c] psi[c ^ m]``
  (:func:`pauli_table`). Then ``<psi|O|psi> = sum_m Re(conj(psi) * psi[. ^ m]) @ D_m``
  (:func:`state_expectations`), ``Tr[O rho] = sum_m sum_c D_m[c] rho[c ^ m, c]`` (the density
  engine), and the adjoint gradient starts its reverse sweep from ``O psi``
  (:func:`apply_table`). One circuit run serves every cost and every group.
* ``rotate``: the terms are split into qubit-wise commuting groups (greedy, in term order; the
  identity term is a constant); each group is measured on the circuit followed by its fixed
  basis change (:func:`bpdiag.circuits.transforms.measure_basis`: ``X -> RY(-pi/2)``, ``Y ->
  RX(pi/2)``) with the group's strings as Z strings, and the groups are summed (one circuit run
  per group). Shot noise (:mod:`bpdiag.analyses.shots`) measures this way, as hardware does.

``benchmarks/observables.py`` measures the two side by side on the JAX engine (heisenberg cost,
n = 8..14): ``direct`` is the faster, so it is the default.

>>> import numpy as np; from bpdiag.circuits import dense_hea
>>> v, g = expval_and_gradients(dense_hea(2, 1), np.zeros(4), cost="X0 + Z1", engine="numpy")
>>> v.round(12).tolist(), g.shape
([1.0], (1, 4))
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

import numpy as np

from bpdiag.circuits import Circuit
from bpdiag.circuits.observables import (
    cost_diagonal,
    cost_terms,
    format_terms,
    is_diagonal,
    z_signs,
)
from bpdiag.circuits.transforms import measure_basis

#: Engines by name: modules with ``expval(circuit, params, x, costs=...)`` and ``gradient``.
ENGINES = ("jax", "torch", "numpy", "density", "pennylane", "fast")
#: How a non-diagonal cost is measured (see the module docstring).
METHODS = ("direct", "rotate")
#: The faster of :data:`METHODS` on the JAX engine (``benchmarks/observables.py``).
DEFAULT_METHOD = "direct"


# ---------------------------------------------------------------------------------------------
# Direct Pauli application


class PauliTable(NamedTuple):
    """k observables on a register of N wires as flips and diagonals:
    ``(O_j psi)[c] = diag[c, j] psi[c] + sum_i off[i, c, j] psi[c ^ masks[i]]``.

    diag: float64[2**N, k] (the Z strings: what a diagonal cost is); masks: tuple of M nonzero
    ints (static: bit ``N - 1 - w`` is wire w, wire 0 most significant); off: complex128[M,
    2**N, k]. With ``masks == ()`` every observable is diagonal.
    """

    diag: np.ndarray
    masks: tuple[int, ...]
    off: np.ndarray

    @property
    def diagonal(self) -> bool:
        """True when every observable is diagonal (no flips)."""
        return not self.masks


def _expand(costs) -> tuple:
    return (costs,) if isinstance(costs, str) else tuple(costs)


def pauli_table(costs, n_qubits: int, n_register: int | None = None) -> PauliTable:
    """The :class:`PauliTable` of ``costs`` (names, Pauli sums, ``@FILE``, term lists;
    ``"readout"`` = every ``Z_i``) on ``n_qubits`` wires, embedded in ``n_register`` wires whose
    extra (trailing) wires are unmeasured. Diagonal costs use :func:`cost_diagonal` (the projector
    by its closed form); for them ``diag`` equals :func:`bpdiag.circuits.observables` exactly.
    Memory: ``2**N * (8 k + 16 k M)`` bytes."""
    n = n_qubits
    cols: list[np.ndarray] = []
    offs: dict[int, dict[int, np.ndarray]] = {}  # mask -> {column: D_m}
    idx = np.arange(2**n)
    signs = None
    for c in _expand(costs):
        if isinstance(c, str) and c == "readout":
            cols.extend(z_signs(n).T)
            continue
        if is_diagonal(c, n):
            cols.append(cost_diagonal(c, n))
            continue
        k = len(cols)
        signs = z_signs(n) if signs is None else signs
        col = np.zeros(2**n)
        for coef, ops in cost_terms(c, n):
            m = sum(1 << (n - 1 - w) for w, p in ops.items() if p in "XY")
            zw = sorted(w for w, p in ops.items() if p in "YZ")
            ny = sum(p == "Y" for p in ops.values())
            val = np.prod(signs[:, zw], axis=1) if zw else np.ones(2**n)
            if m == 0:
                col += coef * val
                continue
            d = offs.setdefault(m, {}).setdefault(k, np.zeros(2**n, dtype=complex))
            d += coef * (1j**ny) * val[idx ^ m]  # (-1)**popcount((c ^ m) & z)
        cols.append(col)
    diag = np.stack(cols, axis=1)
    masks = tuple(offs)
    off = np.zeros((len(masks), 2**n, len(cols)), dtype=complex)
    for i, m in enumerate(masks):
        for k, d in offs[m].items():
            off[i, :, k] = d
    N = n if n_register is None else int(n_register)
    if N != n:
        extra = N - n
        diag = np.repeat(diag, 2**extra, axis=0)
        off = np.repeat(off, 2**extra, axis=1)
        masks = tuple(m << extra for m in masks)
    return PauliTable(diag, masks, off)


def n_flips(cost, n_qubits: int) -> int:
    """The number of distinct flip masks (X/Y patterns other than none) of a cost: the ``M``
    of its :class:`PauliTable` (0 for a diagonal cost), without building the table."""
    if is_diagonal(cost, n_qubits):
        return 0
    masks = {
        frozenset(w for w, p in ops.items() if p in "XY") for _, ops in cost_terms(cost, n_qubits)
    }
    return len(masks - {frozenset()})


def _runs(mask: int, n_register: int) -> list[tuple[int, int]]:
    """The runs of adjacent flipped wires of a mask: ``[(first wire, length)]``."""
    wires = [w for w in range(n_register) if mask >> (n_register - 1 - w) & 1]
    runs: list[list[int]] = []
    for w in wires:
        if runs and runs[-1][0] + runs[-1][1] == w:
            runs[-1][1] += 1
        else:
            runs.append([w, 1])
    return [(a, k) for a, k in runs]


def _flip(psi, mask: int, n_register: int):
    """``psi[..., c ^ mask]`` for states [batch, 2**N] of numpy, JAX or torch, without a
    gather: flipping a run of k adjacent wires reverses the axis of size ``2**k`` of the view
    ``(batch, 2**a, 2**k, 2**rest)`` (``i -> 2**k - 1 - i = i ^ (2**k - 1)``): one low-rank
    reversal per run."""
    shape = psi.shape
    torch_like = type(psi).__module__.startswith("torch")
    if not torch_like:
        xp = importlib.import_module("jax.numpy") if "jax" in type(psi).__module__ else np
    for a, k in _runs(mask, n_register):
        t = psi.reshape(shape[0], 2**a, 2**k, 2 ** (n_register - a - k))
        t = t.flip((2,)) if torch_like else xp.flip(t, axis=2)
        psi = t.reshape(shape)
    return psi


def _n_wires(dim: int) -> int:
    return int(dim).bit_length() - 1


def state_expectations(psi, table: PauliTable):
    """``<psi|O_j|psi>`` float[batch, k] for states psi complex[batch, 2**N]. psi and the
    table's arrays are numpy, JAX or torch arrays (one library; the masks stay Python ints). For
    a diagonal table this is ``|psi|**2 @ diag``, exactly what every engine computed before."""
    N = _n_wires(psi.shape[-1])
    out = (abs(psi) ** 2) @ table.diag
    for i, m in enumerate(table.masks):
        out = out + ((psi.conj() * _flip(psi, m, N)) @ table.off[i]).real
    return out


def apply_table(psi, table: PauliTable, g):
    """``sum_j g[:, j] O_j psi``, complex[batch, 2**N], for cotangents g float[batch, k] (numpy
    or JAX): the state the adjoint sweep starts from."""
    N = _n_wires(psi.shape[-1])
    lam = (g @ table.diag.T).astype(psi.dtype) * psi
    for i, m in enumerate(table.masks):
        lam = lam + (g.astype(table.off.dtype) @ table.off[i].T) * _flip(psi, m, N)
    return lam


def rho_expectations(rho, table: PauliTable, n_qubits: int):
    """``Tr[O_j rho]`` float[batch, k] for density matrices rho complex[batch, 4**n], flat
    (``rho[i, j]`` at ``i * 2**n + j``): ``sum_m sum_c D_m[c] rho[c ^ m, c]``, a gather of
    ``2**n`` entries per flip mask (numpy or JAX arrays)."""
    d = 2**n_qubits
    c = np.arange(d)
    out = rho[:, :: d + 1].real @ table.diag
    for i, m in enumerate(table.masks):
        out = out + (rho[:, (c ^ m) * d + c] @ table.off[i]).real
    return out


def qwc_groups(terms) -> tuple[float, list[tuple[dict[int, str], list]]]:
    """Split terms ``[(coef, {wire: letter})]`` into qubit-wise commuting groups: returns the
    identity coefficient and ``[(basis {wire: letter}, [terms])]`` (greedy first fit, in term
    order, so the grouping is deterministic)."""
    constant = 0.0
    groups: list[tuple[dict[int, str], list]] = []
    for coef, ops in terms:
        if not ops:
            constant += coef
            continue
        for basis, members in groups:
            if all(basis.get(w, p) == p for w, p in ops.items()):
                basis.update(ops)
                members.append((coef, ops))
                break
        else:
            groups.append((dict(ops), [(coef, ops)]))
    return constant, groups


def measured(circuit: Circuit, cost) -> tuple[float, list[tuple[Circuit, str]]]:
    """How to measure ``cost`` with diagonal observables: ``(constant, [(circuit_g, diagonal
    cost expression)])``, where ``<cost> = constant + sum_g <diagonal_g>`` on ``circuit_g`` (the
    circuit followed by group g's basis change). A diagonal cost is ``(0, [(circuit, cost)])``
    (itself, unchanged)."""
    n = circuit.n_qubits
    if is_diagonal(cost, n):
        return 0.0, [(circuit, cost)]
    constant, groups = qwc_groups(cost_terms(cost, n))
    out = []
    for basis, members in groups:
        z = [(c, {w: "Z" for w in ops}) for c, ops in members]
        out.append((measure_basis(circuit, basis), format_terms(z)))
    return constant, out


def basis_circuits(circuit: Circuit, costs) -> list[Circuit]:
    """The basis-changed circuits the non-diagonal ``costs`` need (none for diagonal ones): for
    sizing compiled programs (gate capacity, kernels) before running them."""
    costs = (costs,) if isinstance(costs, str) else tuple(costs)
    out = []
    for c in costs:
        if c != "readout" and not is_diagonal(c, circuit.n_qubits):
            out.extend(cg for cg, _ in measured(circuit, c)[1])
    return out


def _engine(engine):
    if isinstance(engine, str):
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
        return importlib.import_module(f"bpdiag.engines.{engine}")
    return engine


def _method(method: str, eng=None, cost=None, n_qubits: int = 0) -> str:
    """The method to use: ``direct`` falls back to ``rotate`` for a non-diagonal cost on an
    engine whose functions take diagonal costs only (``PAULI_COSTS = False``, the fast one)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    if method == "direct" and eng is not None and not getattr(eng, "PAULI_COSTS", True):
        if not is_diagonal(cost, n_qubits):
            return "rotate"
    return method


def expval(
    circuit: Circuit,
    params,
    x=None,
    *,
    cost="global",
    engine="jax",
    method: str = DEFAULT_METHOD,
    **kwargs,
):
    """``<cost>`` float64[batch] for params float[batch, n_params] (or [n_params]) and data x
    (float[batch, n_data] or None). ``engine``: a name from :data:`ENGINES` or a module with
    the engine functions; ``kwargs`` go to its ``expval`` (``dtype``, ``noise``, ``device``).
    ``method``: ``direct`` (the engine measures the cost itself) or ``rotate`` (one run per
    qubit-wise commuting group on its basis-changed circuit); see the module docstring."""
    eng = _engine(engine)
    if _method(method, eng, cost, circuit.n_qubits) == "direct":
        return np.asarray(eng.expval(circuit, params, x, costs=(cost,), **kwargs))[:, 0]
    constant, parts = measured(circuit, cost)
    total = constant
    for cg, diag in parts:
        total = total + np.asarray(eng.expval(cg, params, x, costs=(diag,), **kwargs))[:, 0]
    return np.asarray(total, dtype=float)


def gradient(
    circuit: Circuit,
    params,
    x=None,
    *,
    cost="global",
    engine="jax",
    method: str = DEFAULT_METHOD,
    **kwargs,
):
    """``d<cost>/d params`` float64[batch, n_params] (1/rad), by the engine's own gradient
    (``method`` as in :func:`expval`)."""
    eng = _engine(engine)
    if _method(method, eng, cost, circuit.n_qubits) == "direct":
        return np.asarray(eng.gradient(circuit, params, x, costs=(cost,), **kwargs))[..., 0]
    _, parts = measured(circuit, cost)
    total = 0.0
    for cg, diag in parts:
        total = total + np.asarray(eng.gradient(cg, params, x, costs=(diag,), **kwargs))[..., 0]
    return np.asarray(total, dtype=float)


def expval_and_gradients(
    circuit: Circuit,
    params,
    x=None,
    *,
    cost="global",
    engine="jax",
    method: str = DEFAULT_METHOD,
    **kwargs,
) -> tuple[np.ndarray, np.ndarray]:
    """``(<cost> float64[batch], d<cost>/d params float64[batch, n_params])`` for any cost
    :func:`bpdiag.circuits.cost_terms` accepts, on any engine (see :func:`expval`)."""
    opts = dict(cost=cost, engine=engine, method=method, **kwargs)
    return expval(circuit, params, x, **opts), gradient(circuit, params, x, **opts)


__all__ = [
    "DEFAULT_METHOD",
    "ENGINES",
    "METHODS",
    "PauliTable",
    "apply_table",
    "basis_circuits",
    "expval",
    "expval_and_gradients",
    "gradient",
    "measured",
    "n_flips",
    "pauli_table",
    "qwc_groups",
    "rho_expectations",
    "state_expectations",
]
