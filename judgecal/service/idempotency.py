"""``Idempotency-Key`` on every POST: a retried request gets the first one's answer, not a second
effect (the IETF draft "The Idempotency-Key HTTP Header Field"; Stripe's semantics).

- The first request with a key claims it (a row in ``idempotency_keys``, keyed by the caller's
  scope — a hash of its bearer token — and the key) and runs; its response, when it succeeds (2xx),
  is stored with the key.
- The same key with the same request (route and canonical JSON of the validated body: key order,
  spacing and defaults written out or left out do not matter) replays that stored response, with
  ``Idempotent-Replayed: true``: the same job for a validation, the same verdicts for a grade.
- The same key with a different request is **409 ``idempotency_key_reused``**; while the first
  request is still being answered, **409 ``idempotency_key_in_use``** (retry shortly).
- A request that ends in an error (4xx, 5xx) does not keep its key: retrying with it runs again.
- Keys are kept ``ttl`` seconds (default 24 h) and then forgotten; keys left in progress by a
  previous server process are dropped when the service starts.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from judgecal.service.errors import ApiError

__all__ = ["DEFAULT_IDEMPOTENCY_TTL", "KEY_PATTERN", "Idempotency", "request_hash"]

DEFAULT_IDEMPOTENCY_TTL = 24 * 3600.0
"""How long a key is remembered (seconds)."""
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
"""A key: 1-255 visible ASCII characters (a UUID is the usual choice)."""
_PRUNE_EVERY = 60.0


def request_hash(route: str, body: BaseModel) -> str:
    """SHA-256 of the route and the canonical JSON of the validated body."""
    canonical = json.dumps(
        {"route": route, "body": body.model_dump(mode="json")},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def caller_scope(authorization: str | None, auth_on: bool) -> str:
    """Keys are per caller: a hash of the bearer credentials (``-`` without authentication)."""
    if not auth_on or not authorization:
        return "-"
    return hashlib.sha256(authorization.encode("utf-8")).hexdigest()


class Idempotency:
    """The service's keys: ``await idem.run(...)`` around a POST handler."""

    def __init__(self, store: Callable[[], Any], *, ttl: float = DEFAULT_IDEMPOTENCY_TTL):
        if ttl <= 0:
            raise ValueError("the idempotency ttl must be positive")
        self._store = store
        self.ttl = ttl
        self._pruned = 0.0

    def startup(self) -> None:
        """Drop expired keys and keys a previous process left in progress."""
        self._store().prune_idempotency_keys(in_progress=True)
        self._pruned = time.monotonic()

    async def run(
        self,
        *,
        key: str | None,
        scope: str,
        route: str,
        body: BaseModel,
        status: int,
        handler: Callable[[], Awaitable[BaseModel]],
        headers: Callable[[BaseModel | dict[str, Any]], dict[str, str]] | None = None,
    ) -> Any:
        """Run ``handler`` at most once per (scope, key); replay its stored answer after."""
        if key is None:
            return await handler()
        from judgecal.store import IdempotencyRow  # noqa: PLC0415

        digest = request_hash(route, body)
        now = datetime.now(UTC)
        row = IdempotencyRow(
            scope=scope,
            key=key,
            route=route,
            request_hash=digest,
            created_at=now,
            expires_at=now + timedelta(seconds=self.ttl),
        )
        store = self._store()
        existing = await run_in_threadpool(self._claim, store, row)
        if existing is not None:
            if existing.request_hash != digest:
                raise ApiError(
                    409,
                    "idempotency_key_reused",
                    f"Idempotency-Key {key!r} was already used with a different request "
                    f"({existing.route}); a key stands for one request: send a new key",
                    details={"idempotency_key": key, "first_route": existing.route},
                )
            if existing.status != "done" or existing.response_json is None:
                raise ApiError(
                    409,
                    "idempotency_key_in_use",
                    f"a request with Idempotency-Key {key!r} is still being answered; retry in a moment",
                    details={"idempotency_key": key},
                    headers={"Retry-After": "1"},
                )
            stored = json.loads(existing.response_json)
            extra = headers(stored) if headers is not None else {}
            return Response(
                content=existing.response_json,
                status_code=existing.response_status or status,
                media_type="application/json",
                headers={**extra, "Idempotent-Replayed": "true"},
            )
        try:
            result = await handler()
        except BaseException:
            await run_in_threadpool(store.release_idempotency_key, scope, key)
            raise
        await run_in_threadpool(store.complete_idempotency_key, scope, key, status, result.model_dump_json())
        return result

    def _claim(self, store: Any, row: Any) -> Any:
        if time.monotonic() - self._pruned > _PRUNE_EVERY:
            self._pruned = time.monotonic()
            store.prune_idempotency_keys()
        return store.claim_idempotency_key(row)
