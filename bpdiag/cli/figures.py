"""``bpdiag reproduce`` and ``bpdiag figures``: thin commands over :mod:`bpdiag.paper`
(registered in :data:`bpdiag.cli.COMMANDS`)."""

from __future__ import annotations

import sys
import warnings

import click

from bpdiag.cli._common import _echo_table, claims_out, library_errors, options, out_option


def _names(only: str | None) -> list[str] | None:
    return [s.strip() for s in only.split(",") if s.strip()] if only else None


def _draw(results, out, *, quick: bool = False, only=None) -> None:
    """Redraw the figures, echo each warning on stderr and the table of figures written."""
    from bpdiag import paper

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = paper.figures(results, out, quick=quick, only=only)
    for w in caught:
        click.echo(f"warning: {w.message}", err=True)
    _echo_table(df.set_index("figure")[["source", "size", "files"]], "Figures")
    click.echo(f"\nwrote {len(df)} figures and {out}/index.md")


@click.command("reproduce")
@options(
    click.argument("configs", nargs=-1, type=click.Path(dir_okay=False)),
    out_option("results"),
    click.option("--quick", is_flag=True, help="the small [quick] size of every experiment (CI)"),
    click.option("--resume", is_flag=True, help="keep the points already written in each folder"),
    click.option(
        "--jobs",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        help="worker processes for the study",
    ),
    click.option(
        "--figures",
        "figures_dir",
        type=click.Path(file_okay=False),
        default=None,
        help="then redraw the paper figures into this folder (as `bpdiag figures`)",
    ),
)
@library_errors
@claims_out
def reproduce(configs, out, quick, resume, jobs, figures_dir):
    """Run the paper's experiments (analyses/*.toml, or the CONFIGS given), one result folder
    each: `bpdiag reproduce analyses/variance.toml --out results/variance` (OUT is the result
    folder), or every experiment with `bpdiag reproduce --out results` (into results/<name>)."""
    from bpdiag import paper

    done = paper.reproduce(
        configs, out, quick=quick, resume=resume, jobs=jobs, progress=sys.stderr.isatty()
    )
    _echo_table(done.set_index("experiment")[["analysis", "size", "out", "seconds"]], "Results")
    if figures_dir is None:
        click.echo(f"\nnext: bpdiag figures --results {out} --out figures")
        return
    _draw(out if len(done) > 1 or not configs else str(done["out"].iloc[0]), figures_dir)


@click.command("figures")
@options(
    click.option(
        "--results",
        type=click.Path(file_okay=False),
        default="results",
        show_default=True,
        help="folder of result folders (variance/, noise/, entropy/, lie/, study/, exact/)",
    ),
    out_option("figures"),
    click.option(
        "--quick", is_flag=True, help="first run the missing experiments at their [quick] size"
    ),
    click.option(
        "--only", default=None, help="comma-separated figure names (see `bpdiag figures --list`)"
    ),
    click.option("--list", "list_", is_flag=True, help="list the registered figures and exit"),
)
@library_errors
@claims_out
def figures(results, out, quick, only, list_):
    """Redraw every paper figure from result folders alone (PNG + vector PDF + the plotted points
    as CSV) and write OUT/index.md: which command and which result made each figure."""
    from bpdiag import paper

    if list_:
        _echo_table(paper.registry().set_index("figure")[["folder", "source", "function"]])
        return
    _draw(results, out, quick=quick, only=_names(only))
