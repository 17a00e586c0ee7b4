"""``bpdiag study``: the thin command over :func:`bpdiag.analyses.study.study`."""

from __future__ import annotations

import sys
import time

import click

from bpdiag.cli._common import _echo_table, library_errors


@click.command()
@click.option(
    "--config",
    "config_path",
    default="default",
    show_default=True,
    help="a study TOML file, or 'default' for the original 36-model grid",
)
@click.option("--out", type=click.Path(file_okay=False), default="results/study", show_default=True)
@click.option("--resume", is_flag=True, help="skip the runs already in OUT/runs.csv")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="worker processes (local) or Dask workers (dask without --address)",
)
@click.option(
    "--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True
)
@click.option("--address", default=None, help="Dask scheduler address (with --executor dask)")
@library_errors
def study(config_path, out, resume, jobs, executor, address):
    """Train hybrids and their classical twins on a grid; report qc = 1 - q_avg/c_avg."""
    from bpdiag.analyses import study as st

    cfg = (
        st.StudyConfig.default()
        if config_path == "default"
        else st.StudyConfig.from_toml(config_path)
    )
    t0 = time.perf_counter()
    runs, qc = st.study(
        cfg,
        out=out,
        resume=resume,
        jobs=jobs,
        executor=executor,
        address=address,
        progress=sys.stderr.isatty(),
    )
    wall = time.perf_counter() - t0
    paths = st.write(runs, qc, out, wall_s=wall)
    _echo_table(st.summary_table(qc).round(4), "Quantum contribution qc = 1 - q_avg / c_avg")
    click.echo(
        f"\n{len(runs)} runs in {wall:.1f} s; wrote {out}/runs.csv, {out}/history.csv, "
        + ", ".join(str(p) for p in paths.values())
    )
