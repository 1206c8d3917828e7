"""Who is calling: API keys per system (kept only as SHA-256 digests), the admin key, and scope checks.

Each system's key is read once, when the app is created, from the environment variable named in
`systems.NAME.auth.api_key_env`; the admin key (reads everything, writes nothing) from
`api.admin.api_key_env`. A request presents its key as `Authorization: Bearer KEY` or
`X-API-Key: KEY`. Keys are compared as digests with `hmac.compare_digest`, and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ..config.model import AuthConfig, SyncMap
from ..config.ownership import Scopes
from ..domain.kinds import Domain
from ..errors import ConfigError
from .problems import ApiProblem

log = logging.getLogger("logisync.api")

ADMIN = "admin"
BEARER = HTTPBearer(auto_error=False, description="the calling system's API key: `Bearer KEY`")
API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="the same key, as a header")
HOW = "send `Authorization: Bearer KEY` (or `X-API-Key: KEY`) with the key of the calling system"


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller: a system of the sync map, or the admin."""

    name: str
    admin: bool = False


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class Keyring:
    """The digests of the keys that may call the API, and whose each one is."""

    def __init__(self, entries: Iterable[tuple[bytes, Caller]]) -> None:
        self._entries = tuple(entries)

    @classmethod
    def from_syncmap(cls, syncmap: SyncMap, env: Mapping[str, str] | None = None) -> Keyring:
        """Read every key named in the sync map; refuse two callers sharing one key."""
        env = os.environ if env is None else env
        wanted: list[tuple[AuthConfig, Caller]] = [
            (system.auth, Caller(name)) for name, system in syncmap.systems.items() if system.auth is not None
        ]
        if syncmap.api.admin is not None:
            wanted.append((syncmap.api.admin, Caller(ADMIN, admin=True)))
        entries: list[tuple[bytes, Caller]] = []
        owners: dict[bytes, str] = {}
        for auth, caller in wanted:
            key = env.get(auth.api_key_env) or None
            who = "the admin" if caller.admin else f"system {caller.name!r}"
            if key is None:
                if caller.admin:
                    log.warning("no admin key: %s is not set", auth.api_key_env)
                else:
                    log.warning("%s cannot call the API: %s is not set", who, auth.api_key_env)
                continue
            d = digest(key)
            if d in owners:
                raise ConfigError(
                    f"{auth.api_key_env}: {who} has the same API key as {owners[d]}; "
                    "give every caller a key of its own"
                )
            owners[d] = who
            entries.append((d, caller))
        return cls(entries)

    def identify(self, key: str) -> Caller | None:
        """The caller whose key this is; every digest is compared, in constant time each."""
        presented = digest(key)
        found = None
        for d, caller in self._entries:
            if hmac.compare_digest(d, presented):
                found = caller
        return found

    def __len__(self) -> int:
        return len(self._entries)


def unauthorized(message: str) -> ApiProblem:
    return ApiProblem(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def authenticator(keyring: Keyring) -> Callable[..., Awaitable[Caller]]:
    """The dependency that turns a request's key into a Caller, or answers 401."""

    async def caller(
        request: Request,
        bearer: HTTPAuthorizationCredentials | None = Security(BEARER),
        api_key: str | None = Security(API_KEY),
    ) -> Caller:
        key = bearer.credentials if bearer is not None else api_key
        if not key:
            if request.headers.get("authorization"):
                raise unauthorized(f"the Authorization header is not `Bearer KEY`: {HOW}")
            raise unauthorized(f"no API key: {HOW}")
        found = keyring.identify(key)
        if found is None:
            raise unauthorized(
                "unknown API key: it is not the key of any system in the sync map "
                "(is the system's key variable set where the hub runs?)"
            )
        return found

    return caller


def _listed(domains: Iterable[Domain]) -> str:
    return ", ".join(sorted(d.value for d in domains)) or "none"


def check_read(caller: Caller, domain: Domain, scopes: Scopes) -> None:
    """403 unless the caller is the admin or a system whose read scopes include the domain."""
    if caller.admin or scopes.can_read(caller.name, domain):
        return
    raise ApiProblem(
        403,
        "forbidden",
        f"system {caller.name!r} may not read {domain.value} "
        f"(its read scopes: {_listed(scopes.reads.get(caller.name, ()))})",
    )


def check_sender(caller: Caller) -> None:
    """403 for the admin: changes come from systems, and carry their names."""
    if caller.admin:
        raise ApiProblem(
            403,
            "forbidden",
            "the admin key reads every record but sends no changes: "
            "send changes with the key of the system they come from",
        )


def check_write(caller: Caller, domains: list[Domain], scopes: Scopes) -> None:
    """403 naming each domain of a batch the caller may not write; `domains[i]` is change i's."""
    allowed = scopes.writes.get(caller.name, frozenset())
    bad = [(i, d) for i, d in enumerate(domains) if d not in allowed]
    if not bad:
        return
    names = ", ".join(dict.fromkeys(d.value for _, d in bad))
    raise ApiProblem(
        403,
        "forbidden",
        f"system {caller.name!r} may not write {names} (its write scopes: {_listed(allowed)}); "
        "nothing in this batch was applied",
        [
            {"path": f"changes[{i}].domain", "message": f"{caller.name} may not write {d.value}"}
            for i, d in bad
        ],
    )
