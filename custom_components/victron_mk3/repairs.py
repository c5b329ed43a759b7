"""The repair issues an entry raises: the device asleep for long, standby not kept.

Issue ids end in ``_<entry id>`` so that removing the entry removes them (``__init__``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN

if TYPE_CHECKING:  # the coordinator imports this module
    from .coordinator import VictronMk3ConfigEntry

# A device asleep this long while standby is off gets a repair issue explaining why.
ASLEEP_REPAIR_AFTER = 180.0
DEVICE_ASLEEP = "device_asleep"
STANDBY_NOT_KEPT = "standby_not_kept"


def issue_id(kind: str, entry_id: str) -> str:
    """The id of one entry's issue of one kind."""
    return f"{kind}_{entry_id}"


@callback
def async_set_issue(
    hass: HomeAssistant, entry: VictronMk3ConfigEntry, kind: str, port: str, *, raised: bool
) -> None:
    """Raise (or clear) one entry's issue of one kind; both are idempotent."""
    if not raised:
        ir.async_delete_issue(hass, DOMAIN, issue_id(kind, entry.entry_id))
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(kind, entry.entry_id),
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=kind,
        translation_placeholders={"title": entry.title, "port": port},
    )
