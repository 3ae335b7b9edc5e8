"""Deterministic, seeded simulations of a marketplace running through the real code."""
