"""Who is asking: API tokens of data providers, and slowing down whoever keeps guessing.

Rule: a secret is shown once, when its token is made, and is never stored
or logged. A token reads ``migstat_<id>_<secret>``: ``id`` (12 hex digits)
finds the row, ``secret`` is 32 random bytes (base64url). The store keeps
the id, the provider, a random 16-byte salt and HMAC-SHA256(salt, secret);
checking recomputes the digest and compares in constant time. Logs name a
token by its id only.

Requests carry a token as ``Authorization: Bearer <token>`` (RFC 6750).
``provider_from_request`` is for endpoints that need a provider (writes,
``/submissions``): no token is 401 with ``WWW-Authenticate: Bearer``.
``viewer_from_request`` is for reads: no token is the public; a valid one
lets the provider see its own embargoed data; an invalid one is 401 (a
client never takes the public view for its own).

Failed authentication is limited per client address (``FailureLimiter``):
after ``auth_failure_limit`` failures within ``auth_failure_window`` seconds
the address is answered 429 with ``Retry-After`` for 10 s, then 20 s, 40 s...
(at most an hour) at each further round of failures; a success forgets its
past. Counters live in memory in each process, so each gunicorn worker
keeps its own (a client can try ``workers x limit`` times before all of
them block it). The address is ``request.remote_addr``: behind a proxy,
have it set the client's address (werkzeug's ProxyFix).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import math
import re
import secrets
import threading
import time
from dataclasses import dataclass, field

from .errors import TooManyRequests, Unauthorized

log = logging.getLogger("migstat.auth")

TOKEN_PREFIX = "migstat"
TOKEN_RE = re.compile(r"^migstat_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
REALM = 'Bearer realm="migstat"'


@dataclass(frozen=True)
class IssuedToken:
    """A new token: the stored record and the full token text, to be shown once."""

    record: object  # service.store.TokenRecord
    token: str


def digest(salt: str, secret: str) -> str:
    return hmac.new(bytes.fromhex(salt), secret.encode(), hashlib.sha256).hexdigest()


def create_token(store, provider: str, note: str | None = None) -> IssuedToken:
    """Store a new token for ``provider``; the returned text is the only copy of the secret."""
    token_id = secrets.token_hex(6)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    salt = secrets.token_hex(16)
    record = store.add_token(token_id=token_id, provider=provider, salt=salt, digest=digest(salt, secret),
                             note=note)
    return IssuedToken(record, f"{TOKEN_PREFIX}_{token_id}_{secret}")


def parse_token(text: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token, else None."""
    found = TOKEN_RE.match(text.strip())
    return (found.group(1), found.group(2)) if found else None


def check_token(store, text: str) -> tuple[object | None, str]:
    """(the token's record, "") when ``text`` is a valid, unrevoked token; else (None, why) for the log."""
    parsed = parse_token(text)
    if parsed is None:
        return None, "malformed token"
    token_id, secret = parsed
    record = store.token(token_id)
    if record is None:
        digest("00" * 16, secret)  # the same work as a known id
        return None, f"unknown token id {token_id}"
    if not hmac.compare_digest(digest(record.salt, secret), record.digest):
        return None, f"wrong secret for token {token_id}"
    if record.revoked:
        return None, f"token {token_id} is revoked"
    return record, ""


# -- slowing down repeated failures ------------------------------------------------------------

@dataclass
class _Client:
    failures: list[float] = field(default_factory=list)
    strikes: int = 0  # times blocked since the last success
    blocked_until: float = 0.0
    last_seen: float = 0.0


