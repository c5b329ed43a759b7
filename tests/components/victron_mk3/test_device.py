"""The entry's devices: the VE.Bus device via its MK3 interface, versions kept current, distinct names."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_mk3.const import CONF_PORT, DEFAULT_NAME, DOMAIN
from custom_components.victron_mk3.device import interface_identifier
from custom_components.victron_mk3.vebus_mk3.simulator import SimulatorThread

from .common import ENTRY_ID, unplug, wait_until
from .flow_helpers import user_flow


def _devices(registry: dr.DeviceRegistry) -> tuple[dr.DeviceEntry, dr.DeviceEntry]:
    vebus = registry.async_get_device_by_identifier((DOMAIN, ENTRY_ID), ENTRY_ID)
    interface = registry.async_get_device_by_identifier(interface_identifier(ENTRY_ID), ENTRY_ID)
    assert vebus is not None
    assert interface is not None
    return vebus, interface


async def test_entities_on_vebus_device(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Every entity belongs to the VE.Bus device; the interface has none and names itself."""
    vebus, interface = _devices(device_registry)
    entities = er.async_entries_for_config_entry(entity_registry, init_integration.entry_id)
    assert entities
    assert {entity.device_id for entity in entities} == {vebus.id}
    assert interface.name == f"{DEFAULT_NAME} interface"
    # The USB model and serial number are the MK3's: they are not shown on the Multi.
    assert vebus.model is None
    assert vebus.serial_number is None


async def test_versions_follow_the_hardware(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: SimulatorThread,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Another MK3 on the same port: the interface device shows its version without a restart."""
    vebus, interface = _devices(device_registry)
    assert vebus.sw_version == "506 (2623506)"
    assert interface.sw_version == "1170216"
    coordinator = init_integration.runtime_data

    simulator.call(lambda sim: setattr(sim.model, "interface_version", 1170217))
    await unplug(simulator, coordinator.client)
    simulator.replug()

    await wait_until(lambda: _devices(device_registry)[1].sw_version == "1170217", 30)
    vebus, _ = _devices(device_registry)
    assert vebus.sw_version == "506 (2623506)"


async def test_second_interface_gets_its_own_name(
    hass: HomeAssistant, init_integration: MockConfigEntry, tmp_path
) -> None:
    """Two interfaces, two device names: the second entry's title is numbered."""
    with SimulatorThread(link=str(tmp_path / "ttyMK3b"), time_scale=0.0) as second:
        result = await user_flow(hass, second.url)
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["title"] == f"{DEFAULT_NAME} 2"
        assert result["data"][CONF_PORT] == second.url
        entry = result["result"]
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
