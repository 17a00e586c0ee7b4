"""Benchmark: the gradient-variance grid through bpdiag and through PennyLane, side by side.

Grid (DESIGN.md): dense HEA, 10 layers, derivative of the middle parameter, n = 2..8, 200 samples,
global and local cost. Every method does the same work: the derivative of the middle parameter
only, of both costs, on the same parameter draws; the gradients are checked equal to bpdiag's
before any time is reported.

Compilation and running are timed apart, with JAX's persistent compilation cache off
(``BPDIAG_JAX_CACHE=0`` and ``jax_enable_compilation_cache=False``, set before bpdiag loads), so
the compile time is the real one: each jitted method runs twice in this process; the first call
is compile + run, the second (in-memory jit cache only) is the run.

    python benchmarks/variance.py                    # the whole grid for every method (~10 min)
    python benchmarks/variance.py --ref-samples 20   # references on 20 samples, scaled to 200
    python benchmarks/variance.py --qubits 2,3 --layers 2 --samples 8   # a tiny check
    python benchmarks/variance.py --n20              # also n = 20, 10 layers, 100 samples, global

Prints, measured in this one run, compile and run seconds of every method and the ratios
``t_reference / t_bpdiag`` of run times and of totals for (a) default.qubit, one
``qml.jacobian`` (backprop) per sample, (b) lightning.qubit adjoint, one call per sample, (c)
default.qubit under ``jax.jit(jax.vmap(jax.jacrev))``.
"""

from __future__ import annotations

import os

os.environ["BPDIAG_JAX_CACHE"] = "0"  # before bpdiag.engines.jax loads: no persistent cache

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

COSTS = ("global", "local")


def _no_cache() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)  # complex128, as bpdiag
    jax.config.update("jax_enable_compilation_cache", False)


def _draws(qubits, layers, samples, seed=0):
    from bpdiag._resources import point_seed
    from bpdiag.analyses.variance import draw
    from bpdiag.circuits import dense_hea

    out = {}
    for n in qubits:
        c = dense_hea(n, layers)
        rng = np.random.default_rng(point_seed(seed, "dense", n, layers, "middle", "uniform"))
        out[n] = (c, draw(c, samples, "uniform", rng)[0])
    return out


