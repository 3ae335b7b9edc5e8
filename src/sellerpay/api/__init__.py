"""The HTTP API: the FastAPI application, authentication, and RFC 9457 problem details.

Each context serves its own router (`sellerpay.ledger.api`, …); this package assembles them
(`create_app`) and holds what they share: `deps` (database, clock, principal, permissions) and
`problems` (every error, mapped once).
"""

from sellerpay.api.app import create_app

__all__ = ["create_app"]
