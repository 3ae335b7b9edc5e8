"""Reconciliation: bank statements in, matching to expected movements, exceptions."""
