"""Victron VE.Bus inverter/chargers through an MK3-USB interface."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, device_registry as dr, issue_registry as ir
from homeassistant.helpers.typing import ConfigType

from .card import async_register_card
from .const import CONF_PORT, DOMAIN
from .coordinator import VictronMk3ConfigEntry, VictronMk3Coordinator
from .device import async_register_devices
from .ess_control import async_setup_ess, async_setup_ess_services
from .migration import async_migrate_entry
from .services import async_setup_services
from .vebus_mk3 import Mk3Client

__all__ = [
    "async_migrate_entry",
    "async_remove_config_entry_device",
    "async_remove_entry",
    "async_setup",
    "async_setup_entry",
    "async_unload_entry",
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services and the remote panel card once for all entries."""
    async_setup_services(hass)
    async_setup_ess_services(hass)
    await async_register_card(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: VictronMk3ConfigEntry) -> bool:
    """Start the link and read the device once; not ready while the port or device is away."""
    client = Mk3Client(entry.data[CONF_PORT])
    # Registered first so a failed first refresh releases the port too.
    entry.async_on_unload(client.close)
    coordinator = VictronMk3Coordinator(hass, entry, client)
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    entry.async_on_unload(async_register_devices(hass, coordinator))
    await async_setup_ess(hass, entry)  # only with its option on; before the entities
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: VictronMk3ConfigEntry) -> bool:
    """Remove the entities; the port is closed by the unload callbacks."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: VictronMk3ConfigEntry) -> None:
    """Delete the entry's repair issues: nobody can fix them for a device that is gone.

    An entry's issues are named ``<reason>_<entry id>`` (e.g. ``device_asleep_<entry id>``);
    all of them go, so an issue added later needs no change here.
    """
    suffix = f"_{entry.entry_id}"
    for domain, issue_id in list(ir.async_get(hass).issues):
        if domain == DOMAIN and issue_id.endswith(suffix):
            ir.async_delete_issue(hass, DOMAIN, issue_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: VictronMk3ConfigEntry, device: dr.DeviceEntry
) -> bool:
    """A user may delete the device of a unit the system no longer has (multi-unit systems)."""
    coordinator: VictronMk3Coordinator | None = getattr(entry, "runtime_data", None)
    topology = coordinator.sampler.units.topology if coordinator is not None else None
    if topology is None:
        return False  # nothing known about the units: keep every device
    present = {f"{entry.entry_id}-unit{address}" for address in topology.addresses}
    unit_ids = {ident for domain, ident in device.identifiers if domain == DOMAIN and "-unit" in ident}
    return bool(unit_ids) and not unit_ids & present
