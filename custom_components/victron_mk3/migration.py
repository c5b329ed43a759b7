"""Adopt entries of every integration that used this domain: same device, entity ids and history.

j9brown/victron-mk3-hass (all its releases) and the forks that kept the domain (usersaynoso's,
alexmbird's) identified their device by the port path and their entities by
``<device registry id>-<key>``. Both depend on things that change (the path, a recreated device),
so version 1.2 uses the config entry id instead. The device registry entry keeps its id, so
automations that target the device keep working; entity registry entries keep their entity ids,
so history, statistics and dashboards carry on.

Version 1.3 takes j9brown's current keys for the battery currents (0.4.2 and later, both forks):
entries made by this integration before 1.3 are renamed like j9brown's older releases.
"""

from __future__ import annotations

from typing import Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er

from .const import CONF_PORT, DOMAIN, LOGGER
from .entity import entity_unique_id

CURRENT_VERSION = 1
CURRENT_MINOR_VERSION = 3

# Keys earlier releases wrote for an entity that has another key here. No value is also a key:
# a unique id is renamed at most once, and never onto one that is still moving.
RENAMED_KEYS: Final = {
    # j9brown 0.1.9 to 0.4.1 (renamed in 0.4.2, commit 9b05fac), and this integration before 1.3.
    "battery_input_current": "battery_charger_current",
    "battery_output_current": "battery_inverter_current",
    # usersaynoso's fork (commit e632c2c): kWh into / out of the battery, total increasing.
    "battery_energy_into": "battery_charged_energy",
    "battery_energy_out_of": "battery_discharged_energy",
}

# Options a fork stored that mean nothing here: alexmbird's "keep_current_limit" (commit
# 8fb8f53); leaving out current_limit always keeps the present limit here.
FOREIGN_OPTIONS: Final = ("keep_current_limit",)


async def async_migrate_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Bring an entry to the current version (Home Assistant refuses newer major versions itself)."""
    if entry.version == 1 and entry.minor_version < CURRENT_MINOR_VERSION:
        if entry.minor_version < 2:
            _adopt_device(hass, entry)
        _migrate_unique_ids(hass, entry)
        options = {key: value for key, value in entry.options.items() if key not in FOREIGN_OPTIONS}
        hass.config_entries.async_update_entry(entry, options=options, minor_version=CURRENT_MINOR_VERSION)
        LOGGER.info("Migrated %s to version %s.%s", entry.title, CURRENT_VERSION, CURRENT_MINOR_VERSION)
    return True


def migrated_unique_id(entry_id: str, unique_id: str) -> str | None:
    """The unique id an entity of ``entry_id`` has from now on; None when it stays as it is."""
    prefix, separator, key = unique_id.partition("-")
    if not (prefix and separator and key):
        return None
    new_unique_id = entity_unique_id(entry_id, RENAMED_KEYS.get(key, key))
    return None if new_unique_id == unique_id else new_unique_id


def _adopt_device(hass: HomeAssistant, entry: ConfigEntry) -> None:
    device_registry = dr.async_get(hass)
    device = device_registry.async_get_device_by_identifier((DOMAIN, entry.data[CONF_PORT]), entry.entry_id)
    if device is not None:
        device_registry.async_update_device(device.id, new_identifiers={(DOMAIN, entry.entry_id)})


def _migrate_unique_ids(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Move every entity of the entry to its new unique id; one entity per new id.

    Two entities can claim one id: j9brown 0.4.2 renamed the battery currents without a
    migration, so its users who had 0.4.1 before keep an orphan with the old key beside the
    entity they use now. The one with the current key wins: that is the entity in their
    dashboards; the orphan stays as it was.
    """
    registry = er.async_get(hass)
    claims: dict[tuple[str, str], list[er.RegistryEntry]] = {}
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        if entity.platform != DOMAIN:
            continue
        if (new_unique_id := migrated_unique_id(entry.entry_id, entity.unique_id)) is not None:
            claims.setdefault((entity.domain, new_unique_id), []).append(entity)
    for (domain, new_unique_id), claimants in claims.items():
        holder = registry.async_get_entity_id(domain, DOMAIN, new_unique_id)
        if holder is None:
            winner = min(claimants, key=_renamed)
            registry.async_update_entity(winner.entity_id, new_unique_id=new_unique_id)
            holder = winner.entity_id
        for entity in claimants:
            if entity.entity_id != holder:
                LOGGER.warning("Not migrating %s: %s is taken by %s", entity.entity_id, new_unique_id, holder)


def _renamed(entity: er.RegistryEntry) -> bool:
    """False (sorts first) for an entity whose key is already the current one."""
    return entity.unique_id.partition("-")[2] in RENAMED_KEYS
