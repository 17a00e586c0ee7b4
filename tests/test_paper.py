"""Paper figures: experiment files, `bpdiag reproduce`, `bpdiag figures`, the tour notebook.

Every figure's plotted numbers (read back from the figure's artists, and from the data sidecar
``<figure>.data.csv``) are checked against the result table the figure was drawn from, with the
expected points computed here from the CSV with plain pandas/numpy (means, standard errors and
weighted fits recomputed independently where the figure shows derived numbers).
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _layout import layout_problems  # noqa: E402
from click.testing import CliRunner

from bpdiag import paper
from bpdiag.cli import main

ROOT = Path(__file__).resolve().parent.parent
ANALYSES_DIR = ROOT / "analyses"
PAPER_ANALYSES = {"variance", "noise", "entropy", "lie", "study"}


# ---------------------------------------------------------------------------------------------
# Helpers: compare plotted points with expected ones


def _sig(a: np.ndarray, digits: int = 8) -> np.ndarray:
    return np.vectorize(lambda v: float(f"{v:.{digits}g}"))(a) if a.size else a


def _same_points(got, expected, what: str, rtol: float = 1e-9) -> None:
    """Multisets of points (rows of equal width) equal up to rounding (12 significant digits)."""
    expected = np.asarray(expected, float)
    got = np.asarray(got, float).reshape(-1, expected.shape[1] if expected.ndim == 2 else 1)
    expected = expected.reshape(-1, got.shape[1])
    assert got.shape == expected.shape, (
        f"{what}: {len(got)} points plotted, {len(expected)} in table"
    )
    if not len(got):
        return
    g = got[np.lexsort(_sig(got).T[::-1])]
    e = expected[np.lexsort(_sig(expected).T[::-1])]
    for j in range(e.shape[1]):  # tolerance per column: its own scale
        atol = 1e-12 * np.nanmax(np.abs(e[:, j]), initial=0)
        np.testing.assert_allclose(g[:, j], e[:, j], rtol=rtol, atol=atol, err_msg=f"{what} [{j}]")


def _errorbars(data: pd.DataFrame, **where) -> np.ndarray:
    d = data[data["kind"] == "errorbar"]
    for k, v in where.items():
        d = d[d[k] == v]
    return d[["x", "y", "yerr_lo", "yerr_hi"]].to_numpy(float)


def _lines(data: pd.DataFrame, **where) -> dict[tuple, np.ndarray]:
    d = data[data["kind"] == "line"]
    for k, v in where.items():
        d = d[d[k] == v]
    # A line = consecutive points of one series in one panel (point index restarts at 0).
    starts = np.cumsum(d["point"].to_numpy() == 0)
    return {i: g[["x", "y"]].to_numpy(float) for i, g in d.groupby(starts)}


def _has_line(lines: dict, xy: np.ndarray, rtol: float = 1e-6) -> bool:
    return any(
        v.shape == xy.shape and np.allclose(v, xy, rtol=rtol, atol=0) for v in lines.values()
    )


def _artist_points(fig) -> list[tuple[int, float, float]]:
    """(axes index, x, y) of every error-bar data point, straight from matplotlib's artists."""
    out = []
    for p, ax in enumerate(fig.axes):
        for cont in ax.containers:
            line = cont.lines[0] if hasattr(cont, "has_yerr") else None
            if line is not None:
                out += [(p, float(x), float(y)) for x, y in line.get_xydata()]
    return out


def _se(values) -> float:
    v = np.asarray(values, float)
    return float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else 0.0


# ---------------------------------------------------------------------------------------------
# Per-figure checks: the numbers behind each figure against its table


def _live(table: pd.DataFrame) -> pd.DataFrame:
    """Rows the variance figures draw as data: structural zeros (<= 1e-12 x the 2-design value
    w d^2 / (2 (d^2 - 1) (d + 1)), a dead parameter) sit on a floor instead."""
    n = table["n_qubits"].to_numpy(float)
    d, w = 2.0**n, np.where(table["cost"] == "local", 1 / n, 1.0)
    return table[table["var"].to_numpy(float) > 1e-12 * w * d**2 / (2 * (d**2 - 1) * (d + 1))]


