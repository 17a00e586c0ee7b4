"""Benchmark: two ways to measure a Pauli-sum cost on the JAX engine, side by side.

* ``rotate``: one run of the circuit per qubit-wise commuting group, each followed by its basis
  change, measuring the group's Z strings (:func:`bpdiag.engines._observe.measured`);
* ``direct``: one run of the circuit, then every Pauli string applied to the final state
  (per flip mask a reversal of axes and a diagonal: :func:`bpdiag.engines._observe.pauli_table`).

Cost: ``heisenberg`` (three groups: the XX, YY and ZZ bonds; n flip masks). Circuit: dense HEA,
``--layers`` layers; ``--samples`` parameter draws per call. Both methods are checked equal
(1e-10) before any time is reported; each jitted function is called once to compile, then timed
(best of ``--repeat``); every program shares one kernel set and one padded length, so each
method compiles once per n. Expectations (forward) and, with ``--gradients``, all-parameter
gradients (adjoint) are timed apart. Prints seconds per call and the ratio
``t_rotate / t_direct`` (> 1: direct is faster).

    python benchmarks/observables.py                   # n = 8..14, 4 layers, 32 samples
    python benchmarks/observables.py --gradients       # and the adjoint gradients
    python benchmarks/observables.py --qubits 8,10 --layers 2 --samples 8   # a tiny check
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _best(fn, repeat: int) -> tuple[float, np.ndarray]:
    out = np.asarray(fn())  # compile (and run once)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = np.asarray(fn())
        times.append(time.perf_counter() - t0)
    return min(times), out


def _programs(circuits):
    """Gate tables of ``circuits`` on one kernel set, padded to the longest: one compiled
    function serves them all (compile time is not what is measured here)."""
    import jax.numpy as jnp

    from bpdiag.engines._program import Program, gate_kernels, lower

    kernels = tuple(sorted({k for c in circuits for k in gate_kernels(c)}))
    G = max(c.n_gates for c in circuits)
    progs = [lower(c, kernels=kernels, n_gates=G) for c in circuits]
    return [Program(*(jnp.asarray(t) for t in p)) for p in progs], kernels


def measure(
    n: int, layers: int, samples: int, repeat: int, cost: str = "heisenberg", grads: bool = False
) -> dict:
    """Seconds per call of both methods (expectations; with ``grads`` also all-parameter
    gradients) on one circuit size."""
    import jax.numpy as jnp

    from bpdiag.circuits import dense_hea
    from bpdiag.engines import jax as je
    from bpdiag.engines._observe import measured

    circuit = dense_hea(n, layers)
    rng = np.random.default_rng(n)
    params = jnp.asarray(rng.uniform(0, 2 * np.pi, (samples, circuit.n_params)))
    x = jnp.zeros((samples, 0))
    constant, parts = measured(circuit, cost)
    progs, kernels = _programs([circuit] + [cg for cg, _ in parts])
    # direct: one run, the cost's flip masks and diagonals
    obs, masks = je.observables_for((cost,), n)
    # rotate: one run per group, each measuring the group's Z strings as a diagonal
    diags = [je.observables_for((diag,), n)[0] for _, diag in parts]
    out = {"n": n}
    kinds = ("expvals", "jac_params") if grads else ("expvals",)
    for kind in kinds:
        f_dir = je.jitted(kind, kernels, n, "complex128", masks)
        f_rot = je.jitted(kind, kernels, n, "complex128")
        t_dir, v_dir = _best(lambda f=f_dir: f(progs[0], params, x, obs)[..., 0], repeat)
        shift = constant if kind == "expvals" else 0.0

        def rotated(f=f_rot, shift=shift):
            return sum(f(p, params, x, d)[..., 0] for p, d in zip(progs[1:], diags)) + shift

        t_rot, v_rot = _best(rotated, repeat)
        np.testing.assert_allclose(v_dir, v_rot, atol=1e-10)
        out |= {f"{kind}_rotate": t_rot, f"{kind}_direct": t_dir}
    return out


def _ints(text: str) -> list[int]:
    if ".." in text:
        a, b = text.split("..")
        return list(range(int(a), int(b) + 1))
    return [int(v) for v in text.split(",")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qubits", default="8..14")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cost", default="heisenberg")
    ap.add_argument("--gradients", action="store_true", help="also time adjoint gradients")
    args = ap.parse_args()
    print(
        f"dense HEA, {args.layers} layers, {args.samples} samples, cost {args.cost}; seconds "
        f"per call (best of {args.repeat}); ratio = rotate / direct (> 1: direct is faster)"
    )
    kinds = ("expvals", "jac_params") if args.gradients else ("expvals",)
    head = "".join(f" {k + ' rotate':>18} {'direct':>9} {'ratio':>6}" for k in kinds)
    print(f"{'n':>3}{head}")
    for n in _ints(args.qubits):
        r = measure(n, args.layers, args.samples, args.repeat, args.cost, args.gradients)
        cells = ""
        for k in kinds:
            rot, dire = r[f"{k}_rotate"], r[f"{k}_direct"]
            cells += f" {rot:>18.4f} {dire:>9.4f} {rot / dire:>6.2f}"
        print(f"{n:>3}{cells}", flush=True)


if __name__ == "__main__":
    main()
