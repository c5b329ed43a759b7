"""How a particular interface + firmware deviates from the MK3 + MultiPlus-II baseline.

Every field defaults to the baseline behaviour, so ``DeviceQuirks()`` is today's simulated MK3.
Profiles (``profiles.py``) switch fields on; ``device.py`` and ``ramvars.py`` consult them.
Sources are protocol.md's *Field quirks* unless a field says "guess".
"""

from __future__ import annotations

from dataclasses import dataclass

# S command flags byte (data[4]). Bit names from Victron's velib (mk2.h, MK2_S_FLAG_*).
S_FLAG_LED_STATUS = 0x02  # append LED status to every frame the interface sends
S_FLAG_DO_NOT_FORWARD = 0x10  # "do not forward the state to the vebus side, not even once"
S_FLAGS_INDEX = 4  # state, lim_lo, lim_hi, 0x01, flags (velib mk2MsgSetState)

UNFILLED_STATE_BYTE = 0xB7  # seen at AC info index 4 from a MultiPlus 24/3000 on an MK2-USB


@dataclass(frozen=True)
class DeviceQuirks:
    """Deviations from the baseline MK3 + MultiPlus-II; the defaults are the baseline."""

    # The MK2 has no H command (fact). What it does with the letter is a guess: silence, as
    # the simulator does for every unknown command.
    has_interface_flags_command: bool = True
    # AC info frames carry this byte at index 4 instead of the device state (fact: 0xB7 seen);
    # None = the real state. DC info frames are left alone (guess: only AC frames were captured).
    ac_info_state_byte: int | None = None
    # Firmware version request (W 0x05/0x06) answered only with its two zero argument bytes
    # (fact: peers send them; "an older unit may not answer it at all"). Which units need the
    # arguments is a guess.
    firmware_request_needs_args: bool = False
    # RAM info (0x36) answered as ``8E s_lo s_hi`` without the ``8F`` part, so the whole frame
    # payload is 5 bytes (FF X 8E s s). protocol.md: "newer devices may send a 5-byte reply
    # without the 8F part (offset 0)" (uncertain). Variables with a non-zero offset keep the
    # full form: a short reply cannot carry it (guess).
    scale_info_without_offset: bool = False
    # Mains current (var 1) declared unsigned in its info, yet sent as two's complement while
    # feeding back (fact: "some units declare mains current unsigned, yet it goes negative").
    mains_current_declared_unsigned: bool = False
    # A multi-id 0x30 read answered with the first value only (fact: "older units may answer a
    # multi-id read with fewer values than asked"; exactly one is a guess).
    ram_read_first_value_only: bool = False
    # RAM ids the unit does not have at all: their info and reads answer 0x90.
    missing_ram_vars: frozenset[int] = frozenset()
    # Guess: firmware that ignored the S "do not forward" flag (0x10) and applied the state and
    # limit bytes of such a frame whenever they were valid (state 1-4). protocol.md: a recovery
    # frame should therefore carry the last known state and limit.
    applies_do_not_forward_s: bool = False
    # The interface appends LED status to every frame from power-on (fact: an interface "left in
    # that mode sends nothing else"). Cleared/set afterwards by the S flags byte (bit 0x02, velib).
    led_status_appended: bool = False
    # Guess: an interface that answers H and echoes a written standby bit but does not keep it
    # (the next query reads it clear), as a flaky standby line would look. Tests the back-off.
    drops_standby_flag: bool = False
    # Answers F 7 (unit info). Guess: a lone MultiPlus-II answers with its own address only;
    # an older unit (the MK2 profile) stays silent, which a client must take as one unit.
    answers_unit_info: bool = True
    # Knows the snapshot read (W 0x38, reply 0x99); False answers 0x80 (guess: older firmware).
    snapshots: bool = True
    # Guess: an interface that takes one request at a time and ignores any that arrives while
    # it still handles (or has queued) another. Victron's own driver never sends a request
    # before the previous reply, so whether a real MK3 queues them is not known; the baseline
    # simulator queues them (protocol.md: "commands are handled one at a time and in order").
    one_request_at_a_time: bool = False
