"""Holding an ESS grid setpoint: keep-alive writes through the sampler, confirmed by the power.

The ESS assistant falls back to its own behaviour about 15 s after the last write (reports
range 15-60 s), so a held setpoint is rewritten every ``KEEPALIVE_INTERVAL`` seconds through
the sampler's command queue (one queue, one wire). Stopping the writes is how control is
handed back: on release, at the end of a duration, on a link fault, on a refused write and on
close. A write is acknowledged even at a wrong id and a read-back does not echo the value, so
the effect is confirmed by the measured AC input power; a setpoint the power does not follow
(a GX overwriting it, the assistant ignoring it) stops control with a reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass
from enum import StrEnum
import logging
import time
from typing import TYPE_CHECKING

from .ess import limit_reason, measured_grid_power, setpoint_word
from .exceptions import Mk3Error, UnsupportedError

if TYPE_CHECKING:
    from .client import Mk3Client
    from .sampler import Sampler
    from .status import DeviceStatus

_LOGGER = logging.getLogger(__package__)

# Rewrite this often while a setpoint is held: well inside the ~15 s fallback, with room for
# a slow config frame (1 s) and a lost reply or two ahead of the write.
KEEPALIVE_INTERVAL = 4.0
# The measured power must reach the setpoint within this long after a write, and may stray
# from it no longer than this once it did. Guess: a real unit ramps in about a second; the
# sampler reads the power every ~0.4 s; 20 s leaves a noisy line and a slow loop room.
FOLLOW_TIMEOUT = 20.0
# Within max(5 % of the setpoint, 50 W) counts as following (guess at the regulation band).
FOLLOW_TOLERANCE_FRACTION = 0.05
FOLLOW_TOLERANCE_MIN_W = 50.0


class EssState(StrEnum):
    """What the controller does now."""

    RELEASED = "released"  # no setpoint held: the Multi runs its own ESS behaviour
    SETTLING = "settling"  # written; the power has not reached the setpoint yet
    FOLLOWING = "following"  # the measured power is at the setpoint
    LIMITED = "limited"  # held; a known limit (full battery, input current limit) holds it back
    NOT_FOLLOWING = "not_following"  # stopped: the power did not follow the setpoint
    LINK_LOST = "link_lost"  # stopped: the link failed while a setpoint was held
    REFUSED = "refused"  # stopped: the device refused the write

    @property
    def holding(self) -> bool:
        return self in (EssState.SETTLING, EssState.FOLLOWING, EssState.LIMITED)


@dataclass
class EssStats:
    """Keep-alive accounting for diagnostics and the benchmark."""

    writes: int = 0
    write_seconds: float = 0.0  # time the writes held the link (queueing excluded)
    last_write_at: float | None = None


Listener = Callable[["EssController"], None]


class EssController:
    """Holds one unit's ESS grid setpoint in Home Assistant's convention (+ = from the grid)."""

    def __init__(
        self,
        sampler: Sampler,
        setpoint_id: int,
        *,
        keepalive_interval: float = KEEPALIVE_INTERVAL,
        follow_timeout: float = FOLLOW_TIMEOUT,
    ) -> None:
        self.sampler = sampler
        self.setpoint_id = setpoint_id
        self.keepalive_interval = keepalive_interval
        self.follow_timeout = follow_timeout
        self.state = EssState.RELEASED
        self.reason = ""
        self.grid_setpoint: float | None = None  # W, + = taking from the grid
        self.measured: float | None = None
        self.hold_until: float | None = None  # monotonic end of a held duration
        self.stats = EssStats()
        self._changed_at = 0.0  # last setpoint change (monotonic)
        self._straying_since: float | None = None
        self._sampler_run = 0  # the sampler's run the setpoint was written in
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[Listener] = []
        self._remove_sample_listener = sampler.add_listener(self._on_sample)

    # ---- public API ----------------------------------------------------------

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Called on every change of state or setpoint (exceptions are contained)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def hold(self, grid_power_w: float, duration: float | None = None) -> None:
        """Write ``grid_power_w`` now and keep it until released (or ``duration`` seconds).

        Raises the ``Mk3Error`` of a first write that failed; control is then released.
        """
        previous = self.grid_setpoint
        self._sampler_run = self.sampler.runs
        self.grid_setpoint = float(grid_power_w)
        self.hold_until = time.monotonic() + duration if duration is not None else None
        try:
            await self._write()
        except Mk3Error as err:
            self._stop(EssState.REFUSED if self._refused(err) else EssState.LINK_LOST, str(err))
            raise
        if previous != self.grid_setpoint or not self.state.holding:
            self._changed_at = time.monotonic()
            self._straying_since = None
            self._set(EssState.SETTLING, "")
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._keep_alive(), name="ess keep-alive")
        self._notify()

    async def release(self, reason: str = "") -> None:
        """Stop writing: the Multi falls back to its own ESS behaviour within its timeout."""
        await self._cancel_task()
        self._stop(EssState.RELEASED, reason)

    async def close(self) -> None:
        """Release and stop listening to samples (unload, shutdown)."""
        await self.release("closed")
        with contextlib.suppress(ValueError):
            self._remove_sample_listener()

    def as_dict(self) -> dict[str, object]:
        """For diagnostics."""
        return {
            "setpoint_id": self.setpoint_id,
            "state": self.state.value,
            "reason": self.reason,
            "grid_setpoint": self.grid_setpoint,
            "measured_grid_power": self.measured,
            "keepalive_interval": self.keepalive_interval,
            "writes": self.stats.writes,
            "write_seconds": round(self.stats.write_seconds, 3),
        }

    # ---- internals ------------------------------------------------------------

    async def _write(self) -> None:
        if self.grid_setpoint is None:
            return

        async def write(client: Mk3Client) -> None:
            # Decided when the sampler runs it, not when it was queued: a keep-alive queued
            # just before a release must not write (it would restart the device's fallback
            # timer), one queued before a new setpoint writes the new one.
            setpoint = self.grid_setpoint
            if setpoint is None:
                return
            started = time.monotonic()
            await client.write_ram_word(self.setpoint_id, setpoint_word(setpoint))
            self.stats.write_seconds += time.monotonic() - started

        await self.sampler.command(write, read_back=False)
        self.stats.writes += 1
        self.stats.last_write_at = time.monotonic()

    async def _keep_alive(self) -> None:
        while True:
            wait = self.keepalive_interval
            if self.hold_until is not None:
                wait = min(wait, self.hold_until - time.monotonic())
            if wait > 0:
                await asyncio.sleep(wait)
            if self.hold_until is not None and time.monotonic() >= self.hold_until:
                self._stop(EssState.RELEASED, "duration ended")
                return
            if self.sampler.runs != self._sampler_run:
                # The link failed and came back between two writes: the port may lead to another
                # unit now, and the user saw the device unavailable. Hand control back.
                self._stop(EssState.LINK_LOST, "the link was interrupted")
                return
            try:
                await self._write()
            except Mk3Error as err:
                url = self.sampler.client.url
                _LOGGER.warning("%s: ESS keep-alive failed, control released: %s", url, err)
                self._stop(EssState.REFUSED if self._refused(err) else EssState.LINK_LOST, str(err))
                return

    @staticmethod
    def _refused(err: Mk3Error) -> bool:
        return isinstance(err, UnsupportedError)

    async def _cancel_task(self) -> None:
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _stop(self, state: EssState, reason: str) -> None:
        """No more writes; the setpoint is forgotten."""
        task = self._task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        self._task = None
        self.grid_setpoint = None
        self.hold_until = None
        self._straying_since = None
        self._set(state, reason)
        self._notify()

    def _set(self, state: EssState, reason: str) -> None:
        if state is not self.state:
            _LOGGER.debug("%s: ESS control %s %s", self.sampler.client.url, state.value, reason)
        self.state, self.reason = state, reason

    def _on_sample(self, status: DeviceStatus) -> None:
        if not self.state.holding or self.grid_setpoint is None:
            return
        measured = measured_grid_power(status, self._changed_at)
        if measured is None:
            return
        self.measured = measured
        now = time.monotonic()
        target = self.grid_setpoint
        tolerance = max(abs(target) * FOLLOW_TOLERANCE_FRACTION, FOLLOW_TOLERANCE_MIN_W)
        if abs(measured - target) <= tolerance:
            self._straying_since = None
            if self.state is not EssState.FOLLOWING:
                self._set(EssState.FOLLOWING, "")
                self._notify()
            return
        if (limited := limit_reason(status, target, measured)) is not None:
            self._straying_since = None
            if self.state is not EssState.LIMITED or self.reason != limited:
                self._set(EssState.LIMITED, limited)
                self._notify()
            return
        if self.state is EssState.SETTLING:
            straying_since = self._changed_at
        else:
            straying_since = self._straying_since = self._straying_since or now
        if now - straying_since >= self.follow_timeout:
            reason = f"AC input power {measured:.0f} W does not follow the setpoint {target:.0f} W"
            _LOGGER.warning("%s: %s; control released", self.sampler.client.url, reason)
            self._stop(EssState.NOT_FOLLOWING, reason)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            try:
                listener(self)
            except Exception:
                _LOGGER.exception("%s: ESS listener failed", self.sampler.client.url)
