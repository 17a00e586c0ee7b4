"""Figures as a person looks at them: no legend on top of a data point, and axis limits that cover
the data with at most two empty decades; structural zeros drawn on a floor, not as 1e-32."""

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from _layout import _scatter, layout_problems  # noqa: E402

import bpdiag  # noqa: E402
from bpdiag.figures.lie import lie_figure  # noqa: E402
from bpdiag.figures.noise import noise_figure  # noqa: E402
from bpdiag.figures.variance import variance_figure  # noqa: E402


@pytest.fixture(scope="module")
def grid():
    # odd n at L = 1: the middle parameter is a last-layer RZ, structurally dead
    return bpdiag.variance(
        qubits=(2, 3, 4, 5), layers=(1, 2, 5), samples=60, method=("sample", "exact")
    )


def test_variance_figure_layout_and_structural_zeros(grid):
    fig = variance_figure(grid.table, grid.meta)
    assert layout_problems(fig) == []
    zeros = grid.table[grid.table["var"] <= 1e-12 * 2.0**-10]
    assert len(zeros)  # the dead middle parameter at odd n, L = 1
    ax = fig.axes[0]
    lo, _ = ax.get_ylim()
    assert lo > 1e-6  # the axis is not stretched down to the zeros
    floors = [c for c in ax.collections if _scatter(c)]
    ys = np.concatenate([np.asarray(c.get_offsets())[:, 1] for c in floors])
    assert np.isclose(ys.min(), lo * 1.6)  # zeros drawn on the floor
    legend = fig.legends[0]
    texts = [t.get_text() for t in legend.get_texts()]
    assert "2-design value" in texts and "structurally zero (dead parameter)" in texts
    # the fits leave the structural zeros out: L = 1 fits use even n only
    fit = next(f for f in grid.meta["fits"] if f["n_layers"] == 1 and f["method"] == "exact"
               and f["cost"] == "global")  # fmt: skip
    assert fit["points"] == 2


def test_noise_and_lie_figure_layout():
    noisy = bpdiag.variance(
        qubits=(2, 3), layers=(1, 2, 4), samples=40, cost=("local",),
        noise="depolarizing:0,0.02,0.05",
    )  # fmt: skip
    assert layout_problems(noise_figure(noisy.table, noisy.meta)) == []
    audit = bpdiag.lie(
        ansatz=("dense", "sparse"), qubits=(2, 3), layers=(2,), deep_layers=5, samples=40
    )
    assert layout_problems(lie_figure(audit.table, audit.meta)) == []
