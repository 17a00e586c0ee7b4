"""What ``bpdiag data`` writes: option tables (synthetic data, cleaning reports, features) as
byte-stable CSV, gzip-compressed when the name ends in ``.gz``."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pandas as pd

from bpdiag.results import FLOAT_FORMAT

__all__ = ["save_options"]


def save_options(df: pd.DataFrame, path: str | Path) -> Path:
    """Write an option table as CSV (gzip if the name ends in ``.gz``; byte-stable: 12
    significant digits, ISO dates, ``\\n`` line ends, no gzip timestamp). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = df.to_csv(
        index=False, float_format=FLOAT_FORMAT, date_format="%Y-%m-%d", lineterminator="\n"
    )
    data = text.encode("utf-8")
    if path.name.endswith(".gz"):
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
            gz.write(data)
        data = buf.getvalue()
    path.write_bytes(data)
    return path
