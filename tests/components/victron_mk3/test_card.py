"""The card's registration: served from the integration's folder, loaded by every frontend page."""

from __future__ import annotations

from homeassistant.components.frontend import DATA_EXTRA_MODULE_URL
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.victron_mk3.card import CARD_FILE, CARD_URL, DATA_CARD_URL, async_register_card


@pytest.fixture
async def frontend(hass: HomeAssistant) -> None:
    """The web interface, as a default configuration has it."""
    assert await async_setup_component(hass, "frontend", {})


@pytest.mark.usefixtures("frontend")
async def test_card_is_served_and_loaded_by_the_frontend(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    url = hass.data[DATA_CARD_URL]
    assert url.startswith(f"{CARD_URL}?v=")
    assert url in hass.data[DATA_EXTRA_MODULE_URL].urls
    client = await hass_client()
    response = await client.get(url)
    assert response.status == 200
    assert response.content_type in ("text/javascript", "application/javascript")
    assert await response.text() == await hass.async_add_executor_job(CARD_FILE.read_text)
    # A second entry (or a reload) must not register the route again: the server would refuse it.
    assert await async_register_card(hass) == url


async def test_no_frontend_no_card(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """A headless installation still sets the device up; there is just no card to serve."""
    assert init_integration.state.value == "loaded"
    assert DATA_CARD_URL not in hass.data
    assert await async_register_card(hass) is None
