"""What every command shares: parameter types, the one error path, echo, device resolution.

Each command parses its options, calls one library function that returns a DataFrame, and hands
the result to :func:`bpdiag.results.write_result`. Library ``ValueError``s become click usage errors
(exit code 2, one line, no traceback); so do the other :data:`INPUT_ERRORS` (bad files,
corrupt archives, memory), by exception class, and contradicting options.
"""

from __future__ import annotations

import functools
import math
import pickle
import zipfile
import zlib
from collections.abc import Callable

import click


class IntRange(click.ParamType):
    """Parses ``2..8`` (inclusive), ``2,4,6`` or ``5`` into a sorted tuple of ints (at most
    :data:`MAX_VALUES` of them: a longer list is refused before it is expanded)."""

    name = "range"
    MAX_VALUES = 10_000

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
                    if hi - lo + 1 + len(out) > self.MAX_VALUES:
                        self.fail(
                            f"{part!r} has {hi - lo + 1:,} values; at most "
                            f"{self.MAX_VALUES:,} are allowed",
                            param,
                            ctx,
                        )
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


#: What bad input or a failing environment raises (a wrong value, a file that cannot be read or
#: written, a corrupt archive, memory): at the CLI boundary each becomes one line and exit code
#: 2. Anything else (AttributeError, TypeError, KeyError, ...) is a bug in bpdiag and raises.
INPUT_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,  # incl. TOML, JSON, CSV (pandas) and Unicode decoding errors
    OSError,  # incl. PermissionError, FileNotFoundError, NotADirectoryError, FileExistsError,
    # IsADirectoryError, ConnectionError, TimeoutError, gzip.BadGzipFile
    MemoryError,
    OverflowError,
    EOFError,
    zlib.error,
    zipfile.BadZipFile,
    pickle.UnpicklingError,
)


def one_line(exc: BaseException) -> str:
    """The one line that tells the user what went wrong in ``exc`` (an :data:`INPUT_ERRORS`):
    an ``OSError`` as ``PATH: reason``, others as the first line of their message."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
        return f"{where}: {exc.strerror}"
    text = str(exc).strip()
    line = text.splitlines()[0] if text else ""
    if isinstance(exc, MemoryError):
        return f"out of memory{': ' + line if line else ''} (try smaller sizes)"
    if isinstance(exc, (ValueError, OSError)) and line:
        return line
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__


def usage_error(exc: BaseException) -> click.UsageError:
    """``exc`` as a click usage error: one ``Error:`` line, exit code 2."""
    return click.UsageError(one_line(exc))


def library_errors(func: Callable) -> Callable:
    """The one error path of a command: options that contradict each other are refused
    (:func:`check_conflicts`), then every :data:`INPUT_ERRORS` the library raises becomes one
    line with exit code 2 (:func:`usage_error`). The group does the same for whatever escapes
    a command (:class:`bpdiag.cli.LazyGroup`)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        check_conflicts(kwargs)
        try:
            return func(*args, **kwargs)
        except INPUT_ERRORS as exc:
            raise usage_error(exc) from None

    return wrapper


