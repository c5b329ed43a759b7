"""quality_scale.yaml stays true: every rule has a status; a rule marked done holds where a test sees it.

Rules a test can check by looking at the running integration or its files are checked here;
rules whose behaviour other tests drive name those tests (``BEHAVIOUR_TESTS``), and this module
fails if such a test goes away. Only the documentation rules are checked as README sections.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
import importlib
import json
from pathlib import Path
import re

from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from custom_components.victron_mk3.const import DOMAIN
from custom_components.victron_mk3.coordinator import VictronMk3Coordinator
from custom_components.victron_mk3.device import interface_identifier
from custom_components.victron_mk3.diagnostics import TO_REDACT, redact_port

REPOSITORY = Path(__file__).parents[3]
PACKAGE = REPOSITORY / "custom_components" / "victron_mk3"
TESTS = Path(__file__).parent

# Every rule of Home Assistant's quality scale, bronze to platinum (as core's integrations list them).
RULES = {
    "bronze": {
        "action-setup",
        "appropriate-polling",
        "brands",
        "common-modules",
        "config-flow-test-coverage",
        "config-flow",
        "dependency-transparency",
        "docs-actions",
        "docs-conditions",
        "docs-high-level-description",
        "docs-installation-instructions",
        "docs-removal-instructions",
        "docs-triggers",
        "entity-event-setup",
        "entity-unique-id",
        "has-entity-name",
        "runtime-data",
        "test-before-configure",
        "test-before-setup",
        "unique-config-entry",
    },
    "silver": {
        "action-exceptions",
        "config-entry-unloading",
        "docs-configuration-parameters",
        "docs-installation-parameters",
        "entity-unavailable",
        "integration-owner",
        "log-when-unavailable",
        "parallel-updates",
        "reauthentication-flow",
        "test-coverage",
    },
    "gold": {
        "devices",
        "diagnostics",
        "discovery-update-info",
        "discovery",
        "docs-data-update",
        "docs-examples",
        "docs-known-limitations",
        "docs-supported-devices",
        "docs-supported-functions",
        "docs-troubleshooting",
        "docs-use-cases",
        "dynamic-devices",
        "entity-category",
        "entity-device-class",
        "entity-disabled-by-default",
        "entity-translations",
        "exception-translations",
        "icon-translations",
        "reconfiguration-flow",
        "repair-issues",
        "stale-devices",
    },
    "platinum": {"async-dependency", "inject-websession", "strict-typing"},
}
ALL_RULES = set().union(*RULES.values())

# Documentation rules: the README section that fulfils each.
DOCS_SECTIONS = {
    "docs-actions": ["## Actions"],
    "docs-high-level-description": ["# Victron MK3 for Home Assistant"],
    "docs-installation-instructions": ["## Installation", "## Setup"],
    "docs-removal-instructions": ["## Removal"],
    "docs-configuration-parameters": ["## Setup", "**Update interval**"],
    "docs-installation-parameters": ["## Setup"],
    "docs-data-update": ["**Update interval**"],
    "docs-examples": ["automation:", "## The remote panel card", "## Blueprints"],
    "docs-known-limitations": ["## Supported devices and known limitations"],
    "docs-supported-devices": ["## Supported devices and known limitations"],
    "docs-supported-functions": ["## Entities", "## Actions"],
    "docs-troubleshooting": ["## Troubleshooting"],
    "docs-use-cases": ["For home owners, boats and vans", "## Standby"],
}

# Rules whose behaviour is driven end to end elsewhere: "module::test" that must exist.
BEHAVIOUR_TESTS = {
    "config-flow-test-coverage": [
        "test_config_flow::test_user_flow_usb_adapter",
        "test_config_flow::test_usb_discovery",
        "test_config_flow::test_reconfigure_errors",
        "test_config_flow::test_options",
    ],
    "test-before-configure": ["test_config_flow::test_user_flow_unresponsive"],
    "test-before-setup": [
        "test_init::test_not_ready_port_missing",
        "test_init::test_not_ready_device_asleep",
    ],
    "unique-config-entry": ["test_config_flow::test_user_flow_duplicate_port"],
    "config-entry-unloading": ["test_init::test_setup_and_unload"],
    "entity-unavailable": ["test_link::test_unplug_and_replug_heal_without_reload"],
    "log-when-unavailable": ["test_link::test_device_sleeps_and_wakes"],
    "action-exceptions": ["test_services::test_entry_not_loaded", "test_services::test_invalid_mode"],
    "discovery": ["test_config_flow::test_usb_discovery"],
    "discovery-update-info": ["test_config_flow::test_usb_discovery_updates_path"],
    "reconfiguration-flow": ["test_config_flow::test_reconfigure_to_usb_adapter"],
    "repair-issues": ["test_link::test_long_sleep_raises_a_repair_issue"],
    "diagnostics": ["test_diagnostics::test_diagnostics"],
    "devices": ["test_device::test_entities_on_vebus_device"],
}


def _scale() -> dict[str, str]:
    """Rule -> status, from quality_scale.yaml (checking the comment of every exemption)."""
    rules = yaml.safe_load((PACKAGE / "quality_scale.yaml").read_text(encoding="utf-8"))["rules"]
    statuses = {}
    for rule, value in rules.items():
        if isinstance(value, str):
            statuses[rule] = value
        else:
            assert set(value) == {"status", "comment"}, rule
            assert value["comment"].strip(), f"{rule}: {value['status']} needs a reason"
            statuses[rule] = value["status"]
    return statuses


SCALE = _scale()


def _done(rule: str) -> None:
    """Skip a check of a rule the file does not claim (a todo has nothing to hold)."""
    if SCALE[rule] != "done":
        pytest.skip(f"{rule} is {SCALE[rule]}")


def _source(name: str) -> str:
    return (PACKAGE / name).read_text(encoding="utf-8")


def _strings() -> dict:
    return json.loads(_source("strings.json"))


def test_every_rule_has_a_status() -> None:
    """All rules, no unknown ones; exempt and todo rules say why."""
    assert set(SCALE) == ALL_RULES, {"missing": ALL_RULES - set(SCALE), "unknown": set(SCALE) - ALL_RULES}
    assert set(SCALE.values()) <= {"done", "todo", "exempt"}
    raw = yaml.safe_load(_source("quality_scale.yaml"))["rules"]
    for rule, status in SCALE.items():
        if status != "done":
            assert isinstance(raw[rule], dict), f"{rule}: {status} needs a comment"


@pytest.mark.parametrize("rule", sorted(DOCS_SECTIONS))
def test_documentation_rules(rule: str) -> None:
    """Each documentation rule marked done has its README section."""
    _done(rule)
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    for section in DOCS_SECTIONS[rule]:
        assert section in readme, (rule, section)


@pytest.mark.parametrize("rule", sorted(BEHAVIOUR_TESTS))
def test_behaviour_rules_have_their_tests(rule: str) -> None:
    """The tests that drive a done rule's behaviour still exist."""
    _done(rule)
    for reference in BEHAVIOUR_TESTS[rule]:
        module_name, test_name = reference.split("::")
        tree = ast.parse((TESTS / f"{module_name}.py").read_text(encoding="utf-8"))
        names = {
            node.name for node in ast.walk(tree) if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
        }
        assert test_name in names, (rule, reference)


