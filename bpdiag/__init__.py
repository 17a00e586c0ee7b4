"""bpdiag: barren-plateau diagnostics for parameterized quantum circuits.

The public API, imported lazily (so ``import bpdiag`` does not load JAX or torch):

>>> import bpdiag
>>> c = bpdiag.dense_hea(4, 2)  # the one circuit description
>>> res = bpdiag.variance(qubits=(2, 3), layers=(2,), samples=50)  # doctest: +SKIP
>>> res.table, res.meta  # doctest: +SKIP

Every analysis returns a :class:`bpdiag.Result`: ``.table`` (a tidy pandas DataFrame) and
``.meta`` (configuration, fits, units); the ``bpdiag`` command writes them through
:mod:`bpdiag.results`. The package's rooms, in the order data flows through them:
``circuits`` -> ``engines`` -> ``analyses`` -> ``results`` / ``figures``; ``data`` -> ``model``
-> ``train`` -> ``analyses.study``; ``paper`` and ``cli`` sit on top and nothing imports ``cli``.
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
    "cost_terms": "bpdiag.circuits",
    "observables": "bpdiag.circuits",
    "layer_of": "bpdiag.circuits",
    "identity_blocks": "bpdiag.circuits.transforms",
    # results of every analysis
    "Result": "bpdiag.analyses._common",
    # analyses
    "variance": "bpdiag.analyses.variance",
    "noise_variance": "bpdiag.analyses.variance",
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
