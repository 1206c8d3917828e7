"""GTIN-8, -12 (UPC-A), -13 (EAN) and -14 check digits (GS1's mod-10 algorithm)."""

from __future__ import annotations

LENGTHS = (8, 12, 13, 14)


def check_digit(body: str) -> int:
    """The check digit for a GTIN without its last digit.

    Weights alternate 3, 1, 3, ... from the rightmost digit of the body; the check digit brings
    the weighted sum up to a multiple of ten.
    """
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def gtin_problem(code: str) -> str | None:
    """None for a valid GTIN; else what is wrong with it, in words a person can act on."""
    shown = repr(code if len(code) <= 20 else code[:20] + "...")
    if not code.isascii() or not code.isdigit():
        return f"GTIN {shown} must be digits only"
    if len(code) not in LENGTHS:
        return f"GTIN {shown} has {len(code)} digits (a GTIN has 8, 12, 13 or 14)"
    expected = check_digit(code[:-1])
    if int(code[-1]) != expected:
        return f"GTIN {shown} has check digit {code[-1]}, expected {expected}"
    return None


def normalise(code: str) -> str:
    """A valid GTIN as GTIN-14 (left-padded with zeros), the form that compares across lengths."""
    problem = gtin_problem(code)
    if problem is not None:
        raise ValueError(problem)
    return code.zfill(14)
