"""``bpdiag data ...``: make, inspect, validate and featurise option data.

Every command takes an optional PATH (a file, .gz, .zip or folder in any format
:func:`bpdiag.data.load_options` reads); without one it uses the bundled synthetic default.
Bad input is a one-line usage error with exit code 2.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
import numpy as np
import pandas as pd

from bpdiag.cli._common import index_options, library_errors, options, seed_option
from bpdiag.data import (
    OPTION_FORMATS,
    clean,
    load_default,
    load_index,
    load_options,
    load_vix,
    main_symbol,
    make_features,
    synthesize,
)
from bpdiag.results.data import save_options

_PATH = click.Path(dir_okay=True, file_okay=True, path_type=Path)
_FILE = click.Path(dir_okay=False, path_type=Path)

# Options shared by the commands that read data.
path_argument = click.argument("path", type=_PATH, required=False)
format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", *OPTION_FORMATS]),
    default="auto",
    show_default=True,
)
target_option = click.option(
    "--target", type=click.Choice(["close", "settle"]), default="close", show_default=True
)


def _out_file(required: bool, help: str) -> Callable:
    """``--out FILE``: a CSV file (``.csv`` or ``.csv.gz``)."""
    return click.option("--out", type=_FILE, required=required, default=None, help=help)


def _index_option(help: str = "Index history, to fill a missing underlying price.") -> Callable:
    return click.option("--index", "index_path", type=_PATH, default=None, help=help)


def _load(path: Path | None, fmt: str) -> pd.DataFrame:
    return load_default() if path is None else load_options(path, fmt)


def _symbol(df: pd.DataFrame, symbol: str | None) -> str | None:
    if symbol == "all":
        return None
    return symbol if symbol else main_symbol(df)


def _cleaned(path, fmt, symbol, target, index_path):
    """Load PATH, pick the symbol, clean: (rows, report, symbol, index table or None)."""
    df = _load(path, fmt)
    sym = _symbol(df, symbol)
    index = load_index(index_path) if index_path else None
    rows, report = clean(df, sym, target=target, index=index)
    return rows, report, sym, index


def _day(ts) -> str:
    return "-" if pd.isna(ts) else str(pd.Timestamp(ts).date())


def _span(s: pd.Series) -> str:
    return f"{_day(s.min())} to {_day(s.max())}"


def _info_rows(df: pd.DataFrame, path: Path | None) -> list[tuple[str, str]]:
    """The (name, value) lines of ``bpdiag data info``."""
    opt = df[df["option_type"].isin(["CE", "PE"])]
    types = opt["option_type"].value_counts()
    und = df["underlying"].value_counts()
    more = f", ... ({len(und)} in all)" if len(und) > 5 else ""
    strikes = (
        f"{opt['strike'].nunique()} ({opt['strike'].min():g} to {opt['strike'].max():g})"
        if len(opt)
        else "0"
    )
    return [
        ("source", "bundled synthetic default" if path is None else str(path)),
        ("rows", f"{len(df)}"),
        ("option rows", f"{len(opt)} (CE {types.get('CE', 0)}, PE {types.get('PE', 0)})"),
        ("other rows", f"{len(df) - len(opt)} (futures or no option type)"),
        ("dates", f"{_span(df['date'])} ({df['date'].nunique()} trading days)"),
        ("underlyings", ", ".join(f"{k} {v}" for k, v in und.head(5).items()) + more),
        ("expiries", f"{opt['expiry'].nunique()} ({_span(opt['expiry'])})"),
        ("strikes", strikes),
        ("traded rows", f"{int((df['volume'] > 0).sum())} (volume > 0)"),
        ("underlying price", "present" if df["underlying_price"].notna().any() else "absent"),
    ]


@click.group("data")
def data() -> None:
    """Option data: the bundled synthetic default, real exchange files, cleaning, features."""


@data.command("synth")
@options(
    seed_option,
    _out_file(True, "Output CSV (.csv or .csv.gz)."),
    click.option(
        "--rows",
        type=click.IntRange(min=2),
        default=22_000,
        show_default=True,
        help="Option rows (calls and puts in pairs).",
    ),
    click.option(
        "--years",
        type=click.FloatRange(0.05, 50),
        default=4.0,
        show_default=True,
        help="Calendar length in years.",
    ),
)
@library_errors
def synth(seed: int, out: Path, rows: int, years: float) -> None:
    """Generate the synthetic NIFTY-like option table."""
    df = synthesize(seed=seed, rows=rows, years=years)
    save_options(df, out)
    days = df["date"].nunique()
    click.echo(f"wrote {len(df)} rows, {days} trading days ({_span(df['date'])}) to {out}")


@data.command("info")
@options(path_argument, format_option)
@library_errors
def info(path: Path | None, fmt: str) -> None:
    """Rows, date range, underlyings, expiries, strikes and option types of PATH."""
    rows = _info_rows(_load(path, fmt), path)
    width = max(len(k) for k, _ in rows) + 2
    click.echo("\n".join(f"{k:<{width}}{v}" for k, v in rows))


@data.command("validate")
@options(
    path_argument,
    format_option,
    click.option(
        "--symbol",
        default=None,
        help="Underlying to keep (default: the most frequent one; 'all' keeps every one).",
    ),
    target_option,
    _index_option(),
    _out_file(False, "Also write the report as CSV."),
)
@library_errors
def validate(path, fmt, symbol, target, index_path, out) -> None:
    """The cleaning report of PATH: how many rows each check removes."""
    _, report, sym, _ = _cleaned(path, fmt, symbol, target, index_path)
    click.echo(report.to_string(index=False))
    n_in, n_out = report.attrs["rows_in"], report.attrs["rows_out"]
    click.echo(f"rows in {n_in}, removed {n_in - n_out}, kept {n_out} (symbol {sym or 'all'})")
    if out is not None:
        save_options(report, out)


@data.command("features")
@options(
    path_argument,
    _out_file(True, "Output CSV (.csv or .csv.gz): contract keys, features and target."),
    format_option,
    click.option(
        "--symbol", default=None, help="Underlying to keep (default: the most frequent one)."
    ),
    target_option,
    index_options,
)
@library_errors
def features(path, out, fmt, symbol, target, index, vix, rate, dividend_yield) -> None:
    """Clean PATH and write its leakage-free features with the target price."""
    rows, report, _, index = _cleaned(path, fmt, symbol, target, index)
    if rows.empty:
        raise click.UsageError(f"{path or 'default'}: no rows left after cleaning")
    vix = load_vix(vix) if vix else None
    X, y = make_features(rows, index, vix, rate=rate, dividend_yield=dividend_yield, target=target)
    keys = rows[["date", "underlying", "expiry", "option_type"]]  # strike is a feature
    table = pd.concat([keys, X, y], axis=1)
    save_options(table, out)
    n_hist = int(np.sum(X["history_missing"] > 0))
    click.echo(
        f"wrote {len(table)} rows x {X.shape[1]} features + {y.name} to {out} "
        f"({report.attrs['rows_in'] - len(rows)} rows removed by cleaning; "
        f"{n_hist} rows with filled-in volatility history)"
    )
