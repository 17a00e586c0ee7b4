"""The paper's figures: which experiment writes which result table, and which table makes which
figure with which function.

Two steps, each one function (and one command):

1. :func:`reproduce` runs the experiments described by ``analyses/*.toml`` (one file per
   experiment; a ``[quick]`` table gives a small size for CI) and writes one result folder each:
   ``bpdiag reproduce --out results`` (or ``bpdiag reproduce analyses/variance.toml --out
   results/variance`` for one experiment).
2. :func:`figures` redraws every figure of the paper from those result folders alone (CSV + JSON,
   nothing is recomputed) in one publication style (:func:`bpdiag.figures.style`; vector PDF and
   PNG at column width, error bars everywhere), writes beside each figure a data sidecar
   ``<name>.data.csv`` with the points actually plotted (read back from the figure's artists), and
   an ``index.md`` saying which command and which result produced each figure:
   ``bpdiag figures --results results --out figures``.

The pieces: :mod:`bpdiag.paper.registry` (figure and experiment specs),
:mod:`bpdiag.paper.reproduce` (analysis name -> runner table), :mod:`bpdiag.paper.redraw`
(figures from result folders); drawing helpers in :mod:`bpdiag.figures.paper`, file writing in
:mod:`bpdiag.results.paper`.

An experiment file has one table named after its analysis (``[variance]``, ``[noise]``,
``[entropy]``, ``[lie]`` or ``[study]``) holding the keyword arguments of that analysis, and an
optional ``[quick]`` table of overrides:

.. code-block:: toml

    [variance]
    qubits = [2, 3, 4, 5, 6, 7, 8]
    ansatz = ["dense", "sparse"]

    [quick]
    qubits = [2, 3, 4]

>>> [f.name for f in FIGURES][:3]
['variance', 'noise', 'entropy']
"""

from __future__ import annotations

from bpdiag.figures.paper import DATA_COLUMNS, figure_data, polish
from bpdiag.paper.redraw import draw, figures, find_folder, load_tables, save_figure, write_index
from bpdiag.paper.registry import (
    ANALYSES,
    FIGURES,
    PROVENANCE,
    Experiment,
    Figure,
    default_config_dir,
    experiments,
    figure_spec,
    load_experiment,
    registry,
)
from bpdiag.paper.reproduce import RUNNERS, reproduce, run_experiment

__all__ = [
    "ANALYSES",
    "DATA_COLUMNS",
    "FIGURES",
    "PROVENANCE",
    "RUNNERS",
    "Experiment",
    "Figure",
    "default_config_dir",
    "draw",
    "experiments",
    "figure_data",
    "figure_spec",
    "figures",
    "find_folder",
    "load_experiment",
    "load_tables",
    "polish",
    "registry",
    "reproduce",
    "run_experiment",
    "save_figure",
    "write_index",
]
