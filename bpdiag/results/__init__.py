"""The only code that writes files: tidy CSVs, JSON provenance, figures, appended partial
results and their resume keys.

Every command hands an analysis :class:`~bpdiag.analyses._common.Result` (or a DataFrame and a
meta dict) to :func:`write_result`. CSVs are written with a fixed float format so that the same
seed gives the same bytes; timings belong in the JSON only. Long analyses append each finished
point through a :class:`CsvSink` that the command passes in, so a killed run loses at most the
point in progress.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

FLOAT_FORMAT = "%.12g"

_PACKAGES = ("bpdiag", "numpy", "scipy", "pandas", "jax", "jaxlib", "pennylane", "torch", "click")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that can change a number."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):
        try:
            return obj.item()
        except (ValueError, TypeError):
            pass
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` with the project's fixed float format (byte-stable for equal numbers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def append_csv(df: pd.DataFrame, path: Path) -> None:
    """Append rows to ``path`` (writing the header if the file is new), flushed at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    with open(path, "a", newline="") as fh:
        df.to_csv(fh, index=False, header=new, float_format=FLOAT_FORMAT, lineterminator="\n")
        fh.flush()


def finished_keys(path: Path, columns: list[str], key: list[str], what: str) -> set[tuple]:
    """Keys of the rows already in an appended results CSV, for ``--resume``.

    A run killed mid-write can leave half a line: it is dropped (the point is recomputed). A file
    whose header is not ``columns`` is refused in one line rather than silently mixed with."""
    if not path.exists():
        return set()
    text = path.read_text()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
        path.write_text(text)
    if not text.strip():
        return set()
    df = pd.read_csv(path)
    if list(df.columns) != list(columns):
        raise ValueError(f"{path} has columns {list(df.columns)}, not a bpdiag {what} table")
    return {tuple(r) for r in df[key].itertuples(index=False, name=None)}


def write_json(meta: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_jsonable(meta), indent=2, sort_keys=True) + "\n")


def write_result(
    df: pd.DataFrame,
    meta: dict,
    out: str | Path,
    name: str,
    figure: Callable[[pd.DataFrame, dict], Any] | None = None,
) -> dict[str, Path]:
    """Write ``<out>/<name>.csv``, ``<out>/<name>.json`` and, if ``figure`` is given,
    ``<out>/<name>.png`` and ``<out>/<name>.pdf``.

    ``figure(df, meta)`` must return a matplotlib Figure. Returns the paths written.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / f"{name}.csv", "json": out / f"{name}.json"}
    write_csv(df, paths["csv"])
    meta = dict(meta)
    meta.setdefault("versions", package_versions())
    meta.setdefault("written_at", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    write_json(meta, paths["json"])
    if figure is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig = figure(df, meta)
        for ext in ("png", "pdf"):
            paths[ext] = out / f"{name}.{ext}"
            fig.savefig(paths[ext], dpi=150, bbox_inches="tight", metadata=_fig_metadata(ext))
        plt.close(fig)
    return paths


def _fig_metadata(ext: str) -> dict:
    # Fixed metadata so that figures are byte-stable too.
    if ext == "pdf":
        return {"CreationDate": None, "ModDate": None, "Producer": "bpdiag"}
    return {"Software": "bpdiag"}


class CsvSink:
    """A resume sink on disk: each finished point is appended to ``path`` at once.

    path: the CSV; columns: the table's columns (a file with other columns is refused); key: the
    columns that identify a point; what: the table's name for messages. Without ``resume`` an
    existing file is removed first.
    """

    def __init__(
        self, path: str | Path, columns: list[str], key: list[str], what: str, *, resume=False
    ):
        self.path, self.columns, self.key, self.what = Path(path), list(columns), list(key), what
        if self.path.exists() and not resume:
            self.path.unlink()

    def done(self) -> set[tuple]:
        return finished_keys(self.path, self.columns, self.key, self.what)

    def append(self, frame: pd.DataFrame) -> None:
        append_csv(frame, self.path)

    def read(self) -> pd.DataFrame:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return pd.DataFrame(columns=self.columns)
        return pd.read_csv(self.path)
