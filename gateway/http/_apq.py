"""Automatic persisted queries (Apollo's APQ protocol): send a hash, not the whole query."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from gateway.cache import AsyncCache

NAMESPACE = "apq"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class PersistedQueryError(Exception):
    """A persisted-query request that cannot be served; ``code`` goes in the error's extensions."""

    def __init__(self, message: str, code: str, status: int = 200) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        # Apollo clients read PERSISTED_QUERY_NOT_FOUND from a 200 and then resend the query.
        self.status = status


class PersistedQueries:
    """Maps sha256 hashes to query text in the shared cache.

    Query documents are not caller data (nothing in them was fetched with anyone's credentials),
    so the registry is shared by all callers; only the text a hash really names is stored, since
    the hash is checked against the query before it is remembered.
    """

    def __init__(self, cache: AsyncCache, ttl: float = 7 * 24 * 3600) -> None:
        self._cache = cache
        self._ttl = ttl

    async def resolve(self, query: str | None, extensions: Mapping[str, Any] | None) -> str | None:
        """The query to execute: the one sent, or the one a known hash names."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            return query
        if not isinstance(persisted, Mapping):
            raise PersistedQueryError(
                "extensions.persistedQuery must be an object", "BAD_REQUEST", 400
            )
        if persisted.get("version") != 1:
            raise PersistedQueryError(
                "Unsupported persisted query version", "PERSISTED_QUERY_NOT_SUPPORTED", 400
            )
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise PersistedQueryError(
                "sha256Hash must be 64 lowercase hex digits", "BAD_REQUEST", 400
            )
        key = f"{NAMESPACE}:{digest}"
        if query is None:
            stored = await self._cache.get(key)
            if stored is None:
                raise PersistedQueryError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
            return stored.decode()
        if hashlib.sha256(query.encode()).hexdigest() != digest:
            raise PersistedQueryError("provided sha does not match query", "BAD_REQUEST", 400)
        await self._cache.set(key, query.encode(), self._ttl)
        return query
