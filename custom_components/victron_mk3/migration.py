"""Adopt entries made by j9brown/victron-mk3-hass: same device, same entity ids and history.

That integration identified its device by the port path and its entities by
``<device registry id>-<key>``. Both depend on things that change (the path, a
recreated device), so version 1.2 uses the config entry id instead. The device
registry entry keeps its id, so automations that target the device keep working.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er

from .const import CONF_PORT, DOMAIN, LOGGER
from .entity import entity_unique_id

CURRENT_VERSION = 1
CURRENT_MINOR_VERSION = 2


async def async_migrate_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Bring an entry to the current version (Home Assistant refuses newer major versions itself)."""
    if entry.version == 1 and entry.minor_version < 2:
        _adopt_device(hass, entry)
        await er.async_migrate_entries(hass, entry.entry_id, _entity_migrator(hass, entry))
        hass.config_entries.async_update_entry(entry, minor_version=CURRENT_MINOR_VERSION)
        LOGGER.info("Migrated %s to version %s.%s", entry.title, CURRENT_VERSION, CURRENT_MINOR_VERSION)
    return True


def _adopt_device(hass: HomeAssistant, entry: ConfigEntry) -> None:
    device_registry = dr.async_get(hass)
    device = device_registry.async_get_device_by_identifier((DOMAIN, entry.data[CONF_PORT]), entry.entry_id)
    if device is not None:
        device_registry.async_update_device(device.id, new_identifiers={(DOMAIN, entry.entry_id)})


def _entity_migrator(
    hass: HomeAssistant, entry: ConfigEntry
) -> Callable[[er.RegistryEntry], dict[str, Any] | None]:
    entity_registry = er.async_get(hass)

    @callback
    def migrate(entity: er.RegistryEntry) -> dict[str, Any] | None:
        current_prefix = entity_unique_id(entry.entry_id, "")
        device_id, separator, key = entity.unique_id.partition("-")
        if entity.unique_id.startswith(current_prefix) or not separator or not device_id:
            return None
        new_unique_id = entity_unique_id(entry.entry_id, key)
        if entity_registry.async_get_entity_id(entity.domain, DOMAIN, new_unique_id):
            LOGGER.warning("Not migrating %s: %s is taken", entity.entity_id, new_unique_id)
            return None
        return {"new_unique_id": new_unique_id}

    return migrate
