"""Costs and observables: the one place they are defined.

A cost is a Pauli sum. Its internal form is the one map *Pauli string -> real coefficient*,
given by :func:`cost_terms` as ``[(coefficient, {wire: letter})]`` (equal strings merged, zero
coefficients dropped, an empty dict is the identity) without building a ``2**n`` object, so
every consumer converts from one definition: diagonals (:func:`cost_diagonal`, for statevector
engines), bit-packed Pauli keys (:func:`cost_paulis`, for the Lie algebra and Pauli-path
methods), PennyLane measurements (:func:`bpdiag.engines.pennylane.measurement`), basis-changed
measurements of non-diagonal sums (:mod:`bpdiag.engines._observe`).

A cost is given as one string:

* a built-in name: ``global``: ``Z_0 Z_1 ... Z_{n-1}``;  ``local``: ``(1/n) sum_i Z_i``;
  ``zz``: ``Z_0 Z_1`` (the 2-local cost);  ``z0``: ``Z_0``;
* a named cost (:data:`NAMED`): ``projector``: ``1 - |0..0><0..0|`` (Cerezo et al. 2021), i.e.
  ``1 - prod_i (1 + Z_i)/2``; the open-chain Hamiltonians normalised per bond (``n >= 2``):
  ``heisenberg = (1/(n-1)) sum_i (X_i X_{i+1} + Y_i Y_{i+1} + Z_i Z_{i+1})``,
  ``xy = (1/(n-1)) sum_i (X_i X_{i+1} + Y_i Y_{i+1})``,
  ``tfim = (1/(n-1)) sum_i Z_i Z_{i+1} + (1/n) sum_i X_i`` (bonds and fields each averaged);
* a Pauli-sum expression (:func:`parse_pauli_sum`), e.g. ``"Z0 Z1 + 0.5 X2"``,
  ``"0.25*(X0 X1 + Y0 Y1)"``, ``"-1.5 Y3"``;
* ``@FILE``: a text file with one expression (term) per line, summed; ``#`` starts a comment.

``readout`` (not a single cost): ``Z_0, ..., Z_{n-1}`` as separate observables.

The projector has ``2**n`` Pauli terms: :func:`cost_terms` expands it only for
``n <= PROJECTOR_MAX_QUBITS``; :func:`cost_diagonal` and :func:`cost_weight` use its closed forms
and never expand it.

>>> cost_terms("local", 2)
[(0.5, {0: 'Z'}), (0.5, {1: 'Z'})]
>>> cost_terms("0.25*(X0 X1 + Y0 Y1) - Z1", 2)
[(0.25, {0: 'X', 1: 'X'}), (0.25, {0: 'Y', 1: 'Y'}), (-1.0, {1: 'Z'})]
"""

from __future__ import annotations

import functools
import re

import numpy as np

from bpdiag.circuits.pauli import from_wires

#: The built-in diagonal costs (their code path and outputs are fixed).
COSTS = ("global", "local", "zz", "z0")
#: Every cost with a name: the built-ins, the projector cost and the chain Hamiltonians.
NAMED = COSTS + ("projector", "heisenberg", "tfim", "xy")
#: Largest register for which :func:`cost_terms` expands the projector's 2**n Z strings.
PROJECTOR_MAX_QUBITS = 16

#: A Pauli string: sorted ((wire, letter), ...); () is the identity.
PauliString = tuple[tuple[int, str], ...]


# ---------------------------------------------------------------------------------------------
# Pauli-sum expressions

#: Coefficients at most this in size are dropped (as in :mod:`bpdiag.circuits.pauli`).
TOL = 1e-12
_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<pauli>[XYZ]\d+|I\d*)"
    r"|(?P<op>[-+*()])|(?P<bad>\S))"
)
# Product of two single-qubit Paulis: (a, b) -> (phase, letter); "" is the identity.
_MUL = {
    ("X", "Y"): (1j, "Z"),
    ("Y", "Z"): (1j, "X"),
    ("Z", "X"): (1j, "Y"),
    ("Y", "X"): (-1j, "Z"),
    ("Z", "Y"): (-1j, "X"),
    ("X", "Z"): (-1j, "Y"),
}


def _mul_strings(a: PauliString, b: PauliString) -> tuple[complex, PauliString]:
    ops = dict(a)
    phase = 1 + 0j
    for w, p in b:
        q = ops.pop(w, None)
        if q is None:
            ops[w] = p
        elif q != p:
            f, r = _MUL[(q, p)]
            phase *= f
            ops[w] = r
    return phase, tuple(sorted(ops.items()))


