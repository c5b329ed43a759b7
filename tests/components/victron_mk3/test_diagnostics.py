"""Diagnostics: entry, last replies, scales, flags and link events, with the adapter serial redacted."""

from __future__ import annotations

from pathlib import Path

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.victron_mk3.const import CONF_PORT, CONF_SERIAL_NUMBER, DOMAIN
from custom_components.victron_mk3.diagnostics import redact_port
from custom_components.victron_mk3.vebus_mk3.simulator import SimulatorThread

from .common import ENTRY_ID, unplug, wait_until

BY_ID_NAME = "usb-VictronEnergy_MK3-USB_Interface_HQ2049ABCDE-if00-port0"


@pytest.fixture
def mock_config_entry(simulator: SimulatorThread, tmp_path: Path) -> MockConfigEntry:
    """An entry on a /dev/serial/by-id style path, as USB discovery stores it."""
    by_id = tmp_path / "serial" / "by-id"
    by_id.mkdir(parents=True)
    (by_id / BY_ID_NAME).symlink_to(simulator.url)
    return MockConfigEntry(
        domain=DOMAIN,
        title="Victron MK3",
        unique_id="0403:6015_HQ2049ABCDE_Victron Energy BV_MK3-USB Interface",
        data={CONF_PORT: str(by_id / BY_ID_NAME), CONF_SERIAL_NUMBER: "HQ2049ABCDE"},
        entry_id=ENTRY_ID,
        version=1,
        minor_version=2,
    )


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    simulator: SimulatorThread,
    snapshot: SnapshotAssertion,
) -> None:
    """What a maintainer needs; nothing that names the adapter."""
    coordinator = init_integration.runtime_data
    await unplug(simulator, coordinator.client)
    simulator.replug()
    await wait_until(lambda: coordinator.client.connected and coordinator.fault is None)

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)

    assert "HQ2049ABCDE" not in str(diagnostics)
    assert str(simulator.url) not in str(diagnostics)  # the pty path names the test folder only
    kinds = [event["kind"] for event in diagnostics["link"]["events"]]
    assert [kind for kind in kinds if kind != "timeout"][:3] == ["connected", "lost", "connected"]
    assert "timeout" in kinds  # L2 did not answer the phase detection
    assert diagnostics["link"]["stats"]["requests"] > 0
    assert diagnostics["link"]["sampler"]["cycles"] > 0
    assert diagnostics == snapshot(
        exclude=props("at", "stats", "decoder", "events", "port", "sampler", "taken_at", "last_error")
    )
    assert diagnostics["entry"]["data"]["port"].endswith("/serial/by-id/**REDACTED**")


@pytest.mark.parametrize(
    ("port", "shown"),
    [
        (f"/dev/serial/by-id/{BY_ID_NAME}", "/dev/serial/by-id/**REDACTED**"),
        ("/dev/ttyUSB0", "/dev/ttyUSB0"),
        ("socket://192.168.1.5:3333", "socket://**REDACTED**:3333"),
        ("rfc2217://user:secret@pi.local:4000?logging=debug", "rfc2217://**REDACTED**:4000"),
        ("socket://ser2net.lan", "socket://**REDACTED**"),
    ],
)
def test_redact_port(port: str, shown: str) -> None:
    """By-id names carry the adapter's serial number, URLs a host on the user's network."""
    assert redact_port(port) == shown
