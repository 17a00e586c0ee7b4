"""bpdiag: barren-plateau diagnostics for parameterized quantum circuits."""

from __future__ import annotations

__version__ = "0.1.0"
