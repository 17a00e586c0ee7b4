"""Analyses: pure functions from a configuration to a :class:`~bpdiag.analyses._common.Result`
(``.table``: a tidy DataFrame, one row per measured point; ``.meta``: configuration, fits,
units, timings).

``variance`` (orchestrating ``exact``, ``shots`` and ``noise``), ``entropy/``, ``lie/``,
``study``; what they share is in ``_common``. Analyses never write files or draw: resume goes
through a sink the caller passes in (:class:`bpdiag.results.CsvSink`), figures come from
:mod:`bpdiag.figures`, writing from :mod:`bpdiag.results`.
"""
