"""The remote panel mode: what the interface asks the device to do."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import VictronMk3ConfigEntry
from .entity import VictronMk3Entity
from .models import PanelMode, remote_panel_mode
from .vebus_mk3.status import CONFIG

# The coordinator serialises commands; one at a time from here too.
PARALLEL_UPDATES = 1

REMOTE_PANEL_MODE = SelectEntityDescription(
    key="remote_panel_mode",
    translation_key="remote_panel_mode",
    options=[mode.value for mode in PanelMode],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VictronMk3ConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the remote panel mode select."""
    async_add_entities([VictronMk3RemotePanelModeSelect(entry.runtime_data, REMOTE_PANEL_MODE)])


class VictronMk3RemotePanelModeSelect(VictronMk3Entity, SelectEntity):
    """Remote panel mode, read back from the remote bits of the switch register."""

    _part = CONFIG

    @property
    def current_option(self) -> str | None:
        """The mode the device reports for the remote panel."""
        config = self.coordinator.data.status.config
        return None if config is None else remote_panel_mode(config.switch_register).value

    async def async_select_option(self, option: str) -> None:
        """Change the mode; the current limit stays as it is."""
        await self.coordinator.async_set_remote_panel_state(PanelMode(option), None)
