"""Writing a training run: the on-disk checkpoint sink :class:`TrainWriter` (``history.csv``,
``log.jsonl``, ``checkpoint_last.pt``, ``checkpoint_best.pt``, appended as epochs finish) and
:func:`write_train` (``predictions.csv``, ``metrics.csv``, ``summary.csv``/``.json``,
``history.csv``/``.json`` and the history figure)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import torch

from bpdiag.results import append_csv, write_csv, write_result

CHECKPOINT_LAST = "checkpoint_last.pt"
CHECKPOINT_BEST = "checkpoint_best.pt"


def save_checkpoint(blob: dict, path: str | Path) -> None:
    """Write a checkpoint blob (:func:`bpdiag.train.checkpoint.to_blob`) with ``torch.save``,
    through a temporary file, so a killed run never leaves half a checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)


class TrainWriter:
    """A :class:`bpdiag.train.checkpoint.CheckpointSink` on disk, in the run folder ``out``.

    Each epoch appends its history row to ``history.csv`` and, with its wall time, to
    ``log.jsonl``, and writes ``checkpoint_last.pt`` (and ``checkpoint_best.pt`` when it is the
    best epoch so far). With ``resume`` the run continues from ``checkpoint_last.pt`` when there
    is one; otherwise the logs are started afresh.
    """

    def __init__(self, out: str | Path, resume: bool = False):
        self.out = Path(out)
        self.resume = bool(resume)
        self.last = self.out / CHECKPOINT_LAST
        self.best = self.out / CHECKPOINT_BEST
        self.name = str(self.last)

    def load(self) -> dict | None:
        if not (self.resume and self.last.exists()):
            return None
        try:  # as bpdiag.train.checkpoint.read_checkpoint
            return torch.load(self.last, map_location="cpu", weights_only=True)
        except OSError:  # cannot be read: the error path names the file and why
            raise
        except Exception as exc:  # any unpickling failure: truncated, garbage, not torch's
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(
                f"checkpoint {self.last} is truncated or not a checkpoint ({msg}); "
                "remove it to start afresh"
            ) from None

    def begin(self, history: list[dict]) -> None:
        history_csv, log = self.out / "history.csv", self.out / "log.jsonl"
        if not history:  # a fresh run: fresh logs
            self.out.mkdir(parents=True, exist_ok=True)
            for path in (history_csv, log):
                path.unlink(missing_ok=True)
            return
        # resumed: the logs hold exactly the finished rows
        write_csv(pd.DataFrame(history), history_csv)
        last = int(history[-1]["epoch"])
        lines = log.read_text().splitlines() if log.exists() else []
        kept = [ln for ln in lines if json.loads(ln)["epoch"] <= last]
        log.write_text("".join(ln + "\n" for ln in kept))

    def epoch(self, row: dict, wall_s: float, blob: dict, best: bool) -> None:
        append_csv(pd.DataFrame([row]), self.out / "history.csv")
        with open(self.out / "log.jsonl", "a") as fh:
            fh.write(json.dumps({**row, "wall_s": wall_s}) + "\n")
        save_checkpoint(blob, self.last)
        if best:
            save_checkpoint(blob, self.best)


def write_train(result, out: str | Path, *, plots: bool = True) -> dict[str, Path]:
    """Write a :func:`bpdiag.train.fit` result into ``out``: predictions, metrics, the summary
    (timings in the JSON only), the history and (with ``plots``) the history figure. Returns the
    paths written."""
    out = Path(out)
    write_csv(result.predictions, out / "predictions.csv")
    write_csv(result.metrics, out / "metrics.csv")
    paths = write_result(result.table, result.meta, out, "summary")
    figure = None
    if plots:
        from bpdiag.figures.train import history_figure

        figure = history_figure
    hist = write_result(result.history, {"config": result.summary}, out, "history", figure=figure)
    paths.update({f"history_{k}": v for k, v in hist.items()})
    return paths
