"""One reading of everything a dashboard shows; each part carries the time it was read.

A part that could not be read (a lost reply, a feature the device lacks) is ``None`` or
absent, never a guess: ``DeviceStatus`` keeps the newest good value of every part with its
time, and ``without_stale`` drops the parts that are too old to show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
import time
from typing import Any, TypeVar

from .capabilities import Capabilities
from .client import Mk3Client
from .const import ChargeStage, DeviceState, InterfaceFlags, RamVar
from .exceptions import NoAnswerError, UnsupportedError
from .messages import ACInfo, ConfigInfo, DCInfo, LedStatus
from .units import PhasePower, UnitReading, sum_power

POWER_VARS = (RamVar.INVERTER_POWER, RamVar.INVERTER_POWER_2, RamVar.OUTPUT_POWER)
MAX_PHASES = 4

# Names of the parts of a reading (keys of ``DeviceStatus.read_at``).
LEDS = "leds"
DC = "dc"
CONFIG = "config"
POWER = "power"
FLAGS = "flags"
CHARGE = "charge"
SOC = "soc"
FIRMWARE = "firmware"
UNITS = "units"  # per-unit powers of a multi-unit system (each unit also has its unit_part)
# Mains voltage above this on any phase counts as "mains present": below any nominal mains
# (100-240 V), above what an open input reads.
MAINS_PRESENT_VOLTAGE = 80.0
# Parts read once per slow cadence: they may be older than the fast ones.
SLOW_PARTS = frozenset({CONFIG, FLAGS, CHARGE, SOC})


_AC_PARTS = {phase: f"ac{phase}" for phase in range(1, MAX_PHASES + 1)}


def ac_part(phase: int) -> str:
    """Name of the AC part of one phase."""
    return _AC_PARTS.get(phase) or f"ac{phase}"


def unit_part(address: int) -> str:
    """Name of the part holding one unit's reading (multi-unit systems)."""
    return f"unit{address}"


_S = TypeVar("_S")


def evolve(model: _S, **changes: Any) -> _S:
    """``dataclasses.replace`` for the frozen models here, without running ``__init__``.

    Several per sample on a Raspberry Pi: ``replace`` rebuilds every field through the
    frozen ``__setattr__``; copying the instance dict is a fraction of that. Only for
    dataclasses without ``__post_init__`` and without slots (all models of this library).
    """
    new = object.__new__(type(model))
    state = new.__dict__
    state.update(model.__dict__)
    state.update(changes)
    return new


