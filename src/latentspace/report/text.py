"""Numbers and words as the report writes them.

Every measured number goes through :func:`fmt` (:data:`DIGITS` significant digits, never scientific
notation); a param value is written as params.yaml writes it (:func:`param`, :func:`param_pct`); the
rest joins words (:func:`listing`, :func:`edge_note`, :func:`interval`).
"""

from __future__ import annotations

import math

DIGITS = 3               # significant digits of every measured number in the report


def fmt(value, digits: int = DIGITS) -> str:
    """A number as the report prints it: integers in full, floats to ``digits`` significant digits.

    Parameters
    ----------
    value : int, float, bool or None
    digits : int

    Returns
    -------
    text : str
        ``"n/a"`` for None; ``10200``; ``0.00213``, ``4.05``, ``161``, ``1.00`` (trailing zeros kept,
        so every float shows the same number of significant digits); never scientific notation.
    """
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    rounded = float(f"{value:.{digits}g}")  # 9.996 -> 10.0 before the decimals are counted
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(rounded))))
    return f"{rounded:.{decimals}f}"


def pct(share: float | None) -> str:
    """A share in [0, 1] as a percentage with :func:`fmt`'s digits: ``0.0742`` -> ``7.42%``."""
    return "n/a" if share is None else f"{fmt(100.0 * share)}%"


def times(ratio: float) -> str:
    """A ratio as ``3.14×``."""
    return f"{fmt(ratio)}×"


def param(value) -> str:
    """A parameter value as params.yaml would write it: ``1.5``, ``10``, ``0.5``; text as it is."""
    if value is None:
        return "n/a"
    return value if isinstance(value, str) else f"{value:g}"


def param_pct(share: float) -> str:
    """A share set by a param or a rule as a percentage: ``0.9`` -> ``90%``, ``0.05`` -> ``5%``."""
    return f"{100.0 * share:g}%"


def edge_note(best, tried, name: str) -> str:
    """`` It is the largest b tried: a larger one may do better.`` when ``best`` is the smallest or
    largest of several ``tried`` values (the optimum may lie outside the sweep); else ``""``."""
    tried = sorted(tried)
    if len(tried) < 2 or best not in (tried[0], tried[-1]):
        return ""
    side, other = ("smallest", "smaller") if best == tried[0] else ("largest", "larger")
    return f" It is the {side} {name} tried: a {other} one may do better."


def listing(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def interval(low: float, high: float, level: float) -> str:
    """``(90% interval 1.2 to 3.4)``."""
    return f"({param_pct(level)} interval {fmt(low)} to {fmt(high)})"
