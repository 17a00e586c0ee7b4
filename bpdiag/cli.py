"""The ``bpdiag`` command line: a thin click layer over the library.

Each command parses its options, calls one library function that returns a DataFrame, and hands
the result to :func:`bpdiag._io.write_result`. Library ``ValueError``s become click usage errors
(exit code 2, one line, no traceback).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import click


class IntRange(click.ParamType):
    """Parses ``2..8`` (inclusive), ``2,4,6`` or ``5`` into a sorted tuple of ints."""

    name = "range"

    def __init__(self, minimum: int | None = None):
        self.minimum = minimum

    def convert(self, value, param, ctx):
        if isinstance(value, (tuple, list)):
            return tuple(value)
        text = str(value).strip()
        try:
            out: list[int] = []
            for part in text.split(","):
                part = part.strip()
                if ".." in part:
                    lo, hi = (int(s) for s in part.split(".."))
                    if hi < lo:
                        self.fail(f"empty range {part!r}: the end is below the start", param, ctx)
                    out.extend(range(lo, hi + 1))
                else:
                    out.append(int(part))
        except ValueError:
            self.fail(f"{text!r} is not a list of integers like 2..8 or 2,4,6", param, ctx)
        if self.minimum is not None and min(out) < self.minimum:
            self.fail(f"values must be >= {self.minimum}, got {min(out)}", param, ctx)
        return tuple(sorted(set(out)))


class Choices(click.ParamType):
    """Comma-separated list of names from a fixed set, e.g. ``dense,sparse``."""

    name = "names"

    def __init__(self, choices: tuple[str, ...]):
        self.choices = tuple(choices)

    def convert(self, value, param, ctx):
        if isinstance(value, (tuple, list)):
            return tuple(value)
        names = tuple(s.strip() for s in str(value).split(",") if s.strip())
        bad = [s for s in names if s not in self.choices]
        if bad or not names:
            self.fail(
                f"unknown value {bad[0] if bad else value!r}; "
                f"choose from {', '.join(self.choices)}",
                param,
                ctx,
            )
        return names


def library_errors(func: Callable) -> Callable:
    """Turn a library ``ValueError`` into a one-line usage error (exit code 2)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (ValueError, FileNotFoundError, MemoryError) as exc:
            raise click.UsageError(str(exc).splitlines()[0] if str(exc) else repr(exc)) from None

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bpdiag")
def main() -> None:
    """bpdiag: can this parameterized quantum circuit be trained, and if not, why not?"""


def _echo_table(df, title: str | None = None) -> None:
    import pandas as pd

    opts = ("display.width", 120, "display.max_columns", 30, "display.max_rows", 200)
    with pd.option_context(*opts):
        if title:
            click.echo(title)
        click.echo(df.to_string())


def _resolve_device(engine: str, device: str, fallback: bool) -> str:
    if engine != "pennylane":
        return device
    import warnings

    from bpdiag.engines.pennylane import resolve_device

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        name = resolve_device(device, fallback=fallback)
    for w in caught:
        click.echo(f"warning: {w.message}", err=True)
    return name


@main.command()
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


# Commands that live beside their analyses (each is a thin click layer over a library function).
from bpdiag.analyses.entropy_cli import entropy  # noqa: E402
from bpdiag.analyses.lie_cli import lie  # noqa: E402
from bpdiag.analyses.study_cli import study  # noqa: E402
from bpdiag.cli_train import train  # noqa: E402
from bpdiag.data.cli import data  # noqa: E402
from bpdiag.paper_cli import figures, reproduce  # noqa: E402

for _command in (data, entropy, lie, train, study, figures, reproduce):
    main.add_command(_command)
