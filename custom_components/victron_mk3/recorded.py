"""The recorder's last states of an entity: what a restore must not fall short of."""

from __future__ import annotations

from homeassistant.components.recorder import history
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers.recorder import async_migration_in_progress, get_instance
from sqlalchemy.exc import SQLAlchemyError

from .const import LOGGER

# How many of an entity's last recorded states are searched. Outages and restarts put
# "unavailable" rows after the last real value; more than a few in a row mean clean
# restarts, whose restore data is current anyway. One query per entity at setup.
RECORDED_STATES_SEARCHED = 10


async def async_last_recorded_states(hass: HomeAssistant, entity_id: str) -> list[State]:
    """The entity's last recorded states, oldest first; none without a (ready) recorder."""
    if "recorder" not in hass.config.components or async_migration_in_progress(hass):
        return []
    try:
        recorded = await get_instance(hass).async_add_executor_job(
            history.get_last_state_changes, hass, RECORDED_STATES_SEARCHED, entity_id
        )
    except SQLAlchemyError as err:
        LOGGER.warning("Could not read the recorded states of %s: %s", entity_id, err)
        return []
    return recorded.get(entity_id.lower(), [])
