"""The entities each earlier integration with the domain ``victron_mk3`` registered: facts from their sources.

Every one of them (j9brown/victron-mk3-hass and its forks) created config entries at version 1.1
with data ``port`` (plus ``model`` and ``serial_number`` when found over USB), one device with the
identifier ``("victron_mk3", <port>)`` named after the entry, and entity unique ids
``f"{device registry id}-{key}"`` (sensor.py, select.py, number.py, switch.py of each commit below).
Entity names are title-case keys, so entity ids are ``<domain>.<device name>_<key>``; the few
names that differ are in ``NAMES``. Read from git history with ``git show <commit>:<path>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.util import slugify

# Four measurements per AC phase (j9brown's make_ac_phase_sensors); L2 and up keyed "_l<phase>"
# and registered disabled (entity_registry_enabled_default=phase == 1).
PHASE_KEYS = ("ac_input_voltage", "ac_input_current", "ac_output_voltage", "ac_output_current")

# j9brown 0.1.9, commit 185ab86 (2024-08-18): sensors only, phases L1 and L2.
J9BROWN_0_1_SENSORS = (
    "ac_input_current_limit",
    "ac_input_current_limit_maximum",
    "ac_input_current_limit_minimum",
    "ac_input_frequency",
    "ac_output_frequency",
    "battery_voltage",
    "battery_input_current",
    "battery_output_current",
    "device_state",
    "firmware_version",
    "lit_indicators",
    "blinking_indicators",
    "front_panel_mode",
    "remote_panel_mode",  # a sensor in 0.1.9 only; a select from 0.2.0 on
    "actual_mode",
)
# j9brown 0.2.0 to 0.3.1, commits 264dcbd to 1de92c9: the mode became a select, three phases,
# the current limit a number; the standby switch came with c729483 (still 0.2.0).
J9BROWN_0_2_SENSORS = tuple(key for key in J9BROWN_0_1_SENSORS if key != "remote_panel_mode")
J9BROWN_CONTROLS = (
    ("select", "remote_panel_mode"),
    ("number", "remote_panel_current_limit"),
    ("switch", "remote_panel_standby"),
)
# j9brown 0.4.0 and 0.4.1, commits 8fd9044 and 8ea7c77 (2024-09-08): three power sensors.
J9BROWN_0_4_SENSORS = (*J9BROWN_0_2_SENSORS, "ac_input_power", "ac_output_power", "battery_power")
# j9brown 0.4.2 (commit 9b05fac) renamed the battery currents; 0.4.3 (tag v0.4.3, c362182),
# 0.5.0 (tag v0.5.0, e7107c0) and 0.6.0 (tag v0.6.0, 58df646) kept every key.
J9BROWN_0_4_2_RENAMES = {
    "battery_input_current": "battery_charger_current",
    "battery_output_current": "battery_inverter_current",
}
J9BROWN_CURRENT_SENSORS = tuple(J9BROWN_0_4_2_RENAMES.get(key, key) for key in J9BROWN_0_4_SENSORS)

# usersaynoso/victron-mk3-hass: j9brown 0.6.0 plus, by commit 41d667a (2026-04-23, still
# manifest 0.6.0; 0.6.1 = ab7bdc6 only marks it deprecated in favour of another domain).
USERSAYNOSO_SENSORS = (
    "battery_state_of_charge",  # b645738
    "battery_energy_into",  # e632c2c, kWh total increasing (RestoreEntity)
    "battery_energy_out_of",  # e632c2c
    "ignore_ac_input_state",  # 6228579
    "battery_charge_discharge_power",  # 31965b3, minus battery_power
)
USERSAYNOSO_CONTROLS = (
    ("number", "battery_capacity"),  # 2972623
    ("number", "battery_soc_when_bulk_finished"),  # 2972623
    ("number", "battery_charge_efficiency"),  # 2972623
    ("number", "dc_input_low_shutdown"),  # 41d667a
    ("number", "dc_input_low_restart"),  # 41d667a
    ("switch", "battery_monitor"),  # 2972623
    ("switch", "charge_enabled"),  # 6228579
    ("switch", "ups_function"),  # 6228579
    ("switch", "power_assist"),  # 6228579
    ("switch", "dynamic_current_limiter"),  # 6228579
    ("switch", "weak_ac_input"),  # 6228579
)

# alexmbird/improved-victron-mk3-hass: j9brown 0.6.0 plus, manifest 0.7.0 (commit 5acce4d) and
# a later sensor (commit 0a5ca70); read through the code search's stored files.
ALEXMBIRD_SENSORS = (
    "device_firmware_version",
    "solar_wind_priority_enabled",
    "solar_wind_priority_charge_voltage",
    "solar_wind_priority_charge_to_100_reason",
    "power_assist_active",  # 0a5ca70
)
ALEXMBIRD_CONTROLS = (("switch", "solar_wind_priority_one_shot_charge_to_100"),)

# Names whose slug is not the key (entity ids follow the name).
NAMES = {
    "battery_soc_when_bulk_finished": "State of Charge When Bulk Finished",
    "battery_charge_efficiency": "Charge Efficiency",
    "dc_input_low_shutdown": "DC Input Low Shut-down",
    "power_assist": "PowerAssist",
    "power_assist_active": "PowerAssist Active",
    "solar_wind_priority_one_shot_charge_to_100": "Solar & Wind Priority Charge to 100%",
}


@dataclass(frozen=True)
class PeerEntity:
    """One entity registry entry as the release made it."""

    domain: str
    key: str
    enabled: bool = True

    def object_id(self, device_name: str) -> str:
        """The entity id's second half Home Assistant made from device and entity name."""
        return slugify(f"{device_name} {NAMES.get(self.key, self.key)}")


