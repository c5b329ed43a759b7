"""Every key the code uses has an English text, icons and services match, strings.json is the source."""

from __future__ import annotations

import json
from pathlib import Path
import re

import pytest
import yaml

from custom_components.victron_mk3.binary_sensor import BINARY_SENSORS
from custom_components.victron_mk3.button import BUTTONS
from custom_components.victron_mk3.number import REMOTE_PANEL_CURRENT_LIMIT
from custom_components.victron_mk3.select import REMOTE_PANEL_MODE
from custom_components.victron_mk3.sensor import ENERGY_SENSORS, SENSORS, phase_sensors
from custom_components.victron_mk3.switch import REMOTE_PANEL_STANDBY
from custom_components.victron_mk3.vebus_mk3 import ProbeStatus

PACKAGE = Path(__file__).parents[3] / "custom_components" / "victron_mk3"


def _json(name: str) -> dict:
    return json.loads((PACKAGE / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def strings() -> dict:
    """The English texts."""
    return _json("strings.json")


def test_translation_is_strings(strings: dict) -> None:
    """translations/en.json (what HA loads for custom integrations) is strings.json."""
    assert _json("translations/en.json") == strings


def test_entity_names(strings: dict) -> None:
    """Every entity's translation key has a name; enum states have texts."""
    descriptions = {
        "binary_sensor": [*BINARY_SENSORS],
        "button": [*BUTTONS],
        "sensor": [*SENSORS, *ENERGY_SENSORS, *phase_sensors(1), *phase_sensors(2)],
        "select": [REMOTE_PANEL_MODE],
        "number": [REMOTE_PANEL_CURRENT_LIMIT],
        "switch": [REMOTE_PANEL_STANDBY],
    }
    for platform, platform_descriptions in descriptions.items():
        for description in platform_descriptions:
            entry = strings["entity"][platform][description.translation_key]
            assert entry["name"], description.key
            if "{phase}" in entry["name"]:
                assert description.translation_placeholders == {"phase": description.key[-2:].upper()}
            for option in getattr(description, "options", None) or []:
                assert entry["state"][option], (description.key, option)


def test_exception_and_flow_keys(strings: dict) -> None:
    """Every translation_key raised in the code, and every probe outcome, has a message."""
    source = "\n".join(path.read_text(encoding="utf-8") for path in PACKAGE.glob("*.py"))
    keys = set(re.findall(r'translation_domain=DOMAIN,\s+translation_key="([a-z_]+)"', source))
    keys |= set(re.findall(r'key = "([a-z_]+)"', source))
    assert keys >= {"link_down", "not_confirmed", "port_inaccessible", "no_answer", "device_not_found"}
    for key in keys:
        assert strings["exceptions"][key]["message"], key
    for status in ProbeStatus:
        if status is not ProbeStatus.OK:
            assert strings["config"]["error"][status.value], status
    assert strings["config"]["error"]["unknown"]


def test_icons_name_existing_keys(strings: dict) -> None:
    """icons.json only names entities and services that exist."""
    icons = _json("icons.json")
    for platform, entries in icons["entity"].items():
        for key in entries:
            assert key in strings["entity"][platform], key
    assert set(icons["services"]) == set(strings["services"])


def test_services_yaml_matches_strings(strings: dict) -> None:
    """services.yaml fields are described in strings.json, one for one."""
    services = yaml.safe_load((PACKAGE / "services.yaml").read_text(encoding="utf-8"))
    assert set(services) == set(strings["services"])
    for service, spec in services.items():
        assert set(spec["fields"]) == set(strings["services"][service]["fields"]), service
    modes = services["set_remote_panel_state"]["fields"]["mode"]["selector"]["select"]["options"]
    assert set(modes) == set(strings["selector"]["mode"]["options"])


def test_manifest() -> None:
    """The USB matcher of the MK3-USB, and serialx (shipped by HA) as the only requirement."""
    manifest = _json("manifest.json")
    assert manifest["usb"] == [
        {"vid": "0403", "pid": "6015", "manufacturer": "*victron*", "description": "*mk3*"}
    ]
    assert manifest["dependencies"] == ["usb"]
    assert [req.split(">")[0].split("=")[0] for req in manifest["requirements"]] == ["serialx"]
    assert manifest["config_flow"] is True
    assert manifest["integration_type"] == "device"
    assert (PACKAGE / "brand" / "icon.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    hacs = json.loads((PACKAGE.parents[1] / "hacs.json").read_text(encoding="utf-8"))
    assert hacs["homeassistant"] == "2026.10.0"
