"""The hybrid quantum-classical regressor: encoder → quantum layer (or a classical twin) →
decoder. See :mod:`bpdiag.model._hybrid`."""

from __future__ import annotations

from bpdiag.model._hybrid import (
    ENGINES,
    TWINS,
    HybridModel,
    MatchedLayer,
    QuantumLayer,
    build_model,
    hybrid_circuit,
)

__all__ = [
    "ENGINES",
    "TWINS",
    "HybridModel",
    "MatchedLayer",
    "QuantumLayer",
    "build_model",
    "hybrid_circuit",
]
