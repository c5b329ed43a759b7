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
    PERCENTAGE,
    EntityCategory,
    UnitOfApparentPower,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfFrequency,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .coordinator import VictronMk3ConfigEntry, VictronMk3Coordinator
from .energy_sensor import ENERGY_SENSORS, VictronMk3EnergySensor
from .entity import VictronMk3Entity
from .models import PanelMode, VictronMk3Data, actual_mode, front_panel_mode, indicator_names
from .vebus_mk3 import ACInfo, ChargeStage, ConfigInfo, DCInfo, DeviceState, LedStatus
from .vebus_mk3.status import CHARGE, CONFIG, DC, LEDS, POWER, SOC, ac_part

# Coordinator-based: no entity polls by itself.
PARALLEL_UPDATES = 0

PANEL_MODES = [mode.value for mode in PanelMode]
DEVICE_STATES = [state.name.lower() for state in DeviceState]
CHARGE_STAGES = [stage.name.lower() for stage in ChargeStage]


@dataclass(frozen=True, kw_only=True)
class VictronMk3SensorEntityDescription(SensorEntityDescription):
    """A sensor and how to read it from a poll."""

    value_fn: Callable[[VictronMk3Data], StateType]
    # The part of a reading the value comes from (vebus_mk3.status): unavailable while stale.
    part: str | None = None
    # Decimals the device resolves: a change in a digit beyond them is noise (V x I products,
    # float artefacts) and must not cost a recorder row.
    resolution: int | None = None
    # Created only when this holds for the reading at setup (e.g. the device reports the value).
    supported_fn: Callable[[VictronMk3Data], bool] = lambda _data: True


def _dc(read: Callable[[DCInfo], StateType]) -> Callable[[VictronMk3Data], StateType]:
    return lambda data: None if data.status.dc is None else read(data.status.dc)


def _config(read: Callable[[ConfigInfo], StateType]) -> Callable[[VictronMk3Data], StateType]:
    return lambda data: None if data.status.config is None else read(data.status.config)


def _leds(read: Callable[[LedStatus], StateType]) -> Callable[[VictronMk3Data], StateType]:
    return lambda data: None if data.status.leds is None else read(data.status.leds)


def _state_name(state: DeviceState | None) -> str | None:
    """Enum option of a device state; None (unknown) for a code the library does not know."""
    return None if state is None else state.name.lower()


def _charge_stage(data: VictronMk3Data) -> str | None:
    """The stage means something only while charging (the device then says ``init``)."""
    stage = data.status.charge_stage
    if stage is None or data.status.device_state is not DeviceState.CHARGE:
        return None
    return stage.name.lower()


SENSORS: tuple[VictronMk3SensorEntityDescription, ...] = (
    VictronMk3SensorEntityDescription(
        key="ac_input_power",
        resolution=0,
        translation_key="ac_input_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda data: data.status.ac_input_power,
        part=POWER,
    ),
    VictronMk3SensorEntityDescription(
        key="ac_output_power",
        resolution=0,
        translation_key="ac_output_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda data: data.status.ac_output_power,
        part=POWER,
    ),
    VictronMk3SensorEntityDescription(
        key="ac_output_frequency",
        resolution=2,
        translation_key="ac_output_frequency",
        device_class=SensorDeviceClass.FREQUENCY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfFrequency.HERTZ,
        suggested_display_precision=1,
        value_fn=_dc(lambda dc: dc.inverter_frequency),
        part=DC,
    ),
    VictronMk3SensorEntityDescription(
        key="battery_voltage",
        resolution=2,
        translation_key="battery_voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        suggested_display_precision=2,
        value_fn=_dc(lambda dc: dc.voltage),
        part=DC,
    ),
    VictronMk3SensorEntityDescription(
        key="battery_charger_current",
        resolution=1,
        translation_key="battery_charge_current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        value_fn=_dc(lambda dc: dc.charger_current),
        part=DC,
    ),
    VictronMk3SensorEntityDescription(
        key="battery_inverter_current",
        resolution=1,
        translation_key="battery_discharge_current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        value_fn=_dc(lambda dc: dc.inverter_current),
        part=DC,
    ),
    VictronMk3SensorEntityDescription(
        key="battery_power",
        resolution=0,
        translation_key="battery_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=_dc(lambda dc: dc.power),
        part=DC,
    ),
    VictronMk3SensorEntityDescription(
        key="device_state",
        translation_key="device_state",
        device_class=SensorDeviceClass.ENUM,
        options=DEVICE_STATES,
        # An unfilled state byte (older firmware) reads as unknown, the values stay.
        value_fn=lambda data: _state_name(data.status.device_state),
        part=ac_part(1),
    ),
    # Only with a battery monitor (e.g. a BMV or the Multi's own, configured in VEConfigure).
    VictronMk3SensorEntityDescription(
        key="battery_state_of_charge",
        resolution=1,
        translation_key="battery_state_of_charge",
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=lambda data: data.status.state_of_charge,
        part=SOC,
        supported_fn=lambda data: data.status.state_of_charge is not None,
    ),
    # The charger's sub-state; unknown while the device is not charging.
    VictronMk3SensorEntityDescription(
        key="charge_stage",
        translation_key="charge_stage",
        device_class=SensorDeviceClass.ENUM,
        options=CHARGE_STAGES,
        value_fn=_charge_stage,
        part=CHARGE,
    ),
    VictronMk3SensorEntityDescription(
        key="actual_mode",
        translation_key="actual_mode",
        device_class=SensorDeviceClass.ENUM,
        options=PANEL_MODES,
        value_fn=_config(lambda config: actual_mode(config.switch_register)),
        part=CONFIG,
    ),
    VictronMk3SensorEntityDescription(
        key="front_panel_mode",
        translation_key="front_panel_mode",
        device_class=SensorDeviceClass.ENUM,
        options=PANEL_MODES,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_config(lambda config: front_panel_mode(config.switch_register)),
        part=CONFIG,
    ),
    # The indicators as one text, as j9brown/victron-mk3-hass had them. Enabled: the binary
    # sensors are on for lit *or* blinking, only these tell the two apart (mains blinking: AC
    # found, not yet connected), and dashboards show the LEDs from them.
    VictronMk3SensorEntityDescription(
        key="lit_indicators",
        translation_key="lit_indicators",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_leds(lambda leds: indicator_names(leds.on)),
        part=LEDS,
    ),
    VictronMk3SensorEntityDescription(
        key="blinking_indicators",
        translation_key="blinking_indicators",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_leds(lambda leds: indicator_names(leds.blink)),
        part=LEDS,
    ),
    # A setting the device reports, not a measurement: no state class, so no long-term statistics.
    VictronMk3SensorEntityDescription(
        key="ac_input_current_limit",
        resolution=1,
        translation_key="ac_input_current_limit",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_config(lambda config: config.current_limit),
        part=CONFIG,
    ),
    # The range only changes when the device is reconfigured: off by default.
    VictronMk3SensorEntityDescription(
        key="ac_input_current_limit_minimum",
        resolution=1,
        translation_key="ac_input_current_limit_minimum",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_config(lambda config: config.minimum_current_limit),
        part=CONFIG,
    ),
    VictronMk3SensorEntityDescription(
        key="ac_input_current_limit_maximum",
        resolution=1,
        translation_key="ac_input_current_limit_maximum",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_config(lambda config: config.maximum_current_limit),
        part=CONFIG,
    ),
    # The MK3 interface device shows this version too; kept (off by default) for the entity id
    # that j9brown/victron-mk3-hass users may have in automations.
    VictronMk3SensorEntityDescription(
        key="firmware_version",
        translation_key="interface_firmware_version",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.interface_version,
    ),
)


