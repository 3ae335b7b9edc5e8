"""Reporting: seller statements, payout composition, finance reports."""
