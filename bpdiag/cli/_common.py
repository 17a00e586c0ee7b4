"""What every command shares: parameter types, the one error path, echo, device resolution.

Each command parses its options, calls one library function that returns a DataFrame, and hands
the result to :func:`bpdiag.results.write_result`. Library ``ValueError``s become click usage errors
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


# ---------------------------------------------------------------------------------------------
# Shared options: each defined once, applied as decorators.


def options(*decorators: Callable) -> Callable:
    """Compose click option decorators (listed top to bottom as they appear in ``--help``)."""

    def apply(func: Callable) -> Callable:
        for d in reversed(decorators):
            func = d(func)
        return func

    return apply


def seed_option(func: Callable) -> Callable:
    """``--seed``: the one seed that drives every random number of the run."""
    return click.option("--seed", type=int, default=0, show_default=True)(func)


def out_option(default: str) -> Callable:
    """``--out DIR``: the folder the command writes into."""
    return click.option(
        "--out", type=click.Path(file_okay=False), default=default, show_default=True
    )


def resume_option(table: str) -> Callable:
    """``--resume``: keep the points already in OUT/<table>."""
    return click.option("--resume", is_flag=True, help=f"keep the points already in OUT/{table}")


def fallback_option(func: Callable) -> Callable:
    """``--fallback``: run on default.qubit when the requested device is missing."""
    return click.option(
        "--fallback", is_flag=True, help="fall back to default.qubit if --device is missing"
    )(func)


def dtype_option(func: Callable) -> Callable:
    """``--dtype``: statevector precision."""
    return click.option(
        "--dtype",
        type=click.Choice(["complex128", "complex64"]),
        default="complex128",
        show_default=True,
    )(func)


def progress() -> bool:
    """Show progress bars only on a terminal."""
    import sys

    return sys.stderr.isatty()


def sparse_options(func: Callable) -> Callable:
    """``--sparse-pattern`` and ``--sparse-density``: the sparse HEA's entangler layout."""
    return options(
        click.option(
            "--sparse-pattern",
            type=click.Choice(["brickwall", "random"]),
            default="brickwall",
            show_default=True,
        ),
        click.option(
            "--sparse-density",
            type=click.FloatRange(0, 1, min_open=True),
            default=0.5,
            show_default=True,
        ),
    )(func)


#: Options that change how a run goes, not its numbers: left out of the resume record.
_NOT_RECORDED = {"out", "resume", "jobs", "executor", "address", "progress", "fallback"}


def run_options() -> dict:
    """The running command's options, for the resume record beside a partial table
    (:class:`bpdiag.results.CsvSink`): a resume with other values is refused in one line."""
    params = click.get_current_context().params
    return {k: v for k, v in sorted(params.items()) if k not in _NOT_RECORDED}


def claims_out(func: Callable) -> Callable:
    """Run the command holding its ``--out`` folder (:func:`bpdiag.results.claim`): a second
    bpdiag writing to the same folder is refused in one line."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from bpdiag.results import claim

        with claim(kwargs["out"]):
            return func(*args, **kwargs)

    return wrapper
