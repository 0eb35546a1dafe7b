"""Persisted queries: Apollo's automatic persisted queries (APQ) and trusted documents.

APQ lets a client send a hash instead of the query. A hash is registered only *after* the
gateway has parsed, validated and limit-checked its document and executed it (see
``GraphQLView``), and only for documents of at most ``max_query_bytes``; the store is bounded
by bytes, not entries, so strangers cannot fill the gateway's memory (or Redis) with junk.

Trusted documents (persisted-operation safelisting) are a manifest of ``hash -> document``
loaded at start-up; with ``trusted_only`` nothing else runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from graphql import GraphQLError, OperationDefinitionNode, parse
from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger("gateway.persisted")

# Its own Redis namespace, apart from caches and idempotency records.
REDIS_PREFIX = "vsee-gateway:pq:"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class PersistedQueryError(Exception):
    """A persisted-query request that cannot be served; ``code`` goes in the error's extensions."""

    def __init__(self, message: str, code: str, status: int = 200) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        # Apollo clients read PERSISTED_QUERY_NOT_FOUND from a 200 and then resend the query.
        self.status = status


def document_hash(document: str) -> str:
    """The sha256 hex digest APQ and the trusted-document manifests use."""
    return hashlib.sha256(document.encode()).hexdigest()


class DocumentStore(Protocol):
    """Where registered APQ documents live: bytes-bounded, shared by all callers."""

    async def get(self, digest: str) -> str | None: ...

    async def put(self, digest: str, document: str) -> None: ...

    async def aclose(self) -> None: ...


class MemoryDocuments:
    """An LRU of documents bounded by their total size in bytes, each kept at most ``ttl``."""

    def __init__(self, max_bytes: int, ttl: float, clock: Callable[[], float] = time.monotonic):
        self.max_bytes = max_bytes
        self.ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self.bytes = 0

    async def get(self, digest: str) -> str | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            self._drop(digest)
            return None
        self._entries.move_to_end(digest)
        return entry[1]

    async def put(self, digest: str, document: str) -> None:
        size = len(document.encode())
        if size > self.max_bytes:
            return
        if digest in self._entries:
            self._drop(digest)
        self._entries[digest] = (self._clock() + self.ttl, document)
        self.bytes += size
        while self.bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, digest: str) -> None:
        _, document = self._entries.pop(digest)
        self.bytes -= len(document.encode())

    async def aclose(self) -> None:
        self._entries.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)


# Atomic: store the document, index it by insertion order with its size, and drop the oldest
# until the namespace is within its byte budget. Documents carry no TTL of their own (so the
# budget's accounting never drifts); the budget and ``ttl`` (age in the index) bound them.
_PUT = """
local docs, index, sizes, total = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local digest, document, now, budget, max_age =
  ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local function drop(victim)
  local size = tonumber(redis.call('hget', sizes, victim) or '0')
  redis.call('hdel', docs, victim)
  redis.call('hdel', sizes, victim)
  redis.call('zrem', index, victim)
  return redis.call('decrby', total, size)
end
local old = redis.call('zrangebyscore', index, '-inf', now - max_age, 'LIMIT', 0, 100)
for _, victim in ipairs(old) do drop(victim) end
if redis.call('hexists', docs, digest) == 1 then
  redis.call('zadd', index, now, digest)
  return 0
end
redis.call('hset', docs, digest, document)
redis.call('hset', sizes, digest, #document)
redis.call('zadd', index, now, digest)
local used = redis.call('incrby', total, #document)
while used > budget do
  local oldest = redis.call('zrange', index, 0, 0)
  if #oldest == 0 then break end
  used = drop(oldest[1])
end
return 1
"""


class RedisDocuments:
    """Documents shared by every replica, in their own namespace and byte budget in Redis.

    A Redis failure reads as a miss and drops the write (the client then resends its query),
    reported to ``on_error``; the memory tier in ``PersistedQueries`` keeps serving meanwhile.
    """

    def __init__(
        self,
        url: str,
        *,
        max_bytes: int,
        ttl: float,
        timeout: float = 0.25,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self._redis: Redis = Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry_on_timeout=False
        )
        self.max_bytes = max_bytes
        self.ttl = ttl
        self._on_error = on_error
        self._put = self._redis.register_script(_PUT)
        # One hash slot for all four keys (Redis Cluster runs a script only within one slot).
        self._keys = [
            f"{REDIS_PREFIX}{{docs}}:{part}" for part in ("docs", "index", "sizes", "bytes")
        ]

    def _failed(self, operation: str, exc: Exception) -> None:
        logger.warning("persisted queries: redis %s failed (%s)", operation, type(exc).__name__)
        if self._on_error is not None:
            self._on_error(f"persisted_{operation}")

    async def get(self, digest: str) -> str | None:
        try:
            value = await self._redis.hget(self._keys[0], digest)
        except (RedisError, OSError) as exc:
            self._failed("get", exc)
            return None
        return value.decode() if isinstance(value, bytes) else None

    async def put(self, digest: str, document: str) -> None:
        try:
            await self._put(
                keys=self._keys,
                args=[digest, document, time.time(), self.max_bytes, self.ttl],
            )
        except (RedisError, OSError) as exc:
            self._failed("put", exc)

    async def aclose(self) -> None:
        await self._redis.aclose()


@dataclass(frozen=True, slots=True)
class Resolved:
    """The query to run; ``register`` is the hash to remember it by once it has validated."""

    query: str | None
    register: str | None = None
    trusted: bool = False


