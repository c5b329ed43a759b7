"""Per-unit values of a multi-unit system, read in coherent rounds; nothing for a single unit.

A round freezes the power variables in every unit at once (``F 6``) and fetches each unit's
frozen words (``A 1 addr`` + ``X 0x38``), so the per-phase sums belong to one instant. A unit
that refuses snapshots (``0x80``) is read with plain RAM reads instead (not coherent). Rounds run
at most every ``UNIT_INTERVAL`` seconds inside the sampler's cycle; the system frames (F 0..4, L)
stay in every cycle. The topology is read on connect, after a reconnect and when the interface
reset (the V frame's last byte changed); a device that does not answer is one unit and costs
nothing per cycle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
import logging
import time
from typing import TYPE_CHECKING, Any, TypeVar

from .capabilities import Capability, Support
from .client import Mk3Client
from .const import RamVar
from .exceptions import UnsupportedError
from .topology import Topology, Unit, build_topology, single_unit

if TYPE_CHECKING:
    from .sampler import Sampler

_LOGGER = logging.getLogger(__package__)
_T = TypeVar("_T")

# A unit's reading older than this counts nowhere (its entities are unavailable by then).
READING_TOO_OLD = 10.0
# Seconds between two rounds: a round of three units costs ~0.5 s of wire time at 2400 baud,
# so one per second leaves the system frames most of the link (see the benchmark).
UNIT_INTERVAL = 1.0
SNAPSHOT_VARS = (RamVar.INVERTER_POWER, RamVar.INVERTER_POWER_2, RamVar.OUTPUT_POWER)
_LOST: dict[int, float | None] = {}  # a read whose snapshot was gone (re-trigger next round)
_REFUSED: dict[int, float | None] = {}  # the unit does not know snapshots (0x80)


@dataclass(frozen=True)
class UnitReading:
    """One unit's powers in W, as frozen by one snapshot (or read directly)."""

    address: int
    phase: int
    phase_units: int  # units on this phase: a phase sum needs every one of them
    system_units: int  # units in the system: the system's sum needs every one of them
    inverter_power: float | None  # RAM 14
    input_power: float | None  # AC input: minus RAM 15 (protocol.md)
    output_power: float | None  # RAM 16
    taken_at: float
    coherent: bool = True  # False: plain RAM reads, not one instant for all units


@dataclass(frozen=True)
class PhasePower:
    """Real power of one phase (or the system), summed over its units."""

    input: float | None
    output: float | None
    inverter: float | None


def _total(values: Iterable[float | None]) -> float | None:
    numbers = list(values)
    return None if not numbers or any(value is None for value in numbers) else sum(numbers)  # type: ignore[arg-type]


def sum_power(readings: Iterable[UnitReading], phase: int | None = None) -> PhasePower | None:
    """The phase's (None: the system's) power; None while a unit of it has no reading."""
    chosen = [reading for reading in readings if phase is None or reading.phase == phase]
    if not chosen or (phase is None and len(chosen) < chosen[0].system_units):
        return None
    for each_phase in {reading.phase for reading in chosen}:
        on_phase = [reading for reading in chosen if reading.phase == each_phase]
        if len(on_phase) < on_phase[0].phase_units:
            return None
    return PhasePower(
        input=_total(reading.input_power for reading in chosen),
        output=_total(reading.output_power for reading in chosen),
        inverter=_total(reading.inverter_power for reading in chosen),
    )


@dataclass
class UnitStats:
    """For diagnostics and the benchmark."""

    rounds: int = 0
    lost_snapshots: int = 0
    last_round_seconds: float = 0.0
    refresh_seconds: float = 0.0  # between the last two complete rounds


