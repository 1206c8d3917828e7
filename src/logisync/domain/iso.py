"""ISO code lists: country codes (ISO 3166-1 alpha-2) and currency codes (ISO 4217).

The lists come from pycountry (which follows Debian's iso-codes) and are read on first use, not
at import: a process that never validates a country pays nothing.
"""

from __future__ import annotations

from functools import cache


@cache
def countries() -> frozenset[str]:
    """Every officially assigned ISO 3166-1 alpha-2 code (`DE`, `US`; not the user-assigned `XK`)."""
    import pycountry

    return frozenset(c.alpha_2 for c in pycountry.countries)


@cache
def currencies() -> frozenset[str]:
    """Every ISO 4217 alphabetic currency code in the current list (`EUR`, `USD`, `XAU`)."""
    import pycountry

    return frozenset(c.alpha_3 for c in pycountry.currencies)


def country_problem(code: str) -> str | None:
    """None when `code` is an assigned ISO 3166-1 alpha-2 code, else what is wrong."""
    if code in countries():
        return None
    return f"{code!r} is not an ISO 3166-1 alpha-2 country code"


def currency_problem(code: str) -> str | None:
    """None when `code` is an ISO 4217 currency code, else what is wrong."""
    if code in currencies():
        return None
    return f"{code!r} is not an ISO 4217 currency code"
