"""Fits: volume law or area law, from the half-cut entropy against the number of qubits."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bpdiag.analyses._common import weighted_line_fit
from bpdiag.analyses.entropy._theory import LN2, page_entropy


def verdict_from_curve(
    n: Sequence[int],
    s: Sequence[float],
    s_se: Sequence[float] | None = None,
    *,
    unit: str = "nats",
    volume: float = 0.5,
    area: float = 0.1,
    min_points: int = 3,
) -> dict:
    """Volume law or area law, from half-cut entropies ``s`` (in ``unit``) at qubit counts ``n``.

    Fits ``s = a + b n`` by weighted least squares
    (:func:`bpdiag.analyses._common.weighted_line_fit`) over the *tail* of the curve (the points
    with n >= the median n, at least ``min_points``), where an area law has saturated; errors are
    ``s_se`` (floored at 1e-6) and the slope's standard error is inflated by the reduced chi^2
    when a line does not describe the tail. The slope is compared with the Page curve's slope
    ``b_page``, fitted the same way to ``page_entropy(n, n//2)`` (about ln 2 / 2 per qubit):
    ``f = b / b_page`` with standard error ``f_se``. Verdict:
    ``"volume"`` if ``f - 2 f_se >= volume`` (grows at least ``volume`` × as fast as Haar states,
    at 2 sigma); ``"area"`` if ``f + 2 f_se <= area`` (saturated at 2 sigma); otherwise
    ``"intermediate"`` (grows, but significantly slower than the volume law, or too noisy to
    tell); ``"insufficient"`` with fewer than ``min_points`` qubit counts.
    """
    n = np.asarray(n, dtype=float)
    s = np.asarray(s, dtype=float)
    se = np.zeros_like(s) if s_se is None else np.nan_to_num(np.asarray(s_se, dtype=float))
    order = np.argsort(n)
    n, s, se = n[order], s[order], se[order]
    scale = 1.0 if unit == "nats" else 1.0 / LN2
    out = {
        "slope": float("nan"),
        "slope_se": float("nan"),
        "page_slope": float("nan"),
        "slope_fraction": float("nan"),
        "slope_fraction_se": float("nan"),
        "intercept": float("nan"),
        "n_min": int(n.min()) if len(n) else 0,
        "n_max": int(n.max()) if len(n) else 0,
        "points": 0,
        "verdict": "insufficient",
    }
    if len(np.unique(n)) < min_points:
        return out
    tail = n >= np.median(n)
    if tail.sum() < min_points:
        tail = np.arange(len(n)) >= len(n) - min_points
    nt, st, sel = n[tail], s[tail], np.maximum(se[tail], 1e-6)
    fit = weighted_line_fit(nt, st, sel)
    page = np.array([page_entropy(int(k), int(k) // 2) for k in nt]) * scale
    page_slope = weighted_line_fit(nt, page, sel)["b"]
    f = fit["b"] / page_slope
    f_se = fit["b_se"] / abs(page_slope)
    if f - 2 * f_se >= volume:
        verdict = "volume"
    elif f + 2 * f_se <= area:
        verdict = "area"
    else:
        verdict = "intermediate"
    out.update(
        slope=fit["b"],
        slope_se=fit["b_se"],
        page_slope=float(page_slope),
        slope_fraction=float(f),
        slope_fraction_se=float(f_se),
        intercept=fit["a"],
        n_min=int(nt.min()),
        n_max=int(nt.max()),
        points=int(tail.sum()),
        verdict=verdict,
    )
    return out


def verdicts(df: pd.DataFrame, **options) -> pd.DataFrame:
    """One verdict per configuration (state, encoding, ansatz, n_layers, cut) from the half-cut
    rows (``cut_size == n_qubits // 2``) of an :func:`entropy` table; see
    :func:`verdict_from_curve` (``options`` go there). Also reports ``volume_fraction`` at the
    largest n. Columns: ``state, encoding, ansatz, n_layers, cut, slope, slope_se, page_slope,
    slope_fraction, slope_fraction_se, intercept, n_min, n_max, points, volume_fraction_nmax,
    verdict`` (slopes in the table's unit per qubit)."""
    half = df[df["cut_size"] == df["n_qubits"] // 2]
    keys = ["state", "encoding", "ansatz", "n_layers", "cut"]
    out = []
    for key, g in half.groupby(keys, sort=False):
        g = g.sort_values("n_qubits")
        unit = str(g["unit"].iloc[0])
        v = verdict_from_curve(g["n_qubits"], g["entropy"], g["entropy_se"], unit=unit, **options)
        v["volume_fraction_nmax"] = float(g["volume_fraction"].iloc[-1])
        out.append(dict(zip(keys, key)) | v)
    return pd.DataFrame(out)
