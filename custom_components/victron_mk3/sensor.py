"""Measurements and states of the VE.Bus device."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfFrequency,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .coordinator import VictronMk3ConfigEntry
from .entity import VictronMk3Entity
from .models import PanelMode, VictronMk3Data, actual_mode, front_panel_mode, indicator_names
from .vebus_mk3 import ACInfo, DeviceState

# Coordinator-based: no entity polls by itself.
PARALLEL_UPDATES = 0

PANEL_MODES = [mode.value for mode in PanelMode]
DEVICE_STATES = [state.name.lower() for state in DeviceState]


@dataclass(frozen=True, kw_only=True)
class VictronMk3SensorEntityDescription(SensorEntityDescription):
    """A sensor and how to read it from a poll."""

    value_fn: Callable[[VictronMk3Data], StateType]


SENSORS: tuple[VictronMk3SensorEntityDescription, ...] = (
    VictronMk3SensorEntityDescription(
        key="ac_input_power",
        translation_key="ac_input_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda data: data.status.ac_input_power,
    ),
    VictronMk3SensorEntityDescription(
        key="ac_output_power",
        translation_key="ac_output_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda data: data.status.ac_output_power,
    ),
    VictronMk3SensorEntityDescription(
        key="ac_output_frequency",
        translation_key="ac_output_frequency",
        device_class=SensorDeviceClass.FREQUENCY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfFrequency.HERTZ,
        suggested_display_precision=1,
        value_fn=lambda data: data.status.dc.inverter_frequency,
    ),
    VictronMk3SensorEntityDescription(
        key="battery_voltage",
        translation_key="battery_voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        suggested_display_precision=2,
        value_fn=lambda data: data.status.dc.voltage,
    ),
    VictronMk3SensorEntityDescription(
        key="battery_input_current",
        translation_key="battery_charge_current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        value_fn=lambda data: data.status.dc.charger_current,
    ),
    VictronMk3SensorEntityDescription(
        key="battery_output_current",
        translation_key="battery_discharge_current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        value_fn=lambda data: data.status.dc.inverter_current,
    ),
    VictronMk3SensorEntityDescription(
        key="battery_power",
        translation_key="battery_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda data: data.status.dc.power,
    ),
    VictronMk3SensorEntityDescription(
        key="device_state",
        translation_key="device_state",
        device_class=SensorDeviceClass.ENUM,
        options=DEVICE_STATES,
        value_fn=lambda data: data.status.device_state.name.lower(),
    ),
    VictronMk3SensorEntityDescription(
        key="actual_mode",
        translation_key="actual_mode",
        device_class=SensorDeviceClass.ENUM,
        options=PANEL_MODES,
        value_fn=lambda data: actual_mode(data.status.config.switch_register),
    ),
    VictronMk3SensorEntityDescription(
        key="front_panel_mode",
        translation_key="front_panel_mode",
        device_class=SensorDeviceClass.ENUM,
        options=PANEL_MODES,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: front_panel_mode(data.status.config.switch_register),
    ),
    VictronMk3SensorEntityDescription(
        key="lit_indicators",
        translation_key="lit_indicators",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: indicator_names(data.status.leds.on),
    ),
    VictronMk3SensorEntityDescription(
        key="blinking_indicators",
        translation_key="blinking_indicators",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: indicator_names(data.status.leds.blink),
    ),
    VictronMk3SensorEntityDescription(
        key="ac_input_current_limit",
        translation_key="ac_input_current_limit",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.status.config.current_limit,
    ),
    # The range only changes when the device is reconfigured: off by default.
    VictronMk3SensorEntityDescription(
        key="ac_input_current_limit_minimum",
        translation_key="ac_input_current_limit_minimum",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.status.config.minimum_current_limit,
    ),
    VictronMk3SensorEntityDescription(
        key="ac_input_current_limit_maximum",
        translation_key="ac_input_current_limit_maximum",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.status.config.maximum_current_limit,
    ),
    VictronMk3SensorEntityDescription(
        key="firmware_version",
        translation_key="interface_firmware_version",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.interface_version,
    ),
)


def _phase_sensor(
    phase: int,
    base_key: str,
    device_class: SensorDeviceClass,
    unit: str,
    read: Callable[[ACInfo], float],
) -> VictronMk3SensorEntityDescription:
    def value(data: VictronMk3Data) -> StateType:
        info = data.status.ac.get(phase)
        return None if info is None else read(info)

    return VictronMk3SensorEntityDescription(
        key=base_key if phase == 1 else f"{base_key}_l{phase}",
        translation_key=base_key if phase == 1 else f"{base_key}_phase",
        translation_placeholders={"phase": f"L{phase}"},
        device_class=device_class,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=unit,
        suggested_display_precision=1,
        # Most devices are single-phase: L2-L4 are there for the few that are not.
        entity_registry_enabled_default=phase == 1,
        value_fn=value,
    )


def phase_sensors(phase: int) -> tuple[VictronMk3SensorEntityDescription, ...]:
    """AC sensors of one phase; keys end in ``_l2``, ``_l3``, ``_l4`` except for L1."""
    volt, ampere, hertz = UnitOfElectricPotential.VOLT, UnitOfElectricCurrent.AMPERE, UnitOfFrequency.HERTZ
    voltage, current, frequency = (
        SensorDeviceClass.VOLTAGE,
        SensorDeviceClass.CURRENT,
        SensorDeviceClass.FREQUENCY,
    )
    return (
        _phase_sensor(phase, "ac_input_voltage", voltage, volt, lambda info: info.mains_voltage),
        _phase_sensor(phase, "ac_input_current", current, ampere, lambda info: info.mains_current),
        _phase_sensor(phase, "ac_input_frequency", frequency, hertz, lambda info: info.mains_frequency),
        _phase_sensor(phase, "ac_output_voltage", voltage, volt, lambda info: info.inverter_voltage),
        _phase_sensor(phase, "ac_output_current", current, ampere, lambda info: info.inverter_current),
    )


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VictronMk3ConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors, with AC sensors for each phase the device has."""
    coordinator = entry.runtime_data
    descriptions = [*SENSORS]
    for phase in sorted(coordinator.data.status.ac):
        descriptions.extend(phase_sensors(phase))
    async_add_entities(VictronMk3Sensor(coordinator, description) for description in descriptions)


class VictronMk3Sensor(VictronMk3Entity, SensorEntity):
    """A value read from the device."""

    entity_description: VictronMk3SensorEntityDescription

    @property
    def native_value(self) -> StateType:
        """The value of the last poll."""
        return self.entity_description.value_fn(self.coordinator.data)
