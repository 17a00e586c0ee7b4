"""The ``bpdiag entropy`` command (registered at the end of :mod:`bpdiag.cli`)."""

from __future__ import annotations

import sys

import click

from bpdiag.analyses.entropy import ENGINES, PARAMS, STATES, UNITS
from bpdiag.circuits import ANSATZE
from bpdiag.circuits.encodings import ENCODINGS, PAIRS
from bpdiag.cli._common import Choices, IntRange, _echo_table, _resolve_device, library_errors


@click.command("entropy")
@click.option("--qubits", type=IntRange(), default="2..10", show_default=True, help="2..12 or 4,8")
@click.option(
    "--encoding",
    type=Choices(ENCODINGS),
    default="angle,zz",
    show_default=True,
    help="comma-separated: angle,zz,reupload,amplitude",
)
@click.option(
    "--layers",
    type=IntRange(),
    default="0,1,2,5",
    show_default=True,
    help="ansatz layers after the encoding (0: the encoding alone)",
)
@click.option("--rows", type=int, default=500, show_default=True, help="option rows (states)")
@click.option(
    "--data",
    default="synthetic",
    show_default=True,
    help="'synthetic' (bundled) or a file/folder of option rows",
)
@click.option(
    "--state",
    type=Choices(STATES),
    default="data",
    show_default=True,
    help="data and/or references product, ghz, haar (trained: with --checkpoint)",
)
@click.option("--ansatz", type=click.Choice(ANSATZE), default="original", show_default=True)
@click.option(
    "--params",
    type=click.Choice(PARAMS),
    default="shared",
    show_default=True,
    help="one random parameter vector per point, or one per row",
)
@click.option(
    "--random-cuts",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="also K random qubit subsets of every cut size",
)
@click.option(
    "--pairs",
    type=click.Choice(PAIRS),
    default="linear",
    show_default=True,
    help="entangled pairs of the zz feature map",
)
@click.option(
    "--hidden",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="hidden width of the random encoder",
)
@click.option("--unit", type=click.Choice(UNITS), default="nats", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--dtype",
    type=click.Choice(["complex128", "complex64"]),
    default="complex128",
    show_default=True,
)
@click.option(
    "--out", type=click.Path(file_okay=False), default="results/entropy", show_default=True
)
@click.option(
    "--checkpoint",
    type=click.Path(),
    default=None,
    help="a `bpdiag train` checkpoint (.pt) or run folder: adds state 'trained'",
)
@click.option("--resume", is_flag=True, help="keep the points already in OUT/entropy.csv")
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="jax",
    show_default=True,
    help="states by the batched JAX engine, or by a PennyLane QNode on --device",
)
@click.option(
    "--device",
    default="default.qubit",
    show_default=True,
    help="PennyLane device (with --engine pennylane): default.qubit, lightning.qubit, "
    "lightning.gpu, default.mixed",
)
@click.option("--fallback", is_flag=True, help="fall back to default.qubit if --device is missing")
@library_errors
def entropy(
    qubits,
    encoding,
    layers,
    rows,
    data,
    state,
    ansatz,
    params,
    random_cuts,
    pairs,
    hidden,
    unit,
    seed,
    dtype,
    out,
    checkpoint,
    resume,
    engine,
    device,
    fallback,
):
    """Entanglement entropy of data-encoded states against the Page curve (volume or area law)."""
    from bpdiag.analyses import entropy as en

    device = _resolve_device(engine, device, fallback)
    df = en.entropy(
        qubits,
        encoding,
        layers,
        rows,
        state=state,
        data=data,
        ansatz=ansatz,
        params=params,
        hidden=hidden,
        random_cuts=random_cuts,
        pairs=pairs,
        unit=unit,
        seed=seed,
        dtype=dtype,
        out=out,
        resume=resume,
        checkpoint=checkpoint,
        engine=engine,
        device=device,
        progress=sys.stderr.isatty(),
    )
    paths = en.write(df, out)
    half = df[(df["cut_size"] == df["n_qubits"] // 2) & (df["cut"] == "contiguous")]
    half = half.assign(
        value=[f"{v:.3f}±{s:.3f}" for v, s in zip(half["entropy"], half["entropy_se"])]
    )
    _echo_table(
        half.pivot_table(
            index=["state", "encoding", "n_layers"],
            columns="n_qubits",
            values="value",
            aggfunc="first",
        ),
        f"Half-cut entanglement entropy ({unit}, ± standard error)",
    )
    v = en.verdicts(df)
    if len(v):
        v = v.assign(
            slope=[f"{a:.3f}±{b:.3f}" for a, b in zip(v["slope"], v["slope_se"])],
            fraction=[
                f"{a:.2f}±{b:.2f}" for a, b in zip(v["slope_fraction"], v["slope_fraction_se"])
            ],
        )
        _echo_table(
            v.set_index(["state", "encoding", "n_layers", "cut"])[
                ["slope", "fraction", "n_min", "n_max", "volume_fraction_nmax", "verdict"]
            ],
            f"\nVerdict: tail fit S(n//2) = a + b n ({unit}/qubit), fraction = b / b_Page",
        )
    click.echo(f"\nwrote {', '.join(str(p) for p in paths.values())}")
