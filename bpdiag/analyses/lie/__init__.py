"""Why a circuit is untrainable: dead and redundant parameters, the dynamical Lie algebra (DLA),
and the variance the DLA predicts for deep circuits.

* :mod:`.frame` - generators and observables moved to the circuit input (Heisenberg picture);
* :mod:`.dla` - the Lie closure, its classification, and the predicted cost variance;
* :mod:`.dead` - structurally dead parameters, QFI rank, redundancy, effective dimension;
* :mod:`.audit` - the grid audit :func:`lie` (returns a
  :class:`~bpdiag.analyses._common.Result`), its config and readable verdicts.

States and state derivatives come from :mod:`bpdiag.engines.numpy`; sampled gradients and cost
variances from the JAX engine (:class:`SharedEngine`). Costs are those of
:mod:`bpdiag.circuits.observables`.

>>> from bpdiag.analyses import lie as la
>>> from bpdiag.circuits import dense_hea
>>> la.dla(dense_hea(2, 2)).kind
'su(2^2)'
"""

from bpdiag.analyses.lie.audit import (
    COLUMNS,
    GRAD_ZERO,
    PARAM_COLUMNS,
    UNITS,
    LieConfig,
    SharedEngine,
    audit,
    gradient_max,
    lie,
    sample_cost_variance,
    verdict,
)
from bpdiag.analyses.lie.dead import GateVerdict, dead_gates, dead_parameters, redundancy
from bpdiag.analyses.lie.dla import (
    DLA,
    Component,
    Prediction,
    classify,
    dla,
    dla_of,
    identify,
    predicted_variance,
)
from bpdiag.analyses.lie.frame import Frame, heisenberg_frame, prefix_state
from bpdiag.circuits import COSTS, cost_paulis

__all__ = [
    "COLUMNS",
    "COSTS",
    "DLA",
    "GRAD_ZERO",
    "PARAM_COLUMNS",
    "UNITS",
    "Component",
    "Frame",
    "GateVerdict",
    "LieConfig",
    "Prediction",
    "SharedEngine",
    "audit",
    "classify",
    "cost_paulis",
    "dead_gates",
    "dead_parameters",
    "dla",
    "dla_of",
    "gradient_max",
    "heisenberg_frame",
    "identify",
    "lie",
    "predicted_variance",
    "prefix_state",
    "redundancy",
    "sample_cost_variance",
    "verdict",
]
