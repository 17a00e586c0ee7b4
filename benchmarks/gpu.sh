#!/usr/bin/env bash
# GPU checks and timings for bpdiag (issue 10), in one short run.
#
# On a machine with an NVIDIA GPU this script
#   1. records the machine (nvidia-smi, package versions, JAX/torch/PennyLane devices);
#   2. installs what the GPU path needs, where the network allows (pennylane-lightning-gpu,
#      CUDA-enabled jax and torch); a failed install is recorded, not fatal;
#   3. runs the engine cross-checks on the GPU: the JAX statevector and density-matrix engines
#      against PennyLane (default.qubit, default.mixed) to 1e-10 in complex128, lightning.gpu
#      against the JAX engine, the torch engine on CUDA against the JAX engine, then the test
#      files tests/test_engines.py, tests/test_noise.py and tests/test_devices.py;
#   4. times `variance` (dense HEA, n = 20..26) on the GPU against the CPU engine (same process
#      code, JAX_PLATFORMS=cpu), lightning.gpu against lightning.qubit, and one training epoch
#      with `--torch-device cuda` against `--torch-device cpu`;
#   5. writes OUT/gpu_report.md and OUT/gpu_report.json (every number, with speed ratios).
#
# Usage:
#   benchmarks/gpu.sh [--out DIR] [--no-install] [--cpu-only] [--quick] [--budget SECONDS]
#     --out DIR       where the report goes (default: $OUT if set, else results/gpu)
#     --no-install    do not pip install anything
#     --cpu-only      skip every step that needs CUDA (checks this script's logic on any machine)
#     --quick         tiny sizes (n = 8..10, short tests): a dry run in about a minute
#     --budget S      stop starting new timing steps after S seconds in all (default 480)
# Environment: PYTHON (default: .venv/bin/python if present, else python3).
set -uo pipefail

cd "$(dirname "$0")/.."
OUT_DIR="${OUT:-results/gpu}"
INSTALL=1
CPU_ONLY=0
QUICK=0
BUDGET=480
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT_DIR="$2"; shift 2 ;;
        --no-install) INSTALL=0; shift ;;
        --cpu-only) CPU_ONLY=1; INSTALL=0; shift ;;
        --quick) QUICK=1; shift ;;
        --budget) BUDGET="$2"; shift 2 ;;
        -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
        *) echo "gpu.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
if [ -n "${PYTHON:-}" ]; then PY="$PYTHON"
elif [ -x .venv/bin/python ]; then PY=.venv/bin/python
else PY=python3
fi
mkdir -p "$OUT_DIR/parts"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
PARTS="$OUT_DIR/parts"
LOG="$OUT_DIR/gpu_log.txt"
: > "$LOG"
START=$(date +%s)
export BPDIAG_GPU_QUICK=$QUICK BPDIAG_GPU_CPU_ONLY=$CPU_ONLY BPDIAG_GPU_PARTS="$PARTS"
export BPDIAG_GPU_BUDGET=$BUDGET BPDIAG_GPU_START=$START
export XLA_PYTHON_CLIENT_MEM_FRACTION=0.9  # JAX preallocates 75% of the GPU by default
export MPLBACKEND=Agg

log() { echo "[gpu.sh $(( $(date +%s) - START ))s] $*" | tee -a "$LOG" >&2; }
# seconds left of the budget (0 when spent)
left() { local l=$(( BUDGET - ($(date +%s) - START) )); echo $(( l > 0 ? l : 0 )); }
# upto S: the smaller of S and the seconds left
upto() { local l; l=$(left); echo $(( l < $1 ? l : $1 )); }
# step NAME TIMEOUT CMD...: run a step with a time limit, log its output, record its exit status
step() {
    local name="$1" limit="$2"; shift 2
    if [ "$limit" -lt 5 ]; then
        log "step $name: skipped (time budget spent)"
        echo "{\"step\": \"$name\", \"rc\": \"skipped\", \"seconds\": 0}" \
            > "$PARTS/step_$name.json"
        return 0
    fi
    log "step $name (limit ${limit}s): $*"
    local t0 rc ms
    t0=$(date +%s%N)
    timeout "$limit" "$@" >> "$LOG" 2>&1
    rc=$?
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    printf '{"step": "%s", "rc": %d, "seconds": %d.%03d}\n' "$name" "$rc" $((ms / 1000)) \
        $((ms % 1000)) > "$PARTS/step_$name.json"
    log "step $name: rc=$rc in $((ms / 1000))s"
    return $rc
}

