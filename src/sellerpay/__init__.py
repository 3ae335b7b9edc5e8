"""Sellerpay: an open-source payout engine for marketplaces.

Money in from marketplace events, a double-entry ledger of every seller's balances, payouts over
real bank rails, reconciliation, onboarding and risk. See docs/ and the design notes.
"""

__version__ = "0.1.0"
