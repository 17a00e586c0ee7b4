"""PennyLane engine: the reference, and the path to any PennyLane device.

:func:`apply_circuit` emits the gates of a :class:`~bpdiag.circuits.Circuit` inside a QNode;
:func:`qnode` wraps it with a measurement on a device chosen by name. A device that is not
installed raises :class:`DeviceUnavailable` (one line) or, with ``fallback=True``, warns once and
uses ``default.qubit``.

>>> from bpdiag.circuits import dense_hea
>>> f = qnode(dense_hea(2, 1), "global")
>>> float(f([0.0] * 4, None))
1.0
"""

from __future__ import annotations

import warnings

import numpy as np
import pennylane as qml

from bpdiag.circuits import Circuit, rotation_word
from bpdiag.circuits.observables import cost_terms

DEFAULT_DEVICE = "default.qubit"

_OPS = {  # bpdiag gate -> PennyLane operation (other rotation words: qml.PauliRot)
    "RX": qml.RX,
    "RY": qml.RY,
    "RZ": qml.RZ,
    "RXX": qml.IsingXX,
    "RYY": qml.IsingYY,
    "RZZ": qml.IsingZZ,
    "H": qml.Hadamard,
    "S": qml.S,
    "Sdg": lambda wires: qml.adjoint(qml.S(wires=wires)),
    "T": qml.T,
    "Tdg": lambda wires: qml.adjoint(qml.T(wires=wires)),
    "X": qml.PauliX,
    "Y": qml.PauliY,
    "Z": qml.PauliZ,
    "SX": qml.SX,
    "SXdg": lambda wires: qml.adjoint(qml.SX(wires=wires)),
    "CNOT": qml.CNOT,
    "CY": qml.CY,
    "CZ": qml.CZ,
    "CH": qml.CH,
    "SWAP": qml.SWAP,
    "ISWAP": qml.ISWAP,
}


def _op(gate: str):
    if gate in _OPS:
        return _OPS[gate]
    word = rotation_word(gate)
    if word is None:
        raise ValueError(f"the PennyLane engine has no operation for gate {gate!r}")
    return lambda angle, wires: qml.PauliRot(angle, word, wires=wires)


class DeviceUnavailable(ValueError):
    """The requested PennyLane device cannot be created here."""


def _unavailable(name: str, exc: Exception) -> str:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"PennyLane device {name!r} is not available here ({reason})"


def resolve_device(name: str, *, fallback: bool = False) -> str:
    """Check that device ``name`` can be created here and return its name; if it cannot, raise
    :class:`DeviceUnavailable` (one line), or with ``fallback`` warn and return default.qubit."""
    try:
        qml.device(name, wires=1)
        return name
    except Exception as exc:  # PennyLane raises several types for a missing plugin or GPU
        msg = _unavailable(name, exc)
    if not fallback:
        raise DeviceUnavailable(msg + "; use --fallback to run on default.qubit")
    warnings.warn(msg + "; falling back to default.qubit", stacklevel=2)
    return DEFAULT_DEVICE


def make_device(name: str, n_wires: int, *, fallback: bool = False, **kwargs):
    """Create a PennyLane device (see :func:`resolve_device` for missing devices)."""
    return qml.device(resolve_device(name, fallback=fallback), wires=n_wires, **kwargs)


def apply_circuit(circuit: Circuit, params, x=None) -> None:
    """Queue the circuit's gates (inside a QNode). params: [n_params], x: [n_data] (any
    interface PennyLane understands: numpy, autograd, jax, torch)."""
    for gate, wires, srcs in zip(circuit.gates, circuit.wires, circuit.sources):
        op = _op(gate)
        if not srcs:
            op(wires=list(wires))
            continue
        angle = 0.0
        for s in srcs:
            if s.kind == "param":
                term = s.coef * params[s.index]
            elif s.kind == "data":
                term = s.coef * x[s.index]
            else:
                term = s.coef
            angle = term if isinstance(angle, float) and angle == 0.0 else angle + term
        op(angle, wires=list(wires))