def _mul(a: dict, b: dict) -> dict:
    out: dict[PauliString, complex] = {}
    for sa, ca in a.items():
        for sb, cb in b.items():
            f, s = _mul_strings(sa, sb)
            out[s] = out.get(s, 0) + f * ca * cb
    return out


def _add(a: dict, b: dict, sign: float = 1.0) -> dict:
    out = dict(a)
    for s, c in b.items():
        out[s] = out.get(s, 0) + sign * c
    return out


class _Parser:
    """Recursive descent over ``expr := [+|-] term {(+|-) term}``, ``term := factor {[*]
    factor}``, ``factor := NUMBER | PAULI | ( expr )`` with ``PAULI`` a letter X, Y, Z and a
    wire (``I`` with or without a wire is the identity)."""

    def __init__(self, text: str):
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        for m in _TOKEN.finditer(text):
            kind = m.lastgroup
            if kind == "bad":
                hint = " (a Pauli factor needs a wire, e.g. X0)" if m.group(kind) in "XYZ" else ""
                raise self.error(f"unexpected {m.group(kind)!r} at position {m.start(kind)}{hint}")
            self.tokens.append((kind, m.group(kind), m.start(kind)))
        self.i = 0

    def error(self, what: str) -> ValueError:
        return ValueError(f"cannot parse the Pauli sum {self.text!r}: {what}")

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise self.error("it ends where a term is expected")
        self.i += 1
        return tok

    def parse(self) -> dict:
        if not self.tokens:
            raise self.error("it is empty")
        value = self.expr()
        if self.peek() is not None:
            _, t, pos = self.peek()
            raise self.error(f"unexpected {t!r} at position {pos}")
        return value

    def expr(self) -> dict:
        sign = 1.0
        tok = self.peek()
        if tok and tok[1] in "+-" and tok[0] == "op":
            self.i += 1
            sign = -1.0 if tok[1] == "-" else 1.0
        value = _add({}, self.term(), sign)
        while (tok := self.peek()) and tok[0] == "op" and tok[1] in "+-":
            self.i += 1
            value = _add(value, self.term(), -1.0 if tok[1] == "-" else 1.0)
        return value

    def term(self) -> dict:
        value = self.factor()
        while (tok := self.peek()) and (tok[0] != "op" or tok[1] in "*("):
            if tok[1] == "*":
                self.i += 1
            value = _mul(value, self.factor())
        return value

    def factor(self) -> dict:
        kind, t, pos = self.take()
        if kind == "num":
            return {(): complex(float(t))}
        if kind == "pauli":
            return {(): 1 + 0j} if t[0] == "I" else {((int(t[1:]), t[0]),): 1 + 0j}
        if t == "(":
            value = self.expr()
            if self.peek() is None or self.peek()[1] != ")":
                raise self.error(f"the '(' at position {pos} is not closed")
            self.i += 1
            return value
        raise self.error(f"unexpected {t!r} at position {pos}")


def _real(text: str, value: dict) -> tuple[tuple[PauliString, float], ...]:
    out = []
    for s, c in value.items():
        if abs(c.imag) > TOL:
            word = " ".join(f"{p}{w}" for w, p in s) or "I"
            raise ValueError(f"the Pauli sum {text!r} is not Hermitian ({word} has {c:g})")
        if abs(c.real) > TOL:
            out.append((s, float(c.real)))
    return tuple(out)


@functools.lru_cache(maxsize=256)
def _parse(text: str) -> tuple[tuple[PauliString, float], ...]:
    """The merged terms of one expression (cached: parsed once per string)."""
    return _real(text, _Parser(text).parse())


def parse_pauli_sum(text: str) -> list[tuple[float, dict[int, str]]]:
    """Parse a Pauli-sum expression into terms ``[(coefficient, {wire: letter})]``.

    Grammar: terms joined by ``+`` and ``-`` (a leading sign is allowed); a term is a product of
    factors, written side by side or joined by ``*``; a factor is a number (``0.5``, ``1e-3``),
    a Pauli letter with its wire (``X0``, ``Y12``, ``Z3``; ``I`` is the identity) or a
    parenthesised sum. Products on one wire multiply out (``X0 Y0 = i Z0``); the result must be
    Hermitian (real coefficients). Equal strings are merged and zero coefficients dropped.
    Raises ValueError (one line naming the problem) for text that does not parse.

    >>> parse_pauli_sum("0.5*(X0 + Z1) Z2")
    [(0.5, {0: 'X', 2: 'Z'}), (0.5, {1: 'Z', 2: 'Z'})]
    """
    return [(c, dict(s)) for s, c in _parse(text)]


