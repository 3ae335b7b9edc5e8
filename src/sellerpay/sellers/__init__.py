"""Sellers: seller records, statuses, capabilities, onboarding, bank accounts, screening."""