def measurement(cost: str, n_qubits: int):
    """The PennyLane measurement of a named cost (:func:`bpdiag.circuits.observables.cost_terms`;
    ``readout`` returns a list of <Z_i>, ``state`` the state)."""
    if cost == "readout":
        return [qml.expval(qml.PauliZ(w)) for w in range(n_qubits)]
    if cost == "state":
        return qml.state()
    letters = {"X": qml.PauliX, "Y": qml.PauliY, "Z": qml.PauliZ}
    terms = []
    for coef, ops in cost_terms(cost, n_qubits):
        factors = [letters[p](w) for w, p in sorted(ops.items())] or [qml.Identity(0)]
        op = qml.prod(*factors) if len(factors) > 1 else factors[0]
        terms.append((coef, op))
    if len(terms) == 1 and terms[0][0] == 1.0:
        return qml.expval(terms[0][1])
    return qml.expval(qml.sum(*[qml.s_prod(c, op) for c, op in terms]))


def qnode(
    circuit: Circuit,
    cost: str = "global",
    *,
    device: str = DEFAULT_DEVICE,
    interface: str = "auto",
    diff_method: str = "best",
    fallback: bool = False,
    **device_kwargs,
):
    """A QNode ``f(params, x)`` that runs ``circuit`` and measures ``cost`` (or ``"state"``)."""
    dev = make_device(device, circuit.n_qubits, fallback=fallback, **device_kwargs)

    @qml.qnode(dev, interface=interface, diff_method=diff_method)
    def f(params, x=None):
        apply_circuit(circuit, params, x)
        return measurement(cost, circuit.n_qubits)

    return f


def simulate(circuit: Circuit, params, x=None, *, device: str = DEFAULT_DEVICE) -> np.ndarray:
    """Final states complex128[batch, 2**n], one QNode call per row (reference speed)."""
    params = np.atleast_2d(np.asarray(params, dtype=float))
    xs = None if x is None else np.atleast_2d(np.asarray(x, dtype=float))
    f = qnode(circuit, "state", device=device, interface="numpy")
    rows = range(max(len(params), 0 if xs is None else len(xs)))
    return np.stack(
        [
            np.asarray(f(params[i % len(params)], None if xs is None else xs[i % len(xs)]))
            for i in rows
        ]
    )


def expval(circuit: Circuit, params, x=None, *, costs="global", device=DEFAULT_DEVICE):
    """Expectations float[batch, k], one QNode call per row and cost."""
    costs = (costs,) if isinstance(costs, str) else tuple(costs)
    params = np.atleast_2d(np.asarray(params, dtype=float))
    xs = None if x is None else np.atleast_2d(np.asarray(x, dtype=float))
    out = []
    for cost in costs:
        f = qnode(circuit, cost, device=device, interface="numpy")
        col = []
        for i in range(len(params)):
            v = f(params[i], None if xs is None else xs[i % len(xs)])
            col.append(np.atleast_1d(np.asarray(v, dtype=float)))
        out.append(np.stack(col))
    return np.concatenate(out, axis=1)


def gradient(
    circuit: Circuit, params, x=None, *, costs="global", device=DEFAULT_DEVICE, diff_method="best"
) -> np.ndarray:
    """d<cost>/d(params): float[batch, n_params, k], one ``qml.grad`` call per row and cost."""
    from pennylane import numpy as pnp

    costs = (costs,) if isinstance(costs, str) else tuple(costs)
    params = np.atleast_2d(np.asarray(params, dtype=float))
    xs = None if x is None else np.atleast_2d(np.asarray(x, dtype=float))
    out = np.zeros((len(params), circuit.n_params, len(costs)))
    for k, cost in enumerate(costs):
        f = qnode(circuit, cost, device=device, interface="autograd", diff_method=diff_method)
        for i in range(len(params)):
            xi = None if xs is None else pnp.array(xs[i % len(xs)], requires_grad=False)
            g = qml.grad(lambda p, xi=xi, f=f: f(p, xi), argnums=0)(pnp.array(params[i]))
            out[i, :, k] = np.asarray(g)
    return out
