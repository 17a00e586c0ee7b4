"""``bpdiag study``: the thin command over :func:`bpdiag.analyses.study.study`."""

from __future__ import annotations

import click

from bpdiag.cli._common import (
    _echo_table,
    claims_out,
    executor_options,
    library_errors,
    out_option,
    progress,
    resume_option,
)


@click.command()
@click.option(
    "--config",
    "config_path",
    default="default",
    show_default=True,
    help="a study TOML file, or 'default' for the original grid (4 configurations x 3 "
    "subsets) with 10 seeds",
)
@out_option("results/study")
@resume_option("runs.csv")
@executor_options
@click.option(
    "--index",
    type=click.Path(),
    default=None,
    help="index history of the config's one data source (date, close): the underlying price "
    "and realised volatility of chains without them (TOML: index = ...)",
)
@click.option(
    "--vix", type=click.Path(), default=None, help="volatility-index history (TOML: vix = ...)"
)
@click.option(
    "--circuit",
    "circuits",
    multiple=True,
    help="add your circuit as a family of the study (repeatable): pennylane:NAME | "
    "qiskit:NAME | FILE.qasm | FILE.py:FUNCTION (TOML: circuit = [...])",
)
@library_errors
@claims_out
def study(config_path, out, resume, jobs, executor, address, index, vix, circuits):
    """Train hybrids and their classical twins on a grid; report qc = 1 - q_avg/c_avg."""
    from bpdiag.analyses import study as st
    from bpdiag.results.study import study_sinks, write_study

    if config_path == "default":
        cfg = st.StudyConfig.default()
    else:
        cfg = st.StudyConfig.from_toml(config_path)
    cfg = cfg.with_data(index=index, vix=vix).with_circuits(circuits)
    runs, history = study_sinks(out, cfg.run_columns(), st.HISTORY_COLUMNS, resume=resume)
    res = st.study(
        cfg,
        sink=runs,
        history_sink=history,
        jobs=jobs,
        executor=executor,
        address=address,
        progress=progress(),
    )
    paths = write_study(res, out)
    _echo_table(
        st.summary_table(res.tables["qc"]).round(4), "Quantum contribution qc = 1 - q_avg / c_avg"
    )
    click.echo(
        f"\n{len(res.table)} runs in {res.meta['wall_s']:.1f} s; wrote {out}/runs.csv, "
        f"{out}/history.csv, " + ", ".join(str(p) for p in paths.values())
    )