def _twice(fn):
    """(compile s, run s, result): the first call compiles and runs, the second only runs."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = fn()
    run = time.perf_counter() - t0
    return max(first - run, 0.0), run, out


def run_bpdiag(qubits, layers, samples):
    from bpdiag.analyses.variance import variance

    return _twice(lambda: variance(qubits, (layers,), ("dense",), COSTS, samples, seed=0).table)


def _middle_qnode(c, device, diff_method, interface):
    """A QNode of the middle parameter t alone (the others fixed), measuring both costs."""
    import pennylane as qml

    from bpdiag.engines.pennylane import apply_circuit, measurement

    p = c.n_params // 2
    dev = qml.device(device, wires=c.n_qubits)

    @qml.qnode(dev, interface=interface, diff_method=diff_method)
    def f(t, rest):
        apply_circuit(c, [t if i == p else rest[i] for i in range(c.n_params)])
        return tuple(measurement(cost, c.n_qubits) for cost in COSTS)

    return f, p


def run_pl_loop(draws, n_samples, device, diff_method):
    """One ``qml.jacobian`` call per sample: d(global, local)/d(middle parameter)."""
    import pennylane as qml
    from pennylane import numpy as pnp

    t0 = time.perf_counter()
    grads = {}
    for n, (c, params) in draws.items():
        f, p = _middle_qnode(c, device, diff_method, "autograd")

        def both(t, rest, f=f):
            return qml.math.stack(f(t, rest))

        jac = qml.jacobian(both, argnums=0)
        rows = []
        for theta in params[:n_samples]:
            rest = pnp.array(theta, requires_grad=False)
            rows.append(np.asarray(jac(pnp.array(theta[p], requires_grad=True), rest)))
        grads[n] = np.array(rows)
    return time.perf_counter() - t0, grads


def run_pl_jax(draws, n_samples):
    """``jax.jit(jax.vmap(jax.jacrev))`` of the middle parameter, both costs, per qubit count."""
    import jax
    import jax.numpy as jnp

    fns = {}
    for n, (c, _) in draws.items():
        f, p = _middle_qnode(c, "default.qubit", "backprop", "jax")
        g = jax.jacrev(lambda t, rest, f=f: jnp.stack(f(t, rest)))
        fns[n] = (jax.jit(jax.vmap(g)), p)

    def once():
        out = {}
        for n, (_, params) in draws.items():
            fn, p = fns[n]
            theta = jnp.asarray(params[:n_samples])
            out[n] = np.asarray(fn(theta[:, p], theta))
        return out

    return _twice(once)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qubits", default="2..8", help="2..8 or 2,3")
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument(
        "--ref-samples",
        type=int,
        default=None,
        help="samples per point for the PennyLane loops (a, b); times scaled to --samples",
    )
    ap.add_argument("--skip", default="", help="comma-separated references to skip: a,b,c")
    ap.add_argument("--n20", action="store_true", help="also time n = 20, 10 layers, 100 samples")
    args = ap.parse_args()
    _no_cache()
    from bpdiag.analyses.variance import summarize
    from bpdiag.engines import jax as je

    lo, _, hi = args.qubits.partition("..")
    qubits = tuple(range(int(lo), int(hi) + 1)) if hi else tuple(map(int, lo.split(",")))
    layers, samples = args.layers, args.samples
    ref_samples = args.ref_samples or samples
    n_grads = len(qubits) * samples * len(COSTS)

    c_ours, r_ours, df = run_bpdiag(qubits, layers, samples)
    draws = _draws(qubits, layers, samples)
    rows = [("bpdiag (jax engine)", c_ours, r_ours)]
    refs = {
        "a": (
            "PennyLane default.qubit, qml.jacobian per sample",
            lambda: run_pl_loop(draws, ref_samples, "default.qubit", "backprop"),
        ),
        "b": (
            "PennyLane lightning.qubit, adjoint per sample",
            lambda: run_pl_loop(draws, ref_samples, "lightning.qubit", "adjoint"),
        ),
        "c": ("PennyLane default.qubit, jit(vmap(jacrev))", None),
    }
    scale = samples / ref_samples
    for key, (label, fn) in refs.items():
        if key in args.skip.split(","):
            continue
        if key == "c":
            compile_s, run_s, grads = run_pl_jax(draws, samples)
            m = samples
        else:
            run_s, grads = fn()
            compile_s, m = 0.0, ref_samples
            run_s *= scale
        # Same draws, same derivative: check against bpdiag before reporting any time.
        for n in qubits:
            c, params = draws[n]
            ours = je.gradient(c, params[:m], costs=COSTS)[:, c.n_params // 2, :]
            assert np.allclose(ours, grads[n], atol=1e-9), (key, n)
            if m == samples:
                for k, cost in enumerate(COSTS):
                    mine = df[(df.n_qubits == n) & (df.cost == cost)]["var"].iloc[0]
                    assert np.isclose(summarize(grads[n][:, k : k + 1])["var"], mine, rtol=1e-8)
        rows.append((label, compile_s, run_s))
    print(
        f"{n_grads} gradient samples: dense HEA, n = {args.qubits}, {layers} layers, "
        f"middle parameter, global + local; JAX compilation cache off"
    )
    head = f"{'method':50s} {'compile s':>9s} {'run s':>8s} {'total s':>8s}"
    print(f"\n{head} {'run ratio':>9s} {'total ratio':>11s}")
    for label, cs, rs in rows:
        ratio_run, ratio_total = rs / r_ours, (cs + rs) / (c_ours + r_ours)
        print(
            f"{label:50s} {cs:9.2f} {rs:8.2f} {cs + rs:8.2f} {ratio_run:8.1f}x {ratio_total:10.1f}x"
        )
    if ref_samples != samples:
        print(
            f"(loops a, b ran {ref_samples} samples per point, times scaled by {scale:g}; "
            "gradients checked equal to bpdiag's on those samples)"
        )
    if args.n20:
        from bpdiag.analyses.variance import variance

        t0 = time.perf_counter()
        d20 = variance((20,), (10,), ("dense",), ("global",), 100, seed=0).table
        t20 = time.perf_counter() - t0
        print(
            f"\nn = 20, 10 layers, 100 samples, global cost: {t20:.1f} s incl. compile "
            f"(Var = {d20['var'].iloc[0]:.3e} ± {d20['var_se'].iloc[0]:.1e}; "
            f"Haar value {2.0**-21:.3e})"
        )


if __name__ == "__main__":
    main()