def _file_terms(cost: str) -> tuple[tuple[PauliString, float], ...]:
    path = cost[1:]
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        raise ValueError(f"cannot read the cost file {path!r} ({exc.strerror})") from None
    total: dict = {}
    for k, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if line:
            try:
                terms = _parse(line)
            except ValueError as exc:
                raise ValueError(f"{path}, line {k}: {exc}") from None
            total = _add(total, {s: complex(c) for s, c in terms})
    if not total:
        raise ValueError(f"the cost file {path!r} has no terms")
    return _real(cost, total)


def format_terms(terms) -> str:
    """A Pauli-sum expression of ``terms`` [(coefficient, {wire: letter})] that
    :func:`parse_pauli_sum` reads back exactly (coefficients written with ``repr``).

    >>> format_terms([(1.0, {0: 'Z', 1: 'Z'}), (-0.5, {2: 'X'})])
    '1.0*Z0 Z1 - 0.5*X2'
    """
    parts = []
    for coef, ops in terms:
        body = " ".join(f"{p}{w}" for w, p in sorted(ops.items()))
        text = repr(abs(float(coef))) + (f"*{body}" if body else "")
        sign = "-" if coef < 0 else "+"
        parts.append((f"-{text}" if sign == "-" else text) if not parts else f"{sign} {text}")
    return " ".join(parts) if parts else "0"


# ---------------------------------------------------------------------------------------------
# Named costs


def _check(cost: str, n_qubits: int) -> None:
    if cost not in NAMED:
        raise ValueError(f"unknown cost {cost!r}; choose from {', '.join(COSTS)}")
    if cost == "zz" and n_qubits < 2:
        raise ValueError("the zz cost needs n_qubits >= 2")
    if cost in ("heisenberg", "tfim", "xy") and n_qubits < 2:
        raise ValueError(f"the {cost} cost needs n_qubits >= 2")


def _named(cost: str, n: int) -> list[tuple[float, dict[int, str]]]:
    if cost == "projector":
        if n > PROJECTOR_MAX_QUBITS:
            raise ValueError(
                f"the projector cost has 2**{n} Pauli terms: expanded only for n <= "
                f"{PROJECTOR_MAX_QUBITS} (its diagonal works for any n)"
            )
        # 1 - prod_i (1 + Z_i)/2 = (1 - 2^-n) I - 2^-n sum_{S nonempty} Z_S
        out = [(1.0 - 2.0**-n, {})]
        for mask in range(1, 2**n):
            out.append((-(2.0**-n), {w: "Z" for w in range(n) if mask >> (n - 1 - w) & 1}))
        return out
    bond = 1.0 / (n - 1)
    pairs = {"heisenberg": "XYZ", "xy": "XY", "tfim": "Z"}[cost]
    out = [(bond, {i: p, i + 1: p}) for i in range(n - 1) for p in pairs]
    if cost == "tfim":
        out += [(1.0 / n, {i: "X"}) for i in range(n)]
    return out


def _looks_like_name(cost: str) -> bool:
    return re.fullmatch(r"[A-Za-z_][A-Za-z_0-9]*", cost) is not None and not re.fullmatch(
        r"(?:[XYZ]\d*|I\d*)", cost
    )


