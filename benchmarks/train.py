"""Epoch time of the hybrid regressor: the torch statevector engine against PennyLane's TorchLayer
on default.qubit, side by side in one process.

For each (n_qubits, n_layers) both models start from the same weights (same seed) and see the
same mini-batches (1000 rows of the bundled synthetic data, batch 64, AdamW); before timing, their
outputs and gradients are checked equal, and after the timed epochs their losses are checked
equal. Prints the epoch times and ``speedup = t_pennylane / t_torch`` (target: >= 5).

    python benchmarks/train.py                     # (4, 2) and (8, 4), original circuit
    python benchmarks/train.py --ansatz dense --epochs 2 --threads 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from bpdiag.data import prepare
from bpdiag.model import build_model


def _data(rows: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    d = prepare("synthetic", subset=rows, seed=seed)
    X = np.concatenate([d.X_train, d.X_val, d.X_test])
    y = np.concatenate([d.y_train, d.y_val, d.y_test])
    return torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)


def _model(engine: str, n: int, L: int, ansatz: str, n_features: int, seed: int):
    torch.manual_seed(seed)
    return build_model(
        n_features, qubits=n, layers=L, ansatz=ansatz, engine=engine, device="default.qubit"
    )


def _epoch(model, opt, X, y, batch: int, seed: int) -> tuple[float, float]:
    """One epoch of AdamW steps; returns (seconds, mean loss)."""
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))
    t0 = time.perf_counter()
    total = 0.0
    for start in range(0, len(X), batch):
        idx = perm[start : start + batch]
        opt.zero_grad()
        loss = torch.mean((model(X[idx]) - y[idx]) ** 2)
        loss.backward()
        opt.step()
        total += float(loss.detach()) * len(idx)
    return time.perf_counter() - t0, total / len(X)


def _check_equal(a, b, X: torch.Tensor) -> float:
    """Max abs difference of outputs and of all gradients on one batch (asserts <= 1e-5)."""
    xb = X[:64]
    outs = []
    for m in (a, b):
        m.zero_grad()
        out = m(xb)
        out.square().sum().backward()
        outs.append((out.detach(), [p.grad.clone() for p in m.parameters()]))
    diff = float((outs[0][0] - outs[1][0]).abs().max())
    for ga, gb in zip(outs[0][1], outs[1][1]):
        diff = max(diff, float((ga - gb).abs().max()))
    assert diff <= 1e-5, f"torch engine and TorchLayer disagree by {diff:.2e}"
    a.zero_grad()
    b.zero_grad()
    return diff


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="4x2,8x4", help="comma-separated NxL")
    ap.add_argument("--ansatz", default="original")
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=1, help="timed epochs per engine")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    X, y = _data(args.rows, args.seed)
    print(
        f"{len(X)} rows, batch {args.batch}, ansatz {args.ansatz}, float32, "
        f"{args.threads} thread(s), {args.epochs} timed epoch(s) per engine"
    )
    print(
        f"{'n':>3} {'L':>3} {'max|diff|':>10} {'t_torch [s]':>12} {'t_pl [s]':>10} "
        f"{'speedup':>8} {'loss torch':>11} {'loss pl':>11}"
    )
    for size in args.sizes.split(","):
        n, L = (int(v) for v in size.lower().split("x"))
        models = {
            e: _model(e, n, L, args.ansatz, X.shape[1], args.seed) for e in ("torch", "pennylane")
        }
        diff = _check_equal(models["torch"], models["pennylane"], X)
        opts = {e: torch.optim.AdamW(m.parameters(), lr=1e-2) for e, m in models.items()}
        _epoch(
            models["torch"],
            torch.optim.AdamW(  # warm-up on a throwaway copy
                _model("torch", n, L, args.ansatz, X.shape[1], args.seed).parameters()
            ),
            X[:256],
            y[:256],
            args.batch,
            99,
        )
        times = {e: [] for e in models}
        losses = {e: [] for e in models}
        for ep in range(args.epochs):
            for e in ("torch", "pennylane"):
                t, loss = _epoch(models[e], opts[e], X, y, args.batch, args.seed + ep)
                times[e].append(t)
                losses[e].append(loss)
        np.testing.assert_allclose(losses["torch"], losses["pennylane"], rtol=1e-3)
        t_t, t_p = np.median(times["torch"]), np.median(times["pennylane"])
        print(
            f"{n:>3} {L:>3} {diff:>10.1e} {t_t:>12.3f} {t_p:>10.3f} {t_p / t_t:>7.1f}x "
            f"{losses['torch'][-1]:>11.5f} {losses['pennylane'][-1]:>11.5f}"
        )


if __name__ == "__main__":
    main()
