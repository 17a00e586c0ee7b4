"""The shared real-data folder of the tests (not a test module)."""

from __future__ import annotations

from pathlib import Path

import pytest

#: The shared real-data folder: ``../shared/data/real`` relative to the repository root (CI lays
#: the clone at ``$d/p`` and the shared folder at ``$d/shared``).
REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"


def real(rel: str) -> Path:
    """The real file ``rel``; skips only when the shared folder itself is absent, and fails when
    the folder is there but the file is not (a renamed or lost file must not pass silently)."""
    if not REAL.is_dir():
        pytest.skip(f"shared real-data folder not present: {REAL}")
    path = REAL / rel
    assert path.is_file(), f"{path} is missing from the shared real-data folder"
    return path
