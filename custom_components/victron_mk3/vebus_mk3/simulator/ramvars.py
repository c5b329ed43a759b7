"""RAM variable table of the simulated Multiplus II: ``0x8E``/``0x8F`` info words and raw encoding.

Decoding (protocol.md): ``value = scale * (raw + offset)`` where the scale word ``s`` means
signed when ``s >= 0x8000`` (then ``s = 0x10000 - s``) and ``1 / (0x8000 - s)`` when ``s >= 0x4000``.
Every encoder here is the exact inverse of that rule, so what the simulator sends decodes to the
model's value within half a step of the variable's resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..const import RamVar
from .ess import ASSISTANT_RAM_START
from .model import Flows, MultiplusModel
from .system import POWER_VARS, unit_at, unit_power

BIT_OFFSET_WORD = 0x8000  # offset word that marks a bit variable


@dataclass(frozen=True)
class RamVarSpec:
    """One RAM variable as the device declares it and encodes it."""

    scale_word: int  # as sent after 0x8E (0 = declared but unsupported)
    offset: int  # s16 as sent after 0x8F
    # The raw value is sent signed even if the info declares it unsigned (variable 3 quirk).
    raw_signed: bool
    bit: bool = False

    @property
    def declared_signed(self) -> bool:
        return self.scale_word >= 0x8000

    @property
    def scale(self) -> float:
        """The scale a client computes from ``scale_word`` (protocol.md rule)."""
        magnitude = 0x10000 - self.scale_word if self.declared_signed else self.scale_word
        return 1 / (0x8000 - magnitude) if magnitude >= 0x4000 else float(magnitude)

    @property
    def supported(self) -> bool:
        return self.scale_word not in (0, 0x8000)

    def info_words(self) -> tuple[int, int]:
        """Scale and offset words of the 0x36 reply."""
        return self.scale_word, self.offset & 0xFFFF

    def raw(self, value: float, size: int = 2) -> int:
        """Encode ``value`` as an unsigned ``size``-byte field (two's complement when signed)."""
        if self.bit:
            return 1 << (int(self.scale) - 1) if value else 0
        raw = round(value / self.scale) - self.offset
        bits = 8 * size
        if self.raw_signed:
            raw = max(-(1 << (bits - 1)), min((1 << (bits - 1)) - 1, raw))
        else:
            raw = max(0, min((1 << bits) - 1, raw))
        return raw & ((1 << bits) - 1)

    def raw_bytes(self, value: float, size: int = 2) -> bytes:
        return self.raw(value, size).to_bytes(size, "little")


def fraction(denominator: int, *, signed: bool = False, offset: int = 0) -> RamVarSpec:
    """A variable with scale ``1 / denominator``."""
    word = 0x8000 - denominator
    return RamVarSpec(0x10000 - word if signed else word, offset, raw_signed=signed)


def multiple(factor: int, *, signed: bool = False) -> RamVarSpec:
    """A variable with an integer scale."""
    return RamVarSpec(0x10000 - factor if signed else factor, 0, raw_signed=signed)


def bit_var(bit: int) -> RamVarSpec:
    """A single-bit variable: scale = bit + 1, offset 0x8000."""
    return RamVarSpec(bit + 1, -BIT_OFFSET_WORD, raw_signed=False, bit=True)


# Bench-measured MultiPlus-II scales (protocol.md). Frequencies travel as periods: the
# client computes ``10 / (scale * (raw + offset))``.
CENTI_UNSIGNED = fraction(100)
CENTI_SIGNED = fraction(100, signed=True)
INVERTER_PERIOD = fraction(1953, offset=256)
MAINS_PERIOD = fraction(977)
DECI_SIGNED = fraction(10, signed=True)
UNSUPPORTED = RamVarSpec(0, 0, raw_signed=False)  # answered 8E 00 00 8F 00 00, reads 0x90

RAM_VARS: dict[int, RamVarSpec] = {
    RamVar.MAINS_VOLTAGE: CENTI_UNSIGNED,
    RamVar.MAINS_CURRENT: CENTI_SIGNED,
    RamVar.INVERTER_VOLTAGE: CENTI_UNSIGNED,
    # Declared unsigned but sent negative while inverting, like a real MultiPlus II.
    RamVar.INVERTER_CURRENT: RamVarSpec(CENTI_UNSIGNED.scale_word, 0, raw_signed=True),
    RamVar.BATTERY_VOLTAGE: CENTI_UNSIGNED,
    RamVar.BATTERY_CURRENT: DECI_SIGNED,
    RamVar.BATTERY_RIPPLE: CENTI_UNSIGNED,
    RamVar.INVERTER_PERIOD: INVERTER_PERIOD,
    RamVar.MAINS_PERIOD: MAINS_PERIOD,
    RamVar.AC_LOAD_CURRENT: CENTI_SIGNED,
    RamVar.VIRTUAL_SWITCH: UNSUPPORTED,  # a unit without the virtual switch assistant
    RamVar.IGNORE_AC_INPUT: bit_var(0),
    RamVar.MULTI_FUNCTIONAL_RELAY: bit_var(0),
    RamVar.STATE_OF_CHARGE: fraction(200),
    RamVar.INVERTER_POWER: multiple(1, signed=True),
    RamVar.INVERTER_POWER_2: multiple(1, signed=True),
    RamVar.OUTPUT_POWER: multiple(1, signed=True),
}


def period(frequency: float) -> float:
    """The "period" quantity a client turns back into ``10 / period`` Hz; 0 Hz → 0."""
    return 10 / frequency if frequency > 0 else 0.0


# Declared unsigned in its info, yet sent as two's complement (mains current quirk).
MAINS_CURRENT_DECLARED_UNSIGNED = RamVarSpec(CENTI_UNSIGNED.scale_word, 0, raw_signed=True)


def spec_for(model: MultiplusModel, var_id: int) -> RamVarSpec | None:
    """The spec the device declares for ``var_id``; None when the id does not exist at all."""
    quirks = model.quirks
    if var_id in quirks.missing_ram_vars:
        return None
    if var_id == RamVar.STATE_OF_CHARGE and not model.battery_monitor:
        return UNSUPPORTED
    if var_id == RamVar.MAINS_CURRENT and quirks.mains_current_declared_unsigned:
        return MAINS_CURRENT_DECLARED_UNSIGNED
    return RAM_VARS.get(var_id)


def value_of(model: MultiplusModel, flows: Flows, var_id: int) -> float:
    """Physical value of a supported RAM variable (phase L1 for per-phase quantities).

    In a multi-unit system the power variables are the selected unit's own (``A 1 addr``).
    """
    if model.units and var_id in POWER_VARS:
        unit = unit_at(model, model.address) or model.units[0]  # guess: an unknown address reads the master
        return unit_power(flows, unit, var_id)
    l1 = flows.phase
    values: dict[int, float] = {
        RamVar.MAINS_VOLTAGE: l1.mains_voltage,
        RamVar.MAINS_CURRENT: l1.mains_current,
        RamVar.INVERTER_VOLTAGE: l1.output_voltage,
        RamVar.INVERTER_CURRENT: l1.inverter_current,
        RamVar.BATTERY_VOLTAGE: flows.battery_voltage,
        RamVar.BATTERY_CURRENT: flows.battery_current,
        RamVar.BATTERY_RIPPLE: flows.battery_ripple,
        RamVar.INVERTER_PERIOD: period(l1.output_frequency),
        RamVar.MAINS_PERIOD: period(l1.mains_frequency),
        RamVar.AC_LOAD_CURRENT: l1.load_current,
        RamVar.IGNORE_AC_INPUT: float(flows.ignoring_ac_input),
        RamVar.MULTI_FUNCTIONAL_RELAY: float(model.relay_on),
        RamVar.STATE_OF_CHARGE: model.soc,
        RamVar.INVERTER_POWER: l1.inverter_power,
        # protocol.md: AC input power is reported as -(var 15).
        RamVar.INVERTER_POWER_2: -l1.input_power,
        RamVar.OUTPUT_POWER: l1.output_power,
    }
    return values[var_id]


def read_raw(model: MultiplusModel, flows: Flows, var_id: int) -> bytes | None:
    """Two raw bytes of a 0x30 read, or None when the variable is unsupported."""
    if var_id >= ASSISTANT_RAM_START:
        return model.ess.read_word(var_id) if model.ess is not None else None
    spec = spec_for(model, var_id)
    if spec is None or not spec.supported:
        return None
    return spec.raw_bytes(value_of(model, flows, var_id))
