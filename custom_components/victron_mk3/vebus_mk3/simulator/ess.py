"""The simulated ESS assistant: its RAM records, the external setpoint, fallback, a GX, EEPROM.

Facts (protocol.md, *ESS external control*): assistant RAM from id 128, record headers
``0xZZZY`` (assistant id, words that follow), header 0 ends the list; ESS = assistant 5 with
the grid setpoint in the word after its header (seen at 129 and 131); the setpoint is watts at
the AC input, positive = feed into the grid; the assistant falls back about 15 s after the last
write; a write to a wrong id is acknowledged (``0x87``) and does nothing; reading the setpoint
back does not echo the written value; ``0x32``/``0x34`` fail with ``0x80`` (compatibility flag
off); a GX on the bus overwrites the setpoint continuously.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ASSISTANT_RAM_START = 128
ESS_ASSISTANT_ID = 5
# Another assistant, for a layout without ESS (guess: any id other than 5 tells the same story).
OTHER_ASSISTANT_ID = 0x21
FALLBACK_AFTER = 15.0
OWN_SETPOINT = 0.0
WRITE_VIA_ID = 0x37
LEGACY_WRITE_RAM = 0x32
LEGACY_WRITE_DATA = 0x34
FLAG_SETTING = 0x01
FLAG_NO_EEPROM = 0x02
RAM_WRITTEN = 0x87
SETTING_WRITTEN = 0x88
UNKNOWN_COMMAND = 0x80
SETTING_UNSUPPORTED = 0x91


@dataclass(frozen=True)
class AssistantSpec:
    """One record: which assistant, how many words follow its header."""

    assistant_id: int
    words: int


# A public client's scan log of a real unit (setpoint at 131): 128 = 0x0090 (assistant 9, no
# words), 129 = 0x8800 (assistant 0x880, no words), 130 = 0x0054 (ESS, 4 words). The 4-word ESS
# record is from that log; the ESS-first layout (setpoint at 129) is the other one protocol.md
# reports, its record size a guess.
SETPOINT_AT_129 = (AssistantSpec(ESS_ASSISTANT_ID, 4),)
SETPOINT_AT_131 = (AssistantSpec(0x009, 0), AssistantSpec(0x880, 0), AssistantSpec(ESS_ASSISTANT_ID, 4))
NO_ESS = (AssistantSpec(OTHER_ASSISTANT_ID, 1),)


@dataclass
class EssAssistant:
    """The ESS assistant of one unit, with its external setpoint (device sign: + = feed-in)."""

    layout: tuple[AssistantSpec, ...] = SETPOINT_AT_129
    fallback_after: float = FALLBACK_AFTER
    # A GX on the bus writes its own setpoint continuously: ours never takes effect.
    gx_setpoint: float | None = None
    # The assistant ignores the external setpoint altogether (e.g. not in mode 3) — a guess at
    # what "the assistant ignoring it" looks like: acknowledged, no effect.
    ignores_setpoint: bool = False
    # Guess: a unit that answers setpoint writes with this code instead of 0x87 (e.g. 0x9B
    # "access level required", which protocol.md lists for grid-code settings).
    refuses_with: int | None = None
    setpoint: float | None = None  # the external setpoint in force; None = own behaviour
    since_write: float = 0.0  # seconds (real time) since the last setpoint write
    writes: int = 0  # acknowledged writes to the setpoint
    eeprom_writes: int = 0  # writes that would be stored in EEPROM: must stay 0
    other_writes: int = 0  # acknowledged writes to ids that are not the setpoint
    words: dict[int, int] = field(default_factory=dict)  # RAM words, filled from the layout

    def __post_init__(self) -> None:
        self.words = {}
        var_id = ASSISTANT_RAM_START
        for spec in self.layout:
            self.words[var_id] = spec.assistant_id << 4 | spec.words
            for offset in range(1, spec.words + 1):
                self.words[var_id + offset] = 0
            var_id += spec.words + 1
        self.words[var_id] = 0  # end of the list

    @property
    def setpoint_id(self) -> int | None:
        var_id = ASSISTANT_RAM_START
        for spec in self.layout:
            if spec.assistant_id == ESS_ASSISTANT_ID:
                return var_id + 1
            var_id += spec.words + 1
        return None

    def effective_setpoint(self) -> float:
        """The setpoint the assistant regulates to (device sign).

        Without an external setpoint (never written, or fallen back) the assistant runs its own
        self-consumption: 0 W at the AC input. Guess: a Multi without a GX has no other meter
        than its own AC input, so its own behaviour regulates that to zero.
        """
        if self.gx_setpoint is not None:
            return self.gx_setpoint
        if self.ignores_setpoint or self.setpoint is None:
            return OWN_SETPOINT
        return self.setpoint

    def advance(self, real_dt: float) -> None:
        """Real seconds pass (not the battery's scaled time): the fallback timer runs."""
        if self.setpoint is None:
            return
        self.since_write += real_dt
        if self.since_write >= self.fallback_after:
            self.setpoint = None

    def read_word(self, var_id: int) -> bytes | None:
        """A 0x30 read of assistant RAM; None (0x90) beyond the records.

        The setpoint word reads 0 whatever was written (protocol.md: no echo; the value it
        does return is a guess).
        """
        if var_id not in self.words:
            return None
        return (self.words[var_id] & 0xFFFF).to_bytes(2, "little")

    def write_via_id(self, args: bytes) -> bytes:
        """``0x37 flags id lo hi`` → reply code."""
        if len(args) < 4:
            return bytes((UNKNOWN_COMMAND,))
        flags, var_id, raw = args[0], args[1], int.from_bytes(args[2:4], "little")
        if not flags & FLAG_NO_EEPROM:
            self.eeprom_writes += 1
        if flags & FLAG_SETTING:
            return bytes((SETTING_UNSUPPORTED,))  # no settings are modelled
        if self.refuses_with is not None:
            return bytes((self.refuses_with, 0))
        if var_id != self.setpoint_id:
            self.other_writes += 1  # acknowledged, no effect (protocol.md)
            return bytes((RAM_WRITTEN,))
        self.writes += 1
        self.since_write = 0.0
        self.setpoint = float(raw - 0x10000 if raw >= 0x8000 else raw)
        return bytes((RAM_WRITTEN,))


def write_via_id_without_ess(args: bytes) -> bytes:
    """A unit without the assistant: a RAM write is acknowledged and does nothing."""
    if len(args) >= 1 and args[0] & FLAG_SETTING:
        return bytes((SETTING_UNSUPPORTED,))
    return bytes((RAM_WRITTEN,))


def battery_ac_power(
    setpoint: float, load: float, charge_max: float, discharge_max: float
) -> tuple[float, float]:
    """(charger AC power, inverter AC power) that bring the AC input to ``setpoint``.

    ``setpoint`` in the device's sign (+ = feed-in), so the grid must deliver ``-setpoint``;
    the battery takes (or gives) the difference to the load, within the unit's limits. Guess:
    the unit regulates exactly and at once (a real one ramps within a second or two).
    """
    wanted_from_grid = -setpoint
    to_battery = wanted_from_grid - load
    if to_battery >= 0:
        return min(to_battery, max(0.0, charge_max)), 0.0
    return 0.0, min(-to_battery, max(0.0, discharge_max))
