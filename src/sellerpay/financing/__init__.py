"""Financing: early payouts, cash advances and their repayment."""
