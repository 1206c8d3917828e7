"""The delivery engine: policies (retry, rate budget, breaker), signing and mappings, per target.

Each module holds one concept; importing this package does nothing. See docs/delivery.md.
"""
