"""The remote panel's AC input current limit."""

from __future__ import annotations

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import UnitOfElectricCurrent
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import VictronMk3ConfigEntry
from .entity import VictronMk3Entity
from .models import remote_panel_mode

# The coordinator serialises commands; one at a time from here too.
PARALLEL_UPDATES = 1

REMOTE_PANEL_CURRENT_LIMIT = NumberEntityDescription(
    key="remote_panel_current_limit",
    translation_key="remote_panel_current_limit",
    device_class=NumberDeviceClass.CURRENT,
    native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
    native_step=0.1,
    mode=NumberMode.BOX,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VictronMk3ConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the current limit number."""
    async_add_entities([VictronMk3CurrentLimitNumber(entry.runtime_data, REMOTE_PANEL_CURRENT_LIMIT)])


class VictronMk3CurrentLimitNumber(VictronMk3Entity, NumberEntity):
    """AC input current limit within the range the device reports."""

    @property
    def native_value(self) -> float:
        """The limit the device reports."""
        return self.coordinator.data.status.config.current_limit

    @property
    def native_min_value(self) -> float:
        """The device's smallest limit."""
        return self.coordinator.data.status.config.minimum_current_limit

    @property
    def native_max_value(self) -> float:
        """The device's largest limit."""
        return self.coordinator.data.status.config.maximum_current_limit

    async def async_set_native_value(self, value: float) -> None:
        """Change the limit in the present remote panel mode."""
        mode = remote_panel_mode(self.coordinator.data.status.config.switch_register)
        await self.coordinator.async_set_remote_panel_state(mode, value)
