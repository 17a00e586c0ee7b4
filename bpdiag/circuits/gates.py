"""The gate set of the one description, defined once: names, matrices, Pauli forms, expansions.

Two kinds of gate:

* **Pauli rotations** ``R_P(angle) = exp(-i angle P / 2)`` on a Pauli word ``P`` of weight 1 or 2:
  the gate is named ``"R" + word`` (``RX``, ``RY``, ``RZ``, ``RXX``, ``RYY``, ``RZZ``, ``RZX``,
  ``RXY``, ...), letter ``k`` of the word acting on ``wires[k]``. Rotations on heavier words
  (``MultiRZ``, ``PauliRot``) are lowered exactly by :func:`pauli_rotation` into a CNOT ladder
  around one ``RZ`` carrying the same angle, so every gate of a circuit touches at most two wires.
* **Fixed gates** given by their matrix (:data:`FIXED`, first wire the most significant bit):
  ``H S Sdg T Tdg X Y Z SX SXdg`` and ``CNOT CY CZ CH SWAP ISWAP`` (control first).

Parametrised gates frontends emit that are not Pauli rotations (``PhaseShift``, ``U3``, ``Rot``,
``CRX``, ``IsingXY``, ...) are expanded by :func:`expand` into rotations that share the angle,
equal to the gate up to a global phase (which no expectation value sees).

:data:`ROTATION_FORMS` writes every fixed gate as Pauli rotations by fixed angles (up to a global
phase); the exact-variance method and the Lie audit read gates through it. A fixed gate is
Clifford (:data:`CLIFFORD`) when all of its angles are multiples of pi/2.

>>> rotation_word("RZX"), rotation_word("CNOT"), arity("RXX"), arity("H")
('ZX', None, 2, 1)
>>> [g for g, _, _ in expand("CRZ", (0, 1), [(Source("param", 0, 1.0),)])]
['RZ', 'RZZ']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

LETTERS = "XYZ"
PAULI = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}


class Source(NamedTuple):
    """One term of a rotation angle: ``kind`` is ``"param"``, ``"data"`` or ``"const"``.

    ``index`` is the parameter or data-feature index (ignored for ``"const"``); ``coef`` multiplies
    it (for ``"const"`` it is the angle itself, radians).
    """

    kind: str
    index: int
    coef: float = 1.0


def rotation_word(gate: str) -> str | None:
    """The Pauli word of a rotation gate (``"RZX"`` -> ``"ZX"``), or ``None`` for a fixed gate."""
    word = gate[1:]
    if gate.startswith("R") and 1 <= len(word) <= 2 and all(c in LETTERS for c in word):
        return word
    return None


def is_rotation(gate: str) -> bool:
    """Whether ``gate`` is a Pauli rotation ``R_P(angle)`` (it takes an angle)."""
    return rotation_word(gate) is not None


def _su(m) -> np.ndarray:
    return np.asarray(m, dtype=complex)


_S2 = 1 / math.sqrt(2)
_ONE_QUBIT = {
    "H": _su([[_S2, _S2], [_S2, -_S2]]),
    "S": _su([[1, 0], [0, 1j]]),
    "Sdg": _su([[1, 0], [0, -1j]]),
    "T": _su([[1, 0], [0, np.exp(1j * math.pi / 4)]]),
    "Tdg": _su([[1, 0], [0, np.exp(-1j * math.pi / 4)]]),
    "X": PAULI["X"],
    "Y": PAULI["Y"],
    "Z": PAULI["Z"],
    "SX": _su([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]]) / 2,
    "SXdg": _su([[1 - 1j, 1 + 1j], [1 + 1j, 1 - 1j]]) / 2,
}


def _controlled(u: np.ndarray) -> np.ndarray:
    out = np.eye(4, dtype=complex)
    out[2:, 2:] = u
    return out


_TWO_QUBIT = {
    "CNOT": _controlled(PAULI["X"]),
    "CY": _controlled(PAULI["Y"]),
    "CZ": _controlled(PAULI["Z"]),
    "CH": _controlled(_ONE_QUBIT["H"]),
    "SWAP": np.eye(4, dtype=complex)[[0, 2, 1, 3]],
    "ISWAP": _su([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]]),
}
#: Fixed gates: name -> unitary complex128[2**k, 2**k] on their wires (first wire most significant).
FIXED: dict[str, np.ndarray] = {**_ONE_QUBIT, **_TWO_QUBIT}
for _m in FIXED.values():
    _m.setflags(write=False)

_H = math.pi / 2
#: Every fixed gate as Pauli rotations in time order: ``(word, wire positions, angle)``; the
#: product equals the gate's matrix up to a global phase (tested).
ROTATION_FORMS: dict[str, tuple[tuple[str, tuple[int, ...], float], ...]] = {
    "H": (("Z", (0,), math.pi), ("Y", (0,), _H)),
    "S": (("Z", (0,), _H),),
    "Sdg": (("Z", (0,), -_H),),
    "T": (("Z", (0,), math.pi / 4),),
    "Tdg": (("Z", (0,), -math.pi / 4),),
    "X": (("X", (0,), math.pi),),
    "Y": (("Y", (0,), math.pi),),
    "Z": (("Z", (0,), math.pi),),
    "SX": (("X", (0,), _H),),
    "SXdg": (("X", (0,), -_H),),
    "CNOT": (("Z", (0,), -_H), ("X", (1,), -_H), ("ZX", (0, 1), _H)),
    "CY": (("Z", (0,), -_H), ("Y", (1,), -_H), ("ZY", (0, 1), _H)),
    "CZ": (("Z", (0,), -_H), ("Z", (1,), -_H), ("ZZ", (0, 1), _H)),
    # CH = RY_t(pi/4) CZ RY_t(-pi/4): H = RY(pi/4) Z RY(-pi/4)
    "CH": (
        ("Y", (1,), -math.pi / 4),
        ("Z", (0,), -_H),
        ("Z", (1,), -_H),
        ("ZZ", (0, 1), _H),
        ("Y", (1,), math.pi / 4),
    ),
    "SWAP": (("XX", (0, 1), _H), ("YY", (0, 1), _H), ("ZZ", (0, 1), _H)),
    "ISWAP": (("XX", (0, 1), -_H), ("YY", (0, 1), -_H)),
}


def _is_clifford(form) -> bool:
    return all(abs(a / _H - round(a / _H)) < 1e-12 for _, _, a in form)


#: Fixed gates that are Clifford (conjugate Pauli strings to Pauli strings).
CLIFFORD = frozenset(g for g, form in ROTATION_FORMS.items() if _is_clifford(form))
#: Gate names for random circuits and documentation (every rotation ``R`` + a word is valid).
NAMED_ROTATIONS = ("RX", "RY", "RZ", "RXX", "RYY", "RZZ", "RZX", "RXY")


def arity(gate: str) -> int:
    """Number of wires of a gate (1 or 2); ``ValueError`` for an unknown name."""
    word = rotation_word(gate)
    if word is not None:
        return len(word)
    if gate in FIXED:
        return 1 if FIXED[gate].shape[0] == 2 else 2
    raise ValueError(
        f"unknown gate {gate!r}; known: rotations R + a Pauli word of 1 or 2 letters "
        f"(RX, RZZ, RZX, ...) and fixed gates {', '.join(FIXED)}"
    )


def pauli_matrix(word: str) -> np.ndarray:
    """The Pauli word as a matrix complex128[2**k, 2**k] (letter 0 on the most significant bit)."""
    out = np.ones((1, 1), dtype=complex)
    for c in word:
        out = np.kron(out, PAULI[c])
    return out


def gate_matrix(gate: str, angle: float = 0.0) -> np.ndarray:
    """The unitary of a gate on its own wires, complex128[2**k, 2**k]; ``angle`` in radians (used
    by rotations only)."""
    word = rotation_word(gate)
    if word is None:
        arity(gate)  # raises for unknown names
        return FIXED[gate].copy()
    P = pauli_matrix(word)
    return math.cos(angle / 2) * np.eye(len(P)) - 1j * math.sin(angle / 2) * P


# ---------------------------------------------------------------------------------------------
# Expansions of what frontends emit into the gate set

Angle = tuple[Source, ...]
Gate = tuple[str, tuple[int, ...], Angle]


def scaled(angle: Angle, factor: float, shift: float = 0.0) -> Angle:
    """``factor * angle + shift`` as source terms."""
    out = tuple(Source(s.kind, s.index, s.coef * factor) for s in angle)
    return out + ((Source("const", -1, float(shift)),) if shift else ())


def _const(value: float) -> Angle:
    return (Source("const", -1, float(value)),)


def pauli_rotation(word: str, wires: Sequence[int], angle: Angle) -> list[Gate]:
    """``exp(-i angle P / 2)`` for a Pauli word of any weight (``"I"`` letters are dropped) as
    gates of the set: native for weight <= 2, else basis changes, a CNOT ladder and one ``RZ``
    carrying ``angle`` (exact, no global phase). A word of only ``I`` gives no gate."""
    if len(word) != len(wires):
        raise ValueError(f"Pauli word {word!r} needs {len(word)} wires, got {tuple(wires)}")
    if any(c not in "IXYZ" for c in word):
        raise ValueError(f"Pauli word {word!r} has letters other than I, X, Y, Z")
    pairs = [(c, int(w)) for c, w in zip(word, wires) if c != "I"]
    if len(pairs) <= 2:
        if not pairs:
            return []
        return [("R" + "".join(c for c, _ in pairs), tuple(w for _, w in pairs), angle)]
    before: list[Gate] = []
    after: list[Gate] = []
    for c, w in pairs:
        if c == "X":
            before.append(("H", (w,), ()))
            after.append(("H", (w,), ()))
        elif c == "Y":  # (H Sdg) Y (S H) = Z
            before += [("Sdg", (w,), ()), ("H", (w,), ())]
            after += [("H", (w,), ()), ("S", (w,), ())]
    ws = [w for _, w in pairs]
    ladder = [("CNOT", (ws[i], ws[i + 1]), ()) for i in range(len(ws) - 1)]
    return before + ladder + [("RZ", (ws[-1],), angle)] + ladder[::-1] + after


def _phase(w, a):  # diag(1, e^{i a}) = e^{i a/2} RZ(a)
    return [("RZ", (w[0],), a[0])]


def _cphase(w, a):  # diag(1,1,1,e^{i a}) = e^{i a/4} RZ_0(a/2) RZ_1(a/2) RZZ(-a/2)
    return [("RZ", (w[0],), scaled(a[0], 0.5)), ("RZ", (w[1],), scaled(a[0], 0.5))] + [
        ("RZZ", (w[0], w[1]), scaled(a[0], -0.5))
    ]


def _controlled_rotation(letter: str):
    def expand_(w, a):  # C-R_P(t) = R_P,t(t/2) R_{Z_c P_t}(-t/2) (commuting)
        half = scaled(a[0], 0.5)
        return [("R" + letter, (w[1],), half), ("RZ" + letter, (w[0], w[1]), scaled(a[0], -0.5))]

    return expand_


def _u3(w, a):  # U3(theta, phi, lam) = RZ(phi) RY(theta) RZ(lam) up to phase
    theta, phi, lam = a
    return [("RZ", (w[0],), lam), ("RY", (w[0],), theta), ("RZ", (w[0],), phi)]


def _u2(w, a):  # U2(phi, lam) = U3(pi/2, phi, lam)
    return _u3(w, (_const(_H), a[0], a[1]))


def _rot(w, a):  # PennyLane Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi)
    phi, theta, omega = a
    return [("RZ", (w[0],), phi), ("RY", (w[0],), theta), ("RZ", (w[0],), omega)]


def _r(w, a):  # Qiskit R(theta, phi) = RZ(phi) RX(theta) RZ(-phi)
    theta, phi = a
    return [("RZ", (w[0],), scaled(phi, -1.0)), ("RX", (w[0],), theta), ("RZ", (w[0],), phi)]


def _crot(w, a):  # CRot(phi, theta, omega) = C-RZ(omega) C-RY(theta) C-RZ(phi)
    phi, theta, omega = a
    crz, cry = _controlled_rotation("Z"), _controlled_rotation("Y")
    return crz(w, (phi,)) + cry(w, (theta,)) + crz(w, (omega,))


def _ising_xy(w, a):  # PennyLane IsingXY(t) = exp(i t (XX + YY) / 4)
    return [("RXX", tuple(w), scaled(a[0], -0.5)), ("RYY", tuple(w), scaled(a[0], -0.5))]


def _xx_plus_yy(w, a):  # Qiskit XXPlusYYGate(t, beta=0) = exp(-i t (XX + YY) / 4)
    return [("RXX", tuple(w), scaled(a[0], 0.5)), ("RYY", tuple(w), scaled(a[0], 0.5))]


#: name -> (number of wires, number of angles, expansion(wires, angles) -> gates).
COMPOSITES: dict[str, tuple[int, int, Callable]] = {
    "PhaseShift": (1, 1, _phase),
    "ControlledPhaseShift": (2, 1, _cphase),
    "CRX": (2, 1, _controlled_rotation("X")),
    "CRY": (2, 1, _controlled_rotation("Y")),
    "CRZ": (2, 1, _controlled_rotation("Z")),
    "CRot": (2, 3, _crot),
    "U1": (1, 1, _phase),
    "U2": (1, 2, _u2),
    "U3": (1, 3, _u3),
    "Rot": (1, 3, _rot),
    "R": (1, 2, _r),
    "IsingXY": (2, 1, _ising_xy),
    "XXPlusYY": (2, 1, _xx_plus_yy),
}


def expand(name: str, wires: Sequence[int], angles: Sequence[Angle]) -> list[Gate]:
    """A gate of the set, or a composite (:data:`COMPOSITES`), as ``[(gate, wires, angle)]`` of the
    set; ``angles`` holds one angle (source terms) per gate parameter, in the gate's own order
    (PennyLane's for PennyLane names). Equal to the named gate up to a global phase."""
    wires = tuple(int(w) for w in wires)
    if name in COMPOSITES:
        k, m, f = COMPOSITES[name]
        if len(wires) != k or len(angles) != m:
            raise ValueError(
                f"{name} takes {k} wire(s) and {m} angle(s), got {wires} and {len(angles)}"
            )
        return f(wires, list(angles))
    if name.startswith("R") and len(name) > 1 and set(name[1:]) <= set("IXYZ"):
        if len(angles) != 1:
            raise ValueError(f"{name} takes one angle, got {len(angles)}")
        return pauli_rotation(name[1:], wires, angles[0])
    if arity(name) != len(wires):
        raise ValueError(f"{name} needs {arity(name)} wire(s), got {wires}")
    if angles:
        raise ValueError(f"{name} is a fixed gate and takes no angle")
    return [(name, wires, ())]
