"""`bpdiag diagnose`: the verdict on circuits whose answer is known, its rules against the
2-design closed form, and the report a person opens."""

import base64
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from bpdiag.analyses import diagnose as dg
from bpdiag.analyses._common import haar_variance
from bpdiag.circuits import Circuit, Source
from bpdiag.cli import main


def _rules(res) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rule, text in zip(res.table["rule"], res.table["text"]):
        out.setdefault(rule, []).append(text)
    return out


def _scaling(cost: str, var_of) -> pd.DataFrame:
    rows = [
        {"cost": cost, "n_qubits": n, "n_layers": L, "var": var_of(n, L), "noise": "none",
         "method": "exact", "shots_needed": 10.0}
        for n in (2, 4, 6)
        for L in (1, 5, 20)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_rules_against_the_two_design_value():
    # at the 2-design value everywhere: a plateau reached at the shallowest depth
    res = dg.verdict({"scaling": _scaling("global", lambda n, L: haar_variance(n, "global"))})
    assert res["rule"].tolist()[:2] == ["plateau", "design depth"]
    assert "L ≈ 1" in res["text"].iloc[1]
    # 100x above it at every depth: trainable
    res = dg.verdict({"scaling": _scaling("local", lambda n, L: 100 * haar_variance(n, "local"))})
    assert res["rule"].iloc[0] == "trainable" and "n <= 6" in res["text"].iloc[0]
    # exact zeros (a dead middle parameter) are named and left out, not read as a plateau
    res = dg.verdict(
        {
            "scaling": _scaling(
                "local", lambda n, L: 0.0 if L == 1 else 50 * haar_variance(n, "local")
            )
        }
    )
    assert res["rule"].tolist()[:2] == ["structural zero", "trainable"]


def test_original_circuit_every_weight_dead():
    res = dg.diagnose(
        "original", "local", qubits=(3,), layers=(2,), samples=20, audit_qubits=3, budget=1e-6
    )
    dead = _rules(res)["dead"]
    assert len(dead) == 1 and dead[0].startswith("every parameter is dead")
    assert res.tables["audit_params"]["dead"].all()


@pytest.mark.slow
def test_deep_dense_global_cost_has_a_plateau_and_shallow_local_is_trainable():
    deep = dg.diagnose("dense", "global", qubits=(2, 4, 6), layers=(20,), samples=200)
    assert "plateau" in _rules(deep), deep.table
    fit = next(f for f in deep.meta["fits"] if f["cost"] == "global" and f["method"] == "exact")
    assert 0.8 < fit["b"] < 1.2  # Var ~ 2^-n for the global cost at the 2-design level
    shallow = dg.diagnose("dense", "local", qubits=(2, 4, 6), layers=(1,), samples=200)
    assert "trainable" in _rules(shallow), shallow.table


@pytest.mark.slow
def test_entanglement_of_the_original_circuits_data_states():
    res = dg.diagnose("original", "local", qubits=(2, 4), layers=(2,), samples=20, shots=100)
    ent = res.tables["entropy"]
    half = ent[(ent["state"] == "data") & (ent["n_qubits"] == 4) & (ent["cut_size"] == 2)]
    f = float(half[half["cut"] == "contiguous"]["volume_fraction"].iloc[0])
    (text,) = _rules(res)["entanglement"]
    assert f"{f:.2f} x Page at n = 4" in text
    assert 0 < f <= 1.0 + 3 * float(half["entropy_se"].iloc[0]) / float(half["page"].iloc[0])


def free_fermion(n_qubits: int, n_layers: int) -> Circuit:
    """RZ on every wire, RXX and RYY on neighbours: generators quadratic in Majoranas."""
    gates, wires, srcs = [], [], []
    for _ in range(n_layers):
        for w in range(n_qubits):
            gates.append("RZ")
            wires.append((w,))
        for w in range(n_qubits - 1):
            gates += ["RXX", "RYY"]
            wires += [(w, w + 1), (w, w + 1)]
    srcs = [(Source("param", k, 1.0),) for k in range(len(gates))]
    return Circuit(n_qubits, tuple(gates), tuple(wires), tuple(srcs), name="free_fermion")


def test_free_fermion_circuit_has_a_polynomial_algebra():
    res = dg.diagnose(
        "dense", "local", qubits=(4,), layers=(2,), samples=20, circuit=free_fermion,
        budget=1e-6,  # the audit only: everything after it is skipped
    )  # fmt: skip
    algebra = _rules(res)["algebra"]
    assert algebra[0].startswith("polynomial DLA")
    dim = int(res.tables["audit"]["dla_dim"].iloc[0])
    assert dim <= 4 * (2 * 4 - 1)  # inside so(2n) = so(8): n(2n - 1) = 28
    assert set(res.meta["skipped"]) == {"params", "scaling", "noise", "entropy"}


def test_cli_writes_a_self_contained_report(tmp_path):
    out = tmp_path / "report"
    r = CliRunner().invoke(
        main,
        ["diagnose", "--qubits", "2,3", "--layers", "1,2", "--samples", "20", "--shots", "100",
         "--out", str(out)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "Trainability of dense" in r.output
    page = (out / "report.html").read_text()
    assert "Verdict" in page and "dead for the local cost" in page
    assert not re.search(r"(src|href)=\"https?://", page)  # nothing fetched from the network
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 4
    import io

    import matplotlib.image as mpimg

    for data in images:
        img = mpimg.imread(io.BytesIO(base64.b64decode(data)), format="png")
        assert img.shape[0] > 100 and img.shape[1] > 100 and np.ptp(img) > 0
    md = (out / "report.md").read_text()
    assert "## Verdict" in md and "(scaling.png)" in md and (out / "scaling.png").exists()
    verdict = pd.read_csv(out / "verdict.csv")
    assert set(verdict.columns) == {"rule", "cost", "text"} and len(verdict) >= 3
    for name in ("audit", "audit_params", "params", "scaling", "noise"):
        assert len(pd.read_csv(out / f"{name}.csv"))


def test_bad_input_is_one_line(tmp_path):
    r = CliRunner().invoke(
        main, ["diagnose", "--cost", "Z9", "--qubits", "2,3", "--out", str(tmp_path)]
    )
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "Z9" in r.output or "wire" in r.output


def _chromium() -> str | None:
    import os
    import shutil

    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.environ.get("CI"):
        pytest.fail("CI needs Chromium for the report's browser test (.ci/run installs it)")
    return found


def test_report_renders_in_a_real_browser(tmp_path):
    """The page loads in headless Chromium with no console errors, every image decodes, the
    verdict is on the first screen; a screenshot is written for review."""
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    res = dg.diagnose("dense", "local", qubits=(2, 3), layers=(1, 2), samples=20, shots=100)
    from bpdiag.figures.diagnose import report_figures
    from bpdiag.results.diagnose import write_report

    paths = write_report(res, tmp_path / "report", figures=report_figures)
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(paths["html"].resolve().as_uri())
        page.wait_for_load_state("load")
        decoded = page.evaluate(
            "Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"
        )
        verdict = page.inner_text(".verdict")
        top = page.evaluate("document.querySelector('.verdict').getBoundingClientRect().top")
        page.screenshot(path=str(tmp_path / "report" / "screenshot.png"))
        browser.close()
    assert errors == []
    assert len(decoded) == 4 and all(decoded)
    assert "dead for the local cost" in verdict and top < 900
    assert (tmp_path / "report" / "screenshot.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "spec, n, expected",
    [
        ("pennylane:BasicEntanglerLayers", 3, "polynomial DLA"),  # RX + CNOT: commuting X strings
        ("qiskit:real_amplitudes", 4, "DLA so(2^4)"),  # RY + CNOT: real, inside so(2^n)
        ("examples/colleague.qasm", 3, "the DLA is the full su(2^3)"),
    ],
)
def test_one_circuit_from_each_frontend(spec, n, expected):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    spec = str(root / spec) if spec.endswith(".qasm") else spec
    res = dg.diagnose(circuit=spec, qubits=(n,), layers=(2,), samples=20, budget=1e-6)
    (algebra,) = _rules(res)["algebra"]
    assert algebra.startswith(expected), algebra
    audit = res.tables["audit"]
    assert int(audit["n_qubits"].iloc[0]) == n and res.meta["label"].endswith(spec.split("/")[-1])
    if "so(" in expected:
        assert int(audit["dla_dim"].iloc[0]) <= 2**n * (2**n - 1) // 2
