"""``bpdiag lie``: why a circuit is untrainable. A thin layer over
:func:`bpdiag.analyses.lie.lie`."""

from __future__ import annotations

import sys

import click
import pandas as pd

from bpdiag.analyses import lie as la
from bpdiag.circuits import ANSATZE
from bpdiag.cli._common import (
    Choices,
    IntRange,
    _echo_table,
    circuit_options,
    claims_out,
    cost_option,
    executor_options,
    library_errors,
    options,
    out_option,
    progress,
    seed_option,
    sparse_options,
)
from bpdiag.figures.lie import lie_figure
from bpdiag.results.lie import write_lie


def _summary(df: pd.DataFrame) -> pd.DataFrame:
    """The circuit table as printed: counts, DLA, and formatted predicted/sampled variances."""
    cols = ["ansatz", "n_qubits", "n_layers", "n_params", "n_dead", "rank", "dla_dim", "dla_kind"]
    table = df[cols].copy()
    table["dla_dim"] = [
        str(d) if d < 10**12 else f"2^{v:.2f}" for d, v in zip(df["dla_dim"], df["dla_log2"])
    ]
    table["Var[C] predicted"] = [f"{v:.3e}" for v in df["predicted_var"]]
    table["Var[C] sampled"] = [
        f"{v:.3e} ± {s:.1e}" for v, s in zip(df["sampled_var"], df["sampled_var_se"])
    ]
    return table.set_index(["ansatz", "n_qubits", "n_layers"])


@click.command("lie")
@options(
    click.option(
        "--ansatz",
        type=Choices(ANSATZE),
        default="original,dense,sparse",
        show_default=True,
        help="comma-separated: " + ",".join(ANSATZE),
    ),
    click.option(
        "--qubits", type=IntRange(1), default="2..6", show_default=True, help="2..6 or 2,4"
    ),
    click.option("--layers", type=IntRange(1), default="2", show_default=True),
    cost_option("local"),
    circuit_options("; a fixed circuit (QASM, QuantumCircuit) is audited at its own size"),
    click.option(
        "--deep-layers",
        type=click.IntRange(min=1),
        default=50,
        show_default=True,
        help="depth of the circuits whose cost variance is predicted and sampled",
    ),
    click.option(
        "--samples",
        type=click.IntRange(min=0),
        default=500,
        show_default=True,
        help="parameter samples of the cost at --deep-layers (0: predict only)",
    ),
    click.option(
        "--numeric-qubits",
        type=click.IntRange(min=0, max=12),
        default=8,
        show_default=True,
        help="statevector numerics (QFI rank, gradient check, sampled variance) up to this n; "
        "dead parameters, DLA and predicted variance run at every n",
    ),
    seed_option,
    sparse_options,
    out_option("results/lie"),
    click.option(
        "--fail-on-dead", is_flag=True, help="exit with status 1 if any parameter is dead"
    ),
    executor_options,
)
@library_errors
@claims_out
def lie(out, fail_on_dead, **opts):
    """Audit circuits: dead and redundant parameters, dynamical Lie algebra, and the cost variance
    it predicts for deep circuits next to the sampled one."""
    res = la.lie(**opts, progress=progress())
    paths = write_lie(res, out, figure=lie_figure)
    for det in res.meta["circuits"]:
        click.echo(det["verdict"])
    deep = ",".join(str(v) for v in dict.fromkeys(res.table["deep_layers"]))
    title = f"\nSummary (cost variance over parameters at L={deep})"
    _echo_table(_summary(res.table), title)
    click.echo(f"\nwrote {', '.join(str(p) for p in paths.values())}")
    n_dead = int(res.table["n_dead"].sum())
    if fail_on_dead and n_dead:
        click.echo(f"error: {n_dead} dead parameter(s) found (--fail-on-dead)", err=True)
        sys.exit(1)
