"""ESS control entities: the grid setpoint (number) and control held or released (switch).

Added only when the ESS control option is on and discovery found the setpoint. Both show the
controller's state and its reason as attributes, so a released, stopped or not-following
control is visible in the UI.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import UnitOfPower

from .coordinator import VictronMk3Coordinator
from .entity import VictronMk3Entity
from .ess_control import EssManager

ESS_GRID_SETPOINT = NumberEntityDescription(
    key="ess_grid_setpoint",
    translation_key="ess_grid_setpoint",
    device_class=NumberDeviceClass.POWER,
    native_unit_of_measurement=UnitOfPower.WATT,
    native_step=10,
    mode=NumberMode.BOX,
)
ESS_CONTROL = SwitchEntityDescription(key="ess_control", translation_key="ess_control")


def _manager_with_setpoint(coordinator: VictronMk3Coordinator) -> EssManager | None:
    manager = coordinator.ess
    return manager if manager is not None and manager.controller is not None else None


def ess_numbers(coordinator: VictronMk3Coordinator) -> list[NumberEntity]:
    """The setpoint number, when control is on and the setpoint was found."""
    manager = _manager_with_setpoint(coordinator)
    return [EssGridSetpointNumber(coordinator, ESS_GRID_SETPOINT, manager)] if manager else []


def ess_switches(coordinator: VictronMk3Coordinator) -> list[SwitchEntity]:
    """The control switch, when control is on and the setpoint was found."""
    manager = _manager_with_setpoint(coordinator)
    return [EssControlSwitch(coordinator, ESS_CONTROL, manager)] if manager else []


class _EssEntity(VictronMk3Entity):
    """Shows the controller's state and why."""

    def __init__(self, coordinator: VictronMk3Coordinator, description: Any, manager: EssManager) -> None:
        """Attach to the entry's device and its ESS manager."""
        super().__init__(coordinator, description)
        self._manager = manager

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Control state (released, settling, following, not_following, link_lost, refused)."""
        controller = self._manager.controller
        return {
            "control_state": self._manager.state.value,
            "reason": controller.reason if controller is not None else "",
            "measured_grid_power": controller.measured if controller is not None else None,
        }


class EssGridSetpointNumber(_EssEntity, NumberEntity):
    """Grid power to hold, W, positive = taking from the grid; unknown while released."""

    @property
    def native_value(self) -> float | None:
        """The setpoint held now."""
        controller = self._manager.controller
        return controller.grid_setpoint if controller is not None else None

    @property
    def native_min_value(self) -> float:
        """The largest feed-in the options allow, as a negative setpoint."""
        return -self._manager.max_export

    @property
    def native_max_value(self) -> float:
        """The largest import the options allow."""
        return self._manager.max_import

    async def async_set_native_value(self, value: float) -> None:
        """Hold this setpoint until released."""
        await self._manager.async_set_setpoint(value)
        self.async_write_ha_state()


class EssControlSwitch(_EssEntity, SwitchEntity):
    """On while Home Assistant holds a setpoint; off hands control back to the Multi."""

    @property
    def is_on(self) -> bool:
        """A setpoint is held."""
        return self._manager.state.holding

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Hold the last setpoint again (0 W, neither import nor export, at first)."""
        await self._manager.async_set_setpoint(self._manager.last_setpoint)
        self.async_write_ha_state()

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Release control."""
        await self._manager.async_release()
        self.async_write_ha_state()
