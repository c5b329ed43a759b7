"""Energy from power: integrated over every sample, not over the (slower) publishes."""

from __future__ import annotations

from collections.abc import Iterable
import math

from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, UnitOfEnergy
from homeassistant.core import HomeAssistant, State
from homeassistant.util.unit_conversion import EnergyConverter

from .recorded import async_last_recorded_states

# Samples further apart than this (a reconnect, the device asleep, the host suspended)
# are not bridged: nobody knows the power in between, so nothing is counted for it.
MAX_GAP_SECONDS = 5.0
JOULES_PER_KWH = 3_600_000.0


class EnergyIntegrator:
    """Trapezoid sum of a non-negative power in kWh; never steps backwards."""

    def __init__(self, total_kwh: float = 0.0) -> None:
        """Start from a total kept over a restart."""
        self.total_kwh = max(0.0, total_kwh) if math.isfinite(total_kwh) else 0.0
        self._last: tuple[float, float] | None = None

    def interrupt(self) -> None:
        """The samples stopped (link down, device asleep): the next one starts afresh."""
        self._last = None

    def add(self, taken_at: float | None, power_w: float | None) -> None:
        """Take one sample (monotonic seconds, watts); negative power counts as none.

        A sample of unknown power or unknown time (None, NaN, infinite) counts nothing
        and is not bridged either: one NaN would poison the total for good.
        """
        if taken_at is None or power_w is None or not (math.isfinite(taken_at) and math.isfinite(power_w)):
            self._last = None
            return
        power = max(0.0, power_w)
        last, self._last = self._last, (taken_at, power)
        if last is None:
            return
        last_at, last_power = last
        elapsed = taken_at - last_at
        # Zero: the same sample again (e.g. published twice); negative: a clock step.
        if elapsed <= 0 or elapsed > MAX_GAP_SECONDS:
            return
        self.total_kwh += (last_power + power) / 2 * elapsed / JOULES_PER_KWH


def highest_kwh(states: Iterable[State]) -> float | None:
    """The highest energy among states, in kWh; states without a number in an energy unit are skipped.

    The recorder keeps the displayed unit, which the user may have changed (e.g. to Wh).
    """
    highest: float | None = None
    for state in states:
        unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
        try:
            value = float(state.state)
        except ValueError:
            continue
        if unit not in EnergyConverter.VALID_UNITS or not math.isfinite(value):
            continue
        kwh = EnergyConverter.convert(value, unit, UnitOfEnergy.KILO_WATT_HOUR)
        highest = kwh if highest is None else max(highest, kwh)
    return highest


async def async_last_recorded_kwh(hass: HomeAssistant, entity_id: str) -> float | None:
    """The last total the recorder stored for an energy entity; None without one.

    Restore data is written every 15 minutes and at a clean stop only; the recorder commits
    every few seconds. After a power cut the restore data can be older than the recorded
    states, and the statistics (the Energy dashboard) would then see the counter decrease.
    """
    return highest_kwh(await async_last_recorded_states(hass, entity_id))
