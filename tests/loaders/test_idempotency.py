"""Idempotency keys as reservations: one send per (caller, field, key), outcomes recorded."""

import asyncio

import pytest

from gateway.cache import MemoryCache, StoreUnavailable
from gateway.loaders import IdempotencyStore
from gateway.upstream import (
    BadRequest,
    Credentials,
    IdempotencyConflict,
    IdempotencyInProgress,
    IdempotencyUnavailable,
    InvalidInput,
    OutcomeUnknown,
    Overloaded,
    UpstreamUnavailable,
    deadline_scope,
)

ALICE = Credentials(token="alice", account_code="vclinic")
BOB = Credentials(token="bob", account_code="vclinic")


class Call:
    def __init__(self, fail: bool = False) -> None:
        self.count = 0
        self.fail = fail

    async def __call__(self) -> dict[str, str]:
        self.count += 1
        await asyncio.sleep(0.01)
        if self.fail:
            raise RuntimeError("upstream said no")
        return {"id": f"visit-{self.count}"}


async def test_without_a_key_every_call_goes_through() -> None:
    store, call = IdempotencyStore(MemoryCache()), Call()
    await store.run(ALICE, None, "createAppointment", {"a": 1}, call)
    await store.run(ALICE, None, "createAppointment", {"a": 1}, call)
    assert call.count == 2


async def test_same_key_same_input_returns_the_first_answer_even_concurrently() -> None:
    store, call = IdempotencyStore(MemoryCache()), Call()
    answers = await asyncio.gather(
        *(store.run(ALICE, "k1", "createAppointment", {"a": 1}, call) for _ in range(5))
    )
    again = await store.run(ALICE, "k1", "createAppointment", {"a": 1}, call)
    assert call.count == 1
    assert answers == [{"id": "visit-1"}] * 5
    assert again == {"id": "visit-1"}


async def test_a_key_is_per_caller() -> None:
    store, call = IdempotencyStore(MemoryCache()), Call()
    await store.run(ALICE, "k1", "createAppointment", {"a": 1}, call)
    await store.run(BOB, "k1", "createAppointment", {"a": 1}, call)
    assert call.count == 2


async def test_a_reused_key_for_another_input_is_a_conflict_even_concurrently() -> None:
    store, call = IdempotencyStore(MemoryCache()), Call()
    first, second = await asyncio.gather(
        store.run(ALICE, "k1", "createAppointment", {"a": 1}, call),
        store.run(ALICE, "k1", "createAppointment", {"a": 2}, call),
        return_exceptions=True,
    )
    assert first == {"id": "visit-1"}
    assert isinstance(second, IdempotencyConflict)
    assert second.code == "CONFLICT"
    assert "different request" in second.message
    with pytest.raises(IdempotencyConflict):
        await store.run(ALICE, "k1", "createAppointment", {"a": 2}, call)
    assert call.count == 1


async def test_one_key_covers_several_mutation_fields() -> None:
    store, call = IdempotencyStore(MemoryCache()), Call()
    await store.run(ALICE, "k1", "createAppointment", {"a": 1}, call)
    assert await store.run(ALICE, "k1", "closeVisit", {"a": 1}, call) == {"id": "visit-2"}
    assert call.count == 2


class Fails:
    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.count = 0

    async def __call__(self) -> dict[str, str]:
        self.count += 1
        await asyncio.sleep(0.01)
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        UpstreamUnavailable("VSee could not be reached; the change was not sent"),
        BadRequest("no", status=400),
        Overloaded("busy"),
    ],
)
async def test_a_change_definitely_not_made_frees_the_key(error: Exception) -> None:
    store = IdempotencyStore(MemoryCache())
    with pytest.raises(type(error)):
        await store.run(ALICE, "k1", "createAppointment", {"a": 1}, Fails(error))
    ok = Call()
    assert await store.run(ALICE, "k1", "createAppointment", {"a": 1}, ok) == {"id": "visit-1"}


@pytest.mark.parametrize(
    "error", [OutcomeUnknown("sent, no answer"), RuntimeError("bug"), asyncio.CancelledError()]
)
async def test_an_unknown_outcome_is_recorded_and_never_sent_again(error: BaseException) -> None:
    store = IdempotencyStore(MemoryCache())
    with pytest.raises(type(error)):
        await store.run(ALICE, "k1", "createAppointment", {"a": 1}, Fails(error))
    again = Call()
    for _ in range(2):
        with pytest.raises(OutcomeUnknown) as info:
            await store.run(ALICE, "k1", "createAppointment", {"a": 1}, again)
        assert info.value.code == "OUTCOME_UNKNOWN"
        assert "will not send it again" in info.value.message
    assert again.count == 0


async def test_a_follower_waits_for_the_first_outcome_within_its_own_deadline() -> None:
    store = IdempotencyStore(MemoryCache())
    gate = asyncio.Event()

    async def slow() -> dict[str, str]:
        await gate.wait()
        return {"id": "v"}

    leader = asyncio.create_task(store.run(ALICE, "k1", "createAppointment", {"a": 1}, slow))
    await asyncio.sleep(0.01)
    with deadline_scope(0.1), pytest.raises(IdempotencyInProgress) as info:
        await store.run(ALICE, "k1", "createAppointment", {"a": 1}, slow)
    assert info.value.code == "IN_PROGRESS"
    follower = asyncio.create_task(store.run(ALICE, "k1", "createAppointment", {"a": 1}, slow))
    gate.set()
    assert await leader == await follower == {"id": "v"}


async def test_a_reservation_whose_holder_vanished_reads_as_unknown() -> None:
    store = IdempotencyStore(MemoryCache(), pending_timeout=0.05)
    gate = asyncio.Event()

    async def never() -> dict[str, str]:
        await gate.wait()
        return {"id": "v"}

    holder = asyncio.create_task(store.run(ALICE, "k1", "createAppointment", {"a": 1}, never))
    await asyncio.sleep(0.1)
    with pytest.raises(OutcomeUnknown):
        await store.run(ALICE, "k1", "createAppointment", {"a": 1}, never)
    gate.set()
    await holder


class DownStore(MemoryCache):
    async def reserve(self, key: str, value: bytes, ttl: float) -> bytes | None:
        raise StoreUnavailable("reserve")


async def test_store_down_refuses_keyed_mutations_without_sending() -> None:
    store, call = IdempotencyStore(DownStore()), Call()
    with pytest.raises(IdempotencyUnavailable) as info:
        await store.run(ALICE, "k1", "createAppointment", {"a": 1}, call)
    assert info.value.code == "IDEMPOTENCY_UNAVAILABLE"
    assert "was not sent" in info.value.message
    assert call.count == 0
    # Without a key nothing needs the store.
    await store.run(ALICE, None, "createAppointment", {"a": 1}, call)
    assert call.count == 1


@pytest.mark.parametrize("key", ["", "x" * 201, "bad\nkey"])
async def test_malformed_keys_are_refused(key: str) -> None:
    store, call = IdempotencyStore(MemoryCache()), Call()
    with pytest.raises(InvalidInput):
        await store.run(ALICE, key, "createAppointment", {}, call)
    assert call.count == 0
