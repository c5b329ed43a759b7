"""Constants for the Victron MK3 integration."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

# Home Assistant's own names for the keys it shares with us, re-exported for the other modules.
from homeassistant.const import ATTR_DEVICE_ID, ATTR_MODE, CONF_MODEL, CONF_PORT, CONF_SCAN_INTERVAL

__all__ = ["ATTR_DEVICE_ID", "ATTR_MODE", "CONF_MODEL", "CONF_PORT", "CONF_SCAN_INTERVAL"]

DOMAIN: Final = "victron_mk3"
LOGGER = logging.getLogger(__package__)

# Entry data keys: "port" (CONF_PORT), "model" (CONF_MODEL) and "serial_number" are the ones
# j9brown/victron-mk3-hass stored, so its entries load unchanged. Home Assistant has no CONF_ name
# for the serial number.
CONF_SERIAL_NUMBER: Final = "serial_number"

# Options (and CONF_SCAN_INTERVAL).
CONF_PHASES: Final = "phases"
# ESS external control (off by default: nothing is written to the ESS assistant without it).
CONF_ESS_CONTROL: Final = "ess_control"
CONF_ESS_MAX_IMPORT: Final = "ess_max_import"
CONF_ESS_MAX_EXPORT: Final = "ess_max_export"
DEFAULT_ESS_MAX_IMPORT: Final = 3000
DEFAULT_ESS_MAX_EXPORT: Final = 3000
ESS_LIMIT_MAX: Final = 30000

# Service fields (ATTR_DEVICE_ID, ATTR_MODE and this one as j9brown/victron-mk3-hass named them).
ATTR_CURRENT_LIMIT: Final = "current_limit"
ATTR_ENABLED: Final = "enabled"

DEFAULT_NAME: Final = "Victron MK3"
MANUFACTURER: Final = "Victron Energy"
DEFAULT_MODEL: Final = "MK3-USB Interface"

# How often entities are written. The link is sampled as fast as 2400 baud allows
# (about 2.4 samples/s) regardless; a longer interval only keeps the recorder small.
DEFAULT_SCAN_INTERVAL: Final = timedelta(seconds=2)
MIN_SCAN_INTERVAL_SECONDS: Final = 0.5
MAX_SCAN_INTERVAL_SECONDS: Final = 3600
PHASES: Final = (1, 2, 3, 4)
