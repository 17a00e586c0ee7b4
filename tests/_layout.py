"""What a reader would trip over in a figure (shared by the figure tests)."""

import numpy as np


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
