"""Keeps the 2400-baud link busy with what is needed, and nothing else: one plan, one queue.

Each cycle reads the core (LEDs, DC, AC of L1) and what the device has shown it supports
(other phases, power variables); the config frame, flags, charge stage and state of charge
come on a slow cadence, the Multi's firmware once. A failure costs its own part, not the
link: a lost reply leaves that part's previous value (with its old time), a feature the
device refuses or never answers is recorded in ``capabilities`` and asked again later. A
changed state (LEDs, device state, mains present, config) is published at once (read twice
first on a line that recently showed corruption). The link counts as down only when a core
request fails and not a byte arrived for ``link_down_after`` seconds while it was asked.
Commands (S, H, W) jump the queue; their confirming read follows.
"""

from __future__ import annotations

from collections.abc import Sequence
import functools
import logging
import time
from typing import TypeVar

from .capabilities import PHASE_FEATURES, Feature
from .client import Mk3Client
from .commands import Write
from .const import RamVar
from .exceptions import Mk3Error, NotConnectedError
from .pipeline import CyclePipeline
from .plan_items import CLEAN_LINE_AFTER, LINK_DOWN_AFTER, LinkDownError, PlanItems
from .standby import StandbyKeeper
from .status import (
    CHARGE,
    CONFIG,
    DC,
    FIRMWARE,
    FLAGS,
    LEDS,
    MAX_PHASES,
    POWER,
    POWER_VARS,
    SOC,
    UNITS,
    DeviceStatus,
    ac_part,
    evolve,
    unit_part,
)
from .units import UnitsPlan, master_ram

_LOGGER = logging.getLogger(__package__)
_T = TypeVar("_T")

# The config frame costs the device > 750 ms; limits and switches rarely change.
SLOW_INTERVAL = 10.0
# A cycle's pace. Its requests take about 0.22 s on the wire when sent together (0.43 s one
# at a time); this leaves the link half free for commands and, with the replies read once at
# the end of the cycle, costs one wake-up per cycle (pipeline.py). Samples per second: 2.5.
MIN_CYCLE = 0.4

__all__ = ["MIN_CYCLE", "SLOW_INTERVAL", "LinkDownError", "Sampler"]


