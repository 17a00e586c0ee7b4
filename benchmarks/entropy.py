"""Entanglement entropies of 1000 option-row states at n = 12, every cut m = 1..6: batched ours
against a per-row PennyLane loop (``qml.math.reduce_statevector`` then ``qml.math.vn_entropy``,
the cheap PennyLane route: it never builds the 4096 x 4096 density matrix).

Both run in this process on the same states; the script checks that they agree and prints
``speedup = t_pennylane / t_ours``. Ours also returns the Rényi-2 entropies; PennyLane's loop
computes von Neumann only.

    python benchmarks/entropy.py [--rows 1000] [--qubits 12] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--qubits", type=int, default=12)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    n, R = args.qubits, args.rows

    import pennylane as qml

    from bpdiag._resources import point_seed
    from bpdiag.analyses.entropy import (
        contiguous_cuts,
        encode_angles,
        entanglement_entropies,
        random_encoder,
    )
    from bpdiag.data import prepare
    from bpdiag.engines.states import encoded_states

    # States: option rows -> random encoder -> zz encoding -> `layers` original-ansatz layers.
    t0 = time.perf_counter()
    X = prepare("synthetic", seed=0).X_train[:R]
    angles = encode_angles(X, random_encoder(X.shape[1], n, seed=point_seed(0, "encoder", n)))
    rng = np.random.default_rng(0)
    params = rng.uniform(0, 2 * np.pi, n * args.layers)
    states = encoded_states("zz", angles, args.layers, params)
    t_states = time.perf_counter() - t0
    cuts = contiguous_cuts(n)
    print(f"{R} rows, n = {n}, cuts m = 1..{n // 2}; {os.cpu_count()} CPUs")
    print(f"states (data + encoder + JAX engine, incl. compile): {t_states:.2f} s")

    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        ours = entanglement_entropies(states, n, cuts)
        times.append(time.perf_counter() - t0)
    t_ours = float(np.median(times))
    print(f"ours (batched, vN + Renyi-2), median of {args.repeats}: {t_ours:.3f} s")

    t0 = time.perf_counter()
    ref = np.empty((R, len(cuts)))
    for b in range(R):
        for k, cut in enumerate(cuts):
            rho = qml.math.reduce_statevector(states[b], list(cut))
            ref[b, k] = qml.math.vn_entropy(rho, list(range(len(cut))))
    t_pl = time.perf_counter() - t0
    print(f"PennyLane per-row loop (vN only): {t_pl:.3f} s")
    err = float(np.abs(ours.vn - ref).max())
    print(f"max |S_ours - S_pennylane| = {err:.2e} nats")
    print(f"speedup = t_pennylane / t_ours = {t_pl / t_ours:.1f}x")
    if err > 1e-10:
        raise SystemExit("entropies disagree beyond 1e-10")


if __name__ == "__main__":
    main()
