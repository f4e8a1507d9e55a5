"""Byte counts as people read them: one formatter, so "MB" means one thing everywhere.

Decimal (SI) units, as disk vendors and ``ls --si`` use: 1 MB is 1,000,000 bytes.
"""

from __future__ import annotations

__all__ = ["format_size"]

_UNITS = ("KB", "MB", "GB", "TB")


def format_size(n: int) -> str:
    """``"512 B"``, ``"1.5 MB"``: ``n`` bytes with one decimal, in SI units."""
    if n < 1000:
        return f"{n} B"
    value = float(n)
    for unit in _UNITS:
        value /= 1000
        if value < 999.95 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")