class Sampler(PlanItems):
    """Runs the sampling plan on a connected client and keeps the newest ``DeviceStatus``."""

    def __init__(
        self,
        client: Mk3Client,
        phases: Sequence[int] | None = None,
        *,
        slow_interval: float = SLOW_INTERVAL,
        min_cycle: float = MIN_CYCLE,
        link_down_after: float = LINK_DOWN_AFTER,
        clean_line_after: float = CLEAN_LINE_AFTER,
    ) -> None:
        super().__init__(client, link_down_after=link_down_after, clean_line_after=clean_line_after)
        # Configured phases are read even if they did not answer at first (retried later);
        # without configuration L2–L4 are detected on connect.
        self.configured_phases = sorted({1, *phases}) if phases else None
        self.slow_interval = slow_interval
        self.min_cycle = min_cycle
        # Topology and per-unit rounds of multi-unit systems (nothing per cycle for one unit).
        self.units = UnitsPlan()
        # The cycle's reads in one write while the device takes them that way.
        self.pipeline = CyclePipeline(self.capabilities[Feature.PIPELINED_READS])
        # Keeps the interface's standby flag set (re-asserted when lost, with a give-up).
        self.standby = StandbyKeeper(slow_interval)
        self._running = False
        self._slow_due = 0.0
        self._connection = 0
        self.runs = 0  # runs started: a new one means the link failed in between (ESS keep-alive)

    # ---- public API ----------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while ``run()`` is sampling."""
        return self._running

    @property
    def phases(self) -> list[int]:
        """The phases read now: L1, the ones that answer, and those due for another try."""
        now = time.monotonic()
        phases = [1]
        for phase in self.configured_phases or range(2, MAX_PHASES + 1):
            if phase == 1:
                continue
            previous = PHASE_FEATURES.get(phase - 1)
            if self.configured_phases is None and previous and not self.capabilities.supported(previous):
                break  # detected phases are contiguous: no L3 without an L2 that answers
            if self.capabilities[PHASE_FEATURES[phase]].due(now):
                phases.append(phase)
        return phases

    @property
    def standby_wanted(self) -> bool:
        """The standby flag is to be kept set."""
        return self.standby.wanted

    @property
    def standby_given_up(self) -> bool:
        """Standby is wanted but the interface kept losing or refusing it."""
        return self.standby.given_up

    def request_slow_read(self) -> None:
        """Read the config frame, flags and charger in the next cycle."""
        self._slow_due = 0.0

    def want_standby(self, enabled: bool) -> None:
        """Keep (or stop keeping) the standby flag; a new wish gets fresh attempts."""
        self.standby.want(enabled)
        if enabled:
            self.request_slow_read()  # check (and set) the flag now, not a slow interval later

    async def command(self, write: Write, *, read_back: bool = True) -> DeviceStatus:
        """Run ``write`` before the next read, then confirm it by reading the settings back.

        ``read_back=False``: no settings read after it (a write whose effect shows in the
        measurements, e.g. an ESS setpoint), and the status it returns is not published.
        """
        if not self._running:
            raise NotConnectedError(f"{self.client.url} is not being sampled")
        result = self._commands.submit(write, read_back=read_back)
        self.client.hurry()  # a cycle's replies held for its pace are read now: the command is next
        return await result

    async def run(self) -> None:
        """Sample until cancelled; a link fault ends the run with its ``Mk3Error``.

        A run after a fault that left the port open (sleep, a long burst of noise) resumes
        from what this sampler already knows: no full re-read, the parts refresh as they come.
        """
        self._running = True
        self.runs += 1
        self.client.forget_address()  # the MK3 may have been reset (it is powered by VE.Bus)
        fresh = self.latest is None
        if fresh or self.client.connections != self._connection:
            # A reopened port may lead to another (or updated) device: ask everything again.
            self.capabilities.retry_all()
            self._connection = self.client.connections
        self.standby.restart()
        self._core_silent = False
        self._garbage_at = time.monotonic()  # a port just opened may have landed mid-frame
        try:
            # The interface only sends its version unasked while idle, which sampling never is.
            await self._core(self.client.get_version)
            if fresh:
                await self._discover_phases()
            await self.units.prepare(self)
            self._slow_due = 0.0
            while True:
                started = time.monotonic()
                await self._cycle()
                if (spare := self.min_cycle - (time.monotonic() - started)) > 0:
                    await self._commands.wait(spare)
        except Mk3Error as err:
            self._commands.fail_all(err)
            raise
        finally:
            self._running = False
            self._commands.fail_all(NotConnectedError("sampling stopped"))

    # ---- the plan --------------------------------------------------------------

    async def _cycle(self) -> None:
        started = time.monotonic()
        await self._run_commands()
        # After a core part went unanswered, one request at a time: a silent device is then
        # noticed at the first request's timeout, not after a whole batch's.
        if not self._core_silent and await self.pipeline.prefetch(
            self.client, *self._known_parts(), read_after=started + self.min_cycle
        ):
            silent_for = self.client.silent_for()
            if silent_for >= self.link_down_after:
                raise LinkDownError(
                    f"no answer to the cycle's requests; nothing received for {silent_for:.1f} s"
                )
        try:
            await self._read_parts()
        finally:
            self.pipeline.cycle_done(self.client)
        self.stats.cycles += 1
        self.stats.last_cycle_seconds = time.monotonic() - started
        self._publish_if_complete()

    def _known_parts(self) -> tuple[list[int], tuple[int, ...]]:
        """Phases and power variables of this cycle the device is known to answer."""
        capabilities = self.capabilities
        phases = [p for p in self.phases if p == 1 or capabilities.supported(PHASE_FEATURES[p])]
        power = capabilities.supported(Feature.POWER) and not self.units.covers_power
        return phases, POWER_VARS if power else ()

    async def _read_parts(self) -> None:
        client = self.client
        await self._read_state(LEDS, client.get_leds, lambda leds: {"leds": leds}, lambda s: s.leds)
        if (dc := await self._core(client.get_dc)) is not None:
            self._update(DC, dc=dc)
        for phase in self.phases:
            await self._read_phase(phase)
        # Not in the cycle that reads the slow config frame (~1 s): that cycle would outlast
        # the default publish interval with a three-unit round in it.
        await self._read_units(round_due=self._slow_after_next_pass or time.monotonic() < self._slow_due)
        if self._due(Feature.POWER) and not self.units.covers_power:
            powers = await self._optional(Feature.POWER, lambda: client.read_ram(POWER_VARS))
            if self._all_supported(powers, Feature.POWER):
                self._update(POWER, ram={**self._current().ram, **powers})
        if self._slow_after_next_pass:
            self._slow_after_next_pass = False
            self._slow_due = 0.0
        elif time.monotonic() >= self._slow_due:
            await self._read_slow()
        if self._due(Feature.FIRMWARE_VERSION) and self._current().firmware_version is None:
            version = await self._optional(Feature.FIRMWARE_VERSION, client.get_firmware_version)
            if version is not None:
                self._update(FIRMWARE, firmware_version=version)

    async def _read_phase(self, phase: int) -> None:
        client = self.client
        if phase == 1:
            await self._read_state(
                ac_part(1),
                functools.partial(client.get_ac, 1),
                lambda ac: {"ac": {**self._current().ac, 1: ac}},
                # Mains lost or back is a state automations wait for, like the device state.
                lambda s: (s.device_state, s.mains_present),
            )
            return
        ac = await self._optional(PHASE_FEATURES[phase], functools.partial(client.get_ac, phase))
        if ac is not None:
            self._update(ac_part(phase), ac={**self._current().ac, phase: ac})

    async def _read_units(self, *, round_due: bool = True) -> None:
        """A multi-unit round when due; the master's powers stand for the power part."""
        await self.units.prepare(self)  # again only after a reset (the V mode byte changed)
        readings = (await self.units.step(self) if round_due else None) or {}
        current = self._current()
        # Units gone from the topology, or not read for long, count nowhere (sums, energy).
        units = self.units.current_readings({**current.units, **readings}, time.monotonic())
        if not readings and units == current.units:
            return
        read_at = {unit_part(address): reading.taken_at for address, reading in readings.items()}
        self._update(UNITS, units=units)
        self.latest = evolve(self._current(), read_at={**self._current().read_at, **read_at})
        topology = self.units.topology
        if topology is not None and (master := readings.get(topology.master)) is not None:
            self._update(POWER, ram={**self._current().ram, **master_ram(master)})

    async def _discover_phases(self) -> None:
        """Without configured phases: L2, L3, L4 exist while each answers (stop at the first gap)."""
        if self.configured_phases is not None:
            return
        for phase in range(2, MAX_PHASES + 1):
            feature = PHASE_FEATURES[phase]
            ac = await self._optional(feature, functools.partial(self.client.get_ac, phase))
            if ac is None:
                for later in range(phase + 1, MAX_PHASES + 1):
                    self.capabilities[PHASE_FEATURES[later]].refused(f"L{phase} is absent")
                return
            self._update(ac_part(phase), ac={**self._current().ac, phase: ac})

    async def _read_slow(self) -> None:
        self._slow_due = time.monotonic() + self.slow_interval
        client = self.client
        await self._read_state(
            CONFIG, client.get_config, lambda config: {"config": config}, lambda s: s.config
        )
        await self._read_flags()
        if self._due(Feature.CHARGE_STAGE):
            reply = await self._optional(Feature.CHARGE_STAGE, client.get_device_state)
            if reply is not None:
                self._update(CHARGE, charge_stage=reply.charge_stage)
        if self._due(Feature.STATE_OF_CHARGE):
            soc = await self._optional(
                Feature.STATE_OF_CHARGE, lambda: client.read_ram([RamVar.STATE_OF_CHARGE])
            )
            if self._all_supported(soc, Feature.STATE_OF_CHARGE):
                self._update(SOC, ram={**self._current().ram, **soc})

    async def _read_flags(self) -> None:
        if not self._due(Feature.INTERFACE_FLAGS):
            return
        flags = await self._optional(Feature.INTERFACE_FLAGS, self.client.get_interface_flags)
        if flags is None:
            return
        self._update(FLAGS, interface_flags=flags)
        wanted = self.standby.flags_to_write(flags, time.monotonic())
        if wanted is None:
            return
        _LOGGER.debug("%s: standby flag lost, re-asserting", self.client.url)
        written = await self._optional(
            Feature.INTERFACE_FLAGS, lambda: self.client.set_interface_flags(wanted)
        )
        if written is not None:
            self._update(FLAGS, interface_flags=written)
