"""The device path: ``--engine pennylane --device NAME [--fallback]`` on every command that has it.

A device that cannot be created gives one line and exit code 2, or with ``--fallback`` a warning
and a run on default.qubit; lightning.qubit (installed here) agrees with the JAX engine.
"""

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
    cmd = main.commands.get(name)
    if cmd is None:
        pytest.skip(f"bpdiag {name} does not exist yet")
    options = {p.name for p in cmd.params}
    if not {"device", "fallback"} <= options:
        pytest.skip(f"bpdiag {name} has no --device/--fallback options yet")
    return ["--engine", "pennylane"] if "engine" in options else []


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
        pytest.skip("lightning.gpu is available here")
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
        ours = variance((2,), (1,), ("dense",), ("global",), 4)
        got = np.loadtxt(tmp_path / "variance.csv", delimiter=",", skiprows=1, usecols=8)
        np.testing.assert_allclose(got, ours["var"], rtol=1e-9)


@pytest.mark.parametrize("device", ["lightning.qubit", "default.mixed"])
def test_pennylane_devices_agree_with_jax_engine_in_variance(device):
    args = ((2, 3), (2,), ("dense", "original"), ("global", "local"), 6)
    ref = variance(*args)
    got = variance(*args, engine="pennylane", device=device)
    for col in ("mean", "var"):
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_lightning_qubit_gradients_match_jax(seed):
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
