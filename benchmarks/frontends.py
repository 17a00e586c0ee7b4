"""Benchmark: imported circuits against built-in circuits of the same size, side by side.

Each pair runs the same ``bpdiag.variance`` sampled grid (JAX engine, derivative of the middle
parameter, global and local cost) in this one process:

* ``qiskit:efficient_su2`` (RY and RZ on every qubit, then a linear CX chain; ``reps = L``, no
  final rotation layer) against the built-in ``dense`` HEA (RY and RZ on every qubit, then a CZ
  chain): the same gate count and parameter count per point;
* ``qiskit:real_amplitudes`` (``reps = L``) against the built-in ``sparse`` HEA with the gate count
  closest to it (printed);
* ``pennylane:BasicEntanglerLayers`` against the same circuit written natively (RX on every
  wire, then a CNOT ring), checked equal state for state before anything is timed (the draws
  differ: each point's seed follows its label).

The imported circuits are lowered once (timed: ``lower``, every grid size from the spec) and
then run through ``bpdiag.variance(circuit=...)`` like any family. JAX's persistent compilation
cache is off (set before bpdiag loads) and the in-memory jit caches are cleared before each pair
member, so compile times are real: every run is done twice; the first call is compile + run,
the second only runs. Prints seconds (imported/built-in) and the ratios ``t_imported /
t_builtin`` of ``total`` (lowering + compile + run against compile + run), compile and run
(1 = as fast).

    python benchmarks/frontends.py                                  # n = 4, 6, 8; L = 6 (~1 min)
    python benchmarks/frontends.py --qubits 2,3 --layers 2 --samples 20   # a tiny check
"""

from __future__ import annotations

import os

os.environ["BPDIAG_JAX_CACHE"] = "0"  # before bpdiag.engines.jax loads: no persistent cache

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

COSTS = ("global", "local")
SU2 = "qiskit:efficient_su2,entanglement=linear,skip_final_rotation_layer=True"


def _no_cache() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_enable_compilation_cache", False)


def rx_ring(n: int, layers: int):
    """BasicEntanglerLayers written natively: per layer RX(w) on every wire, then CNOT(i, i+1
    mod n) (one CNOT for n = 2, as PennyLane)."""
    from bpdiag.circuits._circuit import _Builder

    b = _Builder(n)
    for _ in range(layers):
        b.layer()
        for w in range(n):
            b.rot("RX", w)
        for i in range(n if n > 2 else n - 1):
            b.add("CNOT", (i, (i + 1) % n))
    return b.circuit("rx_ring", n_layers=layers)


def _twice(fn):
    """(first call s, second call s, result); the first call starts from empty jit caches."""
    import jax

    from bpdiag.engines import jax as je

    je.jitted.cache_clear()
    jax.clear_caches()
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = fn()
    return first, time.perf_counter() - t0, out


def _lowered(spec, qubits, layers):
    """(seconds, family of the pre-lowered circuits): the spec lowered at every grid size."""
    from bpdiag.frontends import circuit_family

    t0 = time.perf_counter()
    family = circuit_family(spec)
    built = {(n, layers): family(n, layers) for n in qubits}
    seconds = time.perf_counter() - t0

    def imported(n: int, L: int):
        return built[(n, L)]

    return seconds, imported


def _run(qubits, layers, samples, **which):
    from bpdiag.analyses.variance import variance

    return _twice(
        lambda: variance(qubits, (layers,), cost=COSTS, samples=samples, seed=0, **which).table
    )


def _gates(which, n, layers) -> int:
    from bpdiag.circuits import build
    from bpdiag.frontends import load_circuit

    if "circuit" in which:
        c = which["circuit"]
        return (c(n, layers) if callable(c) else load_circuit(c, n, layers)).n_gates
    opts = {}
    if "sparse_density" in which:
        opts = {"pattern": which["sparse_pattern"], "density": which["sparse_density"]}
    return build(which["ansatz"][0], n, layers, **opts).n_gates


def _closest_sparse(n: int, layers: int, target: int) -> float:
    from bpdiag.circuits import sparse_hea

    densities = np.linspace(0.05, 1.0, 20)
    counts = [sparse_hea(n, layers, pattern="random", density=d).n_gates for d in densities]
    return float(densities[int(np.argmin(np.abs(np.array(counts) - target)))])


def _check_equal(qubits, layers) -> None:
    from bpdiag.engines import jax as je
    from bpdiag.frontends import load_circuit

    for n in qubits:
        c, ref = load_circuit("pennylane:BasicEntanglerLayers", n, layers), rx_ring(n, layers)
        w = np.random.default_rng(n).uniform(-np.pi, np.pi, (3, c.n_params))
        np.testing.assert_allclose(je.simulate(c, w), je.simulate(ref, w), atol=1e-12)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qubits", default="4,6,8")
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--samples", type=int, default=200)
    args = ap.parse_args()
    qubits = tuple(int(q) for q in args.qubits.split(","))
    L, S = args.layers, args.samples
    _no_cache()
    _check_equal(qubits, L)
    n_max = max(qubits)
    ra = _gates({"circuit": "qiskit:real_amplitudes"}, n_max, L)
    density = _closest_sparse(n_max, L, ra)
    sparse = {"ansatz": ("sparse",), "sparse_pattern": "random", "sparse_density": density}
    pairs = [
        ("efficient_su2 vs dense", {"circuit": SU2}, {"ansatz": ("dense",)}),
        ("real_amplitudes vs sparse", {"circuit": "qiskit:real_amplitudes"}, sparse),
        ("BasicEntanglerLayers vs native", {"circuit": "pennylane:BasicEntanglerLayers"},
         {"circuit": rx_ring}),
    ]  # fmt: skip
    print(f"variance: qubits {qubits}, {L} layers, {S} samples, costs {COSTS}, JAX, no cache")
    print(f"gates at n = {n_max} (imported/built-in); seconds imported/built-in; ratio = imp/bi")
    head = f"{'pair':31s} {'gates':>9s} {'lower':>6s} {'compile':>11s} {'run':>11s}"
    print(head + f" {'total':>6s} {'compile':>7s} {'run':>5s}")
    for label, imported, builtin in pairs:
        g_imp, g_bi = _gates(imported, n_max, L), _gates(builtin, n_max, L)  # warms the imports
        lower, family = _lowered(imported["circuit"], qubits, L)
        f_i, r_i, t_i = _run(qubits, L, S, circuit=family)
        f_b, r_b, t_b = _run(qubits, L, S, **builtin)
        assert len(t_i) == len(t_b) and (t_i["var"] >= 0).all()
        print(
            f"{label:31s} {g_imp:>4d}/{g_bi:<4d} {lower:6.2f} {f_i - r_i:5.2f}/{f_b - r_b:<5.2f} "
            f"{r_i:5.2f}/{r_b:<5.2f} {(f_i + lower) / f_b:6.2f} {(f_i - r_i) / (f_b - r_b):7.2f} "
            f"{r_i / r_b:5.2f}"
        )


if __name__ == "__main__":
    main()