def _phase_sensor(
    phase: int,
    base_key: str,
    device_class: SensorDeviceClass,
    unit: str,
    read: Callable[[ACInfo], float | None],
    *,
    resolution: int,
    enabled: bool | None = None,
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
        entity_registry_enabled_default=phase == 1 if enabled is None else enabled,
        value_fn=value,
        part=ac_part(phase),
        resolution=resolution,
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
        _phase_sensor(phase, "ac_input_voltage", voltage, volt, lambda i: i.mains_voltage, resolution=2),
        _phase_sensor(phase, "ac_input_current", current, ampere, lambda i: i.mains_current, resolution=2),
        _phase_sensor(
            phase, "ac_input_frequency", frequency, hertz, lambda i: i.mains_frequency, resolution=2
        ),
        _phase_sensor(phase, "ac_output_voltage", voltage, volt, lambda i: i.inverter_voltage, resolution=2),
        _phase_sensor(
            phase, "ac_output_current", current, ampere, lambda i: i.inverter_current, resolution=2
        ),
        # The power variables describe the addressed unit only; per phase there is V x I.
        _phase_sensor(
            phase,
            "ac_input_apparent_power",
            SensorDeviceClass.APPARENT_POWER,
            UnitOfApparentPower.VOLT_AMPERE,
            # Apparent power is a magnitude: the input current's sign (feeding back) is dropped,
            # as for the output.
            lambda info: info.mains_voltage * abs(info.mains_current),
            resolution=0,
            enabled=False,
        ),
        _phase_sensor(
            phase,
            "ac_output_apparent_power",
            SensorDeviceClass.APPARENT_POWER,
            UnitOfApparentPower.VOLT_AMPERE,
            lambda info: info.inverter_voltage * abs(info.inverter_current),
            resolution=0,
            enabled=False,
        ),
    )


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VictronMk3ConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors, with AC sensors for each phase the device has."""
    coordinator = entry.runtime_data
    descriptions = [description for description in SENSORS if description.supported_fn(coordinator.data)]
    for phase in sorted(coordinator.data.status.ac):
        descriptions.extend(phase_sensors(phase))
    async_add_entities(VictronMk3Sensor(coordinator, description) for description in descriptions)
    async_add_entities(VictronMk3EnergySensor(coordinator, description) for description in ENERGY_SENSORS)
    # Multi-unit systems only (per-phase real power and energy, a device per unit).
    from .unit_sensor import multi_unit_entities  # noqa: PLC0415 (it builds on this module)

    async_add_entities(multi_unit_entities(coordinator))


class VictronMk3Sensor(VictronMk3Entity, SensorEntity):
    """A value read from the device."""

    entity_description: VictronMk3SensorEntityDescription

    def __init__(
        self, coordinator: VictronMk3Coordinator, description: VictronMk3SensorEntityDescription
    ) -> None:
        """Numbers with a state class are measurements: written at the interval only."""
        super().__init__(coordinator, description)
        self._publishes_states = description.state_class is None

    @property
    def native_value(self) -> StateType:
        """The value of the last publish, at the device's resolution."""
        value = self.entity_description.value_fn(self.coordinator.data)
        resolution = self.entity_description.resolution
        if resolution is not None and isinstance(value, float):
            return round(value) if resolution == 0 else round(value, resolution)
        return value
