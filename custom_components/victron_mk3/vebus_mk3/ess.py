"""ESS external control ("mode 3"): finding the ESS assistant's grid setpoint, and its sign.

Facts (protocol.md, *ESS external control*): assistant RAM starts at id 128. Each assistant
record begins with a header word ``0xZZZY`` (ZZZ = assistant id, Y = words that follow); the
next record starts Y + 1 ids later; a header of 0 ends the list. The ESS assistant has id 5 and
its first word after the header is the grid power setpoint, a signed 16-bit number of watts at
the AC input with **positive = feed into the grid**. Layouts differ per unit (the setpoint has
been seen at 129 and at 131), so the records are always walked, never an id assumed.

Home Assistant's convention is the opposite (positive = taking power from the grid); the one
conversion between the two is ``setpoint_word``.

Multi-unit systems (extension point, not built): one setpoint per phase, written to that phase's
master (protocol.md: likely, unconfirmed). One public client instead sends the ``0x37`` write
with a trailing phase byte (phase - 1) to the addressed unit (one source, unverified).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .const import ChargeStage, Led
from .exceptions import UnsupportedError
from .status import POWER, ac_part

if TYPE_CHECKING:
    from .client import Mk3Client
    from .status import DeviceStatus

ASSISTANT_RAM_START = 128
ESS_ASSISTANT_ID = 5
# 0x30 reads and 0x37 writes carry a one-byte id: nothing beyond 255 can be reached.
LAST_RAM_ID = 0xFF
# More records than any unit carries means the walk is reading something else.
MAX_RECORDS = 32
SETPOINT_MIN = -0x8000
SETPOINT_MAX = 0x7FFF
# Charger stages of a battery that is (nearly) full: it takes less than a charging setpoint asks.
FULL_STAGES = frozenset(
    {
        ChargeStage.ABSORPTION,
        ChargeStage.FLOAT,
        ChargeStage.STORAGE,
        ChargeStage.REPEATED_ABSORPTION,
        ChargeStage.FORCED_ABSORPTION,
        ChargeStage.EQUALISE,
    }
)
# A setpoint above this share of what the AC input current limit allows is held back by it.
INPUT_LIMIT_SHARE = 0.9


@dataclass(frozen=True)
class AssistantRecord:
    """One assistant's record in RAM: where its header is, which assistant, how many words."""

    header_id: int
    assistant_id: int
    words: int

    @property
    def next_id(self) -> int:
        return self.header_id + self.words + 1


@dataclass(frozen=True)
class EssDiscovery:
    """What the walk over the assistant records found; ``reason`` says why there is no setpoint."""

    records: tuple[AssistantRecord, ...]
    setpoint_id: int | None
    reason: str = ""

    @property
    def found(self) -> bool:
        return self.setpoint_id is not None

    def as_dict(self) -> dict[str, object]:
        """For diagnostics."""
        return {
            "setpoint_id": self.setpoint_id,
            "reason": self.reason,
            "records": [
                {"header_id": r.header_id, "assistant_id": r.assistant_id, "words": r.words}
                for r in self.records
            ],
        }


def parse_header(header_id: int, word: int) -> AssistantRecord:
    """An assistant record header ``0xZZZY``."""
    return AssistantRecord(header_id, word >> 4, word & 0x0F)


async def discover_ess(client: Mk3Client) -> EssDiscovery:
    """Walk the assistant records from RAM id 128 and find the ESS grid setpoint.

    One id per read (older units answer a multi-id read with the first value only). A lost
    reply raises ``NoAnswerError`` (try again later); an id the device refuses ends the walk
    with a reason.
    """
    records: list[AssistantRecord] = []
    var_id = ASSISTANT_RAM_START
    while True:
        if len(records) >= MAX_RECORDS:
            return EssDiscovery(tuple(records), None, f"more than {MAX_RECORDS} assistant records")
        if var_id > LAST_RAM_ID:
            return EssDiscovery(tuple(records), None, f"the assistant records run past RAM id {LAST_RAM_ID}")
        try:
            word = await client.read_ram_word(var_id)
        except UnsupportedError as err:
            reason = "no assistant RAM" if not records else f"RAM id {var_id} is not readable"
            return EssDiscovery(tuple(records), None, f"{reason} ({err})")
        if word == 0:
            break
        record = parse_header(var_id, word)
        records.append(record)
        if record.assistant_id == ESS_ASSISTANT_ID:
            if record.words < 1:
                return EssDiscovery(tuple(records), None, "the ESS assistant's record has no setpoint word")
            setpoint_id = record.header_id + 1
            if setpoint_id > LAST_RAM_ID:
                return EssDiscovery(tuple(records), None, f"the ESS setpoint is beyond RAM id {LAST_RAM_ID}")
            return EssDiscovery(tuple(records), setpoint_id)
        var_id = record.next_id
    if not records:
        return EssDiscovery((), None, "no assistants are installed")
    ids = ", ".join(str(r.assistant_id) for r in records)
    return EssDiscovery(tuple(records), None, f"no ESS assistant among the installed assistants ({ids})")


def setpoint_word(grid_power_w: float) -> int:
    """The raw setpoint word for a grid power in Home Assistant's convention.

    Home Assistant: positive = taking power from the grid. The device: positive = feeding into
    the grid (three independent implementations agree, protocol.md). This is the only place
    the sign is turned; a sign error here would turn "charge" into full export.
    """
    device_watts = -round(grid_power_w)
    device_watts = max(SETPOINT_MIN, min(SETPOINT_MAX, device_watts))
    return device_watts & 0xFFFF


def measured_grid_power(status: DeviceStatus, since: float) -> float | None:
    """Power taken from the grid at the AC input (Home Assistant's sign), read after ``since``.

    From RAM variable 15 (the device reports AC input power as minus var 15); a device without
    it gets mains voltage x current of L1 (apparent, signed by the current). None while
    nothing was read after ``since``.
    """
    power = status.ac_input_power
    if power is not None and status.read_at.get(POWER, -1.0) > since:
        return power
    ac = status.ac.get(1)
    if ac is not None and status.read_at.get(ac_part(1), -1.0) > since and power is None:
        return ac.mains_voltage * ac.mains_current
    return None


def limit_reason(status: DeviceStatus, target: float, measured: float) -> str | None:
    """Why the Multi may rightly stay short of ``target``; None when no limit explains it.

    A full battery takes less than a charging setpoint asks, the AC input current limit caps
    the import, a low battery stops discharging. Such a shortfall is not "not following":
    control goes on (the power follows again once the limit goes away).
    """
    leds = status.leds.on if status.leds is not None else Led(0)
    if measured < target:  # less taken from the grid than asked: the battery charges less
        if status.charge_stage in FULL_STAGES or leds & (Led.ABSORPTION | Led.FLOAT):
            return "the battery is (nearly) full"
        config, ac = status.config, status.ac.get(1)
        if config is not None and ac is not None:
            allowed = config.current_limit * ac.mains_voltage
            if target >= INPUT_LIMIT_SHARE * allowed:
                return f"the AC input current limit ({config.current_limit:g} A) allows about {allowed:.0f} W"
    elif Led.LOW_BATTERY in leds:
        return "the battery is low"
    return None