def test_exemptions_still_apply() -> None:
    """What an exemption says is still so: no conditions, triggers, HTTP or authentication."""
    for rule, file in (("docs-conditions", "condition.py"), ("docs-triggers", "trigger.py")):
        if SCALE[rule] == "exempt":
            assert not (PACKAGE / file).exists(), rule
    if SCALE["reauthentication-flow"] == "exempt":
        assert "async_step_reauth" not in _source("config_flow.py")
    if SCALE["inject-websession"] == "exempt":
        sources = "\n".join(path.read_text(encoding="utf-8") for path in PACKAGE.rglob("*.py"))
        assert not re.search(r"^\s*(import|from) (aiohttp|httpx|requests)\b", sources, re.MULTILINE)


def test_brands_and_common_modules() -> None:
    """The icon ships with the integration; coordinator and base entity have their own modules."""
    _done("brands")
    assert (PACKAGE / "brand" / "icon.png").is_file()
    _done("common-modules")
    assert "DataUpdateCoordinator" in _source("coordinator.py")
    assert "class VictronMk3Entity" in _source("entity.py")


def test_parallel_updates() -> None:
    """Every platform says how many updates or actions may run at once."""
    _done("parallel-updates")
    from custom_components.victron_mk3 import PLATFORMS

    for platform in PLATFORMS:
        module = importlib.import_module(f"custom_components.victron_mk3.{platform.value}")
        assert isinstance(getattr(module, "PARALLEL_UPDATES", None), int), platform


def test_config_flow_fields_are_described() -> None:
    """Every field of every form has a description (config-flow rule)."""
    _done("config-flow")
    strings = _strings()
    for section in ("config", "options"):
        for step_id, step in strings[section]["step"].items():
            assert set(step.get("data", {})) == set(step.get("data_description", {})), (section, step_id)


def test_exceptions_are_translated() -> None:
    """Every Home Assistant error raised by the integration names a translation (or is built by one)."""
    _done("exception-translations")
    errors = "HomeAssistantError|ServiceValidationError|UpdateFailed|ConfigEntryNotReady|ConfigEntryError"
    raised = re.compile(rf"raise ({errors})\(")
    found = 0
    for path in PACKAGE.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        for match in raised.finditer(source):
            found += 1
            call = source[match.end() : match.end() + 200]
            assert "translation_key=" in call or "**error_translation(" in call, (path.name, call)
    assert found >= 5


def test_icons_for_entities_without_device_class() -> None:
    """An entity that has no device class (so no icon of its own) has one in icons.json."""
    _done("icon-translations")
    icons = json.loads(_source("icons.json"))["entity"]
    from custom_components.victron_mk3.binary_sensor import BINARY_SENSORS
    from custom_components.victron_mk3.button import BUTTONS
    from custom_components.victron_mk3.sensor import SENSORS

    for platform, descriptions in (
        ("sensor", SENSORS),
        ("binary_sensor", BINARY_SENSORS),
        ("button", BUTTONS),
    ):
        for description in descriptions:
            if description.device_class is None:
                assert description.translation_key in icons.get(platform, {}), (platform, description.key)


