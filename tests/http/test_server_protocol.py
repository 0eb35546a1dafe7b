"""The bounded httptools protocol's response transport: one write per small response."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.http._server import _OneWrite


class Recorder:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> Any:
        return f"info:{name}"


async def test_a_head_and_its_body_leave_in_one_write() -> None:
    real = Recorder()
    corked = _OneWrite(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    corked.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    corked.write(b"{}")
    assert real.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    await asyncio.sleep(0)  # the fallback flush finds nothing left to send
    assert len(real.writes) == 1
    assert corked.get_extra_info("peername") == "info:peername"


async def test_a_head_without_a_body_is_sent_at_the_end_of_the_step() -> None:
    real = Recorder()
    corked = _OneWrite(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    corked.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    assert real.writes == []
    await asyncio.sleep(0)
    assert real.writes == [b"HTTP/1.1 204 No Content\r\n\r\n"]


async def test_closing_sends_a_held_head_first() -> None:
    real = Recorder()
    corked = _OneWrite(real, asyncio.get_running_loop())  # type: ignore[arg-type]
    corked.write(b"HTTP/1.1 500 Internal Server Error\r\n\r\n")
    corked.close()
    assert real.writes == [b"HTTP/1.1 500 Internal Server Error\r\n\r\n"]
    assert real.closed
    await asyncio.sleep(0)
    assert len(real.writes) == 1