class PersistedQueries:
    """Maps sha256 hashes to documents: trusted ones from a manifest, then registered ones.

    Query documents are not caller data (nothing in them was fetched with anyone's credentials),
    so the registry is shared by all callers; only the text a hash really names is stored, since
    the hash is checked against the query before it is remembered.
    """

    def __init__(
        self,
        store: DocumentStore | None = None,
        *,
        shared: DocumentStore | None = None,
        trusted: Mapping[str, str] | None = None,
        trusted_only: bool = False,
        max_query_bytes: int = 32_768,
    ) -> None:
        self._store = store if store is not None else MemoryDocuments(8 * 1_048_576, 7 * 86_400)
        self._shared = shared
        self.trusted: Mapping[str, str] = dict(trusted or {})
        self.trusted_only = trusted_only
        self.max_query_bytes = max_query_bytes

    async def resolve(self, query: str | None, extensions: Mapping[str, Any] | None) -> Resolved:
        """The query to execute: the one sent, or the one a known hash names."""
        if query is not None and len(query.encode()) > self.max_query_bytes:
            raise PersistedQueryError(
                f"The query is larger than {self.max_query_bytes} bytes.", "QUERY_TOO_LARGE", 413
            )
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if self.trusted_only and (query is None or document_hash(query) not in self.trusted):
                raise _trusted_required()
            trusted = (
                query is not None and bool(self.trusted) and document_hash(query) in self.trusted
            )
            return Resolved(query, trusted=trusted)
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
        if query is not None and document_hash(query) != digest:
            raise PersistedQueryError("provided sha does not match query", "BAD_REQUEST", 400)
        known = self.trusted.get(digest)
        if known is not None:
            return Resolved(known, trusted=True)
        if self.trusted_only:
            raise _trusted_required()
        if query is not None:
            return Resolved(query, register=digest)
        stored = await self._lookup(digest)
        if stored is None:
            raise PersistedQueryError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
        return Resolved(stored)

    async def _lookup(self, digest: str) -> str | None:
        stored = await self._store.get(digest)
        if stored is None and self._shared is not None:
            stored = await self._shared.get(digest)
            if stored is not None:
                await self._store.put(digest, stored)
        return stored

    async def register(self, digest: str, query: str) -> None:
        """Remember ``query`` under ``digest``; call only once it parsed, validated and ran."""
        if len(query.encode()) > self.max_query_bytes or document_hash(query) != digest:
            return
        await self._store.put(digest, query)
        if self._shared is not None:
            await self._shared.put(digest, query)

    async def aclose(self) -> None:
        await self._store.aclose()
        if self._shared is not None:
            await self._shared.aclose()


def _trusted_required() -> PersistedQueryError:
    return PersistedQueryError(
        "This gateway runs only trusted documents: send the sha256Hash of an operation in its "
        "manifest (extensions.persistedQuery).",
        "TRUSTED_DOCUMENT_REQUIRED",
        400,
    )


class ManifestError(Exception):
    """The trusted-documents manifest cannot be used; the message says why in one line."""


def load_manifest(path: str | Path) -> dict[str, str]:
    """``hash -> document`` from an Apollo persisted-query manifest or a Relay ``{hash: text}``.

    Every hash is checked against its document, so a manifest cannot smuggle in an operation
    under another's hash.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ManifestError(f"cannot read the trusted documents manifest: {exc}") from None
    pairs: list[tuple[object, object]]
    if isinstance(data, dict) and data.get("format") == "apollo-persisted-query-manifest":
        operations = data.get("operations")
        if not isinstance(operations, list):
            raise ManifestError("the manifest's `operations` must be a list")
        pairs = [
            (op.get("id"), op.get("body")) if isinstance(op, dict) else (None, None)
            for op in operations
        ]
    elif isinstance(data, dict):
        pairs = list(data.items())
    else:
        raise ManifestError("the manifest must be a JSON object")
    documents: dict[str, str] = {}
    for digest, body in pairs:
        if not isinstance(digest, str) or not isinstance(body, str):
            raise ManifestError("every manifest entry needs a string id and body")
        if document_hash(body) != digest:
            raise ManifestError(f"manifest entry {digest[:12]}… does not hash to its id")
        documents[digest] = body
    return documents


def operation_names(documents: Iterable[str]) -> set[str]:
    """The operation names the documents define (for metric labels)."""
    names: set[str] = set()
    for document in documents:
        try:
            parsed = parse(document)
        except GraphQLError:
            continue
        names.update(
            definition.name.value
            for definition in parsed.definitions
            if isinstance(definition, OperationDefinitionNode) and definition.name is not None
        )
    return names


def build_manifest(directory: str | Path) -> dict[str, object]:
    """An Apollo persisted-query manifest of every ``*.graphql`` file in ``directory``.

    One operation per file, named as the file; the file's text, byte for byte, is the body
    whose sha256 is its id (what clients send as ``sha256Hash``).
    """
    operations: list[dict[str, str]] = []
    for path in sorted(Path(directory).glob("*.graphql")):
        body = path.read_text(encoding="utf-8")
        parsed = parse(body)
        definitions = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
        name = definitions[0].name if len(definitions) == 1 else None
        if name is None:
            raise ManifestError(f"{path.name} must hold exactly one named operation")
        if name.value != path.stem:
            raise ManifestError(f"{path.name} defines {name.value}, not {path.stem}")
        definition = definitions[0]
        operations.append(
            {
                "id": document_hash(body),
                "name": path.stem,
                "type": definition.operation.value,
                "body": body,
            }
        )
    return {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}


def manifest_text(directory: str | Path) -> str:
    """``build_manifest`` as the JSON file kept beside the operations (stable, diff-friendly)."""
    return json.dumps(build_manifest(directory), indent=2) + "\n"
