"""Training the hybrid regressor (and its classical twins): :func:`fit` is the one entry point.

``fit(TrainConfig(...))`` prepares the option data (:func:`bpdiag.data.prepare`: seeded subset,
60/20/20 split, scalers fitted on the training rows only), builds the model
(:func:`bpdiag.model.build_model`), trains it with AdamW (separate parameter groups, learning
rate and weight decay, for the classical layers and the quantum layer), ReduceLROnPlateau on the
validation loss and early stopping, keeps the best state on validation loss, and evaluates it on
the test rows against two baselines fitted on the same split: Black–Scholes at historical
volatility (the data layer's ``bs_price_hv`` feature, sigma = hv_21; Black & Scholes 1973) and
a gradient-boosted tree model (scikit-learn's ``HistGradientBoostingRegressor``).

The loss is the MSE on the standardised target. Metrics (:func:`metrics`): ``mse_scaled`` (MSE
on the standardised target), ``rmse`` and ``mae`` in rupees, ``mape`` in percent,
``r2`` (coefficient of determination).

Everything is a pure function of the config: the same seed gives the same numbers (torch is
seeded, a ``torch.Generator`` shuffles the mini-batches, the CPU kernels are deterministic and
deterministic algorithms are switched on for CUDA runs), and a run resumed from its last
checkpoint ends with the same numbers as an uninterrupted one. The state is explicit: a
:class:`TrainState` goes into :func:`train_step` / :func:`run_epoch` and comes out updated.

Modules: :mod:`~bpdiag.train.config` (:class:`TrainConfig`, devices), :mod:`~bpdiag.train.loop`
(state, step, epoch), :mod:`~bpdiag.train.checkpoint` (state <-> checkpoint blob, the sink
protocol), :mod:`~bpdiag.train.fit` (:func:`fit`, metrics, baselines). Nothing here writes
files: each epoch goes to a checkpoint sink (:class:`bpdiag.results.train.TrainWriter`) and the
final tables are written by :func:`bpdiag.results.train.write_train`.

>>> res = fit(TrainConfig(subset=100, epochs=2, baselines=False))  # doctest: +SKIP
>>> res.summary["test_rmse"]  # doctest: +SKIP
"""

from __future__ import annotations

from bpdiag.train.checkpoint import (
    CheckpointSink,
    from_blob,
    load_checkpoint,
    read_checkpoint,
    to_blob,
)
from bpdiag.train.config import (
    DTYPES,
    TORCH_DEVICES,
    TrainConfig,
    _is_torch_device,
    resolve_torch_device,
)
from bpdiag.train.fit import (
    UNITS,
    TrainResult,
    baseline_predictions,
    fit,
    load_data,
    metrics,
    train,
)
from bpdiag.train.loop import Best, TrainState, init_state, run_epoch, train_step

__all__ = [
    "DTYPES",
    "TORCH_DEVICES",
    "UNITS",
    "Best",
    "CheckpointSink",
    "TrainConfig",
    "TrainResult",
    "TrainState",
    "_is_torch_device",
    "baseline_predictions",
    "fit",
    "from_blob",
    "init_state",
    "load_checkpoint",
    "load_data",
    "metrics",
    "read_checkpoint",
    "resolve_torch_device",
    "run_epoch",
    "to_blob",
    "train",
    "train_step",
]