class UnitsPlan:
    """Topology and per-unit rounds; the sampler calls ``prepare`` and ``step``."""

    def __init__(self, interval: float = UNIT_INTERVAL) -> None:
        self.interval = interval
        self.topology: Topology | None = None
        self.discovery = Capability()  # F 7
        self.snapshots = Capability()  # F 6 + X 0x38 known (refused with 0x80: RAM reads)
        self.unit_reads: dict[int, Capability] = {}  # per unit: answering or not
        self.firmware: dict[int, int] = {}
        self.stats = UnitStats()
        self._connection = -1
        self._next_round = 0.0
        self._round_done_at: float | None = None
        self._covers_power = False

    @property
    def multi(self) -> bool:
        return self.topology is not None and self.topology.multi

    @property
    def covers_power(self) -> bool:
        """Rounds read the master's powers too: the sampler's own power read can go."""
        return self.multi and self._covers_power

    def needs_discovery(self, client: Mk3Client) -> bool:
        mode = client.version.mode if client.version else None
        if self.topology is None or client.connections != self._connection:
            return True
        if not self.topology.answered and self.discovery.due(time.monotonic()):
            return True  # a lost reply at connect must not hide a multi-unit system for good
        return mode is not None and mode != self.topology.interface_mode

    async def prepare(self, sampler: Sampler) -> None:
        """Read the topology if it is unknown, the port was reopened or the interface reset."""
        client = sampler.client
        if not self.needs_discovery(client):
            return
        if client.connections != self._connection:
            self.unit_reads.clear()
            for capability in (self.discovery, self.snapshots):
                if capability.support is not Support.SUPPORTED:
                    capability.checked_at = None  # another (or updated) device: ask again
        self._connection = client.connections
        mode = client.version.mode if client.version else None
        previous = self.topology
        if not self.discovery.due(time.monotonic()):
            self.topology = previous or single_unit(interface_mode=mode)
            return
        frame = await sampler.ask(self.discovery, "unit info", lambda: client.get_unit_info(0))
        if frame is None:
            # Not answering: one unit, unless this link already knew more (a lost reply).
            keep = previous is not None and previous.answered
            self.topology = previous if keep and previous else single_unit(interface_mode=mode)
            return
        if len(frame.addresses) <= 1:
            self.topology = single_unit(interface_mode=mode, answered=True, serial=frame.serial)
            return
        counts: dict[int, int] = {}
        for phase in sampler.phases:
            count = await sampler.ask(
                Capability(), f"L{phase} units", _bind(client.get_phase_unit_count, phase)
            )
            if count is not None:
                counts[phase] = count
        serials = {frame.own_address: frame.serial}
        for address in sorted(frame.addresses - {frame.own_address}):
            info = await sampler.ask(
                Capability(), f"unit {address} info", _bind(client.get_unit_info, address)
            )
            if info is not None:
                serials[address] = info.serial
        topology = build_topology(frame.addresses, counts, serials, interface_mode=mode)
        if topology.addresses != (previous.addresses if previous else ()):
            _LOGGER.info("%s: VE.Bus system of %s", client.url, ", ".join(u.label for u in topology.units))
        self.topology = topology
        self._next_round = 0.0
        for unit in topology.units:
            await self._read_firmware(sampler, unit)

    async def _read_firmware(self, sampler: Sampler, unit: Unit) -> None:
        if unit.address in self.firmware:
            return
        client = sampler.client
        version = await sampler.ask(
            Capability(), f"unit {unit.address} firmware", _bind(client.get_firmware_version, unit.address)
        )
        if version is not None:
            self.firmware[unit.address] = version

    async def step(self, sampler: Sampler) -> dict[int, UnitReading] | None:
        """A round when one is due: the readings it got (None: no round now)."""
        topology = self.topology
        now = time.monotonic()
        if topology is None or not topology.multi or now < self._next_round:
            return None
        self._next_round = now + self.interval
        units = [unit for unit in topology.units if self._answering(unit.address).due(now)]
        # Start with the unit selected now: one A exchange fewer per round.
        selected = sampler.client.selected_address
        units.sort(key=lambda unit: unit.address != selected)
        # Snapshots until a unit refuses them (0x80), then RAM reads; refusals are retried later.
        if self.snapshots.support is not Support.UNSUPPORTED or self.snapshots.due(now):
            readings = await self._snapshot_round(sampler, topology, units)
        else:
            readings = await self._ram_round(sampler, topology, units)
        self._covers_power = topology.master in readings
        if readings:
            done = time.monotonic()
            if self._round_done_at is not None:
                self.stats.refresh_seconds = done - self._round_done_at
            self._round_done_at = done
            self.stats.rounds += 1
            self.stats.last_round_seconds = done - now
        return readings

    def _answering(self, address: int) -> Capability:
        """Whether one unit answers its reads: a silent unit is skipped, not the others."""
        return self.unit_reads.setdefault(address, Capability())

    async def _snapshot_round(
        self, sampler: Sampler, topology: Topology, units: list[Unit]
    ) -> dict[int, UnitReading]:
        client = sampler.client
        readings: dict[int, UnitReading] = {}
        if units:
            await sampler.ask(
                self.snapshots, "snapshot trigger", lambda: client.trigger_snapshot(SNAPSHOT_VARS)
            )
        for unit in units:
            values = await sampler.ask(
                self._answering(unit.address), "snapshot", _bind(_snapshot_read, client, unit.address)
            )
            if values is _LOST:
                self.stats.lost_snapshots += 1
            elif values is _REFUSED:
                self.snapshots.refused(f"unit {unit.address} does not know the snapshot read")
                return await self._ram_round(sampler, topology, units)  # fall back at once
            elif values is not None:
                if self.snapshots.support is not Support.SUPPORTED:
                    self.snapshots.answered()
                readings[unit.address] = _reading(topology, unit, values, coherent=True)
        return readings

    async def _ram_round(
        self, sampler: Sampler, topology: Topology, units: list[Unit]
    ) -> dict[int, UnitReading]:
        client = sampler.client
        readings: dict[int, UnitReading] = {}
        for unit in units:
            values = await sampler.ask(
                self._answering(unit.address),
                "unit RAM read",
                _bind(client.read_ram, SNAPSHOT_VARS, unit.address),
            )
            if values is not None:
                readings[unit.address] = _reading(topology, unit, values, coherent=False)
        return readings

    def current_readings(self, readings: dict[int, UnitReading], now: float) -> dict[int, UnitReading]:
        """``readings`` of the units the topology has now, none older than ``READING_TOO_OLD``."""
        topology = self.topology
        if topology is None or not topology.multi:
            return {}
        present = set(topology.addresses)
        return {
            address: reading
            for address, reading in readings.items()
            if address in present and now - reading.taken_at <= READING_TOO_OLD
        }

    def as_dict(self) -> dict[str, Any]:
        """For diagnostics: topology, support, firmware and round statistics."""
        return {
            "topology": self.topology.as_dict() if self.topology else None,
            "discovery": self.discovery.support.value,
            "snapshots": {"support": self.snapshots.support.value, "reason": self.snapshots.reason},
            "unit_reads": {str(a): cap.support.value for a, cap in sorted(self.unit_reads.items())},
            "firmware": {str(address): version for address, version in sorted(self.firmware.items())},
            "stats": vars(self.stats).copy(),
        }


