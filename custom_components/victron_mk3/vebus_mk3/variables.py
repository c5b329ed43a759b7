"""RAM variable scale/offset discovery and value decoding (W 0x36 replies)."""

from __future__ import annotations

from dataclasses import dataclass

from .const import RamVar

BIT_VARIABLE_OFFSET = -0x8000


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

    def decode(self, raw: bytes) -> float:
        """Decode a little-endian raw field of 1–3 bytes."""
        value = int.from_bytes(raw, "little", signed=self.signed)
        if self.is_bit:
            return float((value >> (int(abs(self.scale)) - 1)) & 1)
        return self.scale * (value + self.offset)

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
        if var_id == RamVar.INVERTER_CURRENT:
            # Multiplus II sends negative inverter current though its info says unsigned.
            signed = True
        return cls(var_id, scale, offset, signed)
