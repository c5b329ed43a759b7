"""Helpers shared by the tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from homeassistant.core import HomeAssistant

from custom_components.victron_mk3.coordinator import VictronMk3Coordinator
from custom_components.victron_mk3.vebus_mk3 import Mk3Client
from custom_components.victron_mk3.vebus_mk3.simulator import SimulatorThread

ENTRY_ID = "01JVICTRONMK3TESTENTRY0001"

# A pty reports a hang-up within milliseconds.
WAIT_STEPS = 300
WAIT_STEP = 0.01


async def wait_until(predicate: Callable[[], bool], timeout: float = WAIT_STEPS * WAIT_STEP) -> float:
    """Let the loop run until ``predicate`` holds; return how long that took, fail after ``timeout``."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < timeout:
        if predicate():
            return loop.time() - started
        await asyncio.sleep(WAIT_STEP)
    raise AssertionError(f"condition not reached within {timeout} s")


async def unplug(simulator: SimulatorThread, client: Mk3Client) -> None:
    """Pull the simulated USB cable and wait until the client noticed."""
    simulator.unplug()
    await wait_until(lambda: not client.connected)


async def fresh_reading(hass: HomeAssistant, coordinator: VictronMk3Coordinator) -> None:
    """Let the sampler read everything anew (config frame included), then publish it."""
    coordinator.sampler.request_slow_read()
    cycles = coordinator.sampler.stats.cycles
    await wait_until(lambda: coordinator.sampler.stats.cycles >= cycles + 2)
    await coordinator.async_refresh()
    await hass.async_block_till_done()