@dataclass(frozen=True)
class DeviceStatus:
    """The newest good value of every part of the device's state."""

    leds: LedStatus | None = None
    dc: DCInfo | None = None
    ac: dict[int, ACInfo] = field(default_factory=dict)
    config: ConfigInfo | None = None
    ram: dict[int, float | None] = field(default_factory=dict)
    interface_flags: InterfaceFlags | None = None
    charge_stage: ChargeStage | None = None
    firmware_version: int | None = None
    # Multi-unit systems only: VE.Bus address -> that unit's powers (empty for one unit).
    units: dict[int, UnitReading] = field(default_factory=dict)
    taken_at: float = field(default_factory=time.monotonic)
    read_at: dict[str, float] = field(default_factory=dict)

    @property
    def device_state(self) -> DeviceState | None:
        """VE.Bus state as reported with phase L1; None when unknown or not read."""
        ac = self.ac.get(1)
        return ac.device_state if ac is not None else None

    @property
    def mains_present(self) -> bool | None:
        """True while any phase sees AC input voltage; None while no phase was read."""
        if not self.ac:
            return None
        return any(info.mains_voltage >= MAINS_PRESENT_VOLTAGE for info in self.ac.values())

    @property
    def state_of_charge(self) -> float | None:
        """Battery state of charge in percent; None without a battery monitor."""
        value = self.ram.get(RamVar.STATE_OF_CHARGE)
        return None if value is None else value * 100

    @property
    def inverter_power(self) -> float | None:
        """Filtered inverter power in W (RAM variable 14); the sum of all units if several."""
        if self.units:
            total = self.phase_power()
            return None if total is None else total.inverter
        return self.ram.get(RamVar.INVERTER_POWER)

    @property
    def ac_input_power(self) -> float | None:
        """AC input power in W (minus variable 15); the sum of all units if several."""
        if self.units:
            total = self.phase_power()
            return None if total is None else total.input
        value = self.ram.get(RamVar.INVERTER_POWER_2)
        return None if value is None else -value

    @property
    def ac_output_power(self) -> float | None:
        """Output (load) power in W (RAM variable 16); the sum of all units if several."""
        if self.units:
            total = self.phase_power()
            return None if total is None else total.output
        return self.ram.get(RamVar.OUTPUT_POWER)

    def phase_power(self, phase: int | None = None) -> PhasePower | None:
        """Real power of one phase (None: all), summed over its units; None while incomplete."""
        return sum_power(self.units.values(), phase)

    def age(self, part: str, now: float | None = None) -> float | None:
        """Seconds since ``part`` was last read; None when it never was."""
        read = self.read_at.get(part)
        if read is None:
            return None
        return (time.monotonic() if now is None else now) - read

    def fresh_parts(self, fast_window: float, slow_window: float, now: float | None = None) -> frozenset[str]:
        """The parts read within their window (slow parts have the longer one)."""
        now = time.monotonic() if now is None else now
        return frozenset(
            [
                part
                for part, read in self.read_at.items()
                if now - read <= (slow_window if part in SLOW_PARTS else fast_window)
            ]
        )

    def without_stale(self, fresh: frozenset[str]) -> DeviceStatus:
        """This status with every part not in ``fresh`` removed (shown as unavailable)."""
        changes: dict[str, object] = {}
        for part in (LEDS, DC, CONFIG):
            if getattr(self, part) is not None and part not in fresh:
                changes[part] = None
        if any(ac_part(phase) not in fresh for phase in self.ac):
            changes["ac"] = {phase: ac for phase, ac in self.ac.items() if ac_part(phase) in fresh}
        ram = dict(self.ram)
        for part, var_ids in ((POWER, POWER_VARS), (SOC, (RamVar.STATE_OF_CHARGE,))):
            if part not in fresh:
                ram.update({var_id: None for var_id in var_ids if var_id in ram})
        if ram != self.ram:
            changes["ram"] = ram
        if any(unit_part(address) not in fresh for address in self.units):
            changes["units"] = {a: unit for a, unit in self.units.items() if unit_part(a) in fresh}
        if self.interface_flags is not None and FLAGS not in fresh:
            changes["interface_flags"] = None
        if self.charge_stage is not None and CHARGE not in fresh:
            changes["charge_stage"] = None
        return evolve(self, **changes) if changes else self


class StatusReader:
    """One-shot reading for tools (the CLI): core parts must answer, optional ones may not."""

    def __init__(self, client: Mk3Client, phases: Sequence[int] | None = None) -> None:
        self.client = client
        self.phases: list[int] | None = sorted(phases) if phases else None
        self.capabilities = Capabilities()

    async def discover_phases(self) -> list[int]:
        """L1 always exists; L2–L4 exist when their F request gets an answer."""
        phases = [1]
        for phase in range(2, MAX_PHASES + 1):
            try:
                await self.client.get_ac(phase)
            except NoAnswerError:
                break
            phases.append(phase)
        self.phases = phases
        return phases

    async def read(self) -> DeviceStatus:
        """Read one status; raises ``Mk3Error`` when a core part does not answer."""
        client = self.client
        phases = self.phases or await self.discover_phases()
        now = time.monotonic
        read_at: dict[str, float] = {}
        leds = await client.get_leds()
        read_at[LEDS] = now()
        dc = await client.get_dc()
        read_at[DC] = now()
        ac: dict[int, ACInfo] = {}
        for phase in phases:
            try:
                ac[phase] = await client.get_ac(phase)
            except NoAnswerError:
                if phase == 1:
                    raise
                continue
            read_at[ac_part(phase)] = now()
        ram: dict[int, float | None] = {}
        try:
            ram = await client.read_ram(POWER_VARS)
            read_at[POWER] = now()
        except (NoAnswerError, UnsupportedError):
            pass
        config = await client.get_config()
        read_at[CONFIG] = now()
        try:
            flags: InterfaceFlags | None = await client.get_interface_flags()
            read_at[FLAGS] = now()
        except (NoAnswerError, UnsupportedError):
            flags = None
        return DeviceStatus(
            leds=leds, dc=dc, ac=ac, config=config, ram=ram, interface_flags=flags, read_at=read_at
        )
