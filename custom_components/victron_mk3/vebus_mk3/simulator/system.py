"""The units of a simulated multi-unit system: unit info (F 7), per-unit powers and snapshots.

Facts (protocol.md, *Multi-unit systems*, from Victron's velib): ``F 7 addr`` answers with a
``0x20`` frame carrying the unit's serial in bytes 1-4, the bitmap of configured addresses in
bytes 8-11 and the unit's own address in byte 14; ``F 6 ids`` freezes the variables in every
unit without a reply; ``X 0x38`` returns ``0x99`` + one word per frozen id of the selected unit.
Guesses are marked where they live.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..const import INFO_FRAME, RamVar

if TYPE_CHECKING:
    from .model import Flows, MultiplusModel, PhaseFlows

# Guess: the type byte of the unit info frame sits at index 5 and reads 0x02 (velib accepts
# 2-4 and 0x20-0x2F; which byte it is was not confirmed).
UNIT_INFO_TYPE = 0x02
POWER_VARS = (RamVar.INVERTER_POWER, RamVar.INVERTER_POWER_2, RamVar.OUTPUT_POWER)


@dataclass(frozen=True)
class SystemUnit:
    """One simulated unit: where it sits and how much of its phase's power it carries."""

    address: int
    phase: int  # 1..3
    share: float  # of its phase's power; the shares of a phase add up to 1
    serial: bytes = b"\0\0\0\0"  # guess: four raw bytes, shown as hex by clients
    firmware_version: int | None = None  # None: the model's
    # A unit gone from the bus (failed, powered down). Guess: the MK3 still confirms ``A`` (it
    # answers that itself) and the W-family requests to the unit get no reply at all.
    silent: bool = False


def units_of(model: MultiplusModel) -> tuple[SystemUnit, ...]:
    """The model's units; a model without any is one unit at address 0 on L1."""
    return model.units or (SystemUnit(0, 1, 1.0),)


def unit_at(model: MultiplusModel, address: int) -> SystemUnit | None:
    return next((unit for unit in units_of(model) if unit.address == address), None)


def units_on_phase(model: MultiplusModel, phase: int) -> int:
    """The factor byte of phase ``phase``'s AC info frame (fact: units on that phase)."""
    return max(1, sum(1 for unit in units_of(model) if unit.phase == phase))


def unit_info_frame(model: MultiplusModel, address: int) -> bytes | None:
    """F 7 reply of the unit at ``address``; None when there is no such unit."""
    unit = unit_at(model, address)
    if unit is None:
        return None
    bitmap = sum(1 << each.address for each in units_of(model))
    # Bytes 6-7 and 12-13: meaning unknown, sent as zero (guess).
    return bytes(
        (INFO_FRAME, *unit.serial[:4].ljust(4, b"\0"), UNIT_INFO_TYPE, 0, 0, *bitmap.to_bytes(4, "little"))
    ) + bytes((0, 0, unit.address))


def unit_power(flows: Flows, unit: SystemUnit, var_id: int) -> float:
    """The unit's share of its phase's power variable (var 15 is minus the input power)."""
    phase = flows.of_phase(unit.phase)
    values: dict[int, float] = {
        RamVar.INVERTER_POWER: phase.inverter_power,
        RamVar.INVERTER_POWER_2: -phase.input_power,
        RamVar.OUTPUT_POWER: phase.output_power,
    }
    return values[var_id] * unit.share


def phase_shares(weights: tuple[float, ...], phases: int) -> tuple[float, ...]:
    """Each phase's share of the total load: ``weights`` normalised, equal without them."""
    chosen = weights[:phases]
    if len(chosen) < phases or sum(chosen) <= 0:
        return (1 / phases,) * phases
    total = sum(chosen)
    return tuple(weight / total for weight in chosen)


def phase_flows(average: PhaseFlows, load: float, phase_load: float, connected: bool) -> PhaseFlows:
    """One phase whose load differs from the average: the grid (when connected) or the
    inverter (when not) carries the difference; the charger's share stays equal (guess)."""
    if phase_load == load:
        return average
    input_w = average.input_power + phase_load - load if connected else 0.0
    mains_i = input_w / average.mains_voltage if average.mains_voltage else 0.0
    load_i = phase_load / average.output_voltage if average.output_voltage else 0.0
    return replace(
        average,
        mains_current=mains_i,
        load_current=load_i,
        inverter_current=mains_i - load_i,
        input_power=input_w,
        output_power=phase_load,
        inverter_power=input_w - phase_load,
    )
