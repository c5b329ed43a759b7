"""Victron VE.Bus inverter/chargers through an MK3-USB interface."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import CONF_PORT, DOMAIN
from .coordinator import VictronMk3ConfigEntry, VictronMk3Coordinator
from .migration import async_migrate_entry
from .services import async_setup_services
from .vebus_mk3 import Mk3Client

__all__ = ["async_migrate_entry", "async_setup", "async_setup_entry", "async_unload_entry"]

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
    """Register the services once for all entries."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: VictronMk3ConfigEntry) -> bool:
    """Start the link and read the device once; not ready while the port or device is away."""
    client = Mk3Client(entry.data[CONF_PORT])
    # Registered first so a failed first refresh releases the port too.
    entry.async_on_unload(client.close)
    coordinator = VictronMk3Coordinator(hass, entry, client)
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: VictronMk3ConfigEntry) -> bool:
    """Remove the entities; the port is closed by the unload callbacks."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