def cost_terms(cost, n_qubits: int) -> list[tuple[float, dict[int, str]]]:
    """The cost as Pauli terms ``[(coefficient, {wire: 'X'|'Y'|'Z'})]`` (an empty dict is the
    identity): the internal form every consumer converts from. ``cost`` is a name
    (:data:`NAMED`), a Pauli-sum expression, ``"@FILE"``, or terms already in this form (merged
    and checked). Equal strings are merged, zero coefficients dropped. Linear in ``n_qubits``
    and the number of terms; nothing of size ``2**n`` is built (the projector excepted: see
    :data:`PROJECTOR_MAX_QUBITS`). Raises ValueError (one line) for an unknown name, a sum that
    does not parse, or a wire outside ``0..n_qubits-1``."""
    n = n_qubits
    if isinstance(cost, str) and cost in NAMED:
        _check(cost, n)
        if cost == "global":
            return [(1.0, {w: "Z" for w in range(n)})]
        if cost == "local":
            return [(1.0 / n, {w: "Z"}) for w in range(n)]
        if cost == "zz":
            return [(1.0, {0: "Z", 1: "Z"})]
        if cost == "z0":
            return [(1.0, {0: "Z"})]
        return _named(cost, n)
    if isinstance(cost, str):
        if cost.startswith("@"):
            merged = _file_terms(cost)
        else:
            try:
                merged = _parse(cost)
            except ValueError:
                if _looks_like_name(cost):
                    raise ValueError(
                        f"unknown cost {cost!r}; choose from {', '.join(NAMED)} or give a Pauli "
                        "sum such as 'Z0 Z1 + 0.5 X2'"
                    ) from None
                raise
    else:
        total: dict = {}
        for coef, ops in cost:
            s = tuple(sorted((int(w), str(p)) for w, p in dict(ops).items() if p != "I"))
            if any(p not in "XYZ" for _, p in s):
                raise ValueError(f"bad Pauli letter in term {ops}; use X, Y, Z or I")
            total = _add(total, {s: complex(float(coef))})
        merged = _real(repr(cost), total)
    for s, _ in merged:
        for w, _ in s:
            if not 0 <= w < n:
                raise ValueError(f"cost {_label(cost)}: wire {w} is outside the {n}-qubit circuit")
    return [(c, dict(s)) for s, c in merged]


def _label(cost) -> str:
    return repr(cost) if isinstance(cost, str) else "given as terms"


def check_cost(cost, n_qubits: int) -> None:
    """Raise ValueError (one line) unless ``cost`` is a valid cost on ``n_qubits`` wires."""
    if isinstance(cost, str) and cost in NAMED:
        _check(cost, n_qubits)
    else:
        cost_terms(cost, n_qubits)


def is_diagonal(cost, n_qubits: int) -> bool:
    """Whether the cost is a sum of Z strings (diagonal in the computational basis)."""
    if isinstance(cost, str) and cost in COSTS + ("projector",):
        return True
    return all(p == "Z" for _, ops in cost_terms(cost, n_qubits) for p in ops.values())


def cost_weight(cost, n_qubits: int) -> float:
    """``Tr(O_0^2) / 2**n`` of the cost's traceless part ``O_0 = O - Tr(O)/2**n``, i.e. the sum
    of its squared Pauli coefficients *without* the identity term (a constant shifts the cost,
    never its gradient). For the projector it is ``(2**n - 1) / 4**n`` (closed form)."""
    if cost == "projector":
        _check(cost, n_qubits)
        return (2.0**n_qubits - 1) / 4.0**n_qubits
    return float(sum(c * c for c, ops in cost_terms(cost, n_qubits) if ops))


def cost_paulis(cost, n_qubits: int) -> tuple[np.ndarray, np.ndarray]:
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


def cost_diagonal(cost, n_qubits: int) -> np.ndarray:
    """Diagonal of a cost observable, float64[2**n], built from :func:`cost_terms` (the projector
    directly: ``1 - delta_{b,0}``). Raises ValueError (one line) for a cost with X or Y
    factors: measure those with :mod:`bpdiag.engines._observe`."""
    if cost == "projector":
        out = np.ones(2**n_qubits)
        out[0] = 0.0
        return out
    terms = cost_terms(cost, n_qubits)
    if any(letter != "Z" for _, ops in terms for letter in ops.values()):
        raise ValueError(
            f"cost {_label(cost)} is not diagonal in the computational basis "
            "(it has X or Y factors)"
        )
    s = z_signs(n_qubits)
    out = np.zeros(2**n_qubits)
    for coef, ops in terms:
        out += coef * np.prod(s[:, sorted(ops)], axis=1) if ops else coef
    return out


def observables(costs, n_qubits: int) -> np.ndarray:
    """Stack of observable diagonals, float64[2**n, k]. ``"readout"`` expands to Z_0..Z_{n-1}."""
    if isinstance(costs, str):
        costs = (costs,)
    cols = []
    for c in costs:
        if isinstance(c, str) and c == "readout":
            cols.extend(z_signs(n_qubits).T)
        else:
            cols.append(cost_diagonal(c, n_qubits))
    return np.stack(cols, axis=1)
