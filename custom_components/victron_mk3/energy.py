"""Energy from power: integrated over every sample, not over the (slower) publishes."""

from __future__ import annotations

# Samples further apart than this (a reconnect, the device asleep, the host suspended)
# are not bridged: nobody knows the power in between, so nothing is counted for it.
MAX_GAP_SECONDS = 5.0
JOULES_PER_KWH = 3_600_000.0


class EnergyIntegrator:
    """Trapezoid sum of a non-negative power in kWh; never steps backwards."""

    def __init__(self, total_kwh: float = 0.0) -> None:
        """Start from a total kept over a restart."""
        self.total_kwh = max(0.0, total_kwh)
        self._last: tuple[float, float] | None = None

    def add(self, taken_at: float, power_w: float | None) -> None:
        """Take one sample (monotonic seconds, watts); negative power counts as none."""
        if power_w is None:
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
