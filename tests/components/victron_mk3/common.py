"""Helpers shared by the tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import time

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
    """Let the sampler read everything anew (config frame included), then publish it.

    Measurements are medians of the last three samples: two samples after the slow read.
    """
    sampler = coordinator.sampler
    asked = time.monotonic()
    sampler.request_slow_read()
    await wait_until(lambda: sampler.latest is not None and sampler.latest.read_at.get("config", 0) > asked)
    cycles = sampler.stats.cycles
    await wait_until(lambda: sampler.stats.cycles >= cycles + 2)
    await coordinator.async_refresh()
    await hass.async_block_till_done()
