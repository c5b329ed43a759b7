"""Front panel indicators and on/off states of the VE.Bus device."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import VictronMk3ConfigEntry
from .entity import VictronMk3Entity
from .models import VictronMk3Data
from .vebus_mk3 import DeviceState, Led
from .vebus_mk3.status import LEDS, ac_part

# Coordinator-based: no entity polls by itself.
PARALLEL_UPDATES = 0

INVERTING_STATES = frozenset(
    {DeviceState.INVERT_FULL, DeviceState.INVERT_HALF, DeviceState.INVERT_AES, DeviceState.POWER_ASSIST}
)


@dataclass(frozen=True, kw_only=True)
class VictronMk3BinarySensorEntityDescription(BinarySensorEntityDescription):
    """A binary sensor and how to read it from a sample."""

    value_fn: Callable[[VictronMk3Data], bool | None]
    part: str  # the part of a reading the state comes from (vebus_mk3.status)


def _indicator(
    led: Led, device_class: BinarySensorDeviceClass | None = None
) -> VictronMk3BinarySensorEntityDescription:
    """On while the indicator is lit or blinking (blinking: e.g. mains found but not yet connected)."""
    name = (led.name or "").lower()

    def value(data: VictronMk3Data) -> bool | None:
        leds = data.status.leds
        return None if leds is None else led in leds.on or led in leds.blink

    return VictronMk3BinarySensorEntityDescription(
        key=f"{name}_indicator",
        translation_key=f"{name}_indicator",
        device_class=device_class,
        # The charging ones repeat the charge stage; the warnings are worth an automation.
        entity_category=None
        if device_class is BinarySensorDeviceClass.PROBLEM
        else EntityCategory.DIAGNOSTIC,
        value_fn=value,
        part=LEDS,
    )


def _mains_present(data: VictronMk3Data) -> bool | None:
    return data.status.mains_present


BINARY_SENSORS: tuple[VictronMk3BinarySensorEntityDescription, ...] = (
    VictronMk3BinarySensorEntityDescription(
        key="mains_present",
        translation_key="mains_present",
        device_class=BinarySensorDeviceClass.POWER,
        value_fn=_mains_present,
        part=ac_part(1),
    ),
    VictronMk3BinarySensorEntityDescription(
        key="inverter_on",
        translation_key="inverter_on",
        device_class=BinarySensorDeviceClass.RUNNING,
        value_fn=lambda data: (
            None if (state := data.status.device_state) is None else state in INVERTING_STATES
        ),
        part=ac_part(1),
    ),
    _indicator(Led.MAINS),
    _indicator(Led.ABSORPTION),
    _indicator(Led.BULK),
    _indicator(Led.FLOAT),
    _indicator(Led.INVERTER),
    _indicator(Led.OVERLOAD, BinarySensorDeviceClass.PROBLEM),
    _indicator(Led.LOW_BATTERY, BinarySensorDeviceClass.PROBLEM),
    _indicator(Led.TEMPERATURE, BinarySensorDeviceClass.PROBLEM),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VictronMk3ConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors."""
    coordinator = entry.runtime_data
    async_add_entities(VictronMk3BinarySensor(coordinator, description) for description in BINARY_SENSORS)


class VictronMk3BinarySensor(VictronMk3Entity, BinarySensorEntity):
    """An indicator or on/off state read from the device."""

    entity_description: VictronMk3BinarySensorEntityDescription

    @property
    def is_on(self) -> bool | None:
        """The state in the last published sample."""
        return self.entity_description.value_fn(self.coordinator.data)
