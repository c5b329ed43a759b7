"""Owns the link: samples at wire speed, publishes at the update interval, confirms every write.

Sampling and publishing are separate. The library's sampler keeps the 2400-baud link busy
with what is needed; entities are written at the update interval from the newest sample,
so the recorder does not grow with the wire speed. A write's read-back and a fault
(unavailable) are published at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from enum import IntEnum
import time
from typing import Any, TypeAlias, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .const import CONF_PHASES, CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL, DOMAIN, LOGGER
from .errors import error_translation, link_down, not_confirmed, probe_status
from .models import SWITCH_STATES, PanelMode, VictronMk3Data, remote_panel_mode
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
    StatusReader,
    probe,
)

VictronMk3ConfigEntry: TypeAlias = ConfigEntry["VictronMk3Coordinator"]

# The device rounds limits to 0.1 A; accept what rounds into the range.
LIMIT_TOLERANCE = 0.05
# Setup waits this long for the first full reading (the config frame alone takes ~1 s).
FIRST_SAMPLE_TIMEOUT = 15.0
# A device asleep this long while standby is off gets a repair issue explaining why.
ASLEEP_REPAIR_AFTER = 180.0


# The stages that confirm a forced one (absorption is reported as forced or repeated).
def _code_name(member: IntEnum | None, code: int) -> str:
    """Lower-case name of a reported state, or the raw code when the library does not know it."""
    return f"unknown ({code})" if member is None else member.name.lower()


FORCED_STAGES: dict[ChargeAction, frozenset[ChargeStage]] = {
    ChargeAction.ABSORPTION: frozenset(
        {ChargeStage.ABSORPTION, ChargeStage.FORCED_ABSORPTION, ChargeStage.REPEATED_ABSORPTION}
    ),
    ChargeAction.FLOAT: frozenset({ChargeStage.FLOAT}),
    ChargeAction.EQUALISE: frozenset({ChargeStage.EQUALISE}),
}


class VictronMk3Coordinator(DataUpdateCoordinator[VictronMk3Data]):
    """Publishes the newest sample of one VE.Bus device and runs commands on it.

    Never sends the S (state) command on its own: the remote panel setting lives on
    the device and only a user's command may change it.
    """

    config_entry: VictronMk3ConfigEntry

    def __init__(self, hass: HomeAssistant, entry: VictronMk3ConfigEntry, client: Mk3Client) -> None:
        """Publish at the interval from the options; read the configured phases or detect them."""
        seconds = entry.options.get(CONF_SCAN_INTERVAL)
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=entry.title,
            update_interval=timedelta(seconds=seconds) if seconds else DEFAULT_SCAN_INTERVAL,
        )
        self.client = client
        # L1 is always there; without extra phases configured the reader detects them.
        extra_phases = [int(phase) for phase in entry.options.get(CONF_PHASES, [])]
        self.reader = StatusReader(client, [1, *extra_phases] if extra_phases else None)
        self.sampler = Sampler(client, self.reader)
        self.supervisor = LinkSupervisor(
            client, self.sampler, self._async_on_fault, on_connected=self._async_assert_standby
        )
        self.standby_requested = False
        self.fault: Mk3Error | None = None
        self._asleep_since: float | None = None
        self._first_result: asyncio.Future[None] | None = None
        self._link_task: asyncio.Task[None] | None = None
        self._reasserting_standby = False
        self.sampler.add_listener(self._async_on_sample)

    # ---- link lifecycle -------------------------------------------------------

    @override
    async def _async_setup(self) -> None:
        """Start the link and wait for its first full reading; not ready while it fails."""
        self._first_result = self.hass.loop.create_future()
        self._link_task = self.config_entry.async_create_background_task(
            self.hass, self.supervisor.run(), f"{DOMAIN} link {self.client.url}"
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
        """Publish the newest sample: no I/O here, the sampler already has it."""
        if self.fault is not None:
            self._async_check_asleep()
            raise UpdateFailed(**error_translation(self.fault, self.client.url))
        status = self.sampler.latest
        if status is None:
            raise UpdateFailed(**error_translation(NotConnectedError("no reading yet"), self.client.url))
        return self._snapshot(status)

    @callback
    def _async_on_sample(self, status: DeviceStatus) -> None:
        if self._first_result is not None and not self._first_result.done():
            self._first_result.set_result(None)
        if self.fault is not None:
            LOGGER.info("%s is answering again", self.client.url)
            self.fault = None
            self._asleep_since = None
            ir.async_delete_issue(self.hass, DOMAIN, self._asleep_issue_id)
            self.async_set_updated_data(self._snapshot(status))
        self._async_check_standby(status)

    @callback
    def _async_on_fault(self, err: Mk3Error) -> None:
        if self._first_result is not None and not self._first_result.done():
            self._first_result.set_exception(err)
            return
        if isinstance(err, NoAnswerError) and self.client.connected:
            self._asleep_since = self._asleep_since or time.monotonic()
        self.fault = err
        # Logs once per outage and makes the entities unavailable at once.
        self.async_set_update_error(UpdateFailed(**error_translation(err, self.client.url)))

    @property
    def _asleep_issue_id(self) -> str:
        return f"device_asleep_{self.config_entry.entry_id}"

    @callback
    def _async_check_asleep(self) -> None:
        """Explain a long sleep with a repair issue (the MK3 lost its VE.Bus power)."""
        since = self._asleep_since
        if since is None or self.standby_requested or time.monotonic() - since < ASLEEP_REPAIR_AFTER:
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._asleep_issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="device_asleep",
            translation_placeholders={"title": self.config_entry.title, "port": self.client.url},
        )

    def _snapshot(self, status: DeviceStatus) -> VictronMk3Data:
        version = self.client.version
        return VictronMk3Data(
            status=status,
            interface_version=version.version if version else None,
            interface_flags=status.interface_flags,
        )

    @property
    def interface_flags(self) -> InterfaceFlags | None:
        """The MK3's flags as last read."""
        latest = self.sampler.latest
        return latest.interface_flags if latest else None

    @callback
    def async_add_sample_listener(self, listener: Callable[[DeviceStatus], None]) -> CALLBACK_TYPE:
        """Be called with every sample (several per second), e.g. to integrate energy."""
        return self.sampler.add_listener(listener)

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
        self.async_set_updated_data(self._snapshot(status))
        return status

    async def async_set_remote_panel_state(self, mode: PanelMode, current_limit: float | None) -> None:
        """Set mode and current limit; without a limit the device's present limit is kept."""
        config = self.data.status.config
        minimum, maximum = config.minimum_current_limit, config.maximum_current_limit
        if current_limit is not None and not (
            minimum - LIMIT_TOLERANCE <= current_limit <= maximum + LIMIT_TOLERANCE
        ):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="current_limit_out_of_range",
                translation_placeholders={
                    "current_limit": f"{current_limit:g}",
                    "minimum": f"{minimum:g}",
                    "maximum": f"{maximum:g}",
                },
            )

        async def write(client: Mk3Client) -> None:
            # Never let the library's "None = maximum" apply: a mode change keeps the limit.
            # The sampled limit is at most one slow interval old; reading it afresh would cost
            # the device's ~0.8 s config frame before every mode change.
            limit = current_limit
            if limit is None:
                latest = self.sampler.latest
                limit = (latest.config if latest else await client.get_config()).current_limit
            LOGGER.debug("Setting remote panel state %s, current limit %s A", mode, limit)
            await client.set_state(SWITCH_STATES[mode], limit)

        status = await self._async_command(write)
        reported = remote_panel_mode(status.config.switch_register)
        if reported is not mode:
            raise not_confirmed(mode, reported)

    async def async_set_standby(self, enabled: bool) -> None:
        """Keep the device from sleeping (costs battery) or let it sleep again."""
        previous, self.standby_requested = self.standby_requested, enabled
        try:
            status = await self._async_command(lambda client: _write_standby(client, enabled))
        except HomeAssistantError:
            self.standby_requested = previous
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
        """Take the standby wish kept over a restart; assert it on the interface now."""
        self.standby_requested = enabled
        if self.sampler.latest is not None:
            self._async_check_standby(self.sampler.latest)

    async def _async_assert_standby(self) -> None:
        """After every (re)connect: the MK3 forgets its flags whenever it loses power."""
        if self.standby_requested:
            await _write_standby(self.client, True)

    @callback
    def _async_check_standby(self, status: DeviceStatus) -> None:
        flags = status.interface_flags
        if (
            not self.standby_requested
            or flags is None
            or InterfaceFlags.STANDBY in flags
            or self._reasserting_standby
        ):
            return
        self._reasserting_standby = True
        LOGGER.debug("Re-asserting standby on %s", self.client.url)
        self.config_entry.async_create_background_task(
            self.hass, self._async_reassert_standby(), f"{DOMAIN} re-assert standby"
        )

    async def _async_reassert_standby(self) -> None:
        try:
            await self._async_command(lambda client: _write_standby(client, True))
        except HomeAssistantError as err:
            LOGGER.debug("Standby not re-asserted yet: %s", err)
        finally:
            self._reasserting_standby = False

    # ---- probe -------------------------------------------------------------------

    async def async_probe(self) -> tuple[ProbeResult, DeviceStatus | None]:
        """Check the link now by asking the interface for its version."""
        started = time.monotonic()
        if not self.client.connected:
            # The link is down and the port free: probe it like a new one.
            return await probe(self.client.url), None
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
