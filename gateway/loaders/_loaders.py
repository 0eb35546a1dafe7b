"""Per-request dataloaders: each object fetched once per request, independent ones together."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from aiodataloader import DataLoader

from gateway.upstream import Credentials, GatewayError, NotFound, UpstreamClient

from ._paths import (
    intake_path,
    room_path,
    room_provider_path,
    room_providers_path,
    visit_path,
)

Raw = dict[str, Any]
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# A provider named by id alone is searched for in the account's rooms' provider lists, a page
# of rooms at a time (VSee has no provider-by-id call outside a room). Bounded: past this many
# rooms the search stops and says so, rather than answering null for a provider it never saw.
PROVIDER_SEARCH_PAGE = 100
MAX_PROVIDER_SEARCH_ROOMS = 500


class SearchLimitReached(GatewayError):
    """A search the gateway bounds stopped before it could say "not found"."""

    code = "SEARCH_LIMIT_REACHED"


def _loader(
    fetch_one: Callable[[K], Awaitable[V]],
) -> DataLoader[K, V]:
    """A loader whose batch fetches distinct keys concurrently (VSee has no batch-by-ids API).

    aiodataloader collects every ``load`` made in the same tick into one batch; each key's
    failure is returned in its slot so one bad id does not fail its siblings.
    """

    async def batch(keys: list[K]) -> list[V]:
        # aiodataloader rejects exactly the keys whose slot holds an exception.
        return await asyncio.gather(  # type: ignore[return-value]
            *(fetch_one(key) for key in keys), return_exceptions=True
        )

    return DataLoader(batch, loop=asyncio.get_running_loop())


def _as_object(data: Any, what: str, key: object) -> Raw:
    if not isinstance(data, dict):
        raise NotFound(f"{what} {key} was not found", status=404)
    return data


def merge(partial: Raw, detail: Raw) -> Raw:
    """An object's detail answer laid over a partial one. Embedded objects are merged one level
    deep, because VSee embeds different keys of the same person in different answers, but only
    when both name the same one (equal ids, or one side without an id): a visit reassigned
    between the two calls embeds another provider, taken whole from the detail, never mixed."""
    merged = dict(partial)
    for key, value in detail.items():
        before = merged.get(key)
        if isinstance(before, dict) and isinstance(value, dict) and _same(before, value):
            merged[key] = {**before, **value}
        else:
            merged[key] = value
    return merged


def _same(one: Raw, other: Raw) -> bool:
    """Whether two embedded objects may be one: their ids agree, or one of them has none."""
    first, second = one.get("id"), other.get("id")
    if first in (None, "") or second in (None, ""):
        return True
    return str(first) == str(second)


def _count(value: Any) -> int | None:
    """A listing's ``total`` when it is a count (a whole number GraphQL's 32-bit Int holds),
    else None: not True as 1, 12.7 as 12, a negative number, nor one past 2**31 - 1."""
    if isinstance(value, str):
        text = value.strip()
        # Ten digits at most: int() of thousands of them is refused (and quadratic before).
        value = int(text) if len(text) <= 10 and text.isascii() and text.isdigit() else None
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= 2**31 - 1 else None


class RequestLoaders:
    """Everything loaded for one GraphQL request; thrown away with the request.

    Keys never need the credential scope because a ``RequestLoaders`` serves exactly one caller.
    """

    def __init__(self, client: UpstreamClient, credentials: Credentials) -> None:
        self._client = client
        self._credentials = credentials
        self._room_pages: dict[int, asyncio.Future[tuple[list[Raw], int | None]]] = {}

    # Each loader is made on first use: most requests read one or two kinds of object, and a
    # DataLoader costs a few microseconds to build.
    @functools.cached_property
    def visit(self) -> DataLoader[str, Raw]:
        return _loader(self._fetch_visit)

    @functools.cached_property
    def intake(self) -> DataLoader[str, Raw]:
        return _loader(self._fetch_intake)

    @functools.cached_property
    def room(self) -> DataLoader[str, Raw]:
        return _loader(self._fetch_room)

    @functools.cached_property
    def room_providers(self) -> DataLoader[str, list[Raw]]:
        return _loader(self._fetch_room_providers)

    @functools.cached_property
    def provider(self) -> DataLoader[tuple[str, str], Raw]:
        return _loader(self._fetch_provider)

    @property
    def credentials(self) -> Credentials:
        return self._credentials

    def prime_visit(self, raw: Raw) -> None:
        """Remember a visit we already hold in full (a detail answer or a mutation's result)."""
        visit_id = raw.get("id")
        if visit_id is not None:
            self.visit.clear(str(visit_id)).prime(str(visit_id), raw)

    # Completing an object an answer gave only in part: through the object's detail loader,
    # so every row of a list asking for the same missing key costs one batched, deduplicated
    # call per distinct object, and an object already read in this request costs nothing.
    async def complete_visit(self, partial: Raw, visit_id: str) -> Raw:
        return merge(partial, await self.visit.load(visit_id))

    async def complete_intake(self, partial: Raw, intake_id: str) -> Raw:
        return merge(partial, await self.intake.load(intake_id))

    async def complete_room(self, partial: Raw, code: str) -> Raw:
        return merge(partial, await self.room.load(code))

    async def _search_page(self, page: int, limit: int) -> tuple[list[Raw], int | None]:
        """A page of rooms for the provider search, read at most once per request (concurrent
        searches for several providers share it)."""
        future = self._room_pages.get(page) if limit == PROVIDER_SEARCH_PAGE else None
        if future is None:
            future = asyncio.ensure_future(self.rooms_page(page, limit))
            if limit == PROVIDER_SEARCH_PAGE:
                self._room_pages[page] = future
        return await asyncio.shield(future)

    async def provider_anywhere(self, provider_id: str) -> Raw | None:
        """A provider by id when no room is known: search the account's rooms' provider lists,
        a page of rooms at a time, stopping at the first page whose rooms list it."""
        pages = MAX_PROVIDER_SEARCH_ROOMS // PROVIDER_SEARCH_PAGE
        for page in range(1, pages + 1):
            rooms, total = await self._search_page(page, PROVIDER_SEARCH_PAGE)
            codes = [str(room["code"]) for room in rooms if room.get("code")]
            lists = await asyncio.gather(
                *(self.room_providers.load(code) for code in codes), return_exceptions=True
            )
            for code, providers in zip(codes, lists, strict=True):
                if isinstance(providers, NotFound):
                    continue  # a room gone since GET /rooms listed it: no provider there
                if isinstance(providers, BaseException):
                    raise providers
                for provider in providers:
                    if str(provider.get("id")) == provider_id:
                        return {**provider, "_room_code": code}
            if len(rooms) < PROVIDER_SEARCH_PAGE or (
                total is not None and page * PROVIDER_SEARCH_PAGE >= total
            ):
                return None  # every room searched
        if total is None:
            # A full last page and no total: one room more (limit 1) tells whether any is left.
            more, _ = await self._search_page(MAX_PROVIDER_SEARCH_ROOMS + 1, 1)
            if not more:
                return None
        raise SearchLimitReached(
            f"the provider is not in the account's first {MAX_PROVIDER_SEARCH_ROOMS} rooms, "
            "which is as far as the gateway searches by id alone; read it through its room "
            "(`room(code:) { providers }`) or a visit"
        )

    async def visits_page(
        self, params: dict[str, str | int | None]
    ) -> tuple[list[Raw], int | None]:
        """One page of the caller's visits and the total when VSee tells it."""
        return await self._listing("/visits", "GET /visits", params)

    async def rooms_page(self, page: int, limit: int) -> tuple[list[Raw], int | None]:
        """One page of the account's rooms and the total when VSee tells it."""
        return await self._listing("/rooms", "GET /rooms", {"page": page, "limit": limit})

    async def _listing(
        self, path: str, endpoint: str, params: dict[str, str | int | None]
    ) -> tuple[list[Raw], int | None]:
        envelope = await self._client.get(path, self._credentials, endpoint=endpoint, params=params)
        data = envelope.data
        rows = [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []
        return rows, _count(envelope.extra.get("total"))

    async def current_visit(self) -> Raw | None:
        """The caller's visit in progress; VSee says "none" with null data or a 404."""
        try:
            envelope = await self._client.get(
                "/visits/current", self._credentials, endpoint="GET /visits/current"
            )
        except NotFound:
            return None
        if not isinstance(envelope.data, dict) or not envelope.data:
            return None
        self.prime_visit(envelope.data)
        return envelope.data

    async def _fetch_visit(self, visit_id: str) -> Raw:
        envelope = await self._client.get(
            visit_path(visit_id), self._credentials, endpoint="GET /visits/{id}"
        )
        return _as_object(envelope.data, "visit", visit_id)

    async def _fetch_intake(self, intake_id: str) -> Raw:
        envelope = await self._client.get(
            intake_path(intake_id), self._credentials, endpoint="GET /intakes/{id}"
        )
        return _as_object(envelope.data, "intake", intake_id)

    async def _fetch_room(self, code: str) -> Raw:
        envelope = await self._client.get(
            room_path(code), self._credentials, endpoint="GET /rooms/{code}"
        )
        return _as_object(envelope.data, "room", code)

    async def _fetch_room_providers(self, code: str) -> list[Raw]:
        envelope = await self._client.get(
            room_providers_path(code), self._credentials, endpoint="GET /rooms/{code}/providers"
        )
        data = envelope.data
        return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []

    async def _fetch_provider(self, key: tuple[str, str]) -> Raw:
        code, provider_id = key
        envelope = await self._client.get(
            room_provider_path(code, provider_id),
            self._credentials,
            endpoint="GET /rooms/{code}/providers/{id}",
        )
        return _as_object(envelope.data, "provider", provider_id)