@dataclass(frozen=True)
class PeerRelease:
    """A release: what it registered, and what this integration has no entity for."""

    name: str
    entities: tuple[PeerEntity, ...]
    not_covered: frozenset[tuple[str, str]] = frozenset()


def _release(
    name: str,
    sensors: tuple[str, ...],
    phases: int,
    controls: tuple[tuple[str, str], ...],
    not_covered: tuple[tuple[str, str], ...] = (),
) -> PeerRelease:
    entities = [PeerEntity("sensor", key) for key in sensors]
    for phase in range(1, phases + 1):
        suffix = "" if phase == 1 else f"_l{phase}"
        entities += [PeerEntity("sensor", f"{key}{suffix}", enabled=phase == 1) for key in PHASE_KEYS]
    entities += [PeerEntity(domain, key) for domain, key in controls]
    return PeerRelease(name, tuple(entities), frozenset(not_covered))


def _sensors(keys: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple(("sensor", key) for key in keys)


RELEASES = (
    _release("j9brown 0.1.9", J9BROWN_0_1_SENSORS, 2, (), not_covered=(("sensor", "remote_panel_mode"),)),
    _release("j9brown 0.2.0-0.3.1", J9BROWN_0_2_SENSORS, 3, J9BROWN_CONTROLS),
    _release("j9brown 0.4.0-0.4.1", J9BROWN_0_4_SENSORS, 3, J9BROWN_CONTROLS),
    _release("j9brown 0.4.2-0.6.0", J9BROWN_CURRENT_SENSORS, 3, J9BROWN_CONTROLS),
    _release(
        "usersaynoso 0.6.0-0.6.1",
        J9BROWN_CURRENT_SENSORS + USERSAYNOSO_SENSORS,
        3,
        J9BROWN_CONTROLS + USERSAYNOSO_CONTROLS,
        not_covered=(
            ("sensor", "ignore_ac_input_state"),
            ("sensor", "battery_charge_discharge_power"),
            *USERSAYNOSO_CONTROLS,
        ),
    ),
    _release(
        "alexmbird 0.7.0+",
        J9BROWN_CURRENT_SENSORS + ALEXMBIRD_SENSORS,
        3,
        J9BROWN_CONTROLS + ALEXMBIRD_CONTROLS,
        not_covered=(*_sensors(ALEXMBIRD_SENSORS), *ALEXMBIRD_CONTROLS),
    ),
)
