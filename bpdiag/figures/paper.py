"""What the paper adds to every analysis's figure: one polish, and the plotted points read back.

Pure drawing helpers (no file is written here; :mod:`bpdiag.results.paper` writes): the paper's
:func:`polish` of log-x axes, and :func:`figure_data`, the table of points a figure plots.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Columns of the data sidecar ``<figure>.data.csv`` (one row per plotted point).
DATA_COLUMNS = [
    "panel",
    "title",
    "xlabel",
    "ylabel",
    "series",
    "kind",
    "point",
    "x",
    "y",
    "yerr_lo",
    "yerr_hi",
]

__all__ = ["DATA_COLUMNS", "figure_data", "polish"]


def _errorbar_rows(ax, head: dict, owned: set) -> list[dict]:
    """Rows of every error-bar container of ``ax``; adds the artists it owns to ``owned``."""
    from matplotlib.container import ErrorbarContainer

    rows = []
    for cont in ax.containers:
        if not isinstance(cont, ErrorbarContainer):
            continue
        line, caps, bars = cont.lines
        owned.update(id(a) for a in (line, *caps) if a is not None)
        lo = hi = None
        if cont.has_yerr and bars:
            segs = bars[-1].get_segments()  # one vertical segment per point (empty: NaN)
            lo = np.array([s[0][1] if len(s) == 2 else np.nan for s in segs], float)
            hi = np.array([s[1][1] if len(s) == 2 else np.nan for s in segs], float)
        if line is not None:
            x = np.asarray(line.get_xdata(), float)
            y = np.asarray(line.get_ydata(), float)
        elif lo is not None:
            x = np.array(
                [s[0][0] if len(s) == 2 else np.nan for s in bars[-1].get_segments()], float
            )
            y = (lo + hi) / 2
        else:
            continue
        if lo is None or len(lo) != len(y):
            lo = hi = np.full(len(y), np.nan)
        series = cont.get_label() or ""
        for i in range(len(x)):
            rows.append(
                head
                | {
                    "series": "" if series.startswith("_") else series,
                    "kind": "errorbar",
                    "point": i,
                    "x": x[i],
                    "y": y[i],
                    "yerr_lo": y[i] - lo[i],
                    "yerr_hi": hi[i] - y[i],
                }
            )
    return rows


def _line_rows(ax, head: dict, owned: set) -> list[dict]:
    """Rows of every plain line of ``ax`` not owned by an error-bar container."""
    rows = []
    for line in ax.get_lines():
        if id(line) in owned:
            continue
        x = np.asarray(line.get_xdata(), float)
        y = np.asarray(line.get_ydata(), float)
        label = line.get_label() or ""
        for i in range(min(len(x), len(y))):
            rows.append(
                head
                | {
                    "series": "" if label.startswith("_") else label,
                    "kind": "line",
                    "point": i,
                    "x": x[i],
                    "y": y[i],
                    "yerr_lo": np.nan,
                    "yerr_hi": np.nan,
                }
            )
    return rows


def figure_data(fig) -> pd.DataFrame:
    """The points a matplotlib figure plots, read back from its artists: one row per point of
    every error bar (``kind="errorbar"``, with ``yerr_lo``/``yerr_hi``) and every line
    (``kind="line"``), with its panel (axes index), the panel's title and axis labels and the
    series' legend label. Columns :data:`DATA_COLUMNS`; x and y in data units."""
    rows = []
    for p, ax in enumerate(fig.axes):
        head = {
            "panel": p,
            "title": ax.get_title(),
            "xlabel": ax.get_xlabel(),
            "ylabel": ax.get_ylabel(),
        }
        owned: set = set()
        rows += _errorbar_rows(ax, head, owned)
        rows += _line_rows(ax, head, owned)
    return pd.DataFrame(rows, columns=DATA_COLUMNS)


def polish(fig) -> None:
    """The one touch the paper adds to every analysis's figure (nothing plotted changes): a log x
    axis over a few integer positions (layers, training-set sizes) is ticked at exactly those
    positions in plain numbers, instead of overlapping ``2×10^0`` minor labels."""
    from matplotlib.ticker import NullFormatter

    for ax in fig.axes:
        if ax.get_xscale() != "log":
            continue
        xs = {
            float(v)
            for line in ax.get_lines()
            for v in np.asarray(line.get_xdata(), float)
            if np.isfinite(v) and v > 0
        }
        if 1 < len(xs) <= 12 and all(x.is_integer() for x in xs):
            ticks = sorted(xs)
            ax.set_xticks(ticks, [f"{x:g}" for x in ticks])
            ax.xaxis.set_minor_formatter(NullFormatter())
