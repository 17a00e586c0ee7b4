"""The ``--circuit`` grammar and the contract of user functions.

Spec strings::

    pennylane:NAME[,KEY=VALUE...]   qml.NAME(*weights, wires=range(n)), weight shapes from
                                    qml.NAME.shape(n_layers, n_qubits) (a family); a template
                                    taking ``seed`` (RandomLayers) gets the run's seed
    qiskit:NAME[,KEY=VALUE...]      qiskit.circuit.library.NAME(n_qubits, reps=n_layers, ...)
                                    (a family); feature maps (zz_feature_map, ...) are data
    FILE.qasm                       OpenQASM 3; ``input float[64] name;`` are the parameters
                                    (a fixed circuit)
    FILE.py:NAME  or  module:NAME   a Python object, see below

VALUEs are Python literals (``reps``-like ints, ``'cz'``) or bare strings
(``qiskit:n_local,rotation_blocks=ry,entanglement_blocks=cz``).

``NAME`` in a file or module (and a Python object passed as ``circuit=``) is either

* a **fixed circuit**: a Qiskit ``QuantumCircuit`` (``Parameter``/``ParameterVector`` are the
  parameters, in ``circuit.parameters`` order), a PennyLane ``QuantumScript`` (every gate
  parameter is one parameter ``p[k]``), or a bpdiag :class:`~bpdiag.circuits.Circuit`; or
* a **family**: a callable ``f(n_qubits, n_layers)`` returning one of those fixed circuits, or a
  pair ``(qfunc, shapes)``: a PennyLane quantum function (or QNode, whose function is used) and
  its weight shapes: a shape tuple (one argument ``weights``), a list of shape tuples
  (positional arguments ``w0, w1, ...``) or a dict ``name -> shape`` (keyword arguments, in
  dict order). The function must use wires ``0..n_qubits-1``.

Parameters named by ``data_params`` (a label prefix such as ``"x"``, or a list of labels or
base names) are data inputs; all others are trainable.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

PREFIXES = ("pennylane", "qiskit")


def _value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse(spec: str) -> tuple[str, str, dict]:
    """``(kind, target, options)`` with kind ``pennylane``, ``qiskit``, ``qasm`` or ``python``.

    >>> parse("qiskit:n_local,rotation_blocks=ry,reps=2")
    ('qiskit', 'n_local', {'rotation_blocks': 'ry', 'reps': 2})
    """
    spec = spec.strip()
    if not spec:
        raise ValueError("empty circuit spec")
    head, _, rest = spec.partition(":")
    if head in PREFIXES:
        name, *pairs = rest.split(",")
        options = {}
        for pair in pairs:
            key, eq, value = pair.partition("=")
            if not eq or not key.strip():
                raise ValueError(f"circuit spec {spec!r}: option {pair!r} is not KEY=VALUE")
            options[key.strip()] = _value(value.strip())
        if not name.strip():
            raise ValueError(f"circuit spec {spec!r} names no {head} circuit")
        return head, name.strip(), options
    if spec.endswith(".qasm"):
        return "qasm", spec, {}
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        raise ValueError(
            f"circuit spec {spec!r}: expected pennylane:NAME, qiskit:NAME, FILE.qasm, "
            "FILE.py:FUNCTION or module:function"
        )
    return "python", spec, {}


def load_object(spec: str):
    """The object ``FILE.py:NAME`` or ``module:NAME`` names."""
    target, _, attr = spec.rpartition(":")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise ValueError(f"no such Python file: {path}")
        loader = importlib.util.spec_from_file_location(f"_bpdiag_circuit_{path.stem}", path)
        module = importlib.util.module_from_spec(loader)
        try:
            loader.loader.exec_module(module)
        except Exception as exc:
            raise ValueError(f"{path}: importing fails: {type(exc).__name__}: {exc}") from None
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise ValueError(f"cannot import module {target!r}: {exc}") from None
    if not hasattr(module, attr):
        raise ValueError(f"{target} has no attribute {attr!r}")
    return getattr(module, attr)
