"""Carrier tracking: native carrier events decoded to the canonical vocabulary, and a shipment's status."""
