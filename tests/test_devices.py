"""The device path: ``--engine pennylane --device NAME [--fallback]`` on every command that has it.

A device that cannot be created gives one line and exit code 2, or with ``--fallback`` a warning
and a run on default.qubit; lightning.qubit (installed here) agrees with the JAX engine.

Everything here runs on a CPU-only machine; only the cases that need hardware (lightning.gpu
present, CUDA) skip, and they say so.
"""

import importlib.util
import json

import numpy as np
import pytest
from click.testing import CliRunner

from bpdiag.analyses.variance import variance
from bpdiag.circuits import random_circuit
from bpdiag.cli import main
from bpdiag.engines import jax as je
from bpdiag.engines import pennylane as pe

MISSING = "nosuch.device"  # never installed
#: Smallest useful arguments per command (the device is checked before any work).
SMALL = {
    "variance": ["--qubits", "2", "--layers", "1", "--samples", "4", "--cost", "global"],
    "train": [
        "--qubits",
        "2",
        "--layers",
        "1",
        "--subset",
        "40",
        "--epochs",
        "1",
        "--no-baselines",
    ],
    "entropy": ["--qubits", "2", "--rows", "8"],
}


def _command(name):
    """The ``--engine pennylane`` arguments for command ``name``; fails (never skips) when the
    command or its --device/--fallback options are missing."""
    cmd = main.get_command(None, name)
    assert cmd is not None, f"bpdiag {name} is not registered"
    options = {p.name for p in cmd.params}
    assert {"device", "fallback"} <= options, f"bpdiag {name} lacks --device/--fallback"
    return ["--engine", "pennylane"] if "engine" in options else []


def test_every_device_command_is_covered():
    with_device = sorted(
        n for n in main.list_commands(None)
        if "device" in {p.name for p in main.get_command(None, n).params}
    )  # fmt: skip
    assert with_device == sorted(SMALL)


def _lightning_gpu_available() -> bool:
    try:
        pe.resolve_device("lightning.gpu")
        return True
    except pe.DeviceUnavailable:
        return False


@pytest.mark.parametrize("name", list(SMALL))
@pytest.mark.parametrize("device", [MISSING, "lightning.gpu"])
def test_missing_device_is_one_line_and_exit_2(name, device, tmp_path):
    engine = _command(name)
    if device == "lightning.gpu" and _lightning_gpu_available():
        pytest.skip("hardware: lightning.gpu works here (GPU present), so it is not missing")
    r = CliRunner().invoke(
        main, [name, *SMALL[name], *engine, "--device", device, "--out", str(tmp_path)]
    )
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    errors = [line for line in r.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert f"'{device}' is not available here" in errors[0] and "--fallback" in errors[0]


@pytest.mark.parametrize("name", list(SMALL))
def test_fallback_runs_on_default_qubit(name, tmp_path):
    engine = _command(name)
    r = CliRunner().invoke(
        main,
        [name, *SMALL[name], *engine, "--device", MISSING, "--fallback", "--out", str(tmp_path)],
    )
    assert r.exit_code == 0, r.output
    assert f"'{MISSING}' is not available here" in r.output
    assert "falling back to default.qubit" in r.output
    if name == "variance":  # the run really used default.qubit, and got the JAX numbers
        meta = json.loads((tmp_path / "variance.json").read_text())
        assert meta["config"]["device"] == "default.qubit"
        ours = variance((2,), (1,), ("dense",), ("global",), 4).table
        got = np.loadtxt(tmp_path / "variance.csv", delimiter=",", skiprows=1, usecols=8)
        np.testing.assert_allclose(got, ours["var"], rtol=1e-9)


def _needs(device: str) -> None:
    if device == "lightning.qubit" and importlib.util.find_spec("pennylane_lightning") is None:
        pytest.skip("pennylane-lightning is not installed")


@pytest.mark.parametrize("device", ["default.qubit", "lightning.qubit", "default.mixed"])
def test_pennylane_devices_agree_with_jax_engine_in_variance(device):
    _needs(device)
    args = ((2, 3), (2,), ("dense", "original"), ("global", "local"), 6)
    ref = variance(*args).table
    got = variance(*args, engine="pennylane", device=device).table
    for col in ("mean", "var"):
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_lightning_qubit_gradients_match_jax(seed):
    _needs("lightning.qubit")
    c = random_circuit(4, 24, seed=seed, n_data=2)
    rng = np.random.default_rng(seed)
    params = rng.uniform(0, 2 * np.pi, (2, c.n_params))
    x = rng.uniform(-np.pi, np.pi, (2, 2))
    costs = ("global", "local")
    np.testing.assert_allclose(
        pe.gradient(c, params, x, costs=costs, device="lightning.qubit", diff_method="adjoint"),
        je.gradient(c, params, x, costs=costs),
        atol=1e-10,
    )
    np.testing.assert_allclose(
        pe.expval(c, params, x, costs=costs, device="lightning.qubit"),
        je.expval(c, params, x, costs=costs),
        atol=1e-10,
    )


def test_lightning_gpu_matches_jax_on_a_gpu():
    """Hardware only: lightning.gpu (CUDA) gives the JAX engine's gradients."""
    if not _lightning_gpu_available():
        pytest.skip("hardware: lightning.gpu needs a CUDA GPU and pennylane-lightning-gpu")
    c = random_circuit(3, 12, seed=0, n_data=1)
    rng = np.random.default_rng(0)
    params = rng.uniform(0, 2 * np.pi, (2, c.n_params))
    x = rng.uniform(-np.pi, np.pi, (2, 1))
    np.testing.assert_allclose(
        pe.gradient(c, params, x, costs=("global",), device="lightning.gpu"),
        je.gradient(c, params, x, costs=("global",)),
        atol=1e-10,
    )
