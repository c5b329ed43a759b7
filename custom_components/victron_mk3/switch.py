"""Remote panel standby: keeps the device awake (and the interface talking) while it is off."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import STATE_OFF, STATE_ON, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import ExtraStoredData, RestoreEntity

from .coordinator import VictronMk3ConfigEntry
from .entity import VictronMk3Entity
from .ess_entities import ess_switches
from .recorded import async_last_recorded_states
from .vebus_mk3.capabilities import Feature, Support

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
    async_add_entities(ess_switches(entry.runtime_data))  # none unless ESS control is on and found


@dataclass(frozen=True)
class StandbyStoredData(ExtraStoredData):
    """The wish itself: the state is ``unavailable`` whenever the device is, the wish is not."""

    requested: bool

    def as_dict(self) -> dict[str, Any]:
        """What the restore cache keeps."""
        return {"standby_requested": self.requested}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self | None:
        """The wish from the restore cache; None when absent or malformed."""
        requested = data.get("standby_requested")
        return cls(requested) if isinstance(requested, bool) else None


class VictronMk3StandbySwitch(VictronMk3Entity, SwitchEntity, RestoreEntity):
    """The user's standby wish; the interface forgets it on power loss, so it is kept here."""

    async def async_added_to_hass(self) -> None:
        """Take the wish from before the restart and assert it on the interface."""
        await super().async_added_to_hass()
        if (requested := await self._async_restored_wish()) is not None:
            self.coordinator.async_restore_standby(requested)

    async def _async_restored_wish(self) -> bool | None:
        if (extra := await self.async_get_last_extra_data()) is not None and (
            stored := StandbyStoredData.from_dict(extra.as_dict())
        ) is not None:
            return stored.requested
        # Saved by a release without the extra data: only an on/off state says anything.
        # Stopped while unavailable, that release left no wish in the restore data; the
        # recorder still knows the last on/off shown. Nothing saved (a new entity): off.
        if (last_state := await self.async_get_last_state()) is None:
            return None
        if last_state.state in (STATE_ON, STATE_OFF):
            return last_state.state == STATE_ON
        for recorded in reversed(await async_last_recorded_states(self.hass, self.entity_id)):
            if recorded.state in (STATE_ON, STATE_OFF):
                return recorded.state == STATE_ON
        return None

    @property
    def extra_restore_state_data(self) -> StandbyStoredData:
        """The wish, kept whether or not the device is reachable when Home Assistant stops."""
        return StandbyStoredData(self.coordinator.standby_requested)

    @property
    def available(self) -> bool:
        """Unavailable on an interface without standby control (an MK2 has no H command)."""
        capability = self.coordinator.sampler.capabilities[Feature.INTERFACE_FLAGS]
        return super().available and capability.support not in (Support.UNSUPPORTED, Support.NOT_ANSWERING)

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