def check_variance(table: pd.DataFrame, data: pd.DataFrame) -> None:
    t = _live(table)
    for cost, g in t.groupby("cost"):
        for xlabel, xcol in (("qubits n", "n_qubits"), ("layers L", "n_layers")):
            _same_points(
                _errorbars(data, title=f"{cost} cost", xlabel=xlabel),
                g[[xcol, "var", "var_se", "var_se"]].to_numpy(float),
                f"variance {cost} vs {xcol}",
            )
        # Fit lines 2**(log2_A - b n): the slope recomputed here by np.polyfit on log2(var).
        lines = _lines(data, title=f"{cost} cost", xlabel="qubits n")
        for (_, L), f in g.groupby(["ansatz", "n_layers"]):
            if f["n_qubits"].nunique() < 2:
                continue
            y = np.log2(f["var"].to_numpy(float))
            sy = np.maximum(
                f["var_se"].to_numpy(float) / (f["var"].to_numpy(float) * np.log(2)), 1e-6
            )
            slope, icpt = np.polyfit(f["n_qubits"].to_numpy(float), y, 1, w=1 / sy)
            n = np.linspace(f["n_qubits"].min(), f["n_qubits"].max(), 50)
            assert _has_line(lines, np.stack([n, 2 ** (icpt + slope * n)], 1)), (cost, L)


def check_noise(table: pd.DataFrame, data: pd.DataFrame) -> None:
    t = table[table["var"] > 0]
    for cost, g in t.groupby("cost"):
        _same_points(
            _errorbars(data, title=f"{cost} cost"),
            g[["n_layers", "var", "var_se", "var_se"]].to_numpy(float),
            f"noise {cost}",
        )
        expected = []
        lines = _lines(data, title=f"{cost} cost")
        for (_, strength), f in g.groupby(["n_qubits", "noise_strength"]):
            if f["n_layers"].nunique() < 3:
                continue
            y = np.log2(f["var"].to_numpy(float))
            sy = f["var_se"].to_numpy(float) / (f["var"].to_numpy(float) * np.log(2))
            slope, icpt = np.polyfit(
                f["n_layers"].to_numpy(float), y, 1, w=1 / np.maximum(sy, 1e-6)
            )
            expected.append((strength, -slope))
            L = np.linspace(f["n_layers"].min(), f["n_layers"].max(), 50)
            assert _has_line(lines, np.stack([L, 2 ** (icpt + slope * L)], 1)), (cost, strength)
        got = _errorbars(data, title=f"{cost} cost: fitted Var ∝ 2^(-rate·L)")[:, :2]
        _same_points(got, expected, f"noise rate {cost}", rtol=1e-6)


