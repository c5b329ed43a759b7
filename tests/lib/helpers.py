"""Helpers shared by the library tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib

from custom_components.victron_mk3.vebus_mk3 import Mk3Error
from custom_components.victron_mk3.vebus_mk3.frame import LED_APPENDED, LED_BYTES, MAX_PAYLOAD_LENGTH
from custom_components.victron_mk3.vebus_mk3.sampler import Sampler

CYCLES_TIMEOUT = 15.0


async def wait_for_cycles(sampler: Sampler, count: int, timeout: float = CYCLES_TIMEOUT) -> None:
    """Until the sampler has run ``count`` cycles in all."""
    async with asyncio.timeout(timeout):
        while sampler.stats.cycles < count:
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running(sampler: Sampler) -> AsyncIterator[asyncio.Task[None]]:
    """The sampler runs for the block; a link fault ending it early is left to the test."""
    task = asyncio.create_task(sampler.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Mk3Error):
            await task


def ambiguous(garbage: bytes, frame: bytes) -> bool:
    """True when bytes starting in the garbage also form a valid frame reaching into ``frame``.

    Such a stream has two valid parses (about 1 in 256 per candidate); no decoder can tell them apart.
    """
    stream = garbage + frame
    for start, length_byte in enumerate(garbage):
        # A length byte with the top bit set is a frame with two LED bytes appended.
        length = length_byte & ~LED_APPENDED
        end = start + length + 2 + (LED_BYTES if length_byte & LED_APPENDED else 0)
        in_reach = 0 < length <= MAX_PAYLOAD_LENGTH and len(garbage) < end <= len(stream)
        if in_reach and sum(stream[start:end]) & 0xFF == 0:
            return True
    return False
