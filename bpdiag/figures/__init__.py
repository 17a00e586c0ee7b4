"""Figures: one style (:mod:`~bpdiag.figures._style`) and one module per analysis. Figures read
tables and meta only: they import neither analyses nor engines, and fits arrive in ``meta``."""

from bpdiag.figures._style import COLUMN_WIDTH, STYLE, style

__all__ = ["COLUMN_WIDTH", "STYLE", "style"]
