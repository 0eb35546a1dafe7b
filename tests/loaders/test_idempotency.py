"""Idempotency keys: one upstream call per (caller, key), refusals for a reused key."""

import asyncio

import pytest

from gateway.cache import MemoryCache
from gateway.loaders import IdempotencyStore
from gateway.upstream import Credentials, InvalidInput

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


@pytest.mark.parametrize(
    ("operation", "payload"), [("createAppointment", {"a": 2}), ("closeVisit", {"a": 1})]
)
async def test_a_reused_key_for_another_request_is_refused(
    operation: str, payload: dict[str, int]
) -> None:
    store, call = IdempotencyStore(MemoryCache()), Call()
    await store.run(ALICE, "k1", "createAppointment", {"a": 1}, call)
    with pytest.raises(InvalidInput):
        await store.run(ALICE, "k1", operation, payload, call)
    assert call.count == 1


async def test_failures_are_not_remembered() -> None:
    store, failing = IdempotencyStore(MemoryCache()), Call(fail=True)
    with pytest.raises(RuntimeError):
        await store.run(ALICE, "k1", "createAppointment", {"a": 1}, failing)
    ok = Call()
    assert await store.run(ALICE, "k1", "createAppointment", {"a": 1}, ok) == {"id": "visit-1"}


@pytest.mark.parametrize("key", ["", "x" * 201, "bad\nkey"])
async def test_malformed_keys_are_refused(key: str) -> None:
    store, call = IdempotencyStore(MemoryCache()), Call()
    with pytest.raises(InvalidInput):
        await store.run(ALICE, key, "createAppointment", {}, call)
    assert call.count == 0
