"""Base entity: on the entry's VE.Bus device (see device.py), unique ids ``<entry id>-<key>``."""

from __future__ import annotations

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import VictronMk3Coordinator


def entity_unique_id(entry_id: str, key: str) -> str:
    """Unique id of an entity; the key part is the one j9brown/victron-mk3-hass used."""
    return f"{entry_id}-{key}"


class VictronMk3Entity(CoordinatorEntity[VictronMk3Coordinator]):
    """An entity of the device behind one MK3 interface.

    ``_part`` names the part of a reading the entity shows (``vebus_mk3.status``): the entity
    is unavailable while that part is stale or missing, the device stays available.
    ``_publishes_states`` is False for measurements: they skip the publishes made between
    intervals for a change of state, which keeps the recorder's rows to one per interval.
    """

    _attr_has_entity_name = True
    _part: str | None = None
    _publishes_states = True

    def __init__(self, coordinator: VictronMk3Coordinator, description: EntityDescription) -> None:
        """Attach the entity to the entry's device."""
        super().__init__(coordinator)
        self.entity_description = description
        entry = coordinator.config_entry
        self._attr_unique_id = entity_unique_id(entry.entry_id, description.key)
        # A link to the VE.Bus device that device.py registers and keeps current.
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, entry.entry_id)})

    @property
    def available(self) -> bool:
        """Unavailable while the link is down or this entity's part of the reading is stale."""
        part = getattr(self.entity_description, "part", None) or self._part
        return super().available and (part is None or part in self.coordinator.data.fresh_parts)

    @callback
    def _handle_coordinator_update(self) -> None:
        coordinator = self.coordinator
        if coordinator.last_update_success and coordinator.data.states_only and not self._publishes_states:
            return
        super()._handle_coordinator_update()
