"""The link over time: polling, loss and return, sleep, flags after resets, faults during writes."""

from __future__ import annotations

from datetime import timedelta
import logging
from unittest.mock import patch

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.victron_mk3.coordinator import VictronMk3Coordinator
from custom_components.victron_mk3.models import PanelMode
from custom_components.victron_mk3.vebus_mk3 import (
    InterfaceFlags,
    LinkEvent,
    LinkIOError,
    NoAnswerError,
    SwitchState,
)
from custom_components.victron_mk3.vebus_mk3.simulator import SimulatorThread

from .common import unplug, wait_until

BATTERY_VOLTAGE = "sensor.victron_mk3_battery_voltage"


def _standby(simulator: SimulatorThread) -> bool:
    return simulator.call(lambda sim: InterfaceFlags.STANDBY in InterfaceFlags(sim.model.interface_flags))


async def test_polls_on_the_interval(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """Every ten seconds by default, a new reading of the device."""
    assert coordinator.update_interval == timedelta(seconds=10)
    config_reads = simulator.call(lambda sim: sim.received.count(b"\xffF\x05"))
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=11))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert simulator.call(lambda sim: sim.received.count(b"\xffF\x05")) == config_reads + 1


async def test_link_lost_and_back(
    hass: HomeAssistant,
    coordinator: VictronMk3Coordinator,
    simulator: SimulatorThread,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Unplugged: unavailable, logged once. Plugged back: the same path reopens, logged once, no reload."""
    client = coordinator.client
    await unplug(simulator, client)
    with caplog.at_level(logging.INFO):
        await coordinator.async_refresh()
        await coordinator.async_refresh()
        assert hass.states.get(BATTERY_VOLTAGE).state == STATE_UNAVAILABLE
        assert caplog.text.count("Error fetching") == 1
        assert "The interface port is not available (cannot open" in caplog.text

        simulator.replug()
        await coordinator.async_refresh()
        await coordinator.async_refresh()
    assert caplog.text.count("recovered") == 1
    assert client.connected
    assert hass.states.get(BATTERY_VOLTAGE).state == "53.67"
    assert coordinator.config_entry.runtime_data is coordinator
    # Neither the start nor the reconnect touched the remote panel state.
    assert simulator.call(lambda sim: sim.count("S")) == 0


async def test_device_sleeps_and_wakes(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """Switched off without grid the device sleeps: unavailable until the grid returns."""
    await coordinator.async_set_remote_panel_state(PanelMode.OFF, None)

    def grid(present: bool) -> None:
        simulator.call(lambda sim: setattr(sim.model, "ac_input_present", present))

    grid(False)
    await wait_until(lambda: simulator.call(lambda sim: sim.asleep))
    await coordinator.async_refresh()
    assert not coordinator.last_update_success
    assert coordinator.last_exception.translation_key == "no_answer"
    assert hass.states.get(BATTERY_VOLTAGE).state == STATE_UNAVAILABLE

    grid(True)
    await coordinator.async_refresh()
    assert coordinator.last_update_success
    assert hass.states.get("sensor.victron_mk3_actual_mode").state == "off"


async def test_standby_reasserted_after_reconnect(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """The interface forgets standby without VE.Bus power; the next poll after a reconnect puts it back."""
    await coordinator.async_set_standby(True)
    assert _standby(simulator)
    await unplug(simulator, coordinator.client)
    simulator.call(lambda sim: sim.model.interface_power_lost())
    simulator.replug()
    assert not _standby(simulator)
    await coordinator.async_refresh()
    assert _standby(simulator)
    assert InterfaceFlags.STANDBY in coordinator.data.interface_flags


async def test_standby_reasserted_after_idle(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """A silent spell may have been a reset: flags are checked again, and only then."""
    await coordinator.async_set_standby(True)
    simulator.call(lambda sim: sim.model.interface_power_lost())
    await coordinator.async_refresh()
    assert not _standby(simulator)  # nothing suggested a reset: no extra traffic
    coordinator.async_on_link_event(LinkEvent("idle"))
    await coordinator.async_refresh()
    assert _standby(simulator)


async def test_standby_off_not_asserted(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """Without the user's standby wish the flags are only read, never written."""
    await unplug(simulator, coordinator.client)
    simulator.replug()
    await coordinator.async_refresh()
    assert not _standby(simulator)
    assert simulator.call(lambda sim: sim.received.count(b"\xffH")) >= 2
    assert not any(
        p.startswith(b"\xffH") and len(p) > 2 for p in simulator.call(lambda sim: list(sim.received))
    )


async def test_interface_without_flags(hass: HomeAssistant, coordinator: VictronMk3Coordinator) -> None:
    """An interface that does not know H (an MK2) still polls; its flags are unknown."""
    coordinator.async_on_link_event(LinkEvent("connected"))
    with patch.object(coordinator.client, "get_interface_flags", side_effect=NoAnswerError("no H")):
        await coordinator.async_refresh()
    assert coordinator.last_update_success
    assert coordinator.data.interface_flags is None


async def test_link_fault_during_write(
    hass: HomeAssistant, coordinator: VictronMk3Coordinator, simulator: SimulatorThread
) -> None:
    """A port that breaks mid-command: translated error, and the port is dropped to be reopened."""
    with (
        patch.object(coordinator.client, "set_state", side_effect=LinkIOError("write failed")),
        pytest.raises(HomeAssistantError) as err,
    ):
        await coordinator.async_set_remote_panel_state(PanelMode.OFF, None)
    assert err.value.translation_key == "link_error"
    assert not coordinator.client.connected
    await coordinator.async_refresh()
    assert coordinator.client.connected
    assert simulator.call(lambda sim: sim.model.switch_state) is SwitchState.ON


async def test_standby_not_confirmed(hass: HomeAssistant, coordinator: VictronMk3Coordinator) -> None:
    """An interface that reports the flag unchanged is not taken at its word."""
    with (
        patch.object(coordinator.client, "set_interface_flags", return_value=InterfaceFlags.PANEL_DETECT),
        pytest.raises(HomeAssistantError) as err,
    ):
        await coordinator.async_set_standby(True)
    assert err.value.translation_key == "not_confirmed"
