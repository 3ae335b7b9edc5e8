"""The double-entry ledger: accounts, balanced transactions, entries, balances and reversals."""
