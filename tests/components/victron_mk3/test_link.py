"""The link over time: publishing, unplug and replug, sleep and wake, standby, faults during writes.

Everything here runs against the simulator over a real pty; nothing is refreshed by hand:
the integration must notice and heal by itself.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import logging
from unittest.mock import patch

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.victron_mk3.const import DOMAIN
from custom_components.victron_mk3.coordinator import VictronMk3Coordinator
from custom_components.victron_mk3.models import PanelMode
from custom_components.victron_mk3.vebus_mk3 import InterfaceFlags, LinkIOError, SwitchState
from custom_components.victron_mk3.vebus_mk3.simulator import S_INIT_VARIANT, SimulatorThread

from .common import unplug, wait_until

BATTERY_VOLTAGE = "sensor.victron_mk3_battery_voltage"
OUTPUT_POWER = "sensor.victron_mk3_ac_output_power"
# Unplugged or asleep: entities must be unavailable within this long.
UNAVAILABLE_WITHIN = 5.0


def _standby(simulator: SimulatorThread) -> bool:
    return simulator.call(lambda sim: InterfaceFlags.STANDBY in InterfaceFlags(sim.model.interface_flags))


def _state_commands(simulator: SimulatorThread) -> int:
    """S commands that change the remote state (the long-frame init variant does not)."""
    return simulator.call(
        lambda sim: sum(1 for p in sim.received if p[:2] == b"\xffS" and p[5:] != S_INIT_VARIANT[3:])
    )


def _available(hass: HomeAssistant) -> bool:
    return hass.states.get(BATTERY_VOLTAGE).state != STATE_UNAVAILABLE


async def test_publishes_the_newest_sample_at_the_interval(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """Sampling runs at wire speed; measurements are written at the update interval, from the samples."""
    assert coordinator.publish_interval == 2
    writes: list[float] = []

    @callback
    def changed(event: Event[EventStateChangedData]) -> None:
        writes.append(asyncio.get_running_loop().time())

    unsubscribe = async_track_state_change_event(hass, OUTPUT_POWER, changed)
    loads = iter(range(1000, 2000, 7))
    started = asyncio.get_running_loop().time()
    while asyncio.get_running_loop().time() - started < 5:
        # The load changes with every sample; the entity still writes once per interval.
        simulator.call(lambda sim: setattr(sim.model, "load_w", float(next(loads))))
        await asyncio.sleep(0.2)
    unsubscribe()
    assert 1 <= len(writes) <= 3
    simulator.call(lambda sim: setattr(sim.model, "load_w", 1234.0))
    await wait_until(lambda: hass.states.get(OUTPUT_POWER).state == "1234", 4)


async def test_unplug_and_replug_heal_without_reload(
    hass: HomeAssistant,
    coordinator: VictronMk3Coordinator,
    simulator: SimulatorThread,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Unplugged: unavailable at once, logged once. Plugged back: the same path reopens by itself."""
    entry = coordinator.config_entry
    with caplog.at_level(logging.INFO):
        simulator.unplug()
        await wait_until(lambda: not _available(hass), UNAVAILABLE_WITHIN)
        await asyncio.sleep(1.5)  # several reopen attempts while the port is missing
        assert caplog.text.count("Error requesting") == 1
        simulator.replug()
        await wait_until(lambda: _available(hass), 6)
    assert caplog.text.count("is answering again") == 1
    assert entry.runtime_data is coordinator  # no reload
    assert _state_commands(simulator) == 0  # neither start nor reconnect touched the remote state


