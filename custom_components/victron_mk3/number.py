"""The remote panel's AC input current limit."""

from __future__ import annotations

from homeassistant.components.number import (
    DEFAULT_MAX_VALUE,
    DEFAULT_MIN_VALUE,
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
from .errors import link_down
from .ess_entities import ess_numbers
from .models import remote_panel_mode
from .vebus_mk3 import ConfigInfo
from .vebus_mk3.status import CONFIG

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
    async_add_entities(ess_numbers(entry.runtime_data))  # none unless ESS control is on and found


class VictronMk3CurrentLimitNumber(VictronMk3Entity, NumberEntity):
    """AC input current limit within the range the device reports."""

    _part = CONFIG

    def _config(self) -> ConfigInfo | None:
        return self.coordinator.data.status.config

    @property
    def native_value(self) -> float | None:
        """The limit the device reports."""
        config = self._config()
        return None if config is None else config.current_limit

    @property
    def native_min_value(self) -> float:
        """The device's smallest limit (HA's default while the config frame is stale)."""
        config = self._config()
        return DEFAULT_MIN_VALUE if config is None else config.minimum_current_limit

    @property
    def native_max_value(self) -> float:
        """The device's largest limit (HA's default while the config frame is stale)."""
        config = self._config()
        return DEFAULT_MAX_VALUE if config is None else config.maximum_current_limit

    async def async_set_native_value(self, value: float) -> None:
        """Change the limit in the present remote panel mode."""
        config = self._config()
        if config is None:
            raise link_down(self.coordinator.client.url)
        mode = remote_panel_mode(config.switch_register)
        await self.coordinator.async_set_remote_panel_state(mode, value)