def test_strict_typing() -> None:
    """The test script runs mypy --strict on the package, and the library is marked typed."""
    _done("strict-typing")
    assert "mypy --strict custom_components/victron_mk3" in (REPOSITORY / "scripts" / "test").read_text(
        encoding="utf-8"
    )
    assert (PACKAGE / "vebus_mk3" / "py.typed").is_file()


def test_diagnostics_redaction() -> None:
    """The adapter's serial number, by-id names and ser2net hosts never reach a download."""
    _done("diagnostics")
    assert "serial_number" in TO_REDACT
    assert "HQ2049" not in redact_port("/dev/serial/by-id/usb-VictronEnergy_MK3-USB_Interface_HQ2049-if00")
    assert "10.1.2.3" not in redact_port("socket://10.1.2.3:3333")


async def test_action_setup(hass: HomeAssistant) -> None:
    """The actions exist with no entry at all (registered in async_setup)."""
    _done("action-setup")
    assert await async_setup_component(hass, DOMAIN, {})
    for service in ("set_remote_panel_state", "set_standby", "probe"):
        assert hass.services.has_service(DOMAIN, service), service


async def test_running_entry(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """The rules the running entry shows: names, ids, categories, device classes, devices, runtime data."""
    entry = init_integration
    entities = er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    assert len(entities) > 30
    checks: dict[str, Callable[[], None]] = {}

    def has_entity_name() -> None:
        assert all(entity.has_entity_name for entity in entities)

    def entity_unique_id() -> None:
        assert all(entity.unique_id.startswith(f"{entry.entry_id}-") for entity in entities)
        assert len({(entity.domain, entity.unique_id) for entity in entities}) == len(entities)

    def entity_translations() -> None:
        strings = _strings()["entity"]
        for entity in entities:
            assert entity.translation_key in strings[entity.domain], entity.entity_id
            assert entity.original_name, entity.entity_id

    def entity_category() -> None:
        by_key = {entity.unique_id.removeprefix(f"{entry.entry_id}-"): entity for entity in entities}
        for key in ("front_panel_mode", "lit_indicators", "ac_input_current_limit", "firmware_version"):
            assert by_key[key].entity_category is EntityCategory.DIAGNOSTIC, key
        for key in ("force_absorption", "force_float", "force_equalise"):
            assert by_key[key].entity_category is EntityCategory.CONFIG, key
        for key in ("remote_panel_mode", "remote_panel_current_limit", "battery_voltage", "device_state"):
            assert by_key[key].entity_category is None, key

    def entity_device_class() -> None:
        for entity in entities:
            state = hass.states.get(entity.entity_id)
            if state is not None and state.attributes.get("unit_of_measurement") not in (None, "%"):
                assert entity.original_device_class or entity.device_class, entity.entity_id

    def entity_disabled_by_default() -> None:
        disabled = {
            entity.entity_id
            for entity in entities
            if entity.disabled_by is er.RegistryEntryDisabler.INTEGRATION
        }
        assert "sensor.victron_mk3_ac_input_current_limit_minimum" in disabled
        assert "button.victron_mk3_force_equalise" in disabled

    def devices() -> None:
        vebus = device_registry.async_get_device_by_identifier((DOMAIN, entry.entry_id), entry.entry_id)
        interface = device_registry.async_get_device_by_identifier(
            interface_identifier(entry.entry_id), entry.entry_id
        )
        assert vebus is not None
        assert interface is not None
        assert vebus.via_device_id == interface.id
        assert vebus.manufacturer == interface.manufacturer == "Victron Energy"

    def runtime_data() -> None:
        assert isinstance(entry.runtime_data, VictronMk3Coordinator)
        sources = "\n".join(path.read_text(encoding="utf-8") for path in PACKAGE.glob("*.py"))
        assert "hass.data[DOMAIN]" not in sources

    checks.update(
        {
            "has-entity-name": has_entity_name,
            "entity-unique-id": entity_unique_id,
            "entity-translations": entity_translations,
            "entity-category": entity_category,
            "entity-device-class": entity_device_class,
            "entity-disabled-by-default": entity_disabled_by_default,
            "devices": devices,
            "runtime-data": runtime_data,
        }
    )
    checked = [rule for rule in checks if SCALE[rule] == "done"]
    for rule in checked:
        checks[rule]()
    assert checked, "no rule checked"


def test_manifest_owner_fields_agree() -> None:
    """Code owner, documentation and issue tracker name one repository; a placeholder says so."""
    manifest = json.loads(_source("manifest.json"))
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+)", manifest["documentation"])
    assert match, manifest["documentation"]
    owner, name = match.groups()
    assert manifest["issue_tracker"] == f"{manifest['documentation']}/issues"
    assert manifest["codeowners"] == [f"@{owner}"]
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    if f"`{owner}/{name}`" in readme:  # still the placeholder: integration-owner is not done
        assert "**placeholder**" in readme
        assert SCALE["integration-owner"] == "todo"
