"""Config flow: the USB unique id names only the adapter an entry really uses."""

from __future__ import annotations

from pathlib import Path
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USB, ConfigEntryDisabler
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.victron_mk3.const import CONF_PORT, DOMAIN
from custom_components.victron_mk3.vebus_mk3.simulator import MultiplusModel, SimulatorThread

from .flow_helpers import USB_UNIQUE_ID, reconfigure, usb_device, usb_entry, usb_info, user_flow


@pytest.mark.usefixtures("socket_enabled")
async def test_reconfigure_usb_entry_to_ser2net(
    hass: HomeAssistant, simulator: SimulatorThread, model: MultiplusModel
) -> None:
    """Moved to a ser2net URL, the entry drops the adapter's id: its discovery then starts a new flow."""
    entry = usb_entry(simulator.url)
    entry.add_to_hass(hass)
    with SimulatorThread(model=model, tcp_port=0, pty=False, time_scale=0.0) as remote:
        url = remote.tcp_url
        assert url is not None
        result = await reconfigure(hass, entry, url)
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert entry.data[CONF_PORT] == url
        assert entry.unique_id is None

        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_USB}, data=usb_info(simulator.url)
        )
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "usb_confirm"
        assert entry.data[CONF_PORT] == url
        await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_same_path_keeps_usb_id(hass: HomeAssistant, simulator: SimulatorThread) -> None:
    """The same device path, even when enumeration does not see the adapter now, keeps its id."""
    entry = usb_entry(simulator.url)
    entry.add_to_hass(hass)
    result = await reconfigure(hass, entry, simulator.url)
    assert result["reason"] == "reconfigure_successful"
    assert entry.unique_id == USB_UNIQUE_ID
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_usb_entry_to_other_path(
    hass: HomeAssistant, simulator: SimulatorThread, tmp_path: Path
) -> None:
    """Moved to a path that is not a USB adapter, the entry drops the adapter's id."""
    entry = usb_entry(str(tmp_path / "ttyOld"))
    entry.add_to_hass(hass)
    result = await reconfigure(hass, entry, simulator.url)
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_PORT] == simulator.url
    assert entry.unique_id is None
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("socket_enabled")
async def test_user_flow_adapter_refused_then_ser2net(
    hass: HomeAssistant, model: MultiplusModel, tmp_path: Path
) -> None:
    """An adapter typed first and refused does not lend its id to the URL typed next."""
    missing = str(tmp_path / "ttyUSB0")
    with patch("homeassistant.components.usb.usb_device_from_path", return_value=usb_device(missing)):
        result = await user_flow(hass, missing)
    assert result["errors"] == {"base": "inaccessible"}
    with SimulatorThread(model=model, tcp_port=0, pty=False, time_scale=0.0) as remote:
        url = remote.tcp_url
        assert url is not None
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_PORT: url})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["result"].unique_id is None
        assert result["data"] == {CONF_PORT: url}
        await hass.async_block_till_done()
        await hass.config_entries.async_unload(result["result"].entry_id)


async def test_usb_discovery_clears_stale_id(hass: HomeAssistant, simulator: SimulatorThread) -> None:
    """An entry an earlier release left on ser2net with the adapter's id is not re-pointed."""
    entry = usb_entry("socket://192.0.2.7:3333")
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USB}, data=usb_info(simulator.url)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "usb_confirm"
    assert entry.data[CONF_PORT] == "socket://192.0.2.7:3333"
    assert entry.unique_id is None


async def test_user_flow_adapter_with_stale_id(hass: HomeAssistant, simulator: SimulatorThread) -> None:
    """Typing the adapter an entry on ser2net still names: a new entry, the ser2net one left alone."""
    # Disabled: not set up with the new entry (nothing answers at that address).
    stale = usb_entry("socket://192.0.2.7:3333", disabled_by=ConfigEntryDisabler.USER)
    stale.add_to_hass(hass)
    with patch("homeassistant.components.usb.usb_device_from_path", return_value=usb_device(simulator.url)):
        result = await user_flow(hass, simulator.url)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == USB_UNIQUE_ID
    assert stale.data[CONF_PORT] == "socket://192.0.2.7:3333"
    assert stale.unique_id is None
    await hass.async_block_till_done()
    await hass.config_entries.async_unload(result["result"].entry_id)
