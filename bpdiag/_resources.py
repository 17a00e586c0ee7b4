"""Memory is predicted, not discovered: estimate peak memory and chunk batches to fit."""

from __future__ import annotations

import math
import os
import sys
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


#: Largest sizes any analysis accepts, checked before anything is built (one-line ValueError).
MAX_LAYERS = 10_000  # circuit layers: ~n * L gates are lowered and compiled
MAX_SAMPLES = 10_000_000  # parameter draws per point
MAX_SHOTS = 10**12  # shots per circuit (binomial counts stay exact in int64)
MAX_GRID = 100_000  # grid points of one run
MAX_WIDTH = 1_000_000  # widths of classical layers (hidden units)


def readable_count(value: float) -> str:
    """An integer as people read it: ``12,345`` up to 10^12, else ``about 10^20``; a power of
    two above 2^40 as ``2^1000``."""
    value = int(value)
    if abs(value) <= 10**12:
        return f"{value:,}"
    if value > 0 and value & (value - 1) == 0:
        return f"2^{value.bit_length() - 1}"
    return f"about 10^{len(str(abs(value))) - 1}"


def check_size(name: str, value: float, limit: float, *, minimum: float | None = None) -> None:
    """Raise ``ValueError("<name> must be <= <limit>, got <value>")`` (one line, readable
    numbers) when ``value`` is above ``limit`` (or below ``minimum``)."""
    got = readable_count(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {readable_count(minimum)}, got {got}")
    if value > limit:
        raise ValueError(f"{name} must be <= {readable_count(limit)}, got {got}")


def amplitudes(n_qubits: int) -> str:
    """``"2^26 amplitudes"``: the size of an n-qubit statevector, in words."""
    return f"2^{int(n_qubits)} amplitudes"


def resident_memory() -> int:
    """Bytes of resident memory of this process now (VmRSS on Linux; 0 where unknown)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


#: Resident memory JAX adds when it is first imported and initialised (measured: ~165 MiB on CPU)
JAX_RUNTIME = 160 * 2**20
#: XLA compiler and runtime working memory for one compiled program (measured: 120-200 MiB on CPU)
COMPILE = 256 * 2**20
#: ... and for the adjoint (all-parameter) program, compiled without a cache hit (measured: ~450
#: MiB at n = 17 on CPU)
COMPILE_ADJOINT = 512 * 2**20


def process_baseline() -> int:
    """Bytes this process will hold before an engine allocates states: resident now, plus the
    JAX runtime when it is not loaded yet, plus the compiler's working memory."""
    jax_now = 0 if "jax" in sys.modules else JAX_RUNTIME
    return resident_memory() + jax_now + COMPILE


def human_bytes(n: float) -> str:
    """``"11.5 GiB"``; sizes above an exbibyte as ``"2^1004 bytes"`` (no 300-digit numbers)."""
    if n >= 2**70:
        return f"2^{math.log2(n):.0f} bytes"
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
