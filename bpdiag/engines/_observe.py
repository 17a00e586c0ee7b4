"""Expectations and gradients of any Pauli-sum cost, on top of every engine's diagonal machinery.

A cost (:func:`bpdiag.circuits.cost_terms`: names, expressions, ``@FILE``) that is a sum of Z
strings goes to the engine unchanged, on the engine's own code path. Otherwise its terms are
split into qubit-wise commuting groups (greedy, in term order; the identity term is a
constant); each group is measured on the circuit followed by its fixed basis change
(:func:`bpdiag.circuits.transforms.measure_basis`: ``X -> RY(-pi/2)``, ``Y -> RX(pi/2)``,
constant angles, so every engine runs it) with the group's strings as Z strings, and the groups
are summed. Gradients with respect to the parameters are the sums of the groups' gradients
(the appended gates have no parameters). Nothing here changes an engine's kernels.

>>> import numpy as np; from bpdiag.circuits import dense_hea
>>> v, g = expval_and_gradients(dense_hea(2, 1), np.zeros(4), cost="X0 + Z1", engine="numpy")
>>> v.round(12).tolist(), g.shape
([1.0], (1, 4))
"""

from __future__ import annotations

import importlib

import numpy as np

from bpdiag.circuits import Circuit
from bpdiag.circuits.observables import cost_terms, format_terms, is_diagonal
from bpdiag.circuits.transforms import measure_basis

#: Engines by name: modules with ``expval(circuit, params, x, costs=...)`` and ``gradient``.
ENGINES = ("jax", "torch", "numpy", "density", "pennylane", "fast")


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


def expval(circuit: Circuit, params, x=None, *, cost="global", engine="jax", **kwargs):
    """``<cost>`` float64[batch] for params float[batch, n_params] (or [n_params]) and data x
    (float[batch, n_data] or None). ``engine``: a name from :data:`ENGINES` or a module with
    the engine functions; ``kwargs`` go to its ``expval`` (``dtype``, ``noise``, ``device``)."""
    eng = _engine(engine)
    constant, parts = measured(circuit, cost)
    total = constant
    for cg, diag in parts:
        total = total + np.asarray(eng.expval(cg, params, x, costs=(diag,), **kwargs))[:, 0]
    return np.asarray(total, dtype=float)


def gradient(circuit: Circuit, params, x=None, *, cost="global", engine="jax", **kwargs):
    """``d<cost>/d params`` float64[batch, n_params] (1/rad), by the engine's own gradient."""
    eng = _engine(engine)
    _, parts = measured(circuit, cost)
    total = 0.0
    for cg, diag in parts:
        total = total + np.asarray(eng.gradient(cg, params, x, costs=(diag,), **kwargs))[..., 0]
    return np.asarray(total, dtype=float)


def expval_and_gradients(
    circuit: Circuit, params, x=None, *, cost="global", engine="jax", **kwargs
) -> tuple[np.ndarray, np.ndarray]:
    """``(<cost> float64[batch], d<cost>/d params float64[batch, n_params])`` for any cost
    :func:`bpdiag.circuits.cost_terms` accepts, on any engine (see :func:`expval`)."""
    return (
        expval(circuit, params, x, cost=cost, engine=engine, **kwargs),
        gradient(circuit, params, x, cost=cost, engine=engine, **kwargs),
    )


__all__ = ["ENGINES", "basis_circuits", "expval", "expval_and_gradients", "gradient", "measured"]
