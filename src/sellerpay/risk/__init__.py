"""Risk: signals, rules, holds, rolling reserves, exposure."""
