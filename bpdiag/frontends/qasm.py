"""OpenQASM 3 files: loaded by ``qiskit.qasm3.load`` (the ``qiskit-qasm3-import`` package) and
lowered by :func:`bpdiag.frontends.qiskit.from_qiskit`.

``input float[64] name;`` (or ``input angle name;``) declarations are the parameters, in
declaration order. A file is one fixed circuit.
"""

from __future__ import annotations

import re
from pathlib import Path

from bpdiag.circuits import Circuit
from bpdiag.frontends import qiskit as _qiskit
from bpdiag.frontends._assemble import DataParams

_INPUT = re.compile(r"^\s*input\s+(?:float|angle)\s*(?:\[\s*\d+\s*\])?\s+(\w+)\s*;", re.M)


def input_names(text: str) -> list[str]:
    """Names of the ``input float``/``input angle`` declarations, in declaration order."""
    return _INPUT.findall(text)


def load(path: str | Path, *, data_params: DataParams = None) -> Circuit:
    """The circuit of an OpenQASM 3 file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no such OpenQASM file: {path}")
    _qiskit.require()
    try:
        import qiskit_qasm3_import  # noqa: F401
        from qiskit import qasm3
    except ImportError:
        raise ValueError(_qiskit.INSTALL) from None
    text = path.read_text()
    try:
        qc = qasm3.loads(text)
    except Exception as exc:  # the parser's own errors: one line
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"{path}: cannot read OpenQASM 3: {msg}") from None
    by_name = {p.name: p for p in qc.parameters}
    names = [n for n in input_names(text) if n in by_name]
    order = [by_name[n] for n in names] + [p for p in qc.parameters if p.name not in names]
    return _qiskit.from_qiskit(
        qc, data_params=data_params, order=order, name=path.name, source=str(path)
    )
