"""``bpdiag variance``: Var[dC/dtheta] against qubits and depth."""

from __future__ import annotations

import click

from bpdiag.cli._common import Choices, IntRange, _echo_table, _resolve_device, library_errors


@click.command()
@click.option("--qubits", type=IntRange(1), default="2..8", show_default=True, help="2..8 or 2,4,6")
@click.option("--layers", type=IntRange(1), default="1,2,5,10,20,50", show_default=True)
@click.option(
    "--ansatz",
    type=Choices(("dense", "sparse", "mcclean", "original")),
    default="dense",
    show_default=True,
    help="comma-separated: dense,sparse,mcclean,original",
)
@click.option(
    "--cost", type=Choices(("global", "local", "zz")), default="global,local", show_default=True
)
@click.option("--samples", type=click.IntRange(min=2), default=200, show_default=True)
@click.option(
    "--param",
    type=click.Choice(["middle", "first", "last", "all"]),
    default="middle",
    show_default=True,
    help="whose derivative; 'all' averages per-parameter variances",
)
@click.option(
    "--init",
    default="uniform",
    show_default=True,
    help="uniform | normal:SIGMA | identity-blocks[:K] (Grant et al. 2019, blocks of K layers)",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--engine", type=click.Choice(["jax", "pennylane"]), default="jax", show_default=True)
@click.option(
    "--device",
    default="default.qubit",
    show_default=True,
    help="PennyLane device (with --engine pennylane)",
)
@click.option("--fallback", is_flag=True, help="fall back to default.qubit if --device is missing")
@click.option(
    "--dtype",
    type=click.Choice(["complex128", "complex64"]),
    default="complex128",
    show_default=True,
)
@click.option(
    "--sparse-pattern",
    type=click.Choice(["brickwall", "random"]),
    default="brickwall",
    show_default=True,
)
@click.option(
    "--sparse-density", type=click.FloatRange(0, 1, min_open=True), default=0.5, show_default=True
)
@click.option(
    "--out", type=click.Path(file_okay=False), default="results/variance", show_default=True
)
@click.option("--resume", is_flag=True, help="keep the points already in OUT/variance.csv")
@click.option(
    "--noise",
    default="none",
    show_default=True,
    help="depolarizing:P | amplitude_damping:G | dephasing:P, comma-separated for several "
    "(e.g. depolarizing:0,0.01,0.05); runs on the density-matrix engine",
)
@click.option(
    "--noise-where",
    type=click.Choice(["gate", "layer"]),
    default="gate",
    show_default=True,
    help="apply the channel after every gate (on its wires) or after every layer (all wires)",
)
@click.option(
    "--method",
    type=Choices(("sample", "exact")),
    default="sample",
    show_default=True,
    help="sample, exact (Pauli-path second moments, no error bar) or sample,exact",
)
@click.option(
    "--shots",
    type=click.IntRange(min=1),
    default=None,
    help="report the shot noise of N-shot parameter-shift gradients",
)
@click.option(
    "--mcclean-axes",
    type=click.Choice(["average", "fixed"]),
    default="average",
    show_default=True,
    help="exact method: average McClean's random axes or use --seed's",
)
@library_errors
def variance(
    qubits,
    layers,
    ansatz,
    cost,
    samples,
    param,
    init,
    seed,
    engine,
    device,
    fallback,
    dtype,
    sparse_pattern,
    sparse_density,
    out,
    resume,
    noise,
    noise_where,
    method,
    shots,
    mcclean_axes,
):
    """Sample Var[dC/dtheta] against qubits and depth; fit Var ~ 2^(-b n)."""
    import sys

    from bpdiag.analyses import variance as va

    device = _resolve_device(engine, device, fallback)
    df = va.variance(
        qubits,
        layers,
        ansatz,
        cost,
        samples,
        param=param,
        init=init,
        seed=seed,
        engine=engine,
        device=device,
        dtype=dtype,
        out=out,
        resume=resume,
        progress=sys.stderr.isatty(),
        sparse_pattern=sparse_pattern,
        sparse_density=sparse_density,
        noise=noise,
        noise_where=noise_where,
        method=method,
        shots=shots,
        mcclean_axes=mcclean_axes,
    )
    paths = va.write(df, out)
    table = df.assign(value=[f"{v:.3e} ± {s:.1e}" for v, s in zip(df["var"], df["var_se"])])
    noisy = bool((df["noise"] != "none").any())
    _echo_table(
        table.pivot_table(
            index=["ansatz", "cost", "n_layers"]
            + (["noise", "noise_strength"] if noisy else [])
            + (["method"] if df["method"].nunique() > 1 else []),
            columns="n_qubits",
            values="value",
            aggfunc="first",
        ),
        "Var[dC/dθ] (± standard error)",
    )
    fits = va.fit_decay(df)
    if len(fits):
        _echo_table(fits.round(4).set_index(["ansatz", "cost", "n_layers"]), "\nFit Var ∝ 2^(-b·n)")
    if noisy:
        from bpdiag.analyses.noise import fit_depth_decay

        depth = fit_depth_decay(df)
        if len(depth):
            _echo_table(depth.round(4), "\nFit Var ∝ 2^(-rate·L), rate in bits per layer")
    if shots:
        _echo_table(
            df.assign(shots_needed=df["shots_needed"].map("{:.4g}".format)).pivot_table(
                index=["ansatz", "cost", "n_layers", "method"],
                columns="n_qubits",
                values="shots_needed",
                aggfunc="first",
            ),
            f"\nShots per circuit for std[dC/dθ] > shot noise (shot var at N={shots}: "
            "see shot_var)",
        )
    click.echo(f"\nwrote {', '.join(str(p) for p in paths.values())}")
