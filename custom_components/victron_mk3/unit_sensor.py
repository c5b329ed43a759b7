"""Entities of multi-unit systems: per-phase real power and energy, and one device per unit.

Created only when the topology read at setup has more than one unit, so a single-unit system
keeps exactly the entities it had. Per-phase values sit on the system device (keys ending in
``_l1`` .. ``_l3``); each unit gets a device of its own ("L2 slave 1", ``via_device`` the
system) with its firmware and its powers. A unit that disappears keeps its device until the
user removes it (Home Assistant's stale-device rule; see ``async_remove_config_entry_device``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import UnitOfEnergy, UnitOfPower
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.typing import StateType

from .const import DOMAIN, MANUFACTURER
from .coordinator import VictronMk3Coordinator
from .device import firmware_text
from .energy_sensor import VictronMk3EnergySensor, VictronMk3EnergySensorEntityDescription
from .entity import entity_unique_id
from .models import VictronMk3Data
from .sensor import VictronMk3Sensor, VictronMk3SensorEntityDescription
from .vebus_mk3 import DeviceStatus
from .vebus_mk3.status import UNITS, unit_part
from .vebus_mk3.topology import Unit
from .vebus_mk3.units import PhasePower, UnitReading

# What each power sensor shows: key, translation key of the per-phase and per-unit variants.
_PowerRead = Callable[[PhasePower], float | None]
_POWERS: tuple[tuple[str, _PowerRead], ...] = (
    ("ac_input_power", lambda power: power.input),
    ("ac_output_power", lambda power: power.output),
    ("inverter_power", lambda power: power.inverter),
)


def unit_device_id(entry_id: str, address: int) -> str:
    """Device identifier of one unit (the system device's is the entry id)."""
    return f"{entry_id}-unit{address}"


def _power_description(
    key: str, translation_key: str, value: Callable[[VictronMk3Data], StateType], part: str, phase: str
) -> VictronMk3SensorEntityDescription:
    return VictronMk3SensorEntityDescription(
        key=key,
        translation_key=translation_key,
        translation_placeholders={"phase": phase} if phase else None,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        resolution=0,
        value_fn=value,
        part=part,
    )


def phase_power_sensors(phase: int) -> tuple[VictronMk3SensorEntityDescription, ...]:
    """Real power of one phase, summed over its units (system device)."""

    def value(read: _PowerRead) -> Callable[[VictronMk3Data], StateType]:
        def of(data: VictronMk3Data) -> StateType:
            power = data.status.phase_power(phase)
            return None if power is None else read(power)

        return of

    return tuple(
        _power_description(f"{name}_l{phase}", f"{name}_phase", value(read), UNITS, f"L{phase}")
        for name, read in _POWERS
    )


def phase_energy_sensors(phase: int) -> tuple[VictronMk3EnergySensorEntityDescription, ...]:
    """kWh of one phase's AC input and output, for the Energy dashboard."""

    def power_of(read: _PowerRead) -> Callable[[DeviceStatus], float | None]:
        def of(status: DeviceStatus) -> float | None:
            power = status.phase_power(phase)
            return None if power is None else read(power)

        return of

    return tuple(
        VictronMk3EnergySensorEntityDescription(
            key=f"{name}_energy_l{phase}",
            translation_key=f"{name}_energy_phase",
            translation_placeholders={"phase": f"L{phase}"},
            device_class=SensorDeviceClass.ENERGY,
            state_class=SensorStateClass.TOTAL_INCREASING,
            native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
            suggested_display_precision=2,
            power_fn=power_of(read),
        )
        for name, read in (("ac_input", _POWERS[0][1]), ("ac_output", _POWERS[1][1]))
    )


def unit_power_sensors(address: int) -> tuple[VictronMk3SensorEntityDescription, ...]:
    """One unit's own powers (from the snapshot rounds)."""

    def value(read: _PowerRead) -> Callable[[VictronMk3Data], StateType]:
        def of(data: VictronMk3Data) -> StateType:
            reading: UnitReading | None = data.status.units.get(address)
            if reading is None:
                return None
            return read(PhasePower(reading.input_power, reading.output_power, reading.inverter_power))

        return of

    return tuple(
        _power_description(name, f"unit_{name}", value(read), unit_part(address), "")
        for name, read in _POWERS
    )


class VictronMk3UnitSensor(VictronMk3Sensor):
    """A value of one unit of a multi-unit system, on that unit's own device."""

    def __init__(
        self,
        coordinator: VictronMk3Coordinator,
        description: VictronMk3SensorEntityDescription,
        unit: Unit,
        firmware: int | None,
        system_device_id: str,
    ) -> None:
        """Attach to the unit's device, which hangs off the system device."""
        super().__init__(coordinator, description)
        entry = coordinator.config_entry
        device_id = unit_device_id(entry.entry_id, unit.address)
        self._attr_unique_id = entity_unique_id(device_id, description.key)
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, device_id)},
            name=f"{entry.title} {unit.label}",
            manufacturer=MANUFACTURER,
            serial_number=unit.serial,
            sw_version=firmware_text(firmware),
            via_device_id=system_device_id,
        )


def multi_unit_entities(coordinator: VictronMk3Coordinator) -> Iterable[Entity]:
    """Every multi-unit entity for the topology found at setup; none for a single unit."""
    plan = coordinator.sampler.units
    topology = plan.topology
    if topology is None or not topology.multi:
        return []
    entry = coordinator.config_entry
    # The system device (created here if its own entities have not registered it yet; the
    # registry names it after the entry, as it would for them).
    system = dr.async_get(coordinator.hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, entry.entry_id)}
    )
    entities: list[Entity] = []
    for phase in topology.phases:
        entities.extend(VictronMk3Sensor(coordinator, d) for d in phase_power_sensors(phase))
        entities.extend(VictronMk3EnergySensor(coordinator, d) for d in phase_energy_sensors(phase))
    for unit in topology.units:
        firmware = plan.firmware.get(unit.address)
        entities.extend(
            VictronMk3UnitSensor(coordinator, d, unit, firmware, system.id)
            for d in unit_power_sensors(unit.address)
        )
    return entities