async def test_device_sleeps_and_wakes(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """Switched off without grid the device sleeps: unavailable until the grid returns."""
    await coordinator.async_set_remote_panel_state(PanelMode.OFF, None)
    simulator.call(lambda sim: setattr(sim.model, "ac_input_present", False))
    await wait_until(lambda: not _available(hass), UNAVAILABLE_WITHIN)
    assert coordinator.last_exception.translation_key == "no_answer"

    simulator.call(lambda sim: setattr(sim.model, "ac_input_present", True))
    await wait_until(lambda: _available(hass), 6)
    assert hass.states.get("sensor.victron_mk3_actual_mode").state == "off"
    assert _state_commands(simulator) == 1  # only the user's


async def test_long_sleep_raises_a_repair_issue(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """Asleep for minutes with standby off: a repair issue says why and what to do; gone on wake."""
    issue_id = f"device_asleep_{coordinator.config_entry.entry_id}"
    registry = ir.async_get(hass)
    await coordinator.async_set_remote_panel_state(PanelMode.OFF, None)
    with patch("custom_components.victron_mk3.coordinator.ASLEEP_REPAIR_AFTER", 0.5):
        simulator.call(lambda sim: setattr(sim.model, "ac_input_present", False))
        await wait_until(lambda: not _available(hass), UNAVAILABLE_WITHIN)
        await asyncio.sleep(0.6)
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=3))
        await hass.async_block_till_done()
    issue = registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "device_asleep"
    assert issue.severity is ir.IssueSeverity.WARNING

    simulator.call(lambda sim: setattr(sim.model, "ac_input_present", True))
    await wait_until(lambda: _available(hass), 6)
    assert registry.async_get_issue(DOMAIN, issue_id) is None


async def test_no_repair_issue_while_standby_is_wanted(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """With standby on, a silent device is unplugged power, not sleep: no advice to enable standby."""
    coordinator.sampler.want_standby(True)
    coordinator.fault = None
    with patch("custom_components.victron_mk3.coordinator.ASLEEP_REPAIR_AFTER", 0.0):
        simulator.call(lambda sim: setattr(sim.faults, "drop_probability", 1.0))
        # Wanting standby asks for the slow config read at once: its 1.2 s wait lets the
        # interface's version frames in (replies are dropped, the interface still talks), which
        # delays the verdict by about a second.
        await wait_until(lambda: not _available(hass), UNAVAILABLE_WITHIN + 3)
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=3))
        await hass.async_block_till_done()
    assert not ir.async_get(hass).issues
    simulator.call(lambda sim: setattr(sim.faults, "drop_probability", 0.0))
    await wait_until(lambda: _available(hass), 6)


