"""Benchmark: the fused CPU engine (bpdiag.engines.fast) against the JAX engine, lightning.qubit
and qulacs on the same circuit, side by side in one run.

Circuit (issue 18): dense HEA (RY, RZ on every qubit, CZ chain), 10 layers, global cost.
Work per sample: (a) one parameter's derivative (the middle one) by its parameter-shift pair;
(b) every parameter's derivative: ours and lightning.qubit by the adjoint method, qulacs by its
``backprop``, the JAX engine by its adjoint ``custom_vjp``. Every reference's derivatives are
checked equal to ours before its time is printed. Compile (JIT) time is excluded everywhere:
each method runs once before it is timed. On a shared machine the load changes while the
benchmark runs, so the methods are timed in interleaved rounds (``--rounds``) and each one's
best round is kept: every ratio compares times taken under the same conditions.

The memory-traffic floor: the bytes our passes move (each pass reads and writes the state once;
the adjoint moves the state and the cotangent), divided by the bandwidth of a numpy copy of the
same state measured in this run; ``floor / ours`` is the fraction of bandwidth reached.

    python benchmarks/fast.py                       # n = 16, 18, 20 (about 2-3 min on 2 cores)
    python benchmarks/fast.py --sizes 14,16 --samples 3
    python benchmarks/fast.py --skip jax,lightning  # drop references (jax, lightning, qulacs)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

LAYERS = 10


def _best(fn, repeat: int) -> float:
    """Smallest wall time of ``repeat`` calls (after one untimed warm-up call)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bandwidth(n: int) -> float:
    """Bytes per second of ``np.copyto`` on a complex128 state of n qubits (read + write)."""
    a = np.ones(2**n, dtype=complex)
    b = np.empty_like(a)
    t = _best(lambda: np.copyto(b, a), 5)
    return 2 * a.nbytes / t


def call_overhead() -> tuple[str, float]:
    """(threading layer, seconds per call) of a parallel kernel on an 8-amplitude state."""
    import numba

    from bpdiag.engines import _fast_kernels as K

    x, out = np.ones(8), np.empty(8)
    nch = numba.get_num_threads()
    K.probabilities(x, x, out, nch)
    t0 = time.perf_counter()
    for _ in range(2000):
        K.probabilities(x, x, out, nch)
    return numba.threading_layer(), (time.perf_counter() - t0) / 2000


def traffic(pl, which: str, p: int) -> float:
    """Bytes our passes move for one sample (16-byte amplitudes)."""
    state = 16 * 2**pl.N
    P = len(pl.passes)
    if which == "shift":
        p0 = int(pl.first_pass[np.nonzero(pl.pm[p])[0][0]])
        return state * (2 * p0 + 2 * (2 * (P - p0) + 2) + 2)  # prefix, two suffixes, copies
    return state * (2 * P + 4 * P + 4)  # forward; backward on state + cotangent; copies


def ours(c, params, p):
    """Callables of our shift pair and adjoint (all samples per call), and our gradient."""
    from bpdiag.engines import fast as fe

    g = fe.gradient(c, params)[:, :, 0]
    return (
        lambda: fe.shift_gradient(c, params, param=p),
        lambda: fe.gradient(c, params),
        g,
    )


def jax_engine(c, theta, p, g):
    import jax.numpy as jnp

    from bpdiag.engines import jax as je
    from bpdiag.engines._batch import shifted_angles
    from bpdiag.engines._program import Program, gate_kernels, lower

    kernels = gate_kernels(c)
    prog = lower(c, kernels=kernels)
    angles = theta[None] @ prog.pm + prog.const
    gates = np.nonzero(prog.pm[p])[0]
    rows = jnp.asarray(shifted_angles(angles, gates))
    f = je.jitted("angles", kernels, c.n_qubits, "complex128")
    jp = Program(*(jnp.asarray(t) for t in prog))
    obs, _ = je.observables_for(["global"], c.n_qubits)

    def shift():
        return np.asarray(f(jp, rows, obs, c.n_gates))

    v = shift()[:, 0]
    assert abs((v[0] - v[1]) / 2 - g[p]) < 1e-9, "JAX shift pair disagrees"
    assert np.allclose(je.gradient(c, theta)[0, :, 0], g, atol=1e-9), "JAX adjoint disagrees"
    return shift, lambda: je.gradient(c, theta)


def lightning(c, theta, g):
    from bpdiag.engines import pennylane as pe

    def run():
        dev = "lightning.qubit"
        return pe.gradient(c, theta, costs="global", device=dev, diff_method="adjoint")

    assert np.allclose(run()[0, :, 0], g, atol=1e-9), "lightning.qubit disagrees"
    return run


