"""Which VE.Bus units a system has, which phase each serves, and which is the master.

Read from the device, not assumed (protocol.md, *Multi-unit systems*): ``F 7 0`` lists the
configured addresses; the AC info frames of L1-L4 say how many phases exist and how many units
serve each (their factor byte). Phase = address % 3 is Victron's velib assumption; it is used
only where the counts agree with it. A system with one phase puts every unit on L1 whatever
its address (parallel units: how they are numbered is unconfirmed, so the address is not used).
A device that does not answer ``F 7`` is one unit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

MASTER_ADDRESS = 0  # velib: address 0 is the L1 master and the system master
VELIB_PHASES = 3  # velib: phase = address % 3 (0 = L1, 1 = L2, 2 = L3)


class PhaseSource(StrEnum):
    """How the phase of each unit was found (shown in diagnostics)."""

    SINGLE_UNIT = "single_unit"  # nothing to assign
    ONE_PHASE = "one_phase"  # only L1 answers: every unit is on L1 (parallel)
    ADDRESS_CONFIRMED = "address_mod_3_confirmed"  # velib's rule; the unit counts agree
    ADDRESS_UNCONFIRMED = "address_mod_3_unconfirmed"  # velib's rule; counts missing or disagree


@dataclass(frozen=True)
class Unit:
    """One Multi/Quattro of the system."""

    address: int
    phase: int  # 1..3
    position: int  # 0 = the master of its phase, n = slave n on that phase
    serial: str | None = None

    @property
    def label(self) -> str:
        """Named by phase and position, as VictronConnect lists them: "L2 slave 1"."""
        role = "master" if self.position == 0 else f"slave {self.position}"
        return f"L{self.phase} {role}"


@dataclass(frozen=True)
class Topology:
    """The units found, with how their phases were found and what the device said."""

    units: tuple[Unit, ...]
    master: int = MASTER_ADDRESS
    phase_source: PhaseSource = PhaseSource.SINGLE_UNIT
    # Units per phase as the AC info frames' factor bytes report them.
    unit_counts: Mapping[int, int] = field(default_factory=dict)
    interface_mode: int | None = None  # the V frame's last byte when this was read
    answered: bool = True  # False: the device did not answer F 7 (taken as one unit)

    @property
    def multi(self) -> bool:
        """More than one unit: per-unit reads are worth their wire time."""
        return len(self.units) > 1

    @property
    def addresses(self) -> tuple[int, ...]:
        return tuple(unit.address for unit in self.units)

    @property
    def phases(self) -> tuple[int, ...]:
        return tuple(sorted({unit.phase for unit in self.units}))

    def unit(self, address: int) -> Unit | None:
        return next((unit for unit in self.units if unit.address == address), None)

    def as_dict(self) -> dict[str, object]:
        """For diagnostics."""
        return {
            "answered": self.answered,
            "master": self.master,
            "phase_source": self.phase_source.value,
            "unit_counts": {f"L{phase}": count for phase, count in sorted(self.unit_counts.items())},
            "interface_mode": self.interface_mode,
            "units": [
                {"address": unit.address, "label": unit.label, "phase": unit.phase, "serial": unit.serial}
                for unit in self.units
            ],
        }


def single_unit(
    *, interface_mode: int | None = None, answered: bool = False, serial: str | None = None
) -> Topology:
    """The degenerate case: one unit at address 0 on L1."""
    return Topology(
        units=(Unit(MASTER_ADDRESS, 1, 0, serial),), interface_mode=interface_mode, answered=answered
    )


def assign_phases(
    addresses: Iterable[int], unit_counts: Mapping[int, int]
) -> tuple[dict[int, int], PhaseSource]:
    """Phase of each address, and how it was found.

    ``unit_counts``: phase → units on it, for the phases whose AC info frame answered.
    """
    ordered = sorted(set(addresses))
    if len(ordered) <= 1:
        return dict.fromkeys(ordered, 1), PhaseSource.SINGLE_UNIT
    phases_present = [phase for phase in unit_counts if phase > 1]
    if not phases_present:
        # Only L1 exists: every unit serves it, whatever velib's rule would say.
        return dict.fromkeys(ordered, 1), PhaseSource.ONE_PHASE
    by_address = {address: address % VELIB_PHASES + 1 for address in ordered}
    counted = Counter(by_address.values())
    agrees = all(unit_counts.get(phase) == count for phase, count in counted.items()) and all(
        counted.get(phase, 0) == count for phase, count in unit_counts.items()
    )
    return by_address, PhaseSource.ADDRESS_CONFIRMED if agrees else PhaseSource.ADDRESS_UNCONFIRMED


def build_topology(
    addresses: Iterable[int],
    unit_counts: Mapping[int, int],
    serials: Mapping[int, str] | None = None,
    *,
    master: int = MASTER_ADDRESS,
    interface_mode: int | None = None,
) -> Topology:
    """Units with phase and position (the phase's lowest address is its master, velib)."""
    phases, source = assign_phases(addresses, unit_counts)
    serials = serials or {}
    units: list[Unit] = []
    position: Counter[int] = Counter()
    for address in sorted(phases):
        phase = phases[address]
        units.append(Unit(address, phase, position[phase], serials.get(address)))
        position[phase] += 1
    return Topology(
        tuple(units),
        master=master,
        phase_source=source,
        unit_counts=dict(unit_counts),
        interface_mode=interface_mode,
    )
