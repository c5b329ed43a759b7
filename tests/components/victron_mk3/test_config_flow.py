"""Config flow: user, USB discovery, reconfigure and options, with every error path."""

from __future__ import annotations

import os
from pathlib import Path
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USB, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_mk3.const import (
    CONF_MODEL,
    CONF_PHASES,
    CONF_PORT,
    CONF_SCAN_INTERVAL,
    CONF_SERIAL_NUMBER,
    DEFAULT_NAME,
    DOMAIN,
)
from custom_components.victron_mk3.vebus_mk3 import ProbeResult, ProbeStatus
from custom_components.victron_mk3.vebus_mk3.simulator import MultiplusModel, SimulatorThread

from .flow_helpers import USB_SERIAL, USB_UNIQUE_ID, reconfigure, usb_device, usb_info, user_flow


@pytest.fixture
def silent_port() -> str:
    """A real pty nobody answers on: an interface whose device sleeps."""
    master, slave = os.openpty()
    yield os.ttyname(slave)
    os.close(master)
    os.close(slave)


async def testuser_flow(hass: HomeAssistant, simulator: SimulatorThread) -> None:
    """A typed path that answers creates the entry; no state command was sent."""
    result = await user_flow(hass, simulator.url)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == DEFAULT_NAME
    assert result["data"] == {CONF_PORT: simulator.url}
    assert result["result"].unique_id is None
    assert result["result"].minor_version == 3
    await hass.async_block_till_done()
    assert result["result"].state is ConfigEntryState.LOADED
    assert simulator.call(lambda sim: sim.count("S")) == 0


async def test_user_flow_usb_adapter(hass: HomeAssistant, simulator: SimulatorThread) -> None:
    """A typed path of a USB adapter gets the adapter's unique id, model and serial number."""
    with patch("homeassistant.components.usb.usb_device_from_path", return_value=usb_device(simulator.url)):
        result = await user_flow(hass, simulator.url)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == USB_UNIQUE_ID
    assert result["data"] == {
        CONF_PORT: simulator.url,
        CONF_MODEL: "MK3-USB Interface",
        CONF_SERIAL_NUMBER: USB_SERIAL,
    }


@pytest.fixture
def tty(simulator: SimulatorThread) -> str:
    """The simulator's pty under its kernel name, as /dev/ttyUSB0 would be typed."""
    return os.path.realpath(simulator.url)


async def test_user_flow_stable_path(hass: HomeAssistant, tty: str, tmp_path: Path) -> None:
    """/dev/ttyUSB0 is stored as its /dev/serial/by-id name."""
    by_id_dir = tmp_path / "by-id"
    by_id_dir.mkdir()
    link = by_id_dir / "usb-VictronEnergy_MK3-if00-port0"
    link.symlink_to(tty)

    def get_serial_by_id(dev_path: str) -> str:
        assert dev_path == tty
        return str(link)

    with (
        patch("custom_components.victron_mk3.config_flow.BY_ID_DIRECTORY", f"{by_id_dir}/"),
        patch("homeassistant.components.usb.get_serial_by_id", side_effect=get_serial_by_id),
    ):
        result = await user_flow(hass, tty)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_PORT: str(link)}


async def test_user_flow_keeps_aliases(hass: HomeAssistant, simulator: SimulatorThread) -> None:
    """A symlink outside by-id (a udev alias) is kept as typed, not pinned to today's tty."""
    result = await user_flow(hass, f"  {simulator.url} ")
    assert result["data"] == {CONF_PORT: simulator.url}


@pytest.mark.usefixtures("socket_enabled")
async def test_user_flow_ser2net(hass: HomeAssistant, model: MultiplusModel) -> None:
    """A ser2net URL is taken as typed and the entry polls over TCP."""
    with SimulatorThread(model=model, tcp_port=0, pty=False, time_scale=0.0) as remote:
        url = remote.tcp_url
        assert url is not None
        assert url.startswith("socket://127.0.0.1:")
        result = await user_flow(hass, url)
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"] == {CONF_PORT: url}
        await hass.async_block_till_done()
        assert hass.states.get("sensor.victron_mk3_battery_voltage").state == "53.67"
        await hass.config_entries.async_unload(result["result"].entry_id)


async def test_user_flow_inaccessible_then_fixed(
    hass: HomeAssistant, simulator: SimulatorThread, tmp_path: Path
) -> None:
    """A missing port shows why; the same form then accepts the right one."""
    missing = str(tmp_path / "ttyNothing")
    result = await user_flow(hass, missing)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "inaccessible"}
    assert missing in result["description_placeholders"]["detail"]

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: simulator.url})
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_flow_unresponsive(hass: HomeAssistant, silent_port: str) -> None:
    """A port where nothing answers: the device sleeps (or it is not an MK3)."""
    result = await user_flow(hass, silent_port)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unresponsive"}


@pytest.mark.parametrize(
    ("probe_outcome", "error"),
    [
        (ProbeResult(ProbeStatus.IO_ERROR, "write failed"), "io_error"),
        (RuntimeError("boom"), "unknown"),
    ],
)
async def test_user_flow_rare_errors(
    hass: HomeAssistant, simulator: SimulatorThread, probe_outcome: object, error: str
) -> None:
    """A port that breaks while probed, and anything unexpected: a message, never a traceback."""
    kwargs = (
        {"side_effect": probe_outcome}
        if isinstance(probe_outcome, Exception)
        else {"return_value": probe_outcome}
    )
    with patch("custom_components.victron_mk3.config_flow.probe", **kwargs):
        result = await user_flow(hass, simulator.url)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}


