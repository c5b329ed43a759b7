"""Actions: the peer's set_remote_panel_state fields, set_standby, probe with response data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_mk3.const import CONF_PORT, DOMAIN
from custom_components.victron_mk3.vebus_mk3 import InterfaceFlags, SwitchState
from custom_components.victron_mk3.vebus_mk3.simulator import MultiplusModel, SimulatorThread

from .common import unplug, wait_until


def _device_id(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    """The VE.Bus device (the entry's other device is its MK3 interface)."""
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, entry.entry_id), entry.entry_id)
    assert device is not None
    return device.id


async def _call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=service == "probe"
    )


@pytest.mark.parametrize("model", [MultiplusModel(current_limit=10.0)])
async def test_set_remote_panel_state(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """Mode and limit are set and read back; without a limit the present one is kept."""
    device_id = _device_id(hass, init_integration)
    await _call(
        hass, "set_remote_panel_state", {"device_id": device_id, "mode": "charger_only", "current_limit": 25}
    )
    assert simulator.call(lambda sim: (sim.model.switch_state, sim.model.current_limit)) == (
        SwitchState.CHARGER_ONLY,
        25.0,
    )
    assert hass.states.get("select.victron_mk3_remote_panel_mode").state == "charger_only"
    assert hass.states.get("number.victron_mk3_remote_panel_current_limit").state == "25.0"

    await _call(hass, "set_remote_panel_state", {"device_id": device_id, "mode": "on"})
    assert simulator.call(lambda sim: (sim.model.switch_state, sim.model.current_limit)) == (
        SwitchState.ON,
        25.0,
    )


@pytest.mark.parametrize("current_limit", [3.5, 50.2, -1])
async def test_current_limit_out_of_range(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: SimulatorThread,
    current_limit: float,
) -> None:
    """A limit outside the device's range is refused with the range named; nothing is sent."""
    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass,
            "set_remote_panel_state",
            {
                "device_id": _device_id(hass, init_integration),
                "mode": "on",
                "current_limit": current_limit,
            },
        )
    assert err.value.translation_key == "current_limit_out_of_range"
    assert err.value.translation_placeholders == {
        "current_limit": f"{current_limit:g}",
        "minimum": "3.6",
        "maximum": "50",
    }
    assert "3.6 A to 50 A" in str(err.value)
    assert simulator.call(lambda sim: sim.count("S")) == 0


async def test_invalid_mode(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """The schema rejects modes the device does not have."""
    with pytest.raises(probatio.Invalid):
        await _call(
            hass,
            "set_remote_panel_state",
            {"device_id": _device_id(hass, init_integration), "mode": "turbo"},
        )


@pytest.mark.usefixtures("init_integration")
async def test_unknown_device(hass: HomeAssistant, device_registry: dr.DeviceRegistry) -> None:
    """A device id that is not ours is a validation error."""
    other = MockConfigEntry(domain="other")
    other.add_to_hass(hass)
    foreign = device_registry.async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("other", "x")}
    )
    for device_id in ("no-such-device", foreign.id):
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, "set_remote_panel_state", {"device_id": device_id, "mode": "on"})
        assert err.value.translation_key == "device_not_found"


async def test_device_down(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """Link down: a translated error at once; the command is not replayed later."""
    device_id = _device_id(hass, init_integration)
    await unplug(simulator, init_integration.runtime_data.client)
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "set_remote_panel_state", {"device_id": device_id, "mode": "off"})
    assert err.value.translation_key == "link_down"
    assert simulator.url in str(err.value)
    simulator.replug()
    await wait_until(lambda: init_integration.runtime_data.last_update_success, 6)
    assert simulator.call(lambda sim: sim.count("S")) == 0


async def test_device_asleep(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """Port open but the device does not answer: the library's timeout becomes a translated error."""
    simulator.call(lambda sim: setattr(sim.faults, "drop_next", 5))
    with pytest.raises(HomeAssistantError) as err:
        await _call(
            hass,
            "set_remote_panel_state",
            {"device_id": _device_id(hass, init_integration), "mode": "off"},
        )
    assert err.value.translation_key == "no_answer"


async def test_entry_not_loaded(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """An entry that is not set up cannot take commands: the caller's error, not the action's."""
    device_id = _device_id(hass, init_integration)
    await hass.config_entries.async_unload(init_integration.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "set_standby", {"device_id": device_id, "enabled": True})
    assert err.value.translation_key == "not_loaded"


async def test_set_standby(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """Standby through the action: the interface flag and the switch follow."""
    device_id = _device_id(hass, init_integration)
    await _call(hass, "set_standby", {"device_id": device_id, "enabled": True})
    assert simulator.call(lambda sim: InterfaceFlags.STANDBY in InterfaceFlags(sim.model.interface_flags))
    assert hass.states.get("switch.victron_mk3_remote_panel_standby").state == "on"
    await _call(hass, "set_standby", {"device_id": device_id, "enabled": False})
    assert simulator.call(lambda sim: InterfaceFlags.STANDBY not in InterfaceFlags(sim.model.interface_flags))
    assert hass.states.get("switch.victron_mk3_remote_panel_standby").state == "off"


async def test_probe(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """The probe returns the interface version and what the device reported."""
    response = await _call(hass, "probe", {"device_id": _device_id(hass, init_integration)})
    assert response["result"] == "ok"
    assert response["interface_version"] == 1170216
    assert response["elapsed"] >= 0
    assert response["device"] == {
        "state": "charge",
        "phases": [1],
        "remote_panel_mode": "on",
        "front_panel_mode": "on",
        "actual_mode": "on",
        "current_limit": 16.0,
        "current_limit_minimum": 3.6,
        "current_limit_maximum": 50.0,
        "lit_indicators": "mains|bulk",
        "blinking_indicators": "none",
        "battery_voltage": 53.67,
    }


async def test_probe_unplugged_and_back(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """Unplugged: the probe says why; plugged back: it reopens the port and the entities return."""
    device_id = _device_id(hass, init_integration)
    coordinator = init_integration.runtime_data
    await unplug(simulator, coordinator.client)
    response = await _call(hass, "probe", {"device_id": device_id})
    assert response["result"] == "inaccessible"
    assert simulator.url in response["detail"]
    assert "device" not in response

    simulator.replug()
    await wait_until(lambda: coordinator.client.connected and coordinator.fault is None, 6)
    response = await _call(hass, "probe", {"device_id": device_id})
    assert response["result"] == "ok"
    assert coordinator.last_update_success


async def test_probe_device_silent(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """The port is there but nothing answers: unresponsive."""
    simulator.call(lambda sim: setattr(sim.faults, "drop_next", 10))
    response = await _call(hass, "probe", {"device_id": _device_id(hass, init_integration)})
    assert response["result"] == "unresponsive"


async def test_probe_entry_not_loaded(
    hass: HomeAssistant, simulator: SimulatorThread, tmp_path: Path, device_registry: dr.DeviceRegistry
) -> None:
    """An entry waiting to be set up is probed on its port directly."""
    entry = MockConfigEntry(
        domain=DOMAIN, data={CONF_PORT: str(tmp_path / "missing")}, version=1, minor_version=2
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    device = device_registry.async_get_or_create(config_entry_id=entry.entry_id, identifiers={(DOMAIN, "x")})
    response = await _call(hass, "probe", {"device_id": device.id})
    assert response["result"] == "inaccessible"
    assert response["interface_version"] is None

    hass.config_entries.async_update_entry(entry, data={CONF_PORT: simulator.url})
    response = await _call(hass, "probe", {"device_id": device.id})
    assert response["result"] == "ok"
    assert response["interface_version"] == 1170216