# ---------------------------------------------------------------------------------------------
# 1. The machine
log "python: $PY; out: $OUT_DIR; quick=$QUICK cpu_only=$CPU_ONLY install=$INSTALL"
if command -v nvidia-smi > /dev/null; then
    nvidia-smi > "$PARTS/nvidia-smi.txt" 2>&1
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader \
        > "$PARTS/gpu.txt" 2>&1
else
    echo "none (no nvidia-smi)" > "$PARTS/gpu.txt"
fi
if [ "$CPU_ONLY" = 0 ] && ! grep -qi "^nvidia" "$PARTS/gpu.txt"; then
    log "no NVIDIA GPU found: running the CPU-side steps only, installing nothing"
    CPU_ONLY=1; INSTALL=0; export BPDIAG_GPU_CPU_ONLY=1
fi

# ---------------------------------------------------------------------------------------------
# 2. Installs (best effort: no network means a recorded failure, not a stop)
if ! "$PY" -c "import bpdiag" 2>/dev/null; then
    step install_bpdiag 300 "$PY" -m pip install --retries 0 --timeout 10 -e . || true
fi
if [ "$INSTALL" = 1 ]; then
    PIP=("$PY" -m pip install --disable-pip-version-check --retries 0 --timeout 15 -q)
    LVER=$("$PY" -c "import importlib.metadata as m; print(m.version('pennylane_lightning'))" 2>/dev/null)
    JVER=$("$PY" -c "import jax; print(jax.__version__)" 2>/dev/null)
    TVER=$("$PY" -c "import torch; print(torch.__version__.split('+')[0])" 2>/dev/null)
    "$PY" -c "import pennylane as q; q.device('lightning.gpu', wires=1)" 2>/dev/null \
        || step install_lightning_gpu 300 "${PIP[@]}" "pennylane-lightning-gpu${LVER:+==$LVER}" || true
    "$PY" -c "import jax,sys; sys.exit(0 if jax.default_backend()=='gpu' else 1)" 2>/dev/null \
        || step install_jax_cuda 300 "${PIP[@]}" "jax[cuda12]${JVER:+==$JVER}" || true
    "$PY" -c "import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null \
        || step install_torch_cuda 400 "${PIP[@]}" "torch${TVER:+==$TVER}" \
            --index-url https://download.pytorch.org/whl/cu126 || true
fi