async def test_standby_reasserted_after_reconnect(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """The interface forgets standby without VE.Bus power; it is put back after the reconnect."""
    await coordinator.async_set_standby(True)
    assert _standby(simulator)
    await unplug(simulator, coordinator.client)
    simulator.call(lambda sim: sim.model.interface_power_lost())
    simulator.replug()
    await wait_until(lambda: _standby(simulator), 6)
    await wait_until(lambda: _available(hass), 6)


async def test_standby_reasserted_when_the_interface_forgets_it(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """A power blip without a reconnect: the next flags reading shows it and standby goes back."""
    await coordinator.async_set_standby(True)
    coordinator.sampler.slow_interval = 0.0
    coordinator.sampler.request_slow_read()
    simulator.call(lambda sim: sim.model.interface_power_lost())
    assert not _standby(simulator)
    await wait_until(lambda: _standby(simulator), 5)


async def test_standby_off_is_never_written(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """Without the user's standby wish the flags are only read, never written."""
    await unplug(simulator, coordinator.client)
    simulator.replug()
    await wait_until(lambda: _available(hass) and coordinator.fault is None, 6)
    received = simulator.call(lambda sim: list(sim.received))
    assert any(p == b"\xffH" for p in received)
    assert not any(p.startswith(b"\xffH") and len(p) > 2 for p in received)


async def test_command_while_the_link_is_down_fails_at_once(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """No hang, no silent drop, no replay later."""
    await unplug(simulator, coordinator.client)
    await wait_until(lambda: coordinator.fault is not None)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(HomeAssistantError) as err:
        await coordinator.async_set_remote_panel_state(PanelMode.CHARGER_ONLY, None)
    assert err.value.translation_key == "link_down"
    assert loop.time() - started < 0.1
    simulator.replug()
    await wait_until(lambda: _available(hass), 6)
    await asyncio.sleep(0.5)
    assert _state_commands(simulator) == 0
    assert simulator.call(lambda sim: sim.model.switch_state) is SwitchState.ON


async def test_concurrent_commands_are_serialised_and_confirmed(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """Two writes at once: both go out, one after the other, each read back."""
    await asyncio.gather(
        coordinator.async_set_remote_panel_state(PanelMode.CHARGER_ONLY, 10.0),
        coordinator.async_set_standby(True),
    )
    assert simulator.call(lambda sim: sim.model.switch_state) is SwitchState.CHARGER_ONLY
    assert simulator.call(lambda sim: sim.model.current_limit) == pytest.approx(10.0)
    assert _standby(simulator)
    assert hass.states.get("select.victron_mk3_remote_panel_mode").state == "charger_only"


async def test_link_fault_during_a_write(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """A port that breaks mid-command: a translated error, then the link heals by itself."""
    with (
        patch.object(coordinator.client, "set_state", side_effect=LinkIOError("write failed")),
        pytest.raises(HomeAssistantError) as err,
    ):
        await coordinator.async_set_remote_panel_state(PanelMode.OFF, None)
    assert err.value.translation_key == "link_error"
    await wait_until(lambda: _available(hass) and coordinator.fault is None, 6)
    assert simulator.call(lambda sim: sim.model.switch_state) is SwitchState.ON


async def test_standby_not_confirmed(hass: HomeAssistant, coordinator: VictronMk3Coordinator) -> None:
    """An interface that does not keep the flag is not taken at its word."""

    async def ignore(flags: InterfaceFlags) -> InterfaceFlags:
        return InterfaceFlags.PANEL_DETECT

    with (
        patch.object(coordinator.client, "set_interface_flags", side_effect=ignore),
        pytest.raises(HomeAssistantError) as err,
    ):
        await coordinator.async_set_standby(True)
    assert err.value.translation_key == "not_confirmed"


async def test_one_percent_noise_still_gives_correct_values(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """Noise bytes on the line are skipped; what reaches the entities equals the device."""
    simulator.call(lambda sim: setattr(sim.faults, "noise_probability", 0.01))
    cycles = coordinator.sampler.stats.cycles
    await wait_until(lambda: coordinator.sampler.stats.cycles >= cycles + 8, 10)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=3))
    await hass.async_block_till_done()
    flows = simulator.call(lambda sim: sim.model.flows())
    assert float(hass.states.get(BATTERY_VOLTAGE).state) == pytest.approx(flows.battery_voltage, abs=0.01)
    assert float(hass.states.get(OUTPUT_POWER).state) == pytest.approx(flows.phase.output_power, abs=1)
    assert coordinator.client.decoder_stats.skipped_bytes > 0


async def test_long_frame_mode_is_left_by_itself(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """VictronConnect left the MK3 in long-frame mode: detected, recovered, remote state untouched."""
    simulator.call(lambda sim: setattr(sim.model, "winmon_mode", True))
    await wait_until(lambda: not simulator.call(lambda sim: sim.model.winmon_mode), 10)
    await wait_until(lambda: _available(hass) and coordinator.fault is None, 6)
    assert any(event.kind == "winmon_recovered" for event in coordinator.client.events)
    assert _state_commands(simulator) == 0


async def test_reload_and_options_change_leave_the_device_alone(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """The remote mode and limit are never sent by start-up, reload or an options change."""
    entry = coordinator.config_entry
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    hass.config_entries.async_update_entry(entry, options={"scan_interval": 1.0, "phases": []})
    await hass.async_block_till_done()
    await wait_until(lambda: entry.runtime_data.sampler.latest is not None)
    assert _state_commands(simulator) == 0
    assert simulator.call(lambda sim: (sim.model.switch_state, sim.model.current_limit)) == (
        SwitchState.ON,
        16.0,
    )
