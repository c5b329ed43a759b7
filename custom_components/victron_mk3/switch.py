"""Remote panel standby: keeps the device awake (and the interface talking) while it is off."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import STATE_ON, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .coordinator import VictronMk3ConfigEntry
from .entity import VictronMk3Entity

# The coordinator serialises commands; one at a time from here too.
PARALLEL_UPDATES = 1

REMOTE_PANEL_STANDBY = SwitchEntityDescription(
    key="remote_panel_standby",
    translation_key="remote_panel_standby",
    entity_category=EntityCategory.CONFIG,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VictronMk3ConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the standby switch."""
    async_add_entities([VictronMk3StandbySwitch(entry.runtime_data, REMOTE_PANEL_STANDBY)])


class VictronMk3StandbySwitch(VictronMk3Entity, SwitchEntity, RestoreEntity):
    """The user's standby wish; the interface forgets it on power loss, so it is kept here."""

    async def async_added_to_hass(self) -> None:
        """Take the state from before the restart and assert it on the interface."""
        await super().async_added_to_hass()
        if (last_state := await self.async_get_last_state()) is not None:
            self.coordinator.async_restore_standby(last_state.state == STATE_ON)

    @property
    def is_on(self) -> bool:
        """Whether standby is wanted."""
        return self.coordinator.standby_requested

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Keep the device from sleeping."""
        await self.coordinator.async_set_standby(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Let the device sleep again."""
        await self.coordinator.async_set_standby(False)
