"""Sanctions screening: list formats (OFAC SDN, EU consolidated list), the name matcher, list
versions and rescreening, and the review queue of potential matches (docs/screening.md)."""