# ---------------------------------------------------------------------------------------------
# 3-5. The harness (Python): environment, cross-checks, timings, report
HARNESS="$(mktemp -d)/gpu_harness.py"
trap 'rm -rf "$(dirname "$HARNESS")"' EXIT
cat > "$HARNESS" <<'PYEOF'
"""bpdiag GPU harness: called by benchmarks/gpu.sh with one subcommand per step."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

PARTS = Path(os.environ["BPDIAG_GPU_PARTS"])
QUICK = os.environ.get("BPDIAG_GPU_QUICK") == "1"
CPU_ONLY = os.environ.get("BPDIAG_GPU_CPU_ONLY") == "1"
BUDGET = float(os.environ.get("BPDIAG_GPU_BUDGET", "480"))
START = float(os.environ.get("BPDIAG_GPU_START", time.time()))


def save(name, obj):
    (PARTS / f"{name}.json").write_text(json.dumps(obj, indent=2, default=str) + "\n")


def over_budget(margin=0.0):
    return time.time() - START > BUDGET - margin


def env():
    import importlib.metadata as md

    out = {"python": sys.version.split()[0], "quick": QUICK, "cpu_only": CPU_ONLY}
    for p in ("bpdiag", "jax", "jaxlib", "jax-cuda12-plugin", "torch", "pennylane",
              "pennylane_lightning", "pennylane_lightning_gpu", "numpy"):
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            out[p] = None
    try:
        import jax
        out["jax_backend"] = jax.default_backend()
        out["jax_devices"] = [str(d) for d in jax.devices()]
    except Exception as exc:  # noqa: BLE001
        out["jax_error"] = str(exc).splitlines()[0]
    try:
        import torch
        out["torch_cuda"] = torch.cuda.is_available()
        if out["torch_cuda"]:
            out["torch_device"] = torch.cuda.get_device_name(0)
    except Exception as exc:  # noqa: BLE001
        out["torch_error"] = str(exc).splitlines()[0]
    from bpdiag.engines import pennylane as pe
    for dev in ("lightning.qubit", "lightning.gpu", "default.mixed"):
        try:
            pe.resolve_device(dev)
            out[dev] = "available"
        except pe.DeviceUnavailable as exc:
            out[dev] = str(exc)
    save("env", out)
    print(json.dumps(out, indent=1))


def _err(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def checks():
    """Cross-checks on the current backend; every entry: max abs error and pass/fail."""
    from bpdiag.circuits import random_circuit
    from bpdiag.engines import density as de
    from bpdiag.engines import jax as je
    from bpdiag.engines import pennylane as pe

    res = []

    def record(name, fn, tol, gpu=False):
        if gpu and CPU_ONLY:
            res.append({"check": name, "skipped": "no GPU", "ok": None})
            return
        t0 = time.perf_counter()
        try:
            err = fn()
            res.append({"check": name, "max_abs_err": err, "tol": tol, "ok": bool(err <= tol),
                        "seconds": time.perf_counter() - t0})
        except Exception as exc:  # noqa: BLE001
            res.append({"check": name, "error": f"{type(exc).__name__}: {exc}".splitlines()[0],
                        "ok": False, "seconds": time.perf_counter() - t0})
        print(res[-1], flush=True)

    rng = np.random.default_rng(0)
    costs = ("global", "local")
    for n in ((4, 6) if QUICK else (4, 8, 10)):
        c = random_circuit(n, 6 * n + 4, seed=n, n_data=2)
        p = rng.uniform(0, 2 * np.pi, (2, c.n_params))
        x = rng.uniform(-np.pi, np.pi, (2, 2))
        record(f"jax statevector vs default.qubit, states, n={n}",
               lambda c=c, p=p, x=x: _err(je.simulate(c, p, x), pe.simulate(c, p, x)), 1e-10)
        record(f"jax statevector vs default.qubit, gradients, n={n}",
               lambda c=c, p=p, x=x: _err(je.gradient(c, p, x, costs=costs),
                                          pe.gradient(c, p, x, costs=costs,
                                                      diff_method="backprop")), 1e-10)
        record(f"lightning.gpu vs jax, gradients, n={n}",
               lambda c=c, p=p, x=x: _err(pe.gradient(c, p, x, costs=costs,
                                                      device="lightning.gpu",
                                                      diff_method="adjoint"),
                                          je.gradient(c, p, x, costs=costs)), 1e-10, gpu=True)
        record(f"torch engine (cuda, complex128) vs jax, expvals, n={n}",
               lambda c=c, p=p, x=x: _torch_err(c, p, x, costs, "complex128"), 1e-10, gpu=True)
        record(f"torch engine (cuda, complex64) vs jax, expvals, n={n}",
               lambda c=c, p=p, x=x: _torch_err(c, p, x, costs, "complex64"), 1e-5, gpu=True)
    for kind in de.CHANNELS:
        c = random_circuit(3, 18, seed=1, n_data=2)
        p = rng.uniform(0, 2 * np.pi, (2, c.n_params))
        x = rng.uniform(-np.pi, np.pi, (2, 2))
        record(f"density engine vs default.mixed, {kind}, n=3",
               lambda c=c, p=p, x=x, k=kind: _density_err(c, p, x, k), 1e-10)
    c = random_circuit(8, 60, seed=3)
    p = rng.uniform(0, 2 * np.pi, (2, c.n_params))
    record("density engine (depolarizing:0) vs statevector, n=8",
           lambda: _err(de.expval(c, p, costs=costs, noise="depolarizing:0"),
                        je.expval(c, p, costs=costs)), 1e-10)
    save("checks_" + _backend(), res)


def _backend():
    import jax
    return jax.default_backend()


def _torch_err(c, p, x, costs, dtype):
    import torch

    from bpdiag.engines import jax as je
    from bpdiag.engines.torch import TorchCircuit

    if not torch.cuda.is_available():
        raise RuntimeError("torch has no CUDA here")
    m = TorchCircuit(c, costs, dtype=dtype).to("cuda")
    real = torch.float64 if dtype == "complex128" else torch.float32
    with torch.no_grad():
        got = m(torch.as_tensor(p, dtype=real, device="cuda"),
                torch.as_tensor(x, dtype=real, device="cuda")).cpu().numpy()
    return _err(got, je.expval(c, p, x, costs=costs))


def _density_err(c, p, x, kind):
    import pennylane as qml

    from bpdiag.engines import density as de
    from bpdiag.engines.pennylane import apply_circuit

    ch = {"depolarizing": qml.DepolarizingChannel, "amplitude_damping": qml.AmplitudeDamping,
          "dephasing": qml.PhaseFlip}[kind]
    dev = qml.device("default.mixed", wires=c.n_qubits)

    @qml.qnode(dev)
    def ref(pi, xi):
        for g in range(c.n_gates):
            one = type(c)(c.n_qubits, c.gates[g:g + 1], c.wires[g:g + 1], c.sources[g:g + 1],
                          c.n_params, c.n_data)
            apply_circuit(one, pi, xi)
            for w in c.wires[g]:
                ch(0.1, wires=w)
        return qml.density_matrix(wires=range(c.n_qubits))

    rho = de.simulate(c, p, x, noise=f"{kind}:0.1")
    return max(_err(rho[i], ref(p[i], x[i])) for i in range(len(p)))


def time_variance(label, qubits, layers, samples, engine="jax", device="default.qubit"):
    """Time bpdiag.variance point by point (first call includes compilation, second is run
    only); stop when the budget is spent or a point took more than a third of what is left."""
    from bpdiag.analyses.variance import variance

    budget = None
    try:
        import jax
        stats = jax.devices()[0].memory_stats() or {}
        if jax.default_backend() == "gpu" and "bytes_limit" in stats:
            budget = 0.5 * stats["bytes_limit"]  # chunk against GPU memory, not host memory
    except Exception:  # noqa: BLE001
        pass
    rows = []
    for n in qubits:
        if over_budget(margin=60):
            rows.append({"n_qubits": n, "skipped": "time budget"})
            continue
        args = dict(qubits=(n,), layers=(layers,), ansatz=("dense",), cost=("global", "local"),
                    samples=samples, engine=engine, device=device, memory_budget=budget)
        try:
            t0 = time.perf_counter()
            df = variance(**args)
            first = time.perf_counter() - t0
            second = None
            if first < 60:
                t0 = time.perf_counter()
                variance(**args)
                second = time.perf_counter() - t0
            rows.append({"n_qubits": n, "layers": layers, "samples": samples,
                         "first_s": first, "run_s": second,
                         "var_global": float(df["var"].iloc[0])})
        except Exception as exc:  # noqa: BLE001
            rows.append({"n_qubits": n, "error": f"{type(exc).__name__}: {exc}".splitlines()[0]})
            break
        print(label, rows[-1], flush=True)
        save(f"variance_{label}", {"label": label, "engine": engine, "device": device,
                                   "rows": rows})  # kept if the step's time limit kills us
        left = BUDGET - (time.time() - START)
        if first > left / 3:
            break
    save(f"variance_{label}", {"label": label, "engine": engine, "device": device, "rows": rows})


def time_train(torch_device):
    import tempfile

    out = Path(tempfile.mkdtemp())
    size = ["--qubits", "4", "--layers", "2", "--subset", "400"] if QUICK else \
        ["--qubits", "8", "--layers", "4", "--subset", "4000"]
    cmd = [sys.executable, "-c", "from bpdiag.cli import main; main()", "train", *size,
           "--epochs", "1",
           "--no-baselines", "--torch-device", torch_device, "--out", str(out)]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    rec = {"torch_device": torch_device, "rc": r.returncode, "process_s": wall,
           "cmd": " ".join(cmd[1:])}
    if r.returncode:
        rec["error"] = (r.stderr.strip().splitlines() or ["?"])[-1]
    else:
        s = json.loads((out / "summary.json").read_text())
        rec["epoch_s"] = s.get("summary", {}).get("wall_s")
    print(rec, flush=True)
    save(f"train_{torch_device}", rec)


def report(out_dir):
    parts = {p.stem: json.loads(p.read_text()) for p in sorted(PARTS.glob("*.json"))}
    gpu = (PARTS / "gpu.txt").read_text().strip() if (PARTS / "gpu.txt").exists() else "?"
    lines = ["# bpdiag GPU report", "", f"GPU: {gpu}", ""]
    e = parts.get("env", {})
    lines += ["## Environment", ""] + [f"- {k}: {v}" for k, v in e.items()] + [""]
    lines += ["## Steps", "", "| step | exit | seconds |", "|---|---|---|"]
    for k, v in parts.items():
        if k.startswith("step_"):
            lines.append(f"| {v['step']} | {v['rc']} | {float(v['seconds']):.1f} |")
    lines += ["", "## Cross-checks", ""]
    for k, v in parts.items():
        if k.startswith("checks_"):
            lines += [f"backend `{k[7:]}`:", "", "| check | max abs error | tol | ok |",
                      "|---|---|---|---|"]
            for c in v:
                err = (f"{c['max_abs_err']:.2e}" if "max_abs_err" in c
                       else c.get("error", c.get("skipped", "")))
                lines.append(f"| {c['check']} | {err} | {c.get('tol', '')} | {c['ok']} |")
            lines.append("")
    lines += ["## variance timings (dense HEA, global+local, middle parameter)", ""]
    runs = {k[9:]: v for k, v in parts.items() if k.startswith("variance_")}
    lines += ["| run | n | layers | samples | first (compile+run) s | run s |",
              "|---|---|---|---|---|---|"]
    for label, v in runs.items():
        for r in v["rows"]:
            if "first_s" in r:
                rs = f"{r['run_s']:.2f}" if r.get("run_s") is not None else "-"
                lines.append(f"| {label} | {r['n_qubits']} | {r['layers']} | {r['samples']} | "
                             f"{r['first_s']:.2f} | {rs} |")
            else:
                lines.append(f"| {label} | {r['n_qubits']} | | | {r.get('error', r.get('skipped'))} | |")
    lines += ["", "Speed ratios (same n, same work; first = including compilation):", ""]
    for fast, slow in (("jax_gpu", "jax_cpu"), ("lightning_gpu", "lightning_qubit")):
        if fast in runs and slow in runs:
            a = {r["n_qubits"]: r for r in runs[fast]["rows"] if "first_s" in r}
            b = {r["n_qubits"]: r for r in runs[slow]["rows"] if "first_s" in r}
            for n in sorted(set(a) & set(b)):
                ra, rb = a[n], b[n]
                ratio = rb["first_s"] / ra["first_s"]
                run = (f", run only {rb['run_s'] / ra['run_s']:.1f}x"
                       if ra.get("run_s") and rb.get("run_s") else "")
                lines.append(f"- n={n}: {slow} / {fast} = {ratio:.1f}x (first){run}")
    lines += ["", "## One training epoch", ""]
    tr = {k[6:]: v for k, v in parts.items() if k.startswith("train_")}
    for dev, v in tr.items():
        lines.append(f"- {dev}: epoch {v.get('epoch_s')} s, process {v['process_s']:.1f} s, "
                     f"rc={v['rc']} {v.get('error', '')}")
    if tr.get("cpu", {}).get("epoch_s") and tr.get("cuda", {}).get("epoch_s"):
        lines.append(f"- ratio cpu / cuda (epoch): {tr['cpu']['epoch_s'] / tr['cuda']['epoch_s']:.2f}x")
    text = "\n".join(lines) + "\n"
    Path(out_dir, "gpu_report.md").write_text(text)
    Path(out_dir, "gpu_report.json").write_text(json.dumps(parts, indent=1, default=str) + "\n")
    print(text)


if __name__ == "__main__":
    cmd, *rest = sys.argv[1:]
    if cmd == "env":
        env()
    elif cmd == "checks":
        checks()
    elif cmd == "variance":
        label, qubits, layers, samples, engine, device = rest
        time_variance(label, [int(q) for q in qubits.split(",")], int(layers), int(samples),
                      engine, device)
    elif cmd == "train":
        time_train(rest[0])
    elif cmd == "report":
        report(rest[0])
    else:
        raise SystemExit(f"unknown harness command {cmd}")
PYEOF

H=("$PY" "$HARNESS")
CPU=(env JAX_PLATFORMS=cpu "$PY" "$HARNESS")
step env 120 "${H[@]}" env
if [ "$QUICK" = 1 ]; then
    NQ=8,10; NQ_CPU=8,10; NQ_PL=8; LAYERS=2; SAMPLES=4; TESTS=(tests/test_devices.py)
else
    NQ=20,22,24,26; NQ_CPU=20,22,24; NQ_PL=20; LAYERS=4; SAMPLES=8
    TESTS=(tests/test_engines.py tests/test_noise.py tests/test_devices.py)
fi

if [ "$CPU_ONLY" = 1 ]; then
    step checks_cpu "$(upto 300)" "${CPU[@]}" checks
    step pytest_cpu "$(left)" "$PY" -m pytest -q -x "${TESTS[@]}"
    step variance_jax_cpu "$(left)" "${CPU[@]}" variance jax_cpu "$NQ_CPU" "$LAYERS" "$SAMPLES" \
        jax default.qubit
    step variance_lightning_qubit "$(left)" "${H[@]}" variance lightning_qubit "$NQ_PL" "$LAYERS" \
        2 pennylane lightning.qubit
    step train_cpu "$(left)" "${H[@]}" train cpu
else
    step checks_gpu "$(upto 90)" "${H[@]}" checks
    step pytest_gpu "$(upto 150)" "$PY" -m pytest -q -x "${TESTS[@]}"
    step variance_jax_gpu "$(upto 90)" "${H[@]}" variance jax_gpu "$NQ" "$LAYERS" "$SAMPLES" \
        jax default.qubit
    step variance_jax_cpu "$(upto 90)" "${CPU[@]}" variance jax_cpu "$NQ_CPU" "$LAYERS" "$SAMPLES" \
        jax default.qubit
    step variance_lightning_gpu "$(upto 45)" "${H[@]}" variance lightning_gpu "$NQ_PL" "$LAYERS" \
        2 pennylane lightning.gpu
    step variance_lightning_qubit "$(upto 45)" "${H[@]}" variance lightning_qubit "$NQ_PL" \
        "$LAYERS" 2 pennylane lightning.qubit
    step train_cuda "$(upto 60)" "${H[@]}" train cuda
    step train_cpu "$(upto 60)" "${H[@]}" train cpu
fi
"${H[@]}" report "$OUT_DIR" | tee -a "$LOG"
log "done in $(( $(date +%s) - START ))s; report: $OUT_DIR/gpu_report.md"