def _given(name: str) -> bool:
    """Whether the user set option ``name`` (on the command line or in the environment)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or name not in ctx.params:
        return False
    source = ctx.get_parameter_source(name)
    given = (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)
    return source in given


def check_conflicts(options: dict) -> None:
    """Refuse, in one line, options that contradict each other instead of ignoring one:
    ``--dtype complex64`` with ``--engine pennylane`` (PennyLane devices run in complex128),
    ``--device`` with ``--engine jax`` (a PennyLane device), ``--address`` without
    ``--executor dask``."""
    engine = options.get("engine")
    if engine == "pennylane" and options.get("dtype") == "complex64":
        raise click.UsageError(
            "--dtype complex64 needs --engine jax: the pennylane engine runs complex128"
        )
    if engine == "jax" and _given("device"):
        raise click.UsageError(
            f"--device {options.get('device')} names a PennyLane device: it needs --engine "
            "pennylane (the jax engine runs on JAX's own device)"
        )
    if options.get("address") is not None and options.get("executor") != "dask":
        raise click.UsageError("--address names a Dask scheduler: it needs --executor dask")


class Finite(click.ParamType):
    """A float option (``click.FLOAT`` or ``click.FloatRange``) that also refuses ``inf`` and
    ``nan``. :class:`bpdiag.cli.LazyGroup` puts every float option of every command in one."""

    def __init__(self, inner: click.ParamType):
        self.inner = inner
        self.name = inner.name

    def get_metavar(self, param, ctx=None):
        return self.inner.get_metavar(param, ctx)

    def to_info_dict(self):
        return self.inner.to_info_dict()

    def __repr__(self) -> str:
        return repr(self.inner)

    def convert(self, value, param, ctx):
        value = self.inner.convert(value, param, ctx)
        if value is not None and not math.isfinite(value):
            self.fail(f"{value} is not a finite number", param, ctx)
        return value


def finite_floats(command: click.Command) -> click.Command:
    """Make every float option of ``command`` (and of its subcommands) refuse inf and nan."""
    for param in command.params:
        if isinstance(param.type, click.types.FloatParamType):
            param.type = Finite(param.type)
    for sub in getattr(command, "commands", {}).values():
        finite_floats(sub)
    return command


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


#: Seeds are what numpy's and torch's generators take: 0 <= seed < 2**32.
SEED_LIMIT = 2**32


class Seed(click.ParamType):
    """``--seed``: an integer 0 <= seed < 2**32 (the one rule of every command with a seed)."""

    name = "integer"

    def convert(self, value, param, ctx):
        if isinstance(value, int) and not isinstance(value, bool):
            seed = value
        else:
            try:
                seed = int(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not an integer", param, ctx)
        if not 0 <= seed < SEED_LIMIT:
            self.fail(f"must be an integer 0 <= SEED < 2**32, got {seed}", param, ctx)
        return seed


def seed_option(func: Callable) -> Callable:
    """``--seed``: the one seed that drives every random number of the run (0 <= seed < 2**32)."""
    return click.option("--seed", type=Seed(), default=0, show_default=True)(func)


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


def exact_options(func: Callable) -> Callable:
    """``--exact-backend``, ``--tol`` and ``--chi``: how ``--method exact`` computes (the dense
    4^n chain or the matrix product state converged in its bond dimension)."""
    return options(
        click.option(
            "--exact-backend",
            type=click.Choice(["dense", "mps", "auto"]),
            default="auto",
            show_default=True,
            help="exact method: dense Pauli tensor (n <~ 14), matrix product state (n = 100+), "
            "or auto (dense up to 12 qubits)",
        ),
        click.option(
            "--tol",
            "exact_tol",
            type=click.FloatRange(0, 1, min_open=True, max_open=True),
            default=1e-3,
            show_default=True,
            help="mps: double the bond dimension until var changes by at most this (relative)",
        ),
        click.option(
            "--chi",
            "exact_chi",
            type=click.IntRange(1, 4096),
            default=16,
            show_default=True,
            help="mps: the first bond dimension",
        ),
    )(func)


def executor_options(func: Callable) -> Callable:
    """``--executor``, ``--address`` and ``--jobs``: where the points of the grid run, one task
    each (:func:`bpdiag.analyses._common.run_grid`): this process, local worker processes, or a
    Dask cluster. They change how a run goes, never its numbers or its bytes."""
    return options(
        click.option(
            "--executor",
            type=click.Choice(["local", "dask"]),
            default="local",
            show_default=True,
            help="local (this process, or --jobs worker processes) or dask (--address)",
        ),
        click.option(
            "--address",
            default=None,
            help="Dask scheduler address, e.g. tcp://host:8786 (with --executor dask; without "
            "it, a local Dask cluster of --jobs workers)",
        ),
        click.option(
            "--jobs",
            type=click.IntRange(min=1),
            default=1,
            show_default=True,
            help="worker processes (local) or Dask workers (dask without --address)",
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


def _split_costs(value) -> tuple[str, ...]:
    """The --cost list: names, Pauli sums and @FILEs separated by commas (checked by the
    library, so a bad one exits 2 with one line)."""
    if isinstance(value, (tuple, list)):
        return tuple(value)
    costs = tuple(s.strip() for s in str(value).split(",") if s.strip())
    if not costs:
        raise click.BadParameter("give at least one cost")
    return costs


def cost_option(default: str) -> Callable:
    """``--cost``: comma-separated names, Pauli sums (``"Z0 Z1 + 0.5 X2"``) or ``@FILE``s."""
    from bpdiag.circuits.observables import NAMED

    return click.option(
        "--cost",
        callback=lambda ctx, param, value: _split_costs(value),
        default=default,
        show_default=True,
        help=f"comma-separated: {', '.join(NAMED)}, a Pauli sum ('Z0 Z1 + 0.5 X2') or @FILE",
    )


def circuit_options(extra_help: str = "") -> Callable:
    """``--circuit SPEC`` (the user's circuit, replacing ``--ansatz``) and ``--data-params``."""
    return options(
        click.option(
            "--circuit",
            default=None,
            help="your circuit, replacing --ansatz: pennylane:NAME | qiskit:NAME | FILE.qasm | "
            "FILE.py:FUNCTION | module:function (see bpdiag.frontends.spec)" + extra_help,
        ),
        click.option(
            "--data-params",
            default=None,
            callback=lambda ctx, p, v: v if v is None or "," not in v else v.split(","),
            help="the circuit's data inputs: a parameter-name prefix, or comma-separated names",
        ),
    )


def index_options(func: Callable) -> Callable:
    """``--index``, ``--vix``, ``--rate`` and ``--dividend-yield``: the market data of option
    chains that lack it (:func:`bpdiag.data.prepare`); rate and yield default to the market's
    (:data:`bpdiag.data.MARKETS`)."""
    path = click.Path(dir_okay=True, file_okay=True)
    return options(
        click.option(
            "--index",
            type=path,
            default=None,
            help="index history (date, close): the underlying price, realised volatility and "
            "the other market features of chains without them, e.g. the S&P 500 for SPX",
        ),
        click.option("--vix", type=path, default=None, help="volatility-index history"),
        click.option(
            "--rate",
            type=click.FloatRange(-0.05, 0.5),
            default=None,
            help="risk-free rate where the data has none (annualised decimal) [default: the "
            "market's, bpdiag.data.MARKETS]",
        ),
        click.option(
            "--dividend-yield",
            type=click.FloatRange(0, 0.2),
            default=None,
            help="dividend yield of the underlying (annualised decimal) [default: the market's]",
        ),
    )(func)
