"""``bpdiag variance``: Var[dC/dtheta] against qubits and depth."""

from __future__ import annotations

import click
import pandas as pd

from bpdiag.cli._common import (
    Choices,
    IntRange,
    _echo_table,
    _resolve_device,
    circuit_options,
    claims_out,
    cost_option,
    dtype_option,
    exact_options,
    executor_options,
    fallback_option,
    library_errors,
    options,
    out_option,
    progress,
    resume_option,
    run_options,
    seed_option,
    sparse_options,
)

_OPTIONS = options(
    click.option(
        "--qubits", type=IntRange(1), default="2..8", show_default=True, help="2..8 or 2,4,6"
    ),
    click.option("--layers", type=IntRange(1), default="1,2,5,10,20,50", show_default=True),
    click.option(
        "--ansatz",
        type=Choices(("dense", "sparse", "mcclean", "original")),
        default="dense",
        show_default=True,
        help="comma-separated: dense,sparse,mcclean,original",
    ),
    cost_option("global,local"),
    circuit_options(),
    click.option("--samples", type=click.IntRange(min=2), default=200, show_default=True),
    click.option(
        "--param",
        default="middle",
        show_default=True,
        help="whose derivative: middle | first | last | all (averages the per-parameter "
        "variances and writes variance_params.*) | an index (7) | a label ('weights[1,0,2]')",
    ),
    click.option(
        "--init",
        default="uniform",
        show_default=True,
        help="uniform | normal:SIGMA | identity-blocks[:K] (Grant et al. 2019, blocks of K layers)",
    ),
    seed_option,
    click.option(
        "--engine",
        type=click.Choice(["jax", "pennylane", "fast"]),
        default="jax",
        show_default=True,
        help="jax (batched XLA), fast (fused numba CPU kernels; --param all by adjoint), "
        "pennylane (--device)",
    ),
    click.option(
        "--device",
        default="default.qubit",
        show_default=True,
        help="PennyLane device (with --engine pennylane)",
    ),
    fallback_option,
    dtype_option,
    sparse_options,
    out_option("results/variance"),
    resume_option("variance.csv"),
    click.option(
        "--noise",
        default="none",
        show_default=True,
        help="depolarizing:P | amplitude_damping:G | dephasing:P, comma-separated for several "
        "(e.g. depolarizing:0,0.01,0.05); runs on the density-matrix engine",
    ),
    click.option(
        "--noise-where",
        type=click.Choice(["gate", "layer"]),
        default="gate",
        show_default=True,
        help="apply the channel after every gate (on its wires) or after every layer (all wires)",
    ),
    click.option(
        "--method",
        type=Choices(("sample", "exact")),
        default="sample",
        show_default=True,
        help="sample, exact (Pauli-path second moments, no error bar) or sample,exact",
    ),
    click.option(
        "--shots",
        type=click.IntRange(min=1),
        default=None,
        help="report the shot noise of N-shot parameter-shift gradients",
    ),
    click.option(
        "--mcclean-axes",
        type=click.Choice(["average", "fixed"]),
        default="average",
        show_default=True,
        help="exact method: average McClean's random axes or use --seed's",
    ),
    exact_options,
    executor_options,
)


@click.command()
@_OPTIONS
@library_errors
@claims_out
def variance(qubits, layers, ansatz, cost, samples, out, resume, fallback, noise_where, **opts):
    """Sample Var[dC/dtheta] against qubits and depth; fit Var ~ 2^(-b n)."""
    from pathlib import Path

    from bpdiag.analyses import variance as va
    from bpdiag.results import CsvSink
    from bpdiag.results import variance as writer

    opts["device"] = _resolve_device(opts["engine"], opts["device"], fallback)
    sink, params_sink = [
        CsvSink(
            Path(out) / name, columns, key, what, resume=resume, point=va.POINT,
            options=run_options(),
        ) if name else None
        for name, columns, key, what in _tables(va, opts["param"])
    ]  # fmt: skip
    res = va.variance(
        qubits, layers, ansatz, cost, samples, sink=sink, params_sink=params_sink,
        progress=progress(), noise_where=noise_where, **opts,
    )  # fmt: skip
    paths = writer.write(res, out)
    _show(res, opts["shots"])
    _show_params(res)
    click.echo(f"\nwrote {', '.join(str(p) for p in paths.values())}")


def _tables(va, param: str) -> list[tuple]:
    """(file, columns, key, name) of the tables a run appends point by point: the variance table
    and, with ``--param all``, the per-parameter table."""
    tables = [("variance.csv", va.COLUMNS, va.KEY, "variance")]
    if param == "all":
        tables.append(("variance_params.csv", va.PARAM_COLUMNS, va.PARAM_KEY, "variance params"))
    return tables + [(None, None, None, None)] * (2 - len(tables))


# ---------------------------------------------------------------------------------------------
# Display


def _show(res, shots: int | None) -> None:
    """Echo the variance table, the fits over n and depth, and the shots needed."""
    df = res.table
    noisy = bool((df["noise"] != "none").any())
    _echo_table(_variance_pivot(df, noisy), "Var[dC/dθ] (± standard error)")
    fits = pd.DataFrame(res.meta["fits"])
    if len(fits):
        _echo_table(fits.round(4).set_index(["ansatz", "cost", "n_layers"]), "\nFit Var ∝ 2^(-b·n)")
    depth = pd.DataFrame(res.meta.get("depth_fits", []))
    if noisy and len(depth):
        _echo_table(depth.round(4), "\nFit Var ∝ 2^(-rate·L), rate in bits per layer")
    if shots:
        title = (
            f"\nShots per circuit for std[dC/dθ] > shot noise (shot var at N={shots}: see shot_var)"
        )
        _echo_table(_shots_pivot(df), title)


def _show_params(res) -> None:
    """With ``--param all``: per point, how many parameters, how many the draws saw dead, and
    the smallest and largest per-parameter variance of the live ones."""
    per = res.tables.get("params")
    if per is None or per.empty:
        return
    point = ["ansatz", "cost", "n_qubits", "n_layers", "method"]
    live = per["var"].where(~per["dead"].astype(bool))
    summary = (
        per.assign(live=live)
        .groupby(point, sort=False)
        .agg(
            params=("param", "size"),
            dead=("dead", "sum"),
            var_min=("live", "min"),
            var_max=("live", "max"),
        )
    )
    title = "\nPer parameter (variance_params.csv; dead: zero derivative in every sample)"
    for c in ("var_min", "var_max"):
        summary[c] = summary[c].map("{:.3e}".format)
    _echo_table(summary, title)


def _variance_pivot(df: pd.DataFrame, noisy: bool) -> pd.DataFrame:
    """Var ± standard error, one column per n_qubits."""
    table = df.assign(value=[f"{v:.3e} ± {s:.1e}" for v, s in zip(df["var"], df["var_se"])])
    index = ["ansatz", "cost", "n_layers"]
    index += ["noise", "noise_strength"] if noisy else []
    index += ["method"] if df["method"].nunique() > 1 else []
    return table.pivot_table(index=index, columns="n_qubits", values="value", aggfunc="first")


def _shots_pivot(df: pd.DataFrame) -> pd.DataFrame:
    """Shots needed per circuit, one column per n_qubits."""
    return df.assign(shots_needed=df["shots_needed"].map("{:.4g}".format)).pivot_table(
        index=["ansatz", "cost", "n_layers", "method"],
        columns="n_qubits",
        values="shots_needed",
        aggfunc="first",
    )
