"""Engines: run the one circuit description (:mod:`bpdiag.circuits`) and nothing else.

Every engine offers the same few functions on a circuit, numpy in and numpy out:
``simulate(circuit, params, x)`` (final states), ``expval(circuit, params, x, costs=...)`` and
``gradient(circuit, params, x, costs=...)`` (all parameters' derivatives).

* :mod:`~bpdiag.engines.jax` — the batched statevector of the diagnostics (complex128 default);
* :mod:`~bpdiag.engines.fast` — fused CPU kernels (numba): single-qubit runs fused, diagonal
  gates folded, cache-sized tiles; all-parameter adjoint gradients (complex128 default);
* :mod:`~bpdiag.engines.torch` — the regressor's quantum layer (autograd, batch = mini-batch);
* :mod:`~bpdiag.engines.density` — density matrices with noise channels;
* :mod:`~bpdiag.engines.pennylane` — the reference, and the path to PennyLane's devices;
* :mod:`~bpdiag.engines.numpy` — the small exact engine of the Lie audit (state Jacobians);
* :mod:`~bpdiag.engines.states` — encoded states of data rows, batched;
* :mod:`~bpdiag.engines._program` (gate tables) and :mod:`~bpdiag.engines._batch` (the one
  chunk/pad loop, gate capacity and parameter shift) are what the fast engines share.

Engines import circuits (and ``_resources``) only: never analyses, results or figures.
"""
