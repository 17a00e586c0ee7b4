"""Circuits as data: the one description every engine consumes, the families that build it, the
encodings, and the observables (costs, Pauli algebra). Imports numpy only.

* :mod:`~bpdiag.circuits._circuit`: :class:`Circuit`, angle maps, layer structure;
* :mod:`~bpdiag.circuits.gates`: the gate set (rotations on Pauli words, fixed gates by matrix,
  their Pauli-rotation forms, expansions of frontend gates), :class:`Source`;
* :mod:`~bpdiag.circuits.families`: dense / sparse / McClean / original HEAs, :func:`build`;
* :mod:`~bpdiag.circuits.encodings`: data encodings and the encoded circuit;
* :mod:`~bpdiag.circuits.observables`: the one place costs and observables are defined;
* :mod:`~bpdiag.circuits.pauli`: bit-packed Pauli strings and their algebra.

>>> c = dense_hea(3, 2)
>>> c.n_qubits, c.n_params, len(c.gates)
(3, 12, 16)
"""

from bpdiag.circuits._circuit import (
    ANSATZE,
    BASIC_GATES,
    GATES,
    C,
    Circuit,
    P,
    Source,
    X,
    angle_maps,
    layer_of,
    n_layers,
)
from bpdiag.circuits.families import (
    build,
    chain_pairs,
    dense_hea,
    mcclean,
    original_circuit,
    random_circuit,
    sparse_hea,
)
from bpdiag.circuits.gates import (
    CLIFFORD,
    FIXED,
    arity,
    expand,
    gate_matrix,
    is_rotation,
    pauli_rotation,
    rotation_word,
)
from bpdiag.circuits.observables import (
    COSTS,
    cost_diagonal,
    cost_paulis,
    cost_terms,
    cost_weight,
    observables,
    z_signs,
)

__all__ = [
    "ANSATZE",
    "BASIC_GATES",
    "CLIFFORD",
    "COSTS",
    "FIXED",
    "GATES",
    "C",
    "Circuit",
    "P",
    "Source",
    "X",
    "angle_maps",
    "arity",
    "expand",
    "gate_matrix",
    "is_rotation",
    "pauli_rotation",
    "rotation_word",
    "build",
    "chain_pairs",
    "cost_diagonal",
    "cost_paulis",
    "cost_terms",
    "cost_weight",
    "dense_hea",
    "layer_of",
    "n_layers",
    "mcclean",
    "observables",
    "original_circuit",
    "random_circuit",
    "sparse_hea",
    "z_signs",
]
