"""Payouts: schedules, payout runs, the payout state machine, approvals, FX at payout."""
