"""Energy counters for the Energy dashboard: kWh integrated from every sample's robust power."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import UnitOfEnergy
from homeassistant.core import callback

from .coordinator import VictronMk3Coordinator
from .energy import EnergyIntegrator, async_last_recorded_kwh
from .entity import VictronMk3Entity
from .vebus_mk3 import DeviceStatus


@dataclass(frozen=True, kw_only=True)
class VictronMk3EnergySensorEntityDescription(SensorEntityDescription):
    """An energy counter and the power (W, counted while positive) it integrates."""

    power_fn: Callable[[DeviceStatus], float | None]


def _negated(value: float | None) -> float | None:
    return None if value is None else -value


ENERGY_SENSORS: tuple[VictronMk3EnergySensorEntityDescription, ...] = tuple(
    VictronMk3EnergySensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        power_fn=power_fn,
    )
    for key, power_fn in (
        ("battery_charged_energy", lambda status: status.dc.power if status.dc else None),
        ("battery_discharged_energy", lambda status: _negated(status.dc.power if status.dc else None)),
        ("ac_input_energy", lambda status: status.ac_input_power),
        ("ac_output_energy", lambda status: status.ac_output_power),
    )
)


class VictronMk3EnergySensor(VictronMk3Entity, RestoreSensor):
    """Energy integrated from every sample; kept over restarts, written at the publish interval."""

    entity_description: VictronMk3EnergySensorEntityDescription
    _publishes_states = False

    def __init__(
        self, coordinator: VictronMk3Coordinator, description: VictronMk3EnergySensorEntityDescription
    ) -> None:
        """Start from zero until the restored total is known."""
        super().__init__(coordinator, description)
        self._energy = EnergyIntegrator()

    async def async_added_to_hass(self) -> None:
        """Continue from the total before the restart, then count every sample.

        The higher of the restore data and the recorder: after a power cut the restore
        data can be up to 15 minutes older than what the recorder stored, and starting
        below that would show in the statistics as a decrease (or a meter reset).
        """
        await super().async_added_to_hass()
        restored = 0.0
        if (last := await self.async_get_last_sensor_data()) is not None and isinstance(
            last.native_value, (int, float)
        ):
            restored = float(last.native_value)
        recorded = await async_last_recorded_kwh(self.hass, self.entity_id)
        self._energy = EnergyIntegrator(max(restored, recorded or 0.0))
        self.async_on_remove(self.coordinator.async_add_sample_listener(self._async_on_sample))

    @callback
    def _handle_coordinator_update(self) -> None:
        """A failed update means the samples stopped: the power in between is unknown."""
        if not self.coordinator.last_update_success:
            self._energy.interrupt()
        super()._handle_coordinator_update()

    @callback
    def _async_on_sample(self, status: DeviceStatus) -> None:
        self._energy.add(status.taken_at, self.entity_description.power_fn(status))

    @property
    def native_value(self) -> float:
        """The total in kWh."""
        return round(self._energy.total_kwh, 6)
