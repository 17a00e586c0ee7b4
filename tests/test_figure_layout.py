"""Figures as a person looks at them: no legend on top of a data point, and axis limits that cover
the data with at most two empty decades; structural zeros drawn on a floor, not as 1e-32."""

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import bpdiag  # noqa: E402
from bpdiag.figures.lie import lie_figure  # noqa: E402
from bpdiag.figures.noise import noise_figure  # noqa: E402
from bpdiag.figures.variance import variance_figure  # noqa: E402


def _scatter(c) -> bool:
    from matplotlib.collections import PathCollection

    return isinstance(c, PathCollection)


def _points(ax) -> np.ndarray:
    pts = [np.asarray(line.get_xydata(), float) for line in ax.lines]
    pts += [np.asarray(c.get_offsets(), float) for c in ax.collections if _scatter(c)]
    pts = [p for p in pts if p.ndim == 2 and len(p)]
    xy = np.concatenate(pts) if pts else np.zeros((0, 2))
    return xy[np.isfinite(xy).all(axis=1)]


def layout_problems(fig) -> list[str]:
    """What a reader would trip over: legend boxes over data points, log axes with more than two
    decades of empty space around the data."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    out = []
    for ax in fig.axes:
        xy = _points(ax)
        if not len(xy):
            continue
        disp = ax.transData.transform(xy)
        for leg in legends:
            bb = leg.get_window_extent(renderer)
            inside = (disp[:, 0] >= bb.x0) & (disp[:, 0] <= bb.x1)
            inside &= (disp[:, 1] >= bb.y0) & (disp[:, 1] <= bb.y1)
            if inside.any():
                out.append(f"a legend covers {int(inside.sum())} points of {ax.get_title()!r}")
        if ax.get_yscale() == "log":
            y = xy[:, 1][xy[:, 1] > 0]
            lo, hi = ax.get_ylim()
            if len(y) and np.log10(y.min() / lo) + np.log10(hi / y.max()) > 2:
                out.append(f"more than two empty decades in {ax.get_title()!r}")
    return out


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
