"""Memory is predicted, not discovered: estimate peak memory and chunk batches to fit."""

from __future__ import annotations

import os
import zlib

import numpy as np


def available_memory() -> int:
    """Bytes of memory available now (MemAvailable on Linux; else the physical total)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(n) < 1024 or unit == "EiB":
            return f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EiB"


def plan_chunk(
    n_rows: int,
    bytes_per_row: float,
    *,
    what: str,
    budget: float | None = None,
    fixed: float = 0.0,
) -> int:
    """Largest chunk of rows whose estimated peak (``fixed + chunk * bytes_per_row``) fits in
    ``budget`` bytes (default: half the available memory). Raises ``MemoryError`` with a one-line
    message naming what it would need when not even one row fits."""
    budget = 0.5 * available_memory() if budget is None else float(budget)
    need_one = fixed + bytes_per_row
    if need_one > budget:
        raise MemoryError(
            f"{what} needs about {human_bytes(need_one)} for a single sample "
            f"but only {human_bytes(budget)} is available"
        )
    return int(max(1, min(n_rows, (budget - fixed) // bytes_per_row)))


def point_seed(seed: int, *coords) -> np.random.SeedSequence:
    """A seed sequence derived from the run seed and a point's coordinates only, so a point's
    random numbers do not depend on which other points are in the grid."""
    key = "|".join(str(c) for c in coords)
    return np.random.SeedSequence([int(seed) & 0xFFFFFFFF, zlib.crc32(key.encode())])


def as_axes(config, names: tuple[str, ...], label: str = "") -> None:
    """Normalise grid axes of a frozen config in place: a scalar becomes a 1-tuple, a list a
    tuple; an empty axis raises ``ValueError("<label><name> must not be empty")``."""
    for name in names:
        value = getattr(config, name)
        value = (value,) if isinstance(value, (int, str)) else tuple(value)
        object.__setattr__(config, name, value)
        if not value:
            raise ValueError(f"{label}{name} must not be empty")