async def test_user_flow_duplicate_port(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    """The same port twice is refused before it is opened."""
    mock_config_entry.add_to_hass(hass)
    result = await user_flow(hass, mock_config_entry.data[CONF_PORT])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_user_flow_known_adapter_new_path(hass: HomeAssistant, simulator: SimulatorThread) -> None:
    """The same adapter typed under another name updates the existing entry's path."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=USB_UNIQUE_ID, data={CONF_PORT: "/dev/ttyUSB7"}, version=1, minor_version=2
    )
    entry.add_to_hass(hass)
    with patch("homeassistant.components.usb.usb_device_from_path", return_value=usb_device(simulator.url)):
        result = await user_flow(hass, simulator.url)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_PORT] == simulator.url


async def test_usb_discovery(hass: HomeAssistant, simulator: SimulatorThread) -> None:
    """Plugged in: a confirm form titled with the adapter; unplugged meanwhile: the reason, then success."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USB}, data=usb_info(simulator.url)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "usb_confirm"
    assert result["description_placeholders"] == {"name": "MK3-USB Interface", "port": simulator.url}
    flows = hass.config_entries.flow.async_progress()
    assert flows[0]["context"]["title_placeholders"] == {"name": "MK3-USB Interface"}

    simulator.unplug()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "inaccessible"}

    simulator.replug()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == DEFAULT_NAME
    assert result["result"].unique_id == USB_UNIQUE_ID
    assert result["data"] == {
        CONF_PORT: simulator.url,
        CONF_MODEL: "MK3-USB Interface",
        CONF_SERIAL_NUMBER: USB_SERIAL,
    }


async def test_usb_discovery_updates_path(hass: HomeAssistant, simulator: SimulatorThread) -> None:
    """A known adapter under a new name: the entry follows it (j9brown's entries included)."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=USB_UNIQUE_ID, data={CONF_PORT: "/dev/ttyUSB0"}, version=1, minor_version=2
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USB}, data=usb_info(simulator.url)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_PORT] == simulator.url


async def test_usb_discovery_port_configured_by_hand(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    """An entry made by typing the same port: no second entry."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USB}, data=usb_info(mock_config_entry.data[CONF_PORT])
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def testreconfigure(hass: HomeAssistant, init_integration: MockConfigEntry, tmp_path: Path) -> None:
    """Moving to another interface probes it, stores it and reloads onto it."""
    with SimulatorThread(link=str(tmp_path / "ttyOther"), time_scale=0.0) as other:
        result = await reconfigure(hass, init_integration, other.url)
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert init_integration.data[CONF_PORT] == other.url
        assert init_integration.state is ConfigEntryState.LOADED
        assert init_integration.runtime_data.client.url == other.url
        await hass.config_entries.async_unload(init_integration.entry_id)


async def test_reconfigure_same_port(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """The port the running entry holds open is accepted without probing it."""
    result = await reconfigure(hass, init_integration, simulator.url)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"


async def test_reconfigure_errors(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread, tmp_path: Path
) -> None:
    """A port that does not open shows the reason; the entry keeps its port."""
    result = await reconfigure(hass, init_integration, str(tmp_path / "gone"))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "inaccessible"}
    assert init_integration.data[CONF_PORT] == simulator.url


async def test_reconfigure_to_usb_adapter(
    hass: HomeAssistant, init_integration: MockConfigEntry, simulator: SimulatorThread
) -> None:
    """Reconfigured to a USB adapter, the entry takes that adapter's unique id and reloads."""
    with patch("homeassistant.components.usb.usb_device_from_path", return_value=usb_device(simulator.url)):
        result = await reconfigure(hass, init_integration, simulator.url)
    assert result["reason"] == "reconfigure_successful"
    assert init_integration.unique_id == USB_UNIQUE_ID
    assert init_integration.data[CONF_SERIAL_NUMBER] == USB_SERIAL
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.LOADED


async def test_reconfigure_to_other_entries_port(
    hass: HomeAssistant, init_integration: MockConfigEntry, tmp_path: Path
) -> None:
    """The port or adapter of another entry is refused."""
    other = MockConfigEntry(
        domain=DOMAIN,
        unique_id=USB_UNIQUE_ID,
        data={CONF_PORT: str(tmp_path / "ttyOther")},
        version=1,
        minor_version=2,
    )
    other.add_to_hass(hass)
    result = await reconfigure(hass, init_integration, str(tmp_path / "ttyOther"))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"

    with patch(
        "homeassistant.components.usb.usb_device_from_path",
        return_value=usb_device(str(tmp_path / "ttyThird")),
    ):
        result = await reconfigure(hass, init_integration, str(tmp_path / "ttyThird"))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.parametrize("model", [MultiplusModel(phases=2)])
async def test_options(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Interval and extra phases are stored; the entry reloads with them."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 30, CONF_PHASES: ["2"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.options == {CONF_SCAN_INTERVAL: 30, CONF_PHASES: ["2"]}
    coordinator = init_integration.runtime_data
    assert coordinator.publish_interval == 30
    assert coordinator.sampler.phases == [1, 2]
