"""Simulated systems, scenarios with faults, invariant checks, and the demo."""
