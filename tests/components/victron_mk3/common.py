"""Helpers shared by the tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from custom_components.victron_mk3.vebus_mk3 import Mk3Client
from custom_components.victron_mk3.vebus_mk3.simulator import SimulatorThread

ENTRY_ID = "01JVICTRONMK3TESTENTRY0001"

# A pty reports a hang-up within milliseconds.
WAIT_STEPS = 300
WAIT_STEP = 0.01


async def wait_until(predicate: Callable[[], bool]) -> None:
    """Let the loop run until ``predicate`` holds; fail after three seconds."""
    for _ in range(WAIT_STEPS):
        if predicate():
            return
        await asyncio.sleep(WAIT_STEP)
    raise AssertionError("condition not reached in time")


async def unplug(simulator: SimulatorThread, client: Mk3Client) -> None:
    """Pull the simulated USB cable and wait until the client noticed."""
    simulator.unplug()
    await wait_until(lambda: not client.connected)
