"""``bpdiag diagnose``: one report that says whether a circuit can be trained, and why. A thin
layer over :func:`bpdiag.analyses.diagnose.diagnose`."""

from __future__ import annotations

import click

from bpdiag.cli._common import (
    IntRange,
    circuit_options,
    claims_out,
    cost_option,
    library_errors,
    options,
    out_option,
    progress,
    seed_option,
)


@click.command("diagnose")
@options(
    click.option(
        "--ansatz",
        type=click.Choice(["dense", "sparse", "mcclean", "original"]),
        default="dense",
        show_default=True,
    ),
    circuit_options("; a fixed circuit is diagnosed at its own size"),
    cost_option("local"),
    click.option("--qubits", type=IntRange(1), default="2,4,6,8", show_default=True),
    click.option("--layers", type=IntRange(1), default="1,2,5,10,20", show_default=True),
    click.option("--samples", type=click.IntRange(min=2), default=200, show_default=True),
    click.option(
        "--budget",
        type=click.FloatRange(min=1),
        default=60.0,
        show_default=True,
        help="seconds; checks still to run once it is spent are skipped (and say so)",
    ),
    click.option(
        "--noise", default="depolarizing:0.01", show_default=True, help="the noise check's model"
    ),
    click.option("--shots", type=click.IntRange(min=1), default=1000, show_default=True),
    seed_option,
    out_option("report"),
)
@library_errors
@claims_out
def diagnose(out, **opts):
    """Diagnose a circuit: Lie audit, per-parameter variance, variance against qubits and depth,
    shots and noise; writes report.html, report.md and the tables behind them."""
    from bpdiag.analyses.diagnose import diagnose as run
    from bpdiag.figures.diagnose import report_figures
    from bpdiag.results.diagnose import write_report

    res = run(**opts, progress=progress())
    paths = write_report(res, out, figures=report_figures)
    click.echo(f"Trainability of {res.meta['label']}:")
    for text in res.table["text"]:
        click.echo(f"  - {text}")
    for name, why in res.meta["skipped"].items():
        click.echo(f"  (skipped {name}: {why})")
    click.echo(f"\nwrote {paths['html']} and {paths['md']} (+ tables) in {out}")
