"""What a route may ask for: database, clock, settings, the calling principal and its permissions.

`Annotated` aliases keep route signatures short (`db: DatabaseDep`). Authentication takes an
API key as `Authorization: Bearer <key>` or `X-API-Key: <key>`: no key is 401 with a
`WWW-Authenticate: Bearer` challenge, an unknown or revoked key is 401, and a known key whose
role lacks the permission is 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Final, cast

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from sellerpay.access import service as access_service
from sellerpay.access.rules import Permission, Principal, can
from sellerpay.clock import Clock
from sellerpay.db import Database
from sellerpay.errors import Forbidden, Unauthenticated
from sellerpay.settings import Settings, get_settings

api_key_length_max: Final = 512  # real keys are ~64 characters; refuse longer before hashing

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="BearerKey",
    description="An API key (`sp_<id>_<secret>`) as `Authorization: Bearer <key>`.",
)
_api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="ApiKeyHeader",
    description="The same API key in an `X-API-Key` header, for clients that cannot set "
    "`Authorization`.",
)


def get_database(request: Request) -> Database:
    """The application's `Database` (set by `create_app`)."""
    return cast(Database, request.app.state.db)


def get_clock(request: Request) -> Clock:
    """The application's `Clock` (the system clock, or a fixed one in tests)."""
    return cast(Clock, request.app.state.clock)


DatabaseDep = Annotated[Database, Depends(get_database)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_principal(
    request: Request,
    db: DatabaseDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_api_key_header)],
) -> Principal:
    """The principal behind the presented API key, or `Unauthenticated`."""
    presented = bearer.credentials if bearer is not None else header_key
    if presented is None:
        if "authorization" in request.headers:
            raise Unauthenticated(
                "the Authorization header must be 'Bearer <API key>'", code="invalid_api_key"
            )
        raise Unauthenticated(
            "this request needs an API key: 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            code="api_key_required",
        )
    if len(presented) > api_key_length_max:
        raise Unauthenticated("malformed API key", code="invalid_api_key")
    return access_service.authenticate(db, presented)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(permission: Permission) -> Callable[[Principal], Principal]:
    """A dependency that yields the principal if its role grants `permission`, else 403.

    Use as `Annotated[Principal, Depends(require(Permission.LEDGER_POST))]`.
    """

    def dependency(principal: PrincipalDep) -> Principal:
        if not can(principal, permission):
            raise permission_denied(principal, permission)
        return principal

    dependency.__name__ = f"require_{permission.name.lower()}"
    return dependency


def permission_denied(principal: Principal, permission: Permission) -> Forbidden:
    """The 403 for a principal whose role lacks `permission`."""
    return Forbidden(
        f"the {principal.role.value} role does not grant {permission.value}",
        code="permission_required",
        permission=permission.value,
    )


def source_ip(request: Request) -> str | None:
    """The caller's address, as the audit trail records it ("from where")."""
    return request.client.host if request.client is not None else None
