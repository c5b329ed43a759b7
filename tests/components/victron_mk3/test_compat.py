"""Drop-in for j9brown/victron-mk3-hass: its entity keys, option values and action fields."""

from __future__ import annotations

from custom_components.victron_mk3.entity import entity_unique_id
from custom_components.victron_mk3.models import PanelMode
from custom_components.victron_mk3.number import REMOTE_PANEL_CURRENT_LIMIT
from custom_components.victron_mk3.select import REMOTE_PANEL_MODE
from custom_components.victron_mk3.sensor import DEVICE_STATES, SENSORS, phase_sensors
from custom_components.victron_mk3.services import SET_REMOTE_PANEL_STATE_SCHEMA
from custom_components.victron_mk3.switch import REMOTE_PANEL_STANDBY

# The sensor keys its current release (0.4.2 and later) creates, its L1 and L2 phase sensors
# included; the keys of older releases are migrated (test_migration_peers.py).
J9BROWN_SENSOR_KEYS = {
    "ac_input_current_limit",
    "ac_input_current_limit_maximum",
    "ac_input_current_limit_minimum",
    "ac_input_power",
    "ac_input_frequency",
    "ac_output_power",
    "ac_output_frequency",
    "battery_voltage",
    "battery_charger_current",
    "battery_inverter_current",
    "battery_power",
    "device_state",
    "firmware_version",
    "lit_indicators",
    "blinking_indicators",
    "front_panel_mode",
    "actual_mode",
    *(
        f"{base}{suffix}"
        for base in ("ac_input_voltage", "ac_input_current", "ac_output_voltage", "ac_output_current")
        for suffix in ("", "_l2")
    ),
}


def test_sensor_keys() -> None:
    """Every sensor key it had exists here, so migrated unique ids find their entity."""
    keys = {description.key for description in SENSORS}
    for phase in (1, 2, 3, 4):
        keys |= {description.key for description in phase_sensors(phase)}
    assert keys >= J9BROWN_SENSOR_KEYS
    assert len(keys) == len(SENSORS) + 4 * 7  # five per phase as j9brown had, plus two apparent powers


def test_control_keys() -> None:
    """Select, number and switch keep their keys."""
    assert REMOTE_PANEL_MODE.key == "remote_panel_mode"
    assert REMOTE_PANEL_CURRENT_LIMIT.key == "remote_panel_current_limit"
    assert REMOTE_PANEL_STANDBY.key == "remote_panel_standby"


def test_states() -> None:
    """Mode and device state values are the ones automations compare against."""
    assert REMOTE_PANEL_MODE.options == ["off", "on", "charger_only", "inverter_only"]
    assert [mode.value for mode in PanelMode] == REMOTE_PANEL_MODE.options
    assert DEVICE_STATES == [
        "down",
        "startup",
        "off",
        "slave",
        "invert_full",
        "invert_half",
        "invert_aes",
        "power_assist",
        "bypass",
        "charge",
    ]


def test_action_fields() -> None:
    """set_remote_panel_state takes the same data, current_limit optional."""
    data = {"device_id": "abc", "mode": "charger_only", "current_limit": "16"}
    assert SET_REMOTE_PANEL_STATE_SCHEMA(data) == {**data, "current_limit": 16.0}
    assert SET_REMOTE_PANEL_STATE_SCHEMA({"device_id": "abc", "mode": "off"}) == {
        "device_id": "abc",
        "mode": "off",
    }


def test_unique_id_format() -> None:
    """``<entry id>-<key>``: the key part matches, the prefix is migrated from the device id."""
    assert entity_unique_id("01JABC", "battery_voltage") == "01JABC-battery_voltage"