def qulacs(c, theta, p, g):
    """qulacs on the same circuit: wire w is qulacs qubit n-1-w; qulacs rotations are
    exp(+i t P / 2), so every angle is negated."""
    from qulacs import Observable, ParametricQuantumCircuit, QuantumState

    n = c.n_qubits
    qc = ParametricQuantumCircuit(n)
    angles = c.angles(theta)
    gate_of_param = {}
    for k, (gate, wires) in enumerate(zip(c.gates, c.wires)):
        q = [n - 1 - w for w in wires]
        if gate in ("RY", "RZ"):
            src = c.sources[k][0]
            gate_of_param[src.index] = qc.get_parameter_count()
            getattr(qc, f"add_parametric_{gate}_gate")(q[0], -angles[k])
        elif gate == "CZ":
            qc.add_CZ_gate(q[0], q[1])
        else:
            raise ValueError(f"qulacs benchmark: unexpected gate {gate}")
    obs = Observable(n)
    obs.add_operator(1.0, " ".join(f"Z {q}" for q in range(n)))
    state = QuantumState(n)
    k = gate_of_param[p]
    base = qc.get_parameter(k)

    def pair():
        out = []
        for sign in (1, -1):
            qc.set_parameter(k, base - sign * np.pi / 2)
            state.set_zero_state()
            qc.update_quantum_state(state)
            out.append(obs.get_expectation_value(state))
        qc.set_parameter(k, base)
        return (out[0] - out[1]) / 2

    assert abs(pair() - g[p]) < 1e-9, "qulacs shift pair disagrees"
    back = -np.asarray(qc.backprop(obs))
    assert np.allclose([back[gate_of_param[i]] for i in range(c.n_params)], g, atol=1e-9)
    return pair, lambda: qc.backprop(obs)


def _rounds(methods: dict, per: dict, rounds: int) -> dict:
    """Best seconds per sample of every method over interleaved rounds."""
    best = {k: float("inf") for k in methods}
    for fn in methods.values():
        fn()  # warm-up (JIT, caches)
    for _ in range(rounds):
        for k, fn in methods.items():
            t0 = time.perf_counter()
            fn()
            best[k] = min(best[k], (time.perf_counter() - t0) / per[k])
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="16,18,20", help="qubit counts, comma-separated")
    ap.add_argument("--samples", type=int, default=2, help="samples per call of ours")
    ap.add_argument("--skip", default="", help="references to skip: jax,lightning,qulacs")
    ap.add_argument("--dtype", default="complex128", choices=["complex128", "complex64"])
    ap.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    args = ap.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    from bpdiag.circuits import dense_hea
    from bpdiag.engines import fast as fe

    layer, per_call = call_overhead()
    print(f"threading layer {layer}: {per_call * 1e6:.1f} us per parallel call")
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        c = dense_hea(n, LAYERS)
        p = c.n_params // 2
        params = np.random.default_rng(n).uniform(0, 2 * np.pi, (args.samples, c.n_params))
        shift, adjoint, g = ours(c, params, p)
        methods = {"ours shift": shift, "ours adjoint": adjoint}
        if args.dtype == "complex64":
            methods["ours adjoint c64"] = lambda c=c, params=params: fe.gradient(
                c, params, dtype="complex64"
            )
        if "jax" not in skip:
            methods["jax shift"], methods["jax adjoint"] = jax_engine(c, params[0], p, g[0])
        if "lightning" not in skip:
            methods["lightning adjoint"] = lightning(c, params[0], g[0])
        if "qulacs" not in skip:
            try:
                methods["qulacs shift"], methods["qulacs backprop"] = qulacs(c, params[0], p, g[0])
            except ImportError:
                skip.add("qulacs")
                print("qulacs is not installed (pip install bpdiag[benchmark]); skipped")
        per = {k: (args.samples if k.startswith("ours") else 1) for k in methods}
        r = {"n": n, **_rounds(methods, per, args.rounds)}
        bw = bandwidth(n)
        pl = fe.plan(c)
        r["floor shift"] = traffic(pl, "shift", p) / bw
        r["floor adjoint"] = traffic(pl, "adjoint", p) / bw
        r["copy GB/s"] = bw / 1e9
        rows.append(r)
        print(_line(r), flush=True)
    print("\nratios (reference time / ours, measured in this run):")
    for r in rows:
        parts = [f"n={r['n']}"]
        for ref, mine in (
            ("jax shift", "ours shift"),
            ("qulacs shift", "ours shift"),
            ("jax adjoint", "ours adjoint"),
            ("lightning adjoint", "ours adjoint"),
            ("qulacs backprop", "ours adjoint"),
        ):
            if ref in r:
                parts.append(f"{ref}/{mine}: {r[ref] / r[mine]:.1f}x")
        parts.append(f"bandwidth reached: shift {r['floor shift'] / r['ours shift']:.0%}")
        parts.append(f"adjoint {r['floor adjoint'] / r['ours adjoint']:.0%}")
        print("  " + ", ".join(parts))


def _line(r: dict) -> str:
    return (
        "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.items())
        + "  (seconds per sample)"
    )


if __name__ == "__main__":
    main()
