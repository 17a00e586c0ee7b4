"""Speed of the Lie audit at any size, side by side (one run, same machine, same generators).

1. Pauli-string generators: the classification (bpdiag.analyses.lie.classify, from the
   anticommutation graph) against enumeration of the closure (bpdiag.circuits.pauli.lie_closure)
   and against PennyLane's ``qml.lie_closure(pauli=True)``, on chain families of Wiersema et al.
   2023 and the dense HEA frame; then the classification alone up to n = 100.
2. Pauli-sum generators (Heisenberg bonds XX + YY + ZZ as one generator each; XY hopping
   XX + YY): our closure (bpdiag.analyses.lie.dla._float_closure) against ``qml.lie_closure``.
3. ``bpdiag lie --ansatz dense`` over n = 2..100 (library call, statevector numerics off).

Prints times (s) and ratios. Usage: python benchmarks/lie.py [--quick]
"""

from __future__ import annotations

import argparse
import importlib
import time

import numpy as np
import pennylane as qml

from bpdiag.analyses import lie
from bpdiag.circuits import dense_hea
from bpdiag.circuits import pauli as pa

cl = importlib.import_module("bpdiag.analyses.lie.classify")
dla_mod = importlib.import_module("bpdiag.analyses.lie.dla")


def _timed(f, *a, **k):
    t0 = time.perf_counter()
    out = f(*a, **k)
    return time.perf_counter() - t0, out


def chain(words, n, ring=False):
    bonds = [(i, i + 1) for i in range(n - 1)] + ([(n - 1, 0)] if ring else [])
    return sorted(
        {
            pa.int_from_wires({q: c for q, c in zip(b, w) if c != "I"}, n)
            for w in words
            for b in bonds
        }
    )


FAMILIES = {
    "tfim_open": lambda n: chain(["ZZ"], n) + [pa.int_from_wires({i: "X"}, n) for i in range(n)],
    "heisenberg_open": lambda n: chain(["XX", "YY", "ZZ"], n),
    "xx_xz_ring": lambda n: chain(["XX", "XZ"], n, ring=True),
    "dense_hea_L2": lambda n: list(lie.dla(dense_hea(n, 2)).generators),
}


def _sentence(key, n):
    word = {w: c for w, c in enumerate(pa.label(key, n)) if c != "I"}
    return qml.pauli.PauliSentence({qml.pauli.PauliWord(word): 1.0})


def strings(ns, qml_max):
    print("1. Pauli-string generators: classification | enumeration | qml.lie_closure")
    print(
        f"{'family':>16} {'n':>3} {'dim':>12} {'classify':>9} {'enumerate':>10} {'qml':>9}"
        f" {'enum/cls':>9} {'qml/cls':>9}"
    )
    for name, gen in FAMILIES.items():
        for n in ns:
            keys = gen(n)
            tc, c = _timed(cl.classify_strings, keys, n)
            te, ref = _timed(pa.lie_closure, np.array(keys, np.uint64), n)
            assert len(ref) == c.dim, (name, n)
            tq = float("nan")
            if n <= qml_max:
                tq, q = _timed(qml.lie_closure, [_sentence(k, n) for k in keys], pauli=True)
                assert len(q) == c.dim
            print(
                f"{name:>16} {n:>3} {c.dim:>12} {tc:>9.3f} {te:>10.3f} {tq:>9.3f}"
                f" {te / tc:>9.1f} {tq / tc:>9.1f}"
            )


def large(ns):
    print("\n   classification alone (enumeration would hold 4^n strings)")
    for name, gen in FAMILIES.items():
        for n in ns:
            keys = gen(n)
            tc, c = _timed(cl.classify_strings, keys, n)
            print(f"{name:>16} n={n:>3} {c.kind:>16} log2(dim)={c.log2_dim:8.3f} {tc:7.3f} s")


def sums(sizes, qml_max):
    print("\n2. Pauli-sum generators: ours (_float_closure) | qml.lie_closure")
    print(f"{'family':>16} {'n':>3} {'dim':>7} {'ours':>8} {'qml':>9} {'qml/ours':>9}")
    for name, words in (("heisenberg_bonds", "XYZ"), ("xy_hopping", "XY")):
        for n in sizes[name]:
            gens, qgens = [], []
            for i in range(n - 1):
                ks = np.array(sorted(pa.from_wires({i: p, i + 1: p}, n) for p in words), np.uint64)
                gens.append((ks, np.ones(len(ks))))
                qgens.append(
                    qml.pauli.PauliSentence(
                        {qml.pauli.PauliWord({i: p, i + 1: p}): 1.0 for p in words}
                    )
                )
            to, (_, Q) = _timed(dla_mod._float_closure, gens, n)
            tq = float("nan")
            if n <= qml_max:
                tq, q = _timed(qml.lie_closure, qgens, pauli=True)
                assert len(q) == len(Q), (name, n, len(q), len(Q))
            print(f"{name:>16} {n:>3} {len(Q):>7} {to:>8.2f} {tq:>9.2f} {tq / to:>9.1f}")


def cli_grid(top):
    t, res = _timed(
        lie.lie, ("dense",), tuple(range(2, top + 1)), (2,), samples=0, numeric_qubits=0
    )
    full = all(int(d) == 4**n - 1 for n, d in zip(res.table["n_qubits"], res.table["dla_dim"]))
    print(
        f"\n3. lie(dense, n = 2..{top}, L = 2, deep L = 50, numerics off): {t:.1f} s "
        f"({t / (top - 1):.2f} s per n); every DLA su(2^n): {full}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes (about 30 s)")
    args = ap.parse_args()
    if args.quick:
        strings((4, 6), 4)
        large((20, 100))
        sums({"heisenberg_bonds": (4, 5, 6), "xy_hopping": (4, 6, 10)}, 6)
        cli_grid(40)
    else:
        strings((4, 6, 8), 6)
        large((20, 50, 100))
        sums({"heisenberg_bonds": (4, 5, 6, 7), "xy_hopping": (4, 6, 8, 10)}, 7)
        cli_grid(100)


if __name__ == "__main__":
    main()
