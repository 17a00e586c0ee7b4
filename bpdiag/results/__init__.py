"""The only code that writes files: tidy CSVs, JSON provenance, figures, appended partial
results and their resume keys.

Every command hands an analysis :class:`~bpdiag.analyses._common.Result` (or a DataFrame and a
meta dict) to :func:`write_result`. CSVs are written with a fixed float format so that the same
seed gives the same bytes; timings belong in the JSON only. Long analyses append each finished
point through a :class:`CsvSink` that the command passes in, so a killed run loses at most the
point in progress.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
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
    columns that identify a row; what: the table's name for messages; point: the columns that
    identify a point when one :meth:`append` writes several rows (default: one row per point);
    options: the options of
    the run (e.g. the command's), recorded beside the CSV in ``.<name>.resume.json``.

    Without ``resume`` an existing file (and its record) is removed first. With ``resume`` the
    partial file is checked before anything runs, so that it ends byte-identical to an
    uninterrupted run:

    * a resume whose ``options`` differ from the recorded ones is refused in one line naming the
      first option that differs;
    * a line that is not a row of the table (wrong header, wrong number of fields) is refused in
      one line naming the file and line;
    * a half-written last line is dropped; with ``point``, the last point in the file is dropped
      whole, so it is recomputed: a run killed while appending leaves at most that point
      incomplete, and points are deterministic, so recomputing a complete one changes no byte.
    """

    def __init__(
        self,
        path: str | Path,
        columns: list[str],
        key: list[str],
        what: str,
        *,
        resume: bool = False,
        point: list[str] | None = None,
        options: dict | None = None,
    ):
        self.path, self.columns, self.key, self.what = Path(path), list(columns), list(key), what
        self.point = list(point) if point else None
        self.record = self.path.with_name(f".{self.path.name}.resume.json")
        if not resume:
            self.path.unlink(missing_ok=True)
            self.record.unlink(missing_ok=True)
        else:
            self._check_options(options)
            self._repair()
        if options is not None:
            write_json({"what": what, "options": options}, self.record)

    def _check_options(self, options: dict | None) -> None:
        if options is None or not self.record.exists() or not self.path.exists():
            return
        try:
            old = json.loads(self.record.read_text()).get("options", {})
        except (ValueError, AttributeError):
            raise ValueError(f"cannot resume: {self.record} is not a resume record") from None
        new = _jsonable(options)
        for name in sorted(set(old) | set(new)):
            if old.get(name) != new.get(name):
                flag = "--" + name.replace("_", "-")
                raise ValueError(
                    f"cannot --resume {self.path}: it was started with {flag} "
                    f"{_show(old.get(name))}, not {_show(new.get(name))} (run without --resume "
                    "to start again, or resume with the old value)"
                )

    def _repair(self) -> None:
        if not self.path.exists():
            return
        text = self.path.read_text()
        lines = text.splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            lines = lines[:-1]  # half a line: the point being written when the run was killed
        if not lines:
            self.path.unlink()
            return
        header = next(csv.reader([lines[0]]))
        if header != self.columns:
            raise ValueError(f"{self.path} has columns {header}, not a bpdiag {self.what} table")
        where = [self.columns.index(c) for c in self.point or []]
        points = []
        for number, line in enumerate(lines[1:], start=2):
            fields = next(csv.reader([line]), [])
            if len(fields) != len(self.columns):
                raise ValueError(
                    f"{self.path}, line {number}: not a row of a bpdiag {self.what} table "
                    f"({len(fields)} fields, not {len(self.columns)}); run without --resume"
                )
            points.append(tuple(fields[i] for i in where))
        keep = len(points)
        while self.point and keep and points[keep - 1] == points[-1]:
            keep -= 1  # the last point, whole
        kept = "".join(lines[: 1 + keep])
        if kept != text:
            self.path.write_text(kept)

    def done(self) -> set[tuple]:
        return finished_keys(self.path, self.columns, self.key, self.what)

    def append(self, frame: pd.DataFrame) -> None:
        append_csv(frame, self.path)

    def read(self) -> pd.DataFrame:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return pd.DataFrame(columns=self.columns)
        return pd.read_csv(self.path)


def _show(value) -> str:
    return "(unset)" if value is None else json.dumps(value)


# ---------------------------------------------------------------------------------------------
# One writer per output folder


LOCK_NAME = ".bpdiag.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


@contextlib.contextmanager
def claim(out: str | Path):
    """Hold the output folder ``out`` for this process while the block runs.

    Takes ``<out>/.bpdiag.lock`` (holding this process's PID) exclusively; a second writer is
    refused with one line (``ValueError``) naming the PID that holds it. A lock left by a process
    that no longer exists (killed) is stale and taken over. Released when the block ends, also on
    errors and Ctrl-C; the same process may claim a folder it already holds (nested calls).
    """
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ValueError(f"--out {out} is not a folder") from None
    path = out / LOCK_NAME
    mine = str(os.getpid())
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                holder = path.read_text().strip()
            except FileNotFoundError:
                continue  # released meanwhile: try again
            if holder == mine:  # nested claim by this process
                yield out
                return
            if holder.isdigit() and _alive(int(holder)):
                raise ValueError(
                    f"another bpdiag run (pid {holder}) is writing to {out}; wait for it to "
                    "finish or choose another --out"
                ) from None
            path.unlink(missing_ok=True)  # stale: its process is gone
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(mine)
        break
    else:
        raise ValueError(f"could not take the lock {path}")
    try:
        yield out
    finally:
        with contextlib.suppress(FileNotFoundError):
            if path.read_text().strip() == mine:
                path.unlink()
