"""RAM variable scale/offset discovery and value decoding (W 0x36 replies)."""

from __future__ import annotations

from dataclasses import dataclass
import math

from .const import RamVar

BIT_VARIABLE_OFFSET = -0x8000
# AC currents go negative while feeding back, though some units declare them unsigned
# (mains current on older units, inverter current on a MultiPlus-II).
SIGNED_DESPITE_INFO = frozenset((RamVar.MAINS_CURRENT, RamVar.INVERTER_CURRENT))
MAX_BIT_INDEX = 15  # RAM values are 16 bits wide

# Plausibility limits. A frame whose 8-bit checksum passed by chance (noise, a misaligned
# resync) can still carry garbage; a value outside these is that garbage, never a reading.
# Generous enough for large parallel/three-phase systems, yet a random 16/24-bit field lands
# outside them most of the time.
AC_VOLTAGE_MAX = 400.0  # V rms line-neutral; units disconnect far below this
DC_VOLTAGE_MAX = 100.0  # V; a 48 V bank stays under 70 V
AC_CURRENT_MAX = 1000.0  # |A| per phase, parallel factor included
DC_CURRENT_MAX = 5000.0  # |A| battery side of the whole system
FREQUENCY_MAX = 100.0  # Hz; 0 Hz means no AC
POWER_MAX = 100_000.0  # |W|
CURRENT_LIMIT_MAX = 1000.0  # A, AC input current limits of the config frame

RAM_VAR_RANGES: dict[int, tuple[float, float]] = {
    RamVar.MAINS_VOLTAGE: (0.0, AC_VOLTAGE_MAX),
    RamVar.MAINS_CURRENT: (-AC_CURRENT_MAX, AC_CURRENT_MAX),
    RamVar.INVERTER_VOLTAGE: (0.0, AC_VOLTAGE_MAX),
    RamVar.INVERTER_CURRENT: (-AC_CURRENT_MAX, AC_CURRENT_MAX),
    RamVar.BATTERY_VOLTAGE: (0.0, DC_VOLTAGE_MAX),
    RamVar.BATTERY_CURRENT: (-DC_CURRENT_MAX, DC_CURRENT_MAX),
    RamVar.BATTERY_RIPPLE: (0.0, DC_VOLTAGE_MAX),
    RamVar.AC_LOAD_CURRENT: (-AC_CURRENT_MAX, AC_CURRENT_MAX),
    RamVar.STATE_OF_CHARGE: (0.0, 1.0),  # a fraction
    RamVar.INVERTER_POWER: (-POWER_MAX, POWER_MAX),
    RamVar.INVERTER_POWER_2: (-POWER_MAX, POWER_MAX),
    RamVar.OUTPUT_POWER: (-POWER_MAX, POWER_MAX),
}


def check_range(name: str, value: float, low: float, high: float) -> float:
    """Return ``value``; raise ``ValueError`` when it is outside ``low..high`` (or NaN)."""
    if not low <= value <= high:
        raise ValueError(f"implausible {name}: {value:g} not in {low:g}..{high:g}")
    return value


@dataclass(frozen=True)
class RamVarInfo:
    """How to turn a raw RAM value into a physical one: ``scale * (raw + offset)``."""

    var_id: int
    scale: float
    offset: int
    signed: bool
    supported: bool = True

    @property
    def is_bit(self) -> bool:
        """True when the variable is a single bit (offset 0x8000)."""
        return self.offset == BIT_VARIABLE_OFFSET

    def decode(self, raw: bytes, *, signed: bool | None = None) -> float:
        """Decode a little-endian raw field of 1–3 bytes; ``signed`` overrides the scale info."""
        value = int.from_bytes(raw, "little", signed=self.signed if signed is None else signed)
        if self.is_bit:
            return float((value >> (int(abs(self.scale)) - 1)) & 1)
        return self.scale * (value + self.offset)

    def check(self, value: float) -> float:
        """Return ``value``; raise ``ValueError`` when it is implausible for this variable."""
        low, high = RAM_VAR_RANGES.get(self.var_id, (-math.inf, math.inf))
        return check_range(f"RAM variable {self.var_id}", value, low, high)

    @classmethod
    def unsupported(cls, var_id: int) -> RamVarInfo:
        """Info for a variable the device does not have."""
        return cls(var_id, 0.0, 0, False, supported=False)

    @classmethod
    def from_raw(cls, var_id: int, raw_scale: int, raw_offset: int) -> RamVarInfo:
        """Decode the scale word and offset of a ``0x8E``/``0x8F`` reply."""
        if raw_scale in (0, 0x8000):
            return cls.unsupported(var_id)
        signed = raw_scale >= 0x8000
        magnitude = 0x10000 - raw_scale if signed else raw_scale
        scale = 1 / (0x8000 - magnitude) if magnitude >= 0x4000 else float(magnitude)
        offset = raw_offset - 0x10000 if raw_offset >= 0x8000 else raw_offset
        if offset == BIT_VARIABLE_OFFSET and not (magnitude < 0x4000 and magnitude - 1 <= MAX_BIT_INDEX):
            # The scale word of a bit variable is its bit number + 1.
            raise ValueError(f"bit variable {var_id} with invalid scale word {raw_scale:#06x}")
        if var_id in SIGNED_DESPITE_INFO:
            signed = True
        return cls(var_id, scale, offset, signed)
