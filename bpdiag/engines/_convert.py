"""Costs from other libraries: PennyLane operators and Qiskit ``SparsePauliOp``, converted once
into the internal form (:func:`bpdiag.circuits.cost_terms`) and written as the Pauli-sum
expression that :func:`bpdiag.circuits.observables.parse_pauli_sum` reads back exactly (so the
``cost`` column of a table holds a string). PennyLane and Qiskit are imported only when an
object of theirs arrives.

Wires: a PennyLane wire label must be an integer (it is the bpdiag wire); Qiskit's qubit ``i``
(character ``-1 - i`` of a label, little-endian) is bpdiag wire ``i``.

>>> as_costs("global")
('global',)
"""

from __future__ import annotations

from bpdiag.circuits.observables import format_terms


def _is_qiskit(obj) -> bool:
    return type(obj).__module__.startswith("qiskit")


def _is_pennylane(obj) -> bool:
    return type(obj).__module__.startswith("pennylane")


def terms_from_qiskit(op) -> list[tuple[float, dict[int, str]]]:
    """``[(coef, {wire: letter})]`` of a ``SparsePauliOp`` (real coefficients required)."""
    out = []
    for label, coef in op.to_list():
        c = complex(coef)
        if abs(c.imag) > 1e-12:
            raise ValueError(f"SparsePauliOp term {label} has a complex coefficient {c}")
        ops = {i: p for i, p in enumerate(reversed(label)) if p != "I"}
        out.append((float(c.real), ops))
    return out


def terms_from_pennylane(op) -> list[tuple[float, dict[int, str]]]:
    """``[(coef, {wire: letter})]`` of a PennyLane operator, through ``qml.pauli.pauli_sentence``
    (integer wires, real coefficients required)."""
    import pennylane as qml

    sentence = qml.pauli.pauli_sentence(op)
    out = []
    for word, coef in sentence.items():
        c = complex(coef)
        if abs(c.imag) > 1e-12:
            raise ValueError(f"PennyLane term {word} has a complex coefficient {c}")
        ops = {}
        for w, p in word.items():
            if not isinstance(w, int) or isinstance(w, bool):
                raise ValueError(f"PennyLane wire {w!r} is not an integer")
            ops[w] = p
        out.append((float(c.real), ops))
    return out


def as_cost(cost) -> str:
    """One cost as a string: strings pass unchanged; a Qiskit ``SparsePauliOp``, a PennyLane
    operator or terms ``[(coef, {wire: letter})]`` become a Pauli-sum expression."""
    if isinstance(cost, str):
        return cost
    if _is_qiskit(cost):
        terms = terms_from_qiskit(cost)
    elif _is_pennylane(cost):
        terms = terms_from_pennylane(cost)
    else:
        terms = [(float(c), dict(ops)) for c, ops in cost]
    merged: dict[tuple, float] = {}
    for c, ops in terms:
        key = tuple(sorted((int(w), p) for w, p in ops.items() if p != "I"))
        merged[key] = merged.get(key, 0.0) + c
    return format_terms([(c, dict(k)) for k, c in merged.items() if abs(c) > 1e-12])


def as_costs(costs) -> tuple[str, ...]:
    """A cost axis as a tuple of strings: one cost (string or library object) or a sequence."""
    if isinstance(costs, str) or _is_qiskit(costs) or _is_pennylane(costs):
        return (as_cost(costs),)
    return tuple(as_cost(c) for c in costs)


__all__ = ["as_cost", "as_costs", "terms_from_pennylane", "terms_from_qiskit"]
