"""The `sellerpay` command line (Typer + Rich)."""
