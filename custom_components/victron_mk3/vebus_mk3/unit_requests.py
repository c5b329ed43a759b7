"""Wire format of the multi-unit requests: unit info (``F 7``), snapshots (``F 6`` + ``X 0x38``).

Source: protocol.md, *Multi-unit systems* (Victron's velib). ``F 7 <addr>`` answers with a
``0x20`` frame that is neither a DC nor an AC info frame: bytes 1-4 the unit's serial, 8-11 a
u32 bitmap of the configured VE.Bus addresses, 14 the answering unit's own address. ``F 6 ids``
freezes those RAM variables in every unit and gets no reply; ``X 0x38`` then fetches the frozen
words of the selected unit (reply code ``0x99``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .const import AC_INFO_KINDS, DC_INFO_KIND, INFO_FRAME, MK2_FRAME, W_UNSUPPORTED
from .exceptions import UnsupportedError
from .messages import INFO_FRAME_LENGTH, ac_phase_of_kind, info_kind, is_mk2
from .requests import Request, _w_reply
from .variables import RamVarInfo

UNIT_INFO = 7  # F 7 <address>
SNAPSHOT_TRIGGER = 6  # F 6 <up to 6 RAM ids>: no reply
W_READ_SNAPSHOT = 0x38
W_SNAPSHOT_REPLY = 0x99
MAX_SNAPSHOT_VARS = 6
# VE.Bus: at most 18 units in a system (6 per phase); a bitmap with more bits is noise.
MAX_SYSTEM_UNITS = 18
# A unit answering its info frame (over VE.Bus, like W requests): guess, as for W requests.
UNIT_INFO_TIMEOUT = 0.5


@dataclass(frozen=True)
class UnitInfoFrame:
    """Reply to ``F 7``: who answered and which addresses the system has."""

    serial: str  # bytes 1-4 as hex (their encoding is not confirmed)
    frame_type: int  # byte 5 (velib: 2-4 or 0x20-0x2F; uncertain which byte it is)
    addresses: frozenset[int]
    own_address: int


def _is_unit_info(payload: bytes) -> bool:
    """An info frame of a kind that is not DC and not AC."""
    kind = info_kind(payload)
    return kind is not None and kind != DC_INFO_KIND and kind not in AC_INFO_KINDS


def parse_unit_info(payload: bytes) -> UnitInfoFrame:
    if len(payload) < INFO_FRAME_LENGTH or payload[0] != INFO_FRAME or not _is_unit_info(payload):
        raise ValueError(f"not a unit info frame: {payload.hex()}")
    bitmap = int.from_bytes(payload[8:12], "little")
    addresses = frozenset(bit for bit in range(32) if bitmap >> bit & 1)
    own = payload[14]
    if len(addresses) > MAX_SYSTEM_UNITS or own > 31:
        raise ValueError(f"implausible unit info frame {payload.hex()}")
    # A unit that leaves its own bit out of the bitmap still exists.
    return UnitInfoFrame(payload[1:5].hex(), payload[5], addresses | {own}, own)


def unit_info(address: int) -> Request[UnitInfoFrame]:
    """``F 7 address``: the unit's serial and the system's configured addresses."""
    return Request(
        f"F7 {address}",
        bytes((MK2_FRAME, ord("F"), UNIT_INFO, address)),
        _is_unit_info,
        parse_unit_info,
        UNIT_INFO_TIMEOUT,
    )


def phase_unit_count(phase: int) -> Request[int]:
    """``F phase`` read for its inverter factor byte: the number of units on that phase."""

    def matches(payload: bytes) -> bool:
        kind = info_kind(payload)
        return kind is not None and kind in AC_INFO_KINDS and ac_phase_of_kind(kind) == phase

    def parse(payload: bytes) -> int:
        count = payload[2]
        if not 0 < count <= MAX_SYSTEM_UNITS:
            raise ValueError(f"implausible unit count {count} on L{phase}")
        return count

    return Request(f"F{phase} units", bytes((MK2_FRAME, ord("F"), phase)), matches, parse)


def snapshot_trigger(var_ids: Sequence[int]) -> bytes:
    """Payload of ``F 6 ids``: every unit freezes these variables (no reply)."""
    if not 0 < len(var_ids) <= MAX_SNAPSHOT_VARS:
        raise ValueError(f"snapshot 1..{MAX_SNAPSHOT_VARS} variables")
    return bytes((MK2_FRAME, ord("F"), SNAPSHOT_TRIGGER, *var_ids))


def read_snapshot(
    letter: int, var_ids: Sequence[int], scales: dict[int, RamVarInfo]
) -> Request[list[float | None] | None]:
    """``X 0x38``: the selected unit's frozen values, in trigger order; None = snapshot lost.

    A reply with fewer words than frozen ids means the snapshot was lost (trigger again);
    ``0x80``/``0x90`` raise ``UnsupportedError`` (fall back to RAM reads).
    """

    def parse(payload: bytes) -> list[float | None] | None:
        data = _w_reply(letter, payload)
        if data[0] == W_UNSUPPORTED:
            raise UnsupportedError("snapshot read not supported")
        if data[0] != W_SNAPSHOT_REPLY or len(data) % 2 == 0:
            raise ValueError(f"malformed snapshot reply {data.hex()}")
        count = (len(data) - 1) // 2
        if count < len(var_ids):
            return None
        values: list[float | None] = []
        for index, var_id in enumerate(var_ids):
            info = scales.get(var_id)
            raw = data[1 + 2 * index : 3 + 2 * index]
            if info is None or not info.supported:
                values.append(None)
                continue
            values.append(info.check(info.decode(raw)))
        return values

    payload = bytes((MK2_FRAME, letter, W_READ_SNAPSHOT))
    return Request("snapshot read", payload, lambda p: is_mk2(p, letter), parse)
