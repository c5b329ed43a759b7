"""Every simulated device profile in the real Home Assistant harness: setup, values, commands, recovery.

What a profile lacks shows as unavailable or absent entities with a reason in diagnostics; the
device itself stays available and is never reported asleep.
"""

from __future__ import annotations

import logging

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_mk3.const import CONF_PHASES
from custom_components.victron_mk3.diagnostics import async_get_config_entry_diagnostics
from custom_components.victron_mk3.models import PanelMode
from custom_components.victron_mk3.vebus_mk3 import SwitchState
from custom_components.victron_mk3.vebus_mk3.simulator import MultiplusModel, SimulatorThread, make_model

from .common import unplug, wait_until

PROFILE_NAMES = ["multiplus2_mk3", "multiplus_24_mk2", "led_append", "three_phase", "parallel"]
MODELS = [pytest.param(make_model(name), id=name) for name in PROFILE_NAMES]


def _value(hass: HomeAssistant, entity_id: str) -> float:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return float(state.state)


def _flows(simulator: SimulatorThread) -> object:
    return simulator.call(lambda sim: sim.model.flows())


@pytest.mark.parametrize("model", MODELS)
async def test_profile_sets_up_and_matches_the_device(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: SimulatorThread,
    model: MultiplusModel,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Loaded at the first try, the core entities show what the simulated unit reports."""
    assert init_integration.state is ConfigEntryState.LOADED
    coordinator = init_integration.runtime_data
    flows = _flows(simulator)
    assert _value(hass, "sensor.victron_mk3_battery_voltage") == pytest.approx(
        flows.battery_voltage,  # type: ignore[attr-defined]
        abs=0.02,
    )
    assert _value(hass, "sensor.victron_mk3_ac_input_voltage") == pytest.approx(
        flows.phase.mains_voltage,  # type: ignore[attr-defined]
        abs=0.02,
    )
    assert hass.states.get("select.victron_mk3_remote_panel_mode").state == "on"
    assert sorted(coordinator.data.status.ac) == list(range(1, model.phases + 1))
    assert coordinator.fault is None
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("model", MODELS)
async def test_profile_takes_commands_and_recovers(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    coordinator = init_integration.runtime_data
    await coordinator.async_set_remote_panel_state(PanelMode.CHARGER_ONLY, None)
    assert simulator.call(lambda sim: sim.model.switch_state) is SwitchState.CHARGER_ONLY
    assert hass.states.get("select.victron_mk3_remote_panel_mode").state == "charger_only"
    await unplug(simulator, coordinator.client)
    await wait_until(
        lambda: hass.states.get("sensor.victron_mk3_battery_voltage").state == STATE_UNAVAILABLE, 5
    )
    simulator.replug()
    await wait_until(
        lambda: hass.states.get("sensor.victron_mk3_battery_voltage").state != STATE_UNAVAILABLE, 8
    )
    assert coordinator.fault is None


@pytest.mark.parametrize("model", [make_model("multiplus_24_mk2")])
async def test_older_unit_lacks_features_not_the_device(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """MK2 + old firmware: no standby control, no power variables, no SOC, an unfilled state byte."""
    coordinator = init_integration.runtime_data
    cycles = coordinator.sampler.stats.cycles
    await wait_until(lambda: coordinator.sampler.stats.cycles >= cycles + 4, 10)
    await coordinator.async_request_refresh()
    await hass.async_block_till_done()
    assert hass.states.get("switch.victron_mk3_remote_panel_standby").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.victron_mk3_ac_input_power").state == STATE_UNAVAILABLE
    assert hass.states.get("sensor.victron_mk3_battery_state_of_charge") is None
    assert hass.states.get("sensor.victron_mk3_device_state").state == STATE_UNKNOWN  # 0xB7
    assert hass.states.get("sensor.victron_mk3_battery_voltage").state != STATE_UNAVAILABLE
    diagnostics = await async_get_config_entry_diagnostics(hass, init_integration)
    capabilities = diagnostics["link"]["capabilities"]
    assert capabilities["interface_flags"]["support"] == "not_answering"
    assert capabilities["power"]["support"] == "unsupported"
    assert capabilities["state_of_charge"]["support"] == "unsupported"
    assert capabilities["firmware_version"]["support"] == "supported"  # asked with its argument bytes


async def test_configured_phases_the_unit_lacks(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: SimulatorThread,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No setup retry, no asleep, no repair: the absent phases are recorded and left alone."""
    hass.config_entries.async_update_entry(init_integration, options={CONF_PHASES: ["2", "3"]})
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    coordinator = init_integration.runtime_data
    assert init_integration.state is ConfigEntryState.LOADED
    assert coordinator.sampler.configured_phases == [1, 2, 3]
    with caplog.at_level(logging.WARNING):
        cycles = coordinator.sampler.stats.cycles
        await wait_until(lambda: coordinator.sampler.stats.cycles >= cycles + 4, 15)
    assert coordinator.sampler.phases == [1]
    diagnostics = await async_get_config_entry_diagnostics(hass, init_integration)
    assert diagnostics["link"]["capabilities"]["phase_2"]["support"] == "not_answering"
    assert diagnostics["link"]["capabilities"]["phase_3"]["support"] == "not_answering"
    assert coordinator.fault is None
    assert "asleep" not in caplog.text
    assert hass.states.get("sensor.victron_mk3_battery_voltage").state != STATE_UNAVAILABLE
