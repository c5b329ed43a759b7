"""Named device profiles: an interface + unit, as found in the field, with their quirks.

``PROFILES[name].make_model()`` returns a fresh ``MultiplusModel``; ``Simulator(profile=name)``
and ``cli.py simulate --profile NAME`` use them. Each profile says what is fact (and from where;
"protocol.md" means /work/shared/protocol.md and the sources it cites) and what is a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..const import RamVar
from .model import MultiplusModel
from .quirks import UNFILLED_STATE_BYTE, DeviceQuirks
from .system import SystemUnit


@dataclass(frozen=True)
class Profile:
    """A named way to build the simulated device."""

    name: str
    description: str
    factory: Callable[[], MultiplusModel]

    def make_model(self) -> MultiplusModel:
        return self.factory()


def multiplus2_mk3() -> MultiplusModel:
    """MultiPlus-II 48/5000/70-50 230 V behind an MK3-USB: the default, baseline behaviour.

    Facts: the version frame is a real capture (``07 FF 56 28 DB 11 00 42 4E``); RAM scales are
    bench measurements on a MultiPlus-II; var 3 declared unsigned but sent negative (protocol.md).
    Guesses are marked in ``model.py``/``device.py`` where they live (e.g. turnaround times).
    """
    return MultiplusModel()


# Guess: an MK2-USB version number. Only MK3 numbers were captured (1170216); MK2 firmware is
# older, so a smaller number of the same shape.
MK2_INTERFACE_VERSION = 1130152
# Guess: VE.Bus firmware of an older MultiPlus (AA BB CCC form as on the MK3 profile).
OLD_MULTIPLUS_FIRMWARE = 1912208
MK2_MULTIPLUS_QUIRKS = DeviceQuirks(
    has_interface_flags_command=False,
    ac_info_state_byte=UNFILLED_STATE_BYTE,
    firmware_request_needs_args=True,
    scale_info_without_offset=True,
    mains_current_declared_unsigned=True,
    ram_read_first_value_only=True,
    # Guess: an old unit knows neither the unit info frame nor snapshots.
    answers_unit_info=False,
    snapshots=False,
    # Guess: whether this unit has the power variables and SOC is unknown; left out so tests
    # show that missing optional features leave the rest working.
    missing_ram_vars=frozenset(
        (RamVar.STATE_OF_CHARGE, RamVar.INVERTER_POWER, RamVar.INVERTER_POWER_2, RamVar.OUTPUT_POWER)
    ),
)


def multiplus_24_mk2() -> MultiplusModel:
    """An older MultiPlus 24/3000/70-16 230 V behind an MK2-USB, 8-cell (24 V) LiFePO4 bank.

    Facts (protocol.md *Field quirks*, 2026-11 captures): such a unit sends AC info frames with
    0xB7 in the device-state byte while their values are right. Facts about older units or the
    MK2 in general, gathered on this profile so one device shows them all: the MK2 has no ``H``
    command; an older unit may not answer the firmware request; mains current (var 1) declared
    unsigned yet sent negative while feeding back; a multi-id ``0x30`` read answered with fewer
    values than asked. Ratings from the model name: 24 V, 3000 VA, 70 A charger, 16 A AC input.

    Guesses: that this one unit has all of those quirks; silence for ``H`` (as for any unknown
    command); the firmware request answered only with its two zero argument bytes; exactly one
    value for a multi-id read; the short scale-info form ``8E s_lo s_hi`` (protocol.md attributes
    it to *newer* devices, uncertain; it sits here to be tested with the other quirks); vars 13-16
    missing (0x90 to info and read); the MK2 and firmware version numbers; the minimum current
    limit; battery voltages scaled from the 48 V profile by 8/16 cells; 2500 W continuous
    (remembered from the datasheet, not checked here).
    """
    return MultiplusModel(
        quirks=MK2_MULTIPLUS_QUIRKS,
        interface_version=MK2_INTERFACE_VERSION,
        firmware_version=OLD_MULTIPLUS_FIRMWARE,
        current_limit=16.0,
        current_limit_min=2.0,  # guess
        current_limit_max=16.0,
        inverter_rated_w=2500.0,  # continuous W at 25 °C as remembered from the datasheet (uncertain)
        max_charge_current=70.0,
        battery_monitor=False,  # no SOC on this unit (guess, see missing_ram_vars)
        battery_cells=8,
        battery_resistance=0.0075,  # half the cells in series: half the resistance (guess)
        absorption_voltage=28.2,
        float_voltage=27.0,
        low_battery_warning_v=23.5,
        low_battery_shutdown_v=22.0,
        low_battery_restart_v=24.0,
        load_w=250.0,
    )


def led_append() -> MultiplusModel:
    """The default MK3 + MultiPlus-II with the interface left in "LED status appended" mode.

    Fact (protocol.md *Field quirks*): every frame, version frames too, has the top bit of its
    length byte set and two LED bytes (on, blink) after the payload; the checksum covers
    everything. velib names the S flag that turns it on (MK2_S_FLAG_LED_STATUS = 0x02).
    Guess: an S frame without that flag turns it off again, and it returns after a power loss.
    """
    return MultiplusModel(quirks=DeviceQuirks(led_status_appended=True))


# Made-up load split of a home over L1-L3 (guess): unequal, so that a phase mix-up shows.
THREE_PHASE_WEIGHTS = (0.5, 0.3, 0.2)
# Made-up split between two parallel units (guess: real units share close to equally).
PARALLEL_SHARES = (0.6, 0.4)


def three_phase() -> MultiplusModel:
    """Three MultiPlus-II units, one per phase (addresses 0, 1, 2), behind one MK3.

    Facts (protocol.md): L1 of an n-phase system reports kind 7 + n; F 7 lists the addresses;
    phase = address % 3 is velib's rule (so 0 = L1, 1 = L2, 2 = L3 here). Guesses: the serials
    and per-unit firmware numbers; the load split over the phases (``THREE_PHASE_WEIGHTS``).
    """
    return MultiplusModel(
        phases=3,
        load_w=1200.0,
        phase_weights=THREE_PHASE_WEIGHTS,
        units=(
            SystemUnit(0, 1, 1.0, serial=bytes.fromhex("11000001")),
            SystemUnit(1, 2, 1.0, serial=bytes.fromhex("11000002"), firmware_version=2623507),
            SystemUnit(2, 3, 1.0, serial=bytes.fromhex("11000003")),
        ),
    )


def parallel() -> MultiplusModel:
    """Two MultiPlus-II units in parallel on one phase (addresses 0 and 1), behind one MK3.

    Facts (protocol.md): only F 1 answers (one phase) and its factor bytes count the units, so
    its currents are per unit. Guesses: the numbering 0, 1 (unconfirmed for parallel systems,
    where velib's address % 3 would wrongly say L2), the serials, the 60/40 load share.
    """
    return MultiplusModel(
        load_w=1500.0,
        units=(
            SystemUnit(0, 1, PARALLEL_SHARES[0], serial=bytes.fromhex("22000001")),
            SystemUnit(1, 1, PARALLEL_SHARES[1], serial=bytes.fromhex("22000002")),
        ),
    )


DEFAULT_PROFILE = "multiplus2_mk3"
PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile(DEFAULT_PROFILE, "MultiPlus-II 48/5000 + MK3-USB (baseline)", multiplus2_mk3),
        Profile("multiplus_24_mk2", "older MultiPlus 24/3000 + MK2-USB, old quirks", multiplus_24_mk2),
        Profile("led_append", "MultiPlus-II + MK3 left in LED-status-appended framing", led_append),
        Profile("three_phase", "three MultiPlus-II units, one per phase", three_phase),
        Profile("parallel", "two MultiPlus-II units in parallel on one phase", parallel),
    )
}


def make_model(name: str) -> MultiplusModel:
    """A fresh model of the named profile."""
    try:
        profile = PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}") from None
    return profile.make_model()