class FailureLimiter:
    """Failed authentications per client address, in this process's memory (thread-safe)."""

    BASE_DELAY = 10.0
    MAX_DELAY = 3600.0
    MAX_CLIENTS = 10_000

    def __init__(self, limit: int = 5, window: float = 60.0, clock=time.monotonic):
        self.limit, self.window, self.clock = max(1, limit), window, clock
        self._clients: dict[str, _Client] = {}
        self._lock = threading.Lock()

    def blocked_for(self, address: str) -> float:
        """Seconds ``address`` must still wait (0: it may try)."""
        with self._lock:
            client = self._clients.get(address)
            return max(0.0, client.blocked_until - self.clock()) if client else 0.0

    def failed(self, address: str) -> tuple[int, float]:
        """Count a failure; returns (failures in the window, seconds blocked now: 0 if not blocked)."""
        now = self.clock()
        with self._lock:
            if len(self._clients) >= self.MAX_CLIENTS:
                self._forget_idle(now)
            client = self._clients.setdefault(address, _Client())
            if now - client.last_seen > self.MAX_DELAY:
                client.strikes = 0
            client.last_seen = now
            client.failures = [t for t in client.failures if now - t < self.window] + [now]
            if len(client.failures) < self.limit:
                return len(client.failures), 0.0
            delay = min(self.BASE_DELAY * 2 ** client.strikes, self.MAX_DELAY)
            client.strikes += 1
            client.blocked_until = now + delay
            count, client.failures = len(client.failures), []
            return count, delay

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._clients.pop(address, None)

    def _forget_idle(self, now: float) -> None:
        horizon = max(self.window, self.MAX_DELAY)
        for address in [a for a, c in self._clients.items()
                        if now - c.last_seen > horizon and c.blocked_until <= now]:
            del self._clients[address]
        if len(self._clients) >= self.MAX_CLIENTS:  # still full: drop the oldest unblocked half
            idle = sorted((c.last_seen, a) for a, c in self._clients.items() if c.blocked_until <= now)
            for _, address in idle[:len(idle) // 2 or 1]:
                del self._clients[address]


# -- Flask glue -------------------------------------------------------------------------------

def _limiter() -> FailureLimiter:
    from flask import current_app

    limiter = current_app.extensions.get("migstat.auth_failures")
    if limiter is None:
        settings = current_app.config["MIGSTAT"]
        limiter = current_app.extensions.setdefault("migstat.auth_failures", FailureLimiter(
            settings.auth_failure_limit, settings.auth_failure_window))
    return limiter


def _bearer() -> str | None:
    from flask import request

    scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def _authenticate(token: str) -> str:
    from flask import current_app, request

    address = request.remote_addr or "unknown"
    limiter = _limiter()
    wait = limiter.blocked_for(address)
    if wait > 0:
        raise TooManyRequests(f"too many failed authentications from {address}; try again in {math.ceil(wait)} s",
                              headers={"Retry-After": str(math.ceil(wait))})
    record, why = check_token(current_app.extensions["migstat.store"], token)
    if record is None:
        count, blocked = limiter.failed(address)
        log.warning("authentication failed from %s: %s (%d in the last %g s)", address, why, count,
                    limiter.window)
        if blocked:
            log.warning("authentication from %s blocked for %g s after repeated failures", address, blocked)
        revoked = why.endswith("revoked")
        detail = "the token has been revoked" if revoked else "the token is not valid"
        raise Unauthorized(f"{detail}; ask the operator for a token (migstat tokens create PROVIDER)", headers={
            "WWW-Authenticate": f'{REALM}, error="invalid_token", error_description="{detail}"'})
    limiter.succeeded(address)
    return record.provider


def provider_from_request() -> str:
    """The data provider of the request's Bearer token; 401 without a valid one, 429 when blocked."""
    token = _bearer()
    if token is None:
        raise Unauthorized("this resource needs a data provider's token: Authorization: Bearer <token>",
                           headers={"WWW-Authenticate": REALM})
    return _authenticate(token)


def viewer_from_request() -> str | None:
    """Whose embargoed data a read may show: the provider of a valid Bearer token, else None (the public)."""
    token = _bearer()
    return None if token is None else _authenticate(token)
