"""bpdiag: barren-plateau diagnostics for parameterized quantum circuits.

The public API, imported lazily (so ``import bpdiag`` does not load JAX or torch):

>>> import bpdiag
>>> c = bpdiag.dense_hea(4, 2)  # the one circuit description
>>> df = bpdiag.variance(qubits=(2, 3), layers=(2,), samples=50)  # doctest: +SKIP

Library functions return tidy pandas DataFrames; the ``bpdiag`` command writes them.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    # circuits
    "Circuit": "bpdiag.circuits",
    "Source": "bpdiag.circuits",
    "build": "bpdiag.circuits",
    "dense_hea": "bpdiag.circuits",
    "sparse_hea": "bpdiag.circuits",
    "mcclean": "bpdiag.circuits",
    "original_circuit": "bpdiag.circuits",
    "random_circuit": "bpdiag.circuits",
    "cost_diagonal": "bpdiag.circuits",
    "observables": "bpdiag.circuits",
    # analyses
    "variance": "bpdiag.analyses.variance",
    "fit_decay": "bpdiag.analyses.variance",
    "haar_variance": "bpdiag.analyses.variance",
    "entropy": "bpdiag.analyses.entropy",
    "page_entropy": "bpdiag.analyses.entropy",
    "lie": "bpdiag.analyses.lie",
    "study": "bpdiag.analyses.study",
    "StudyConfig": "bpdiag.analyses.study",
    "quantum_contribution": "bpdiag.analyses.study",
    # the regressor
    "TrainConfig": "bpdiag.train",
    "fit": "bpdiag.train",
    # data
    "prepare": "bpdiag.data",
    "synthesize": "bpdiag.data",
    "load_options": "bpdiag.data",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'bpdiag' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