def check_entropy(table: pd.DataFrame, data: pd.DataFrame) -> None:
    d = table[table["cut"] == "contiguous"]
    nmax = d["n_qubits"].max()
    top = d[d["n_qubits"] == nmax]
    _same_points(
        _errorbars(data, panel=0),
        top[["cut_size", "entropy", "entropy_se", "entropy_se"]].to_numpy(float),
        "entropy vs cut",
    )
    half = d[d["cut_size"] == d["n_qubits"] // 2]
    _same_points(
        _errorbars(data, panel=1),
        half[["n_qubits", "entropy", "entropy_se", "entropy_se"]].to_numpy(float),
        "half-cut entropy vs n",
    )
    page = top.drop_duplicates("cut_size").sort_values("cut_size")
    hp = half.drop_duplicates("n_qubits").sort_values("n_qubits")
    for panel, ref, x in ((0, page, "cut_size"), (1, hp, "n_qubits")):
        curve = _lines(data, panel=panel, series="Page (Haar)")
        assert _has_line(curve, ref[[x, "page"]].to_numpy(float)), panel
    assert _has_line(
        _lines(data, panel=0, series="max m ln 2"),
        page[["cut_size", "max_entropy"]].to_numpy(float),
    )
    assert _has_line(
        _lines(data, panel=1, series="max"), hp[["n_qubits", "max_entropy"]].to_numpy(float)
    )
    np.testing.assert_allclose(page["max_entropy"], page["cut_size"] * np.log(2), rtol=1e-9)


def check_lie(table: pd.DataFrame, data: pd.DataFrame) -> None:
    expected = []
    for a, g in table.groupby("ansatz", sort=False):
        pred, samp = g["predicted_var"].fillna(0), g["sampled_var"].fillna(0)
        if (pred == 0).all() and (samp < 1e-20).all():
            continue  # an exact zero: named in the legend, not plotted on the log axis
        ok = np.isfinite(g["sampled_var"]) & (g["sampled_var"] > 0)
        cols = ["n_qubits", "sampled_var", "sampled_var_se", "sampled_var_se"]
        expected += g[ok][cols].values.tolist()
        ok = np.isfinite(g["predicted_var"]) & (g["predicted_var"] > 0)
        pred = g[ok].sort_values("n_qubits")[["n_qubits", "predicted_var"]].to_numpy(float)
        assert _has_line(_lines(data, panel=0, series=f"{a} predicted"), pred), a
    _same_points(_errorbars(data, panel=0), expected, "lie sampled variance")
    for (a, L), g in table.groupby(["ansatz", "n_layers"]):
        g = g.sort_values("n_qubits")
        lines = _lines(data, panel=1, series=f"{a}, L={L}")
        # log2 of the exact integer dimension (n = 100 has 4^100 - 1): recomputed from dla_dim
        log2_dim = [math.log2(int(d)) for d in g["dla_dim"]]
        assert _has_line(lines, np.stack([g["n_qubits"].to_numpy(float), log2_dim], 1)), (a, L)
    n = np.sort(table["n_qubits"].unique()).astype(float)
    su = np.stack([n, np.log2(4**n - 1)], 1)  # dim su(2^n) = 4^n - 1, on the log2 axis
    assert _has_line(_lines(data, panel=1, series="su(2^n)"), su)


def check_study_qc(table: pd.DataFrame, data: pd.DataFrame) -> None:
    exp = np.stack(
        [
            np.arange(len(table)),
            table["qc"],
            table["qc"] - table["qc_lo"],
            table["qc_hi"] - table["qc"],
        ],
        axis=1,
    )
    _same_points(_errorbars(data), exp, "qc with its interval")


def check_study_loss(runs: pd.DataFrame, data: pd.DataFrame) -> None:
    for (a, n, L), d in runs.groupby(["ansatz", "n_qubits", "n_layers"]):
        for model, g in d.groupby("model"):
            exp = [
                (
                    s,
                    h["test_mse_scaled"].mean(),
                    _se(h["test_mse_scaled"]),
                    _se(h["test_mse_scaled"]),
                )
                for s, h in g.groupby("subset")
            ]
            got = _errorbars(data, title=f"{a}, n={n}, L={L}", series=model)
            _same_points(got, exp, f"test loss {a} {n} {L} {model}")


def check_study_qgrad(runs: pd.DataFrame, history: pd.DataFrame, data: pd.DataFrame) -> None:
    q = runs[runs["model"] == "quantum"]
    for (a, n, L), g in q.groupby(["ansatz", "n_qubits", "n_layers"]):
        h = history[history["run_id"].isin(g["run_id"])]
        exp = [
            (e, v["qgrad_var"].mean(), _se(v["qgrad_var"].dropna()), _se(v["qgrad_var"].dropna()))
            for e, v in h.groupby("epoch")
        ]
        assert np.isfinite([m for _, m, _, _ in exp]).all(), "no quantum-gradient variance"
        if all(abs(m) < 1e-30 for _, m, _, _ in exp):
            continue
        _same_points(_errorbars(data, series=f"{a} n={n} L={L}"), exp, f"qgrad {a} {n} {L}")


def check_exact(table: pd.DataFrame, data: pd.DataFrame) -> None:
    t = _live(table)
    for cost, g in t.groupby("cost"):
        title = f"{cost} cost"
        for xlabel, xcol, key, k in (
            ("qubits n", "n_qubits", "n_layers", "L"),
            ("layers L", "n_layers", "n_qubits", "n"),
        ):
            sampled = g[g["method"] != "exact"]
            _same_points(
                _errorbars(data, title=title, xlabel=xlabel),
                sampled[[xcol, "var", "var_se", "var_se"]].to_numpy(float),
                f"sampled {cost} vs {xcol}",
            )
            lines = _lines(data, title=title, xlabel=xlabel)
            for (a, v), e in g[g["method"] == "exact"].groupby(["ansatz", key]):
                e = e.sort_values(xcol)
                own = _lines(data, title=title, xlabel=xlabel, series=f"{a}, {k}={v} exact")
                assert _has_line(own, e[[xcol, "var"]].to_numpy(float)), (cost, a, k, v)
                if e["shot_var"].notna().any():  # the shot-noise floor s1/N, dotted
                    assert _has_line(lines, e[[xcol, "shot_var"]].to_numpy(float)), (cost, a, v)
        # The Haar (2-design) value w d^2 / (2 (d^2 - 1) (d + 1)), w = 1 (global) or 1/n (local)
        # (McClean et al. 2018; Cerezo et al. 2021), against n.
        n = np.arange(g["n_qubits"].min(), g["n_qubits"].max() + 1, dtype=float)
        d, w = 2.0**n, (1 / n if cost == "local" else np.ones_like(n))
        haar = _lines(data, title=title, series="Haar (2-design)")
        assert _has_line(haar, np.stack([n, w * d**2 / (2 * (d**2 - 1) * (d + 1))], 1)), cost


def check_shots(table: pd.DataFrame, data: pd.DataFrame) -> None:
    t = table[np.isfinite(table["shots_needed"])]
    for cost, g in t.groupby("cost"):
        d = data[data["title"] == f"{cost} cost: std[g] > shot noise"]
        _same_points(d[["x", "y"]], g[["n_qubits", "shots_needed"]], f"shots {cost}")


def check_figure(name: str, folder: Path, data: pd.DataFrame) -> None:
    """The numbers behind figure ``name`` (its sidecar ``data``) against the tables in
    ``folder``."""
    read = lambda f: pd.read_csv(folder / f)  # noqa: E731
    {
        "variance": lambda: check_variance(read("variance.csv"), data),
        "noise": lambda: check_noise(read("noise.csv"), data),
        "entropy": lambda: check_entropy(read("entropy.csv"), data),
        "lie": lambda: check_lie(read("lie.csv"), data),
        "study_qc": lambda: check_study_qc(read("qc.csv"), data),
        "study_loss": lambda: check_study_loss(read("runs.csv"), data),
        "study_qgrad": lambda: check_study_qgrad(read("runs.csv"), read("history.csv"), data),
        "exact": lambda: check_exact(read("variance.csv"), data),
        "shots": lambda: check_shots(read("variance_shots.csv"), data),
    }[name]()


def _check_files(out: Path, name: str) -> pd.DataFrame:
    png, pdf = (out / f"{name}.png").read_bytes(), (out / f"{name}.pdf").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000, name
    assert pdf.startswith(b"%PDF") and len(pdf) > 2000, name
    data = pd.read_csv(out / f"{name}.data.csv")
    assert list(data.columns) == paper.DATA_COLUMNS and len(data), name
    return data


# ---------------------------------------------------------------------------------------------
# Fast tests


def test_experiment_files_cover_the_paper_each_with_one_command_and_a_quick_size():
    exps = paper.experiments()
    assert {e.analysis for e in exps} >= PAPER_ANALYSES
    for e in exps:
        text = e.path.read_text()
        raw = tomllib.loads(text)
        assert set(raw) == {e.analysis, "quick"}, e.path
        assert f"bpdiag reproduce analyses/{e.name}.toml --out results/{e.name}" in text
        quick, full = e.settings(quick=True), e.settings()
        assert quick != full and set(quick) == set(full)
        # The quick size is a smaller grid: no list grows, no count grows.
        for k, v in raw["quick"].items():
            if isinstance(v, list) and isinstance(full[k], list):
                assert len(v) <= len(full[k]), (e.name, k)
            elif isinstance(v, int):
                assert v <= full[k], (e.name, k)
    # Every registered figure's folder is an experiment's result folder.
    assert {f.folder for f in paper.FIGURES} <= {e.name for e in exps}


def test_study_toml_still_reads_as_a_study_config():
    from bpdiag.analyses.study import StudyConfig

    raw = tomllib.loads((ANALYSES_DIR / "study.toml").read_text())["study"]
    cfg = StudyConfig.from_toml(ANALYSES_DIR / "study.toml")  # what `bpdiag study --config` reads
    assert cfg.qubits == tuple(raw["qubits"]) and cfg.subsets == tuple(raw["subsets"])
    assert cfg.train == raw["train"] and len(cfg.runs()) == 108  # 36 hybrids, 2 twins each


def test_bad_experiment_files_and_results_give_one_line_usage_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[variance]\nqubit = [2, 3]\n")
    with pytest.raises(ValueError, match="unknown variance option 'qubit'"):
        paper.load_experiment(bad)
    runner = CliRunner()
    cases = [
        (["reproduce", str(bad), "--out", str(tmp_path / "r")], "unknown variance option"),
        (["reproduce", str(tmp_path / "missing.toml")], "does not exist"),
        (["figures", "--results", str(tmp_path), "--out", str(tmp_path / "f")], "no result"),
        (["figures", "--results", str(tmp_path), "--only", "nope"], "unknown figure 'nope'"),
    ]
    two = tmp_path / "two.toml"
    two.write_text("[variance]\nsamples = 10\n[lie]\nsamples = 10\n")
    cases.append((["reproduce", str(two)], "exactly one table"))
    for args, message in cases:
        res = runner.invoke(main, args)
        assert res.exit_code == 2, (args, res.output)
        assert message in res.output and "Traceback" not in res.output, res.output


def test_figure_data_reads_points_back_from_the_artists():
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2)
    x, y = np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.25, np.nan])
    lo, hi = np.array([0.1, 0.05, 0.2]), np.array([0.2, 0.01, 0.2])
    a.errorbar(x, y, yerr=np.stack([lo, hi]), marker="o", label="data")
    a.set_title("left")
    b.plot([0, 1], [2, 3], label="line")
    b.errorbar([4.0], [5.0], yerr=[0.5], fmt="none")
    df = paper.figure_data(fig)
    plt.close(fig)
    e = df[(df["kind"] == "errorbar") & (df["panel"] == 0)]
    assert list(e["series"]) == ["data"] * 3 and set(e["title"]) == {"left"}
    np.testing.assert_allclose(e["x"], x)
    np.testing.assert_allclose(e["y"][:2], y[:2])
    np.testing.assert_allclose(e["yerr_lo"][:2], lo[:2])
    np.testing.assert_allclose(e["yerr_hi"][:2], hi[:2])
    assert np.isnan(e["y"].iloc[2])
    line = df[(df["kind"] == "line") & (df["panel"] == 1)]
    assert list(line["series"]) == ["line", "line"] and list(line["y"]) == [2, 3]
    nofmt = df[(df["kind"] == "errorbar") & (df["panel"] == 1)]  # fmt="none": from the bars
    assert nofmt[["x", "y", "yerr_lo", "yerr_hi"]].values.tolist() == [[4.0, 5.0, 0.5, 0.5]]


