"""Balances: the read side of a seller's money — balances per currency and balance transactions."""
