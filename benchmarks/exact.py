"""Speed of the exact gradient variance (bpdiag.analyses.exact), side by side with sampling.

1. n = 12, 50 layers, dense HEA, global and local cost: wall time (target: under a minute on
   2 cores).
2. How far n goes in 10 minutes: time n = 8..MAX_N at 50 layers (global + local), fit
   log(time) against n and extrapolate to 600 s.
3. Side by side with the sampled method (JAX engine, 200 samples, the lead's variance()): time
   ratio and the sampled value's relative standard error, which the exact method does not have.
4. Other families at n = 10, 50 layers (McClean averaged over its random axes needs the full
   4^n tensor; the dense and sparse HEAs with uniform angles keep rank 3 per qubit).
5. The MPS backend (bpdiag.analyses.exact_mps), issue 17 targets: dense and sparse HEA, global
   and local cost, n = 100, L = 100 with var_rel_change <= 1e-3, and n = 1000, L = 10, each in
   under 60 s on 2 cores; side by side with the dense chain at n = 12 (same value, time ratio);
   the 3-state local basis against 4 states.

Usage: python benchmarks/exact.py [--max-n 13] [--quick] [--mps-only] [--mps-n 100 --mps-layers 100]
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np

from bpdiag.analyses.exact import exact_moments
from bpdiag.analyses.exact_mps import mps_moments
from bpdiag.analyses.variance import haar_variance, variance
from bpdiag.circuits import dense_hea, mcclean, sparse_hea


def _time_exact(circuit, cost, repeat: int = 1):
    """Best of ``repeat`` wall times (s) and the result."""
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        m = exact_moments(circuit, cost)
        best = min(best, time.perf_counter() - t0)
    return best, m


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-n", type=int, default=13)
    ap.add_argument("--layers", type=int, default=50)
    ap.add_argument("--quick", action="store_true", help="skip the side-by-side sampling part")
    ap.add_argument("--repeat", type=int, default=2, help="best of R timings")
    ap.add_argument("--mps-only", action="store_true", help="only part 5 (the MPS backend)")
    ap.add_argument("--mps-n", type=int, default=100)
    ap.add_argument("--mps-layers", type=int, default=100)
    ap.add_argument("--wide-n", type=int, default=1000)
    args = ap.parse_args()
    L = args.layers
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (timings are wall)")
    if args.mps_only:
        _mps_part(args)
        return

    print(f"== 1. dense HEA, n = 12, L = {L} ==")
    total = 0.0
    for cost in ("global", "local"):
        sec, m = _time_exact(dense_hea(12, L), cost, args.repeat)
        total += sec
        print(f"  {cost:6s}  Var = {m['var']:.6e}   {sec:6.1f} s   peak tensor {m['peak']:.3g}")
    print(f"  both costs: {total:.1f} s ({'under' if total < 60 else 'OVER'} a minute)")

    print(f"\n== 2. scaling with n (dense, L = {L}, global + local) ==")
    print(f"  {'n':>3} {'global s':>9} {'local s':>8} {'total s':>8} {'peak':>10} {'MiB':>7}")
    ns, times = [], []
    for n in range(8, args.max_n + 1):
        c = dense_hea(n, L)
        rep = args.repeat if n < 14 else 1
        tg, mg = _time_exact(c, "global", rep)
        tl, ml = _time_exact(c, "local", rep)
        peak = max(mg["peak"], ml["peak"])
        print(
            f"  {n:3d} {tg:9.2f} {tl:8.2f} {tg + tl:8.2f} {peak:10.3g} {3 * 8 * peak / 2**20:7.1f}"
        )
        ns.append(n)
        times.append(tg + tl)
    # The tensor has about 16 * 3**(n-2) entries and each layer makes ~n passes over it:
    # model t = a * n * 3**n, with a from the timed points above 1 s.
    pts = [(n, t) for n, t in zip(ns, times) if t > 1.0] or list(zip(ns, times))
    a = float(np.median([t / (n * 3.0**n) for n, t in pts]))
    n10 = next(n for n in range(8, 40) if a * n * 3.0**n > 600) - 1
    per_qubit = times[-1] / times[-2] if len(times) > 1 else float("nan")
    mem = 3 * 8 * 16 * 3.0 ** (n10 - 2) / 2**30
    print(
        f"  last step x{per_qubit:.2f} per qubit (model n*3^n: x{3 * (ns[-1] + 1) / ns[-1]:.2f});"
        f" extrapolated: 10 minutes reach n = {n10} (both costs, ~{mem:.1f} GiB peak)"
    )

    if not args.quick:
        print(
            f"\n== 3. side by side with sampling (dense, L = {L}, 200 samples, global + local) =="
        )
        print(f"  {'n':>3} {'exact s':>8} {'sample s':>9} {'ratio':>7} {'sample rel. se':>15}")
        for n in (6, 8, 10):
            t0 = time.perf_counter()
            df = variance(
                qubits=(n,), layers=(L,), cost=("global", "local"), samples=200, method="exact"
            ).table
            te = time.perf_counter() - t0
            t0 = time.perf_counter()
            sa = variance(qubits=(n,), layers=(L,), cost=("global", "local"), samples=200).table
            ts = time.perf_counter() - t0
            rel = float((sa["var_se"] / sa["var"]).mean())
            z = (sa["var"].to_numpy() - df["var"].to_numpy()) / sa["var_se"].to_numpy()
            print(
                f"  {n:3d} {te:8.2f} {ts:9.2f} {ts / te:7.2f} {rel:15.3f}   "
                f"(sampled - exact)/se = {np.round(z, 2).tolist()}"
            )

    print(f"\n== 4. other families (n = 10, L = {L}) ==")
    for name, c in (("sparse", sparse_hea(10, L)), ("mcclean (axes averaged)", mcclean(10, L))):
        for cost in ("global", "local"):
            sec, m = _time_exact(c, cost)
            print(
                f"  {name:24s} {cost:6s} Var = {m['var']:.4e}  {sec:6.1f} s  peak {m['peak']:.3g}"
            )

    _mps_part(args)


def _mps_row(label: str, circuit, cost: str, **kw) -> tuple[float, dict]:
    t0 = time.perf_counter()
    m = mps_moments(circuit, cost, **kw)
    sec = time.perf_counter() - t0
    print(
        f"  {label:28s} {cost:6s} log2 Var = {m['log2_var']:10.4f}  chi {m['chi']:4d}  "
        f"rel change {m['var_rel_change']:.1e}  bound {m['bound']:5s}  cone {m['cone_qubits']:4d}"
        f"  {sec:6.1f} s  {'ok' if sec < 60 else 'OVER 60 s'}",
        flush=True,
    )
    return sec, m


def _mps_part(args) -> None:
    n, L, wide = args.mps_n, args.mps_layers, args.wide_n
    print("\n== 5a. MPS vs dense chain, n = 12, L = 20 (same value; time ratio) ==")
    for cost in ("global", "local"):
        c = dense_hea(12, 20)
        td, md = _time_exact(c, cost)
        tm, mm = _mps_row("dense HEA n=12 L=20 (mps)", c, cost, tol=1e-6)
        rel = abs(mm["var"] - md["var"]) / md["var"]
        print(f"    dense chain {td:.2f} s; mps/dense time {tm / td:.2f}; rel. diff {rel:.1e}")
    print("\n== 5b. 3-state local basis vs 4 states (dense HEA, n = 40, L = 20, chi = 32) ==")
    for cost in ("global", "local"):
        t3, _ = _mps_row("reduced basis (3 states)", dense_hea(40, 20), cost, chi=32, chi_max=32)
        t4, _ = _mps_row("full basis (4 states)", dense_hea(40, 20), cost, chi=32, chi_max=32,
                         basis="full")  # fmt: skip
        print(f"    4-state / 3-state time: {t4 / t3:.2f}")
    print(f"\n== 5c. targets: n = {wide}, L = 10 (each under 60 s) ==")
    for name, build in (("dense", dense_hea), ("sparse", sparse_hea)):
        for cost in ("global", "local"):
            _mps_row(f"{name} HEA n={wide} L=10", build(wide, 10), cost)
    print(f"\n== 5d. targets: n = {n}, L = {L}, tol 1e-3 (each under 60 s) ==")
    for name, build in (("dense", dense_hea), ("sparse", sparse_hea)):
        for cost in ("global", "local"):
            sec, m = _mps_row(f"{name} HEA n={n} L={L}", build(n, L), cost)
            ok = m["var_rel_change"] <= 1e-3
            print(f"    var_rel_change <= 1e-3: {ok}; Haar log2 = "
                  f"{math.log2(haar_variance(n, cost)):.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