def test_quick_variance_regenerates_its_figure_with_the_tables_numbers(tmp_path):
    runner = CliRunner()
    results, figs = tmp_path / "results", tmp_path / "figs"
    folder = results / "variance"
    res = runner.invoke(
        main, ["reproduce", str(ANALYSES_DIR / "variance.toml"), "--quick", "--out", str(folder)]
    )
    assert res.exit_code == 0, res.output
    prov = json.loads((folder / "reproduce.json").read_text())
    assert prov["size"] == "quick" and prov["analysis"] == "variance"
    res = runner.invoke(
        main, ["figures", "--results", str(results), "--out", str(figs), "--only", "variance"]
    )
    assert res.exit_code == 0, res.output
    data = _check_files(figs, "variance")
    table = pd.read_csv(folder / "variance.csv")
    quick = tomllib.loads((ANALYSES_DIR / "variance.toml").read_text())["quick"]
    assert sorted(table["n_qubits"].unique()) == quick["qubits"]  # the quick size ran
    check_variance(table, data)
    # The same points straight from the figure's artists (not through the sidecar).
    fig = paper.draw(paper.figure_spec("variance"), folder)
    pts = _artist_points(fig)
    side = data[data["kind"] == "errorbar"]
    _same_points(pts, side[["panel", "x", "y"]].to_numpy(float), "artists vs sidecar")
    # index.md says which command and which table made the figure.
    index = (figs / "index.md").read_text()
    assert f"--out {folder.as_posix()} --quick" in index and "variance.csv" in index
    assert "bpdiag.figures.variance.variance_figure" in index
    # Regenerating gives the same bytes (fixed metadata; same table, same figure).
    again = tmp_path / "again"
    paper.figures(results, again, only=["variance"])
    for ext in ("pdf", "png", "data.csv"):
        assert (again / f"variance.{ext}").read_bytes() == (figs / f"variance.{ext}").read_bytes()


