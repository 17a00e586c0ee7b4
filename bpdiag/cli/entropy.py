"""The ``bpdiag entropy`` command (registered at the end of :mod:`bpdiag.cli`)."""

from __future__ import annotations

from pathlib import Path

import click

from bpdiag.analyses.entropy import ENGINES, PARAMS, STATES, UNITS
from bpdiag.circuits import ANSATZE
from bpdiag.circuits.encodings import ENCODINGS, PAIRS
from bpdiag.cli._common import (
    Choices,
    IntRange,
    _echo_table,
    _resolve_device,
    claims_out,
    dtype_option,
    executor_options,
    fallback_option,
    library_errors,
    options,
    out_option,
    progress,
    resume_option,
    run_options,
    seed_option,
)

_OPTIONS = options(
    click.option(
        "--qubits", type=IntRange(), default="2..10", show_default=True, help="2..12 or 4,8"
    ),
    click.option(
        "--encoding",
        type=Choices(ENCODINGS),
        default="angle,zz",
        show_default=True,
        help="comma-separated: angle,zz,reupload,amplitude",
    ),
    click.option(
        "--layers",
        type=IntRange(),
        default="0,1,2,5",
        show_default=True,
        help="ansatz layers after the encoding (0: the encoding alone)",
    ),
    click.option("--rows", type=int, default=500, show_default=True, help="option rows (states)"),
    click.option(
        "--data",
        default="synthetic",
        show_default=True,
        help="'synthetic' (bundled) or a file/folder of option rows",
    ),
    click.option(
        "--state",
        type=Choices(STATES),
        default="data",
        show_default=True,
        help="data and/or references product, ghz, haar (trained: with --checkpoint)",
    ),
    click.option("--ansatz", type=click.Choice(ANSATZE), default="original", show_default=True),
    click.option(
        "--circuit",
        default=None,
        help="your circuit after the encoding, replacing --ansatz: pennylane:NAME | qiskit:NAME | "
        "FILE.qasm | FILE.py:FUNCTION (see bpdiag.frontends.spec); no data inputs of its own",
    ),
    click.option(
        "--params",
        type=click.Choice(PARAMS),
        default="shared",
        show_default=True,
        help="one random parameter vector per point, or one per row",
    ),
    click.option(
        "--random-cuts",
        type=click.IntRange(min=0),
        default=0,
        show_default=True,
        help="also K random qubit subsets of every cut size",
    ),
    click.option(
        "--pairs",
        type=click.Choice(PAIRS),
        default="linear",
        show_default=True,
        help="entangled pairs of the zz feature map",
    ),
    click.option(
        "--hidden",
        type=click.IntRange(min=1),
        default=16,
        show_default=True,
        help="hidden width of the random encoder",
    ),
    click.option("--unit", type=click.Choice(UNITS), default="nats", show_default=True),
    seed_option,
    dtype_option,
    out_option("results/entropy"),
    click.option(
        "--checkpoint",
        type=click.Path(),
        default=None,
        help="a `bpdiag train` checkpoint (.pt) or run folder: adds state 'trained'",
    ),
    resume_option("entropy.csv"),
    click.option(
        "--engine",
        type=click.Choice(ENGINES),
        default="jax",
        show_default=True,
        help="states by the batched JAX engine, or by a PennyLane QNode on --device",
    ),
    click.option(
        "--device",
        default="default.qubit",
        show_default=True,
        help="PennyLane device (with --engine pennylane): default.qubit, lightning.qubit, "
        "lightning.gpu, default.mixed",
    ),
    fallback_option,
    executor_options,
)


@click.command("entropy")
@_OPTIONS
@library_errors
@claims_out
def entropy(out, resume, engine, device, fallback, **opts):
    """Entanglement entropy of data-encoded states against the Page curve (volume or area law)."""
    from bpdiag import results
    from bpdiag.analyses import entropy as en
    from bpdiag.figures.entropy import entropy_figure

    device = _resolve_device(engine, device, fallback)
    sink = results.CsvSink(
        Path(out) / "entropy.csv", en.COLUMNS, en.KEY, "entropy", resume=resume,
        point=en.KEY, options=run_options(),
    )  # fmt: skip
    res = en.entropy(**opts, engine=engine, device=device, sink=sink, progress=progress())
    paths = results.write_result(res.table, res.meta, out, "entropy", figure=entropy_figure)
    _echo_half_cut(res.table, opts["unit"])
    _echo_verdicts(res.tables["verdicts"], opts["unit"])
    click.echo(f"\nwrote {', '.join(str(p) for p in paths.values())}")


def _echo_half_cut(df, unit: str) -> None:
    """The half-cut entropies (contiguous cut), state/encoding/depth against n."""
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


def _echo_verdicts(v, unit: str) -> None:
    """One line per configuration: tail slope, fraction of the Page slope, verdict."""
    if not len(v):
        return
    v = v.assign(
        slope=[f"{a:.3f}±{b:.3f}" for a, b in zip(v["slope"], v["slope_se"])],
        fraction=[f"{a:.2f}±{b:.2f}" for a, b in zip(v["slope_fraction"], v["slope_fraction_se"])],
    )
    _echo_table(
        v.set_index(["state", "encoding", "n_layers", "cut"])[
            ["slope", "fraction", "n_min", "n_max", "volume_fraction_nmax", "verdict"]
        ],
        f"\nVerdict: tail fit S(n//2) = a + b n ({unit}/qubit), fraction = b / b_Page",
    )