def _bind(function: Callable[..., Awaitable[_T]], *args: Any) -> Callable[[], Awaitable[_T]]:
    return lambda: function(*args)


async def _snapshot_read(client: Mk3Client, address: int) -> dict[int, float | None]:
    """The unit's frozen values, ``_LOST`` when its snapshot was gone, ``_REFUSED`` on 0x80."""
    try:
        values = await client.read_snapshot(address, SNAPSHOT_VARS)
    except UnsupportedError:
        return _REFUSED
    return _LOST if values is None else values


def _reading(
    topology: Topology, unit: Unit, values: dict[int, float | None], *, coherent: bool
) -> UnitReading:
    input_raw = values.get(RamVar.INVERTER_POWER_2)
    return UnitReading(
        address=unit.address,
        phase=unit.phase,
        phase_units=sum(1 for other in topology.units if other.phase == unit.phase),
        system_units=len(topology.units),
        inverter_power=values.get(RamVar.INVERTER_POWER),
        input_power=None if input_raw is None else -input_raw,
        output_power=values.get(RamVar.OUTPUT_POWER),
        taken_at=time.monotonic(),
        coherent=coherent,
    )


def master_ram(reading: UnitReading) -> dict[int, float | None]:
    """The master's powers as the RAM values the single-unit power read would have given."""
    return {
        RamVar.INVERTER_POWER: reading.inverter_power,
        RamVar.INVERTER_POWER_2: None if reading.input_power is None else -reading.input_power,
        RamVar.OUTPUT_POWER: reading.output_power,
    }