def test_figures_quick_runs_missing_experiments_then_draws(tmp_path):
    results, figs = tmp_path / "results", tmp_path / "figs"
    df = paper.figures(results, figs, quick=True, only=["lie"])
    assert list(df["figure"]) == ["lie"] and df["size"].iloc[0] == "quick"
    data = _check_files(figs, "lie")
    check_lie(pd.read_csv(results / "lie" / "lie.csv"), data)


def test_tour_notebook_executes_and_shows_every_analysis(tmp_path):
    import nbclient
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / "tour.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 5  # variance, noise, entropy, lie, study
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "UNTRAINABLE" in text  # the Lie audit's verdict on the original circuit
    assert not list(tmp_path.iterdir())  # the tour writes nothing


# ---------------------------------------------------------------------------------------------
# The quick size of every experiment (the CI size), every figure checked against its table


def test_quick_reproduce_every_figure_matches_its_table(tmp_path):
    results, figs = tmp_path / "results", tmp_path / "figs"
    res = CliRunner().invoke(
        main, ["reproduce", "--quick", "--out", str(results), "--figures", str(figs)]
    )
    assert res.exit_code == 0, res.output
    index = (figs / "index.md").read_text()
    for spec in paper.FIGURES:
        folder = paper.find_folder(results, spec)
        assert folder == results / spec.folder, spec.name
        data = _check_files(figs, spec.name)
        check_figure(spec.name, folder, data)
        fig = paper.draw(spec, folder)  # as a reader sees it: no legend on data, tight axes
        assert layout_problems(fig) == [], spec.name
        assert f"`{spec.name}`" in index
        prov = json.loads((folder / "reproduce.json").read_text())
        assert prov["command"] in index and prov["size"] == "quick"
