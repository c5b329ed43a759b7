"""Many unplug/replug and sleep/wake cycles: the link heals every time and nothing accumulates."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant

from custom_components.victron_mk3.coordinator import VictronMk3Coordinator
from custom_components.victron_mk3.models import PanelMode
from custom_components.victron_mk3.vebus_mk3.simulator import SimulatorThread

from .common import wait_until

BATTERY_VOLTAGE = "sensor.victron_mk3_battery_voltage"
CYCLES = 6
# Bytes a healthy run may still allocate after warm-up (event history is bounded).
MEMORY_GROWTH_LIMIT = 512 * 1024


def _available(hass: HomeAssistant) -> bool:
    return hass.states.get(BATTERY_VOLTAGE).state != STATE_UNAVAILABLE


async def _unplug_replug(hass: HomeAssistant, simulator: SimulatorThread) -> None:
    simulator.unplug()
    await wait_until(lambda: not _available(hass), 5)
    simulator.replug()
    await wait_until(lambda: _available(hass), 6)


async def _sleep_wake(hass: HomeAssistant, simulator: SimulatorThread) -> None:
    simulator.call(lambda sim: setattr(sim.model, "ac_input_present", False))
    await wait_until(lambda: not _available(hass), 5)
    simulator.call(lambda sim: setattr(sim.model, "ac_input_present", True))
    await wait_until(lambda: _available(hass), 6)


def _timers(hass: HomeAssistant) -> int:
    return len(hass.loop._scheduled)  # type: ignore[attr-defined]


async def test_soak_unplug_and_sleep_cycles(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """No growth in tasks, timers or memory over repeated faults; the remote state is never sent."""
    await coordinator.async_set_remote_panel_state(PanelMode.OFF, None)  # so that it can sleep
    await _unplug_replug(hass, simulator)  # warm-up: first-time allocations
    await _sleep_wake(hass, simulator)
    gc.collect()
    tasks, timers = len(asyncio.all_tasks()), _timers(hass)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(CYCLES):
        await _unplug_replug(hass, simulator)
        await _sleep_wake(hass, simulator)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert len(asyncio.all_tasks()) <= tasks
    assert _timers(hass) <= timers + 2  # the publish tick and the idle check may be re-armed
    assert growth < MEMORY_GROWTH_LIMIT, f"{growth} bytes more after {CYCLES} fault cycles"
    assert simulator.call(lambda sim: sim.count("S")) == 1  # only the user's command above
