"""One consistent reading of everything a dashboard shows, with phase discovery."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
import time

from .client import Mk3Client
from .const import ChargeStage, DeviceState, InterfaceFlags, RamVar
from .exceptions import NoAnswerError
from .messages import ACInfo, ConfigInfo, DCInfo, LedStatus

POWER_VARS = (RamVar.INVERTER_POWER, RamVar.INVERTER_POWER_2, RamVar.OUTPUT_POWER)
MAX_PHASES = 4


@dataclass(frozen=True)
class DeviceStatus:
    """A snapshot of the device: LEDs, DC, AC per phase, config and power variables."""

    leds: LedStatus
    dc: DCInfo
    ac: dict[int, ACInfo]
    config: ConfigInfo
    ram: dict[int, float | None]
    interface_flags: InterfaceFlags | None = None
    charge_stage: ChargeStage | None = None
    firmware_version: int | None = None
    taken_at: float = field(default_factory=time.monotonic)

    @property
    def device_state(self) -> DeviceState | None:
        """VE.Bus state as reported with phase L1; None for a code the library does not know."""
        return self.ac[1].device_state

    @property
    def state_of_charge(self) -> float | None:
        """Battery state of charge in percent; None without a battery monitor."""
        value = self.ram.get(RamVar.STATE_OF_CHARGE)
        return None if value is None else value * 100

    @property
    def inverter_power(self) -> float | None:
        """Filtered inverter power in W (RAM variable 14)."""
        return self.ram.get(RamVar.INVERTER_POWER)

    @property
    def ac_input_power(self) -> float | None:
        """AC input power in W: the device reports it as minus variable 15."""
        value = self.ram.get(RamVar.INVERTER_POWER_2)
        return None if value is None else -value

    @property
    def ac_output_power(self) -> float | None:
        """Output (load) power in W (RAM variable 16)."""
        return self.ram.get(RamVar.OUTPUT_POWER)


class StatusReader:
    """Reads ``DeviceStatus``; finds which phases exist once instead of every cycle."""

    def __init__(self, client: Mk3Client, phases: Sequence[int] | None = None) -> None:
        self.client = client
        self.phases: list[int] | None = sorted(phases) if phases else None

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
        """Read one full status; raises ``Mk3Error`` subclasses on link faults."""
        client = self.client
        phases = self.phases or await self.discover_phases()
        leds = await client.get_leds()
        dc = await client.get_dc()
        ac = {phase: await client.get_ac(phase) for phase in phases}
        ram = await client.read_ram(POWER_VARS)
        config: ConfigInfo = await client.get_config()
        return DeviceStatus(leds=leds, dc=dc, ac=ac, config=config, ram=ram)
