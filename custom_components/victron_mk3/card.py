"""The remote panel card: serves ``frontend/victron-mk3-panel.js`` and makes every dashboard load it.

No manual resource step: the file is served from the integration's own folder under a fixed
URL, and the frontend is told to load it as an extra module on every page (as it does for the
``frontend: extra_module_url:`` option). The URL carries a hash of the file, so a browser never
keeps running an old card after an update.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

from homeassistant.components.frontend import add_extra_js_url
from homeassistant.components.http.server import StaticPathConfig
from homeassistant.core import HomeAssistant
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, LOGGER

CARD_FILE: Final = Path(__file__).parent / "frontend" / "victron-mk3-panel.js"
CARD_URL: Final = f"/{DOMAIN}/victron-mk3-panel.js"
# Set once the card is registered: the web server refuses a second route for the same URL.
DATA_CARD_URL: HassKey[str] = HassKey(f"{DOMAIN}_card_url")


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


async def async_register_card(hass: HomeAssistant) -> str | None:
    """Serve the card and have the frontend load it; the URL loaded, None without a frontend.

    Without the ``frontend`` integration (a headless installation) nobody could show the card.
    """
    if DATA_CARD_URL in hass.data:
        return hass.data[DATA_CARD_URL]
    if "frontend" not in hass.config.components or hass.http is None:
        LOGGER.debug("No frontend loaded: the remote panel card is not registered")
        return None
    version = await hass.async_add_executor_job(_file_hash, CARD_FILE)
    # cache_headers: the URL changes with the file, so browsers may keep it for long.
    await hass.http.async_register_static_paths([StaticPathConfig(CARD_URL, str(CARD_FILE), True)])
    url = f"{CARD_URL}?v={version}"
    add_extra_js_url(hass, url)
    hass.data[DATA_CARD_URL] = url
    return url
