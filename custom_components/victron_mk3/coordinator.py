"""Owns the link: samples at wire speed, publishes robust values, confirms every write.

Sampling and publishing are separate. The library's sampler keeps the 2400-baud link busy
and confirms every state change on the wire; this coordinator publishes from its samples:
a change of state (LEDs, device state, modes, charge stage, flags) at once, measurements
at the update interval as the median of the last three samples, so one corrupted frame
moves nothing. A part that could not be read for a while goes unavailable on its own; the
device goes unavailable only when the link is down.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import timedelta
import time
from typing import TYPE_CHECKING, Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import CONF_PHASES, CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL, DOMAIN, LOGGER
from .errors import error_translation, link_down, not_confirmed, out_of_range, probe_status
from .models import (
    SWITCH_STATES,
    PanelMode,
    VictronMk3Data,
    remote_panel_mode,
    significant_step,
    state_signature,
)
from .repairs import ASLEEP_REPAIR_AFTER, DEVICE_ASLEEP, STANDBY_NOT_KEPT, async_set_issue
from .vebus_mk3 import (
    ChargeAction,
    ChargeStage,
    DeviceState,
    DeviceStateReport,
    DeviceStatus,
    InterfaceFlags,
    LinkSupervisor,
    Mk3Client,
    Mk3Error,
    NoAnswerError,
    NotConnectedError,
    ProbeResult,
    ProbeStatus,
    Sampler,
)
from .vebus_mk3.capabilities import Feature
from .vebus_mk3.messages import ConfigInfo
from .vebus_mk3.robust import WINDOW, robust_status
from .vebus_mk3.sampler import SLOW_INTERVAL

if TYPE_CHECKING:
    from .ess_control import EssManager

type VictronMk3ConfigEntry = ConfigEntry[VictronMk3Coordinator]

# The device rounds limits to 0.1 A; accept what rounds into the range.
LIMIT_TOLERANCE = 0.05
# Setup waits this long for the first full reading (the config frame alone takes ~1 s).
FIRST_SAMPLE_TIMEOUT = 15.0
# A measurement is shown while it is at most this many update intervals old (and at least
# this many seconds: a lost reply costs one cycle of ~0.4 s); slow parts get their cadence.
FRESH_INTERVALS = 3
FRESH_MINIMUM = 2.0
FRESH_SLOW = 3.5 * SLOW_INTERVAL
# Early publishes for a significant step come no closer together than this (seconds): a load
# that keeps jumping costs at most a few extra rows, not one per sample.
EARLY_PUBLISH_SPACING = 1.0
# A probe while the link is down waits this long for the supervisor's next attempt.
PROBE_WAIT = 2.0
# How often the watchdog checks that samples keep coming and repairs are up to date.
WATCHDOG_INTERVAL = timedelta(seconds=1)
# The stages that confirm a forced one (absorption is reported as forced or repeated).
FORCED_STAGES: dict[ChargeAction, frozenset[ChargeStage]] = {
    ChargeAction.ABSORPTION: frozenset(
        {ChargeStage.ABSORPTION, ChargeStage.FORCED_ABSORPTION, ChargeStage.REPEATED_ABSORPTION}
    ),
    ChargeAction.FLOAT: frozenset({ChargeStage.FLOAT}),
    ChargeAction.EQUALISE: frozenset({ChargeStage.EQUALISE}),
}

SampleListener = Callable[[DeviceStatus], None]


class VictronMk3Coordinator(DataUpdateCoordinator[VictronMk3Data]):
    """Publishes the samples of one VE.Bus device and runs commands on it.

    Never sends the S (state) command on its own: the remote panel setting lives on
    the device and only a user's command may change it.
    """

    config_entry: VictronMk3ConfigEntry

    def __init__(self, hass: HomeAssistant, entry: VictronMk3ConfigEntry, client: Mk3Client) -> None:
        """Publish at the interval from the options; read the configured phases or detect them."""
        seconds = entry.options.get(CONF_SCAN_INTERVAL)
        interval = timedelta(seconds=seconds) if seconds else DEFAULT_SCAN_INTERVAL
        # No timer of its own: publishing follows the samples, so a value is never older
        # than it needs to be.
        super().__init__(hass, LOGGER, config_entry=entry, name=entry.title, update_interval=None)
        self.publish_interval = interval.total_seconds()
        self.fresh_window = max(FRESH_INTERVALS * self.publish_interval, FRESH_MINIMUM)
        self.client = client
        extra_phases = [int(phase) for phase in entry.options.get(CONF_PHASES, [])]
        self.sampler = Sampler(client, extra_phases or None)
        self.supervisor = LinkSupervisor(client, self.sampler, self._async_on_fault)
        self.fault: Mk3Error | None = None
        # ESS external control; set up only when its option is on (ess_control.py).
        self.ess: EssManager | None = None
        self._asleep_since: float | None = None
        self._first_result: asyncio.Future[None] | None = None
        self._link_task: asyncio.Task[None] | None = None
        self._window: deque[DeviceStatus] = deque(maxlen=WINDOW)
        self._robust: DeviceStatus | None = None
        self._published_at = -float("inf")
        self._published_states: tuple[object, ...] | None = None
        self._published_status: DeviceStatus | None = None
        self._sample_listeners: list[SampleListener] = []
        self.sampler.add_listener(self._async_on_sample)

    # ---- link lifecycle -------------------------------------------------------

    @property
    def standby_requested(self) -> bool:
        """The user's standby wish (kept over restarts by the switch)."""
        return self.sampler.standby_wanted

    @override
    async def _async_setup(self) -> None:
        """Start the link and wait for its first full reading; not ready while it fails."""
        self._first_result = self.hass.loop.create_future()
        self._start_link()
        self.config_entry.async_on_unload(
            async_track_time_interval(self.hass, self._async_watchdog, WATCHDOG_INTERVAL)
        )
        try:
            async with asyncio.timeout(FIRST_SAMPLE_TIMEOUT):
                await self._first_result
        except TimeoutError as err:
            err_ = NoAnswerError(f"no complete reading within {FIRST_SAMPLE_TIMEOUT:.0f} s")
            await self._async_stop_link()
            raise UpdateFailed(**error_translation(err_, self.client.url)) from err
        except Mk3Error as err:
            await self._async_stop_link()
            raise UpdateFailed(**error_translation(err, self.client.url)) from err

    def _start_link(self) -> None:
        self._link_task = self.config_entry.async_create_background_task(
            self.hass, self.supervisor.run(), f"{DOMAIN} link {self.client.url}"
        )

    @override
    async def async_shutdown(self) -> None:
        """Stop sampling before the port is closed."""
        await self._async_stop_link()
        await super().async_shutdown()

    async def _async_stop_link(self) -> None:
        task, self._link_task = self._link_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    @override
    async def _async_update_data(self) -> VictronMk3Data:
        """The first publish (setup): no I/O here, the sampler already has the reading."""
        if self.fault is not None:
            raise UpdateFailed(**error_translation(self.fault, self.client.url))
        if self._robust is None:
            raise UpdateFailed(**error_translation(NotConnectedError("no reading yet"), self.client.url))
        self._published_at = time.monotonic()
        return self._snapshot(self._robust, states_only=False)

    # ---- publishing ---------------------------------------------------------------

    @callback
    def _async_on_sample(self, status: DeviceStatus) -> None:
        self._window.append(status)
        robust = self._robust = robust_status(self._window)
        for listener in list(self._sample_listeners):
            try:
                listener(robust)
            except Exception:
                # One listener's bug must not stop publishing (or the other listeners).
                LOGGER.exception("%s: sample listener failed", self.client.url)
        if self._first_result is not None and not self._first_result.done():
            self._first_result.set_result(None)
            return
        now = time.monotonic()
        if self.fault is not None:
            LOGGER.info("%s is answering again", self.client.url)
            self.fault = None
            self._asleep_since = None
            async_set_issue(self.hass, self.config_entry, DEVICE_ASLEEP, self.client.url, raised=False)
            self._async_publish(robust, now, states_only=False)
        elif now - self._published_at >= self.publish_interval - 0.05:
            self._async_publish(robust, now, states_only=False)
        elif (
            self._published_status is not None
            and now - self._published_at >= EARLY_PUBLISH_SPACING
            and significant_step(self._published_status, robust)
        ):
            # A step an automation or a dashboard reacts to: now, not at the next interval.
            self._async_publish(robust, now, states_only=False)
        elif state_signature(self._fresh(robust, now)) != self._published_states:
            # Automations wait for states: publish a change now, measurements keep the interval.
            self._async_publish(robust, now, states_only=True)

    def _fresh(self, status: DeviceStatus, now: float) -> DeviceStatus:
        return status.without_stale(status.fresh_parts(self.fresh_window, FRESH_SLOW, now))

    @callback
    def _async_publish(self, status: DeviceStatus, now: float, *, states_only: bool) -> None:
        data = self._snapshot(status, states_only=states_only, now=now)
        if not states_only:
            self._published_at = now
        self.async_set_updated_data(data)

    def _snapshot(
        self, status: DeviceStatus, *, states_only: bool, now: float | None = None
    ) -> VictronMk3Data:
        parts = status.fresh_parts(self.fresh_window, FRESH_SLOW, time.monotonic() if now is None else now)
        fresh = status.without_stale(parts)
        self._published_states = state_signature(fresh)
        if not states_only:
            self._published_status = status
        version = self.client.version
        return VictronMk3Data(
            status=fresh,
            fresh_parts=parts,
            interface_version=version.version if version else None,
            interface_flags=fresh.interface_flags,
            states_only=states_only,
            capabilities=self.sampler.capabilities,
        )

    @callback
    def _async_watchdog(self, _now: object = None) -> None:
        """Samples must keep coming while the link is up; repairs follow the link's state."""
        if self._link_task is not None and self._link_task.done():
            # The supervisor contains every error, so this is a bug: say so once and restart.
            LOGGER.error("%s: the link task ended (%s); restarting it", self.client.url, self._link_task)
            self._start_link()
        self._async_check_repairs()
        latest = self.sampler.latest
        if self.fault is not None or latest is None or self._first_result is None:
            return
        if not self._first_result.done():
            return
        age = time.monotonic() - latest.taken_at
        if age > self.fresh_window and self.last_update_success:
            # Nothing arrives although no fault was reported (a stuck task): unavailable.
            self.async_set_update_error(
                UpdateFailed(
                    **error_translation(NoAnswerError(f"no sample for {age:.0f} s"), self.client.url)
                )
            )

    @callback
    def _async_on_fault(self, err: Mk3Error) -> None:
        if self._first_result is not None and not self._first_result.done():
            self._first_result.set_exception(err)
            return
        if isinstance(err, NoAnswerError) and self.client.connected:
            self._asleep_since = self._asleep_since or time.monotonic()
        self.fault = err
        self._window.clear()
        # Logs once per outage and makes the entities unavailable at once.
        self.async_set_update_error(UpdateFailed(**error_translation(err, self.client.url)))

    @callback
    def _async_check_repairs(self) -> None:
        """A long sleep with standby off, or a standby the interface does not keep: say why."""
        entry, port = self.config_entry, self.client.url
        since = self._asleep_since
        asleep = (
            since is not None
            and not self.standby_requested
            and time.monotonic() - since >= ASLEEP_REPAIR_AFTER
        )
        if asleep:
            async_set_issue(self.hass, entry, DEVICE_ASLEEP, port, raised=True)
        async_set_issue(self.hass, entry, STANDBY_NOT_KEPT, port, raised=self.sampler.standby_given_up)

    @property
    def interface_flags(self) -> InterfaceFlags | None:
        """The MK3's flags as last read."""
        latest = self.sampler.latest
        return latest.interface_flags if latest else None

    @callback
    def async_add_sample_listener(self, listener: SampleListener) -> CALLBACK_TYPE:
        """Be called with every sample's robust values (several per second), e.g. for energy."""
        self._sample_listeners.append(listener)
        return lambda: self._sample_listeners.remove(listener)

    # ---- commands ----------------------------------------------------------------

    async def _async_command(self, write: Callable[[Mk3Client], Awaitable[Any]]) -> DeviceStatus:
        """Run a write ahead of the sampling queue and publish its read-back at once."""
        if self.fault is not None or not self.sampler.running:
            raise link_down(self.client.url)
        try:
            status = await self.sampler.command(write)
        except NotConnectedError as err:
            raise link_down(self.client.url) from err
        except Mk3Error as err:
            raise HomeAssistantError(**error_translation(err, self.client.url)) from err
        self._window.append(status)
        self._robust = robust_status(self._window)
        self.async_set_updated_data(self._snapshot(self._robust, states_only=False))
        return status

    def _config(self) -> ConfigInfo:
        config = self.data.status.config if self.data else None
        if config is None:
            raise link_down(self.client.url)
        return config

    async def async_set_remote_panel_state(self, mode: PanelMode, current_limit: float | None) -> None:
        """Set mode and current limit; without a limit the device's present limit is kept."""
        config = self._config()
        minimum, maximum = config.minimum_current_limit, config.maximum_current_limit
        if current_limit is not None and not (
            minimum - LIMIT_TOLERANCE <= current_limit <= maximum + LIMIT_TOLERANCE
        ):
            raise out_of_range("current_limit_out_of_range", "current_limit", current_limit, minimum, maximum)
        before: list[float] = []

        async def write(client: Mk3Client) -> None:
            if current_limit is None:
                # Victron's MK2 protocol: a limit >= 0x8000 is ignored, so a mode change leaves
                # whatever limit any panel set, with no config read (0.8 s) before it.
                before.append(self._config().current_limit)
            LOGGER.debug("Setting remote panel state %s, current limit %s", mode, current_limit or "as is")
            await client.set_state(SWITCH_STATES[mode], current_limit)

        status = await self._async_command(write)
        read_back = status.config
        assert read_back is not None  # a command's read-back always holds the config
        maximum = read_back.maximum_current_limit
        if before and abs(read_back.current_limit - maximum) <= LIMIT_TOLERANCE < abs(before[0] - maximum):
            # Firmware that took "ignore" for "maximum": put the limit back at once and say so.
            LOGGER.warning(
                "%s changed the current limit from %.1f A to %.1f A on a mode change; restoring it",
                self.client.url,
                before[0],
                read_back.current_limit,
            )
            status = await self._async_command(
                lambda client: client.set_state(SWITCH_STATES[mode], before[0])
            )
            read_back = status.config
            assert read_back is not None
        reported = remote_panel_mode(read_back.switch_register)
        if reported is not mode:
            raise not_confirmed(mode, reported)

    async def async_set_standby(self, enabled: bool) -> None:
        """Keep the device from sleeping (costs battery) or let it sleep again."""
        if not self.sampler.capabilities.supported(Feature.INTERFACE_FLAGS):
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="standby_unsupported",
                translation_placeholders={"port": self.client.url},
            )
        previous = self.sampler.standby_wanted
        self.sampler.want_standby(enabled)
        try:
            status = await self._async_command(lambda client: _write_standby(client, enabled))
        except HomeAssistantError:
            self.sampler.want_standby(previous)
            raise
        flags = status.interface_flags
        if flags is None or (InterfaceFlags.STANDBY in flags) is not enabled:
            raise not_confirmed("standby" if enabled else "no standby", str(flags))

    async def async_force_charge_stage(self, action: ChargeAction) -> None:
        """Force absorption, float or equalise; confirmed by the stage the device answers with."""
        reply: list[DeviceStateReport] = []

        async def write(client: Mk3Client) -> None:
            LOGGER.debug("Forcing charge stage %s", action.name)
            reply.append(await client.force_charge_stage(action))

        await self._async_command(write)
        # The read-back holds the settings only: fetch the charger's stage on the next cycle.
        self.sampler.request_slow_read()
        report = reply[0]
        if report.state is not DeviceState.CHARGE:
            state = (
                report.state.name.lower() if report.state is not None else f"unknown ({report.state_code})"
            )
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="not_charging",
                translation_placeholders={"state": state},
            )
        if report.charge_stage not in FORCED_STAGES[action]:
            stage = report.charge_stage
            raise not_confirmed(
                action.name.lower(),
                stage.name.lower() if stage is not None else f"unknown ({report.charge_stage_code})",
            )

    @callback
    def async_restore_standby(self, enabled: bool) -> None:
        """Take the standby wish kept over a restart; the sampler asserts it on the interface."""
        self.sampler.want_standby(enabled)

    # ---- probe -------------------------------------------------------------------

    async def async_probe(self) -> tuple[ProbeResult, DeviceStatus | None]:
        """Check the link now; never competes with the reconnect loop for the port.

        While the port is closed the supervisor owns it: it is asked to try at once and the
        outcome of that attempt is reported.
        """
        started = time.monotonic()
        if not self.client.connected:
            await self.supervisor.attempt_now(PROBE_WAIT)
        if not self.client.connected:
            fault = self.fault or NotConnectedError(f"{self.client.url} is not open")
            return ProbeResult(probe_status(fault), str(fault), elapsed=time.monotonic() - started), None
        try:
            version = await self.client.get_version()
        except Mk3Error as err:
            return ProbeResult(probe_status(err), str(err), elapsed=time.monotonic() - started), None
        detail = f"MK3 interface version {version.version}"
        result = ProbeResult(ProbeStatus.OK, detail, version, time.monotonic() - started)
        return result, self.sampler.latest


async def _write_standby(client: Mk3Client, enabled: bool) -> None:
    """Set or clear the standby flag, keeping the interface's other flags as found."""
    flags = await client.get_interface_flags()
    wanted = flags | InterfaceFlags.STANDBY if enabled else flags & ~InterfaceFlags.STANDBY
    if wanted != flags:
        await client.set_interface_flags(wanted)
