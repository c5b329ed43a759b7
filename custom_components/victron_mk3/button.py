"""Force a charge stage: absorption, float or equalise."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import VictronMk3ConfigEntry
from .entity import VictronMk3Entity
from .vebus_mk3 import ChargeAction

# The coordinator serialises commands; one at a time from here too.
PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class VictronMk3ButtonEntityDescription(ButtonEntityDescription):
    """A button and the charge stage it forces."""

    action: ChargeAction


BUTTONS: tuple[VictronMk3ButtonEntityDescription, ...] = (
    VictronMk3ButtonEntityDescription(
        key="force_absorption",
        translation_key="force_absorption",
        entity_category=EntityCategory.CONFIG,
        action=ChargeAction.ABSORPTION,
    ),
    VictronMk3ButtonEntityDescription(
        key="force_float",
        translation_key="force_float",
        entity_category=EntityCategory.CONFIG,
        action=ChargeAction.FLOAT,
    ),
    # Equalising overcharges on purpose: it gasses flooded lead-acid cells and can damage
    # AGM, gel and lithium batteries. Off by default so nobody presses it by accident.
    VictronMk3ButtonEntityDescription(
        key="force_equalise",
        translation_key="force_equalise",
        entity_category=EntityCategory.CONFIG,
        entity_registry_enabled_default=False,
        action=ChargeAction.EQUALISE,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VictronMk3ConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the charge stage buttons."""
    async_add_entities(VictronMk3Button(entry.runtime_data, description) for description in BUTTONS)


class VictronMk3Button(VictronMk3Entity, ButtonEntity):
    """Forces the charger into a stage; the device must be charging."""

    entity_description: VictronMk3ButtonEntityDescription

    async def async_press(self) -> None:
        """Send the command and check the stage the device answers with."""
        await self.coordinator.async_force_charge_stage(self.entity_description.action)
