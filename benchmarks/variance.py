"""Benchmark: the gradient-variance grid through bpdiag and through PennyLane, side by side.

Grid (DESIGN.md): dense HEA, 10 layers, derivative of the middle parameter, n = 2..8, 200 samples,
global and local cost. Every method differentiates the same parameter draws, and the gradients
are checked equal before any time is reported. Times include compilation.

    python benchmarks/variance.py                 # the whole grid for every method (~10 min)
    python benchmarks/variance.py --ref-samples 20  # references on 20 samples, scaled to 200
    python benchmarks/variance.py --n20           # also n = 20, 10 layers, 100 samples, global

Prints ``speedup = t_reference / t_bpdiag`` for (a) default.qubit one qml.grad per sample,
(b) lightning.qubit adjoint one call per sample, (c) default.qubit under
jax.jit(jax.vmap(jax.grad)).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


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


def run_bpdiag(qubits, layers, samples):
    from bpdiag.analyses.variance import variance

    t0 = time.perf_counter()
    df = variance(qubits, (layers,), ("dense",), ("global", "local"), samples, seed=0)
    return time.perf_counter() - t0, df


def run_pl_loop(draws, n_samples, device, diff_method):
    from bpdiag.engines import pennylane as pe

    t0 = time.perf_counter()
    grads = {}
    for n, (c, params) in draws.items():
        p = c.n_params // 2
        g = pe.gradient(
            c, params[:n_samples], costs=("global", "local"), device=device, diff_method=diff_method
        )
        grads[n] = g[:, p, :]
    return time.perf_counter() - t0, grads


def run_pl_jax(draws, n_samples):
    import jax
    import jax.numpy as jnp
    import pennylane as qml

    from bpdiag.engines.pennylane import apply_circuit, measurement

    t0 = time.perf_counter()
    grads = {}
    for n, (c, params) in draws.items():
        p = c.n_params // 2
        cols = []
        for cost in ("global", "local"):
            dev = qml.device("default.qubit", wires=n)

            @qml.qnode(dev, interface="jax", diff_method="backprop")
            def f(theta, c=c, cost=cost):
                apply_circuit(c, theta)
                return measurement(cost, c.n_qubits)

            g = jax.jit(jax.vmap(jax.grad(f)))(jnp.asarray(params[:n_samples]))
            cols.append(np.asarray(g)[:, p])
        grads[n] = np.stack(cols, axis=1)
    return time.perf_counter() - t0, grads


def _pl_jax_worker(queue, qubits, layers, samples, n_samples):
    import jax

    jax.config.update("jax_enable_x64", True)  # complex128, as bpdiag
    queue.put(run_pl_jax(_draws(qubits, layers, samples), n_samples))


def _with_timeout(args: tuple, seconds: float):
    """Run reference (c) in a fresh process; (seconds, None) if it does not finish in time."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_pl_jax_worker, args=(queue, *args))
    t0 = time.perf_counter()
    proc.start()
    while proc.is_alive() and time.perf_counter() - t0 < seconds:
        try:
            return queue.get(timeout=1.0)
        except Exception:
            continue
    proc.kill()
    return time.perf_counter() - t0, None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--ref-samples",
        type=int,
        default=200,
        help="samples per point for the PennyLane references (times scaled to 200)",
    )
    ap.add_argument("--skip", default="", help="comma-separated references to skip: a,b,c")
    ap.add_argument("--n20", action="store_true", help="also time n = 20, 10 layers, 100 samples")
    ap.add_argument(
        "--timeout",
        type=float,
        default=600,
        help="seconds before reference (c) is stopped (its ratio is then a bound)",
    )
    args = ap.parse_args()
    qubits, layers, samples = tuple(range(2, 9)), 10, 200

    t_ours, df = run_bpdiag(qubits, layers, samples)
    print(
        f"bpdiag (jax engine, incl. compile): {t_ours:8.2f} s for {len(qubits) * samples * 2} "
        "gradient samples"
    )
    draws = _draws(qubits, layers, samples)
    from bpdiag.analyses.variance import summarize

    refs = {
        "a": (
            "PennyLane default.qubit, qml.grad per sample",
            lambda: run_pl_loop(draws, args.ref_samples, "default.qubit", "backprop"),
        ),
        "b": (
            "PennyLane lightning.qubit, adjoint per sample",
            lambda: run_pl_loop(draws, args.ref_samples, "lightning.qubit", "adjoint"),
        ),
        "c": (
            "PennyLane default.qubit, jax.jit(jax.vmap(jax.grad))",
            lambda: run_pl_jax(draws, args.ref_samples),
        ),
    }
    scale = samples / args.ref_samples
    print(f"\n{'reference':55s} {'measured s':>10s} {'for 200 s':>10s} {'speedup':>8s}")
    for key, (label, fn) in refs.items():
        if key in args.skip.split(","):
            continue
        if key == "c":
            t, grads = _with_timeout((qubits, layers, samples, args.ref_samples), args.timeout)
        else:
            t, grads = fn()
        if grads is None:  # timed out: the ratio is a lower bound
            print(
                f"{label:55s} {'>' + format(t, '.0f'):>10s} {'>' + format(t, '.0f'):>10s} "
                f"{'>' + format(t / t_ours, '.0f'):>7s}x  (stopped after {t:.0f} s)",
                flush=True,
            )
            continue
        # Same draws, same gradients: check against bpdiag before reporting any time.
        from bpdiag.engines import jax as je

        for n in qubits:
            c, params = draws[n]
            ours = je.gradient(c, params[: args.ref_samples], costs=("global", "local"))
            assert np.allclose(ours[:, c.n_params // 2, :], grads[n], atol=1e-9), (key, n)
            if args.ref_samples == samples:
                for k, cost in enumerate(("global", "local")):
                    mine = df[(df.n_qubits == n) & (df.cost == cost)]["var"].iloc[0]
                    assert np.isclose(summarize(grads[n][:, k : k + 1])["var"], mine, rtol=1e-8)
        t_full = t * scale if key != "c" else t  # (c) is vmapped: its time barely grows
        print(f"{label:55s} {t:10.2f} {t_full:10.2f} {t_full / t_ours:8.1f}x", flush=True)
    if args.ref_samples != samples:
        print(
            f"(references ran {args.ref_samples} samples per point; loop times scaled by "
            f"{scale:g}; gradients checked equal to bpdiag's on those samples)"
        )
    if args.n20:
        from bpdiag.analyses.variance import variance

        t0 = time.perf_counter()
        d20 = variance((20,), (10,), ("dense",), ("global",), 100, seed=0)
        t20 = time.perf_counter() - t0
        print(
            f"\nn = 20, 10 layers, 100 samples, global cost: {t20:.1f} s "
            f"(Var = {d20['var'].iloc[0]:.3e} ± {d20['var_se'].iloc[0]:.1e}; "
            f"Haar value {2.0**-21:.3e})"
        )


if __name__ == "__main__":
    main()
