"""Switching from each earlier integration with this domain: every entity id stays, with its device.

The registry is filled as each release filled it (``peer_releases``: unique ids and keys from their
sources), then this integration starts against the simulator and migrates the entry.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_mk3.binary_sensor import BINARY_SENSORS
from custom_components.victron_mk3.button import BUTTONS
from custom_components.victron_mk3.const import CONF_PORT, DOMAIN
from custom_components.victron_mk3.energy_sensor import ENERGY_SENSORS
from custom_components.victron_mk3.migration import CURRENT_MINOR_VERSION, RENAMED_KEYS
from custom_components.victron_mk3.number import REMOTE_PANEL_CURRENT_LIMIT
from custom_components.victron_mk3.select import REMOTE_PANEL_MODE
from custom_components.victron_mk3.sensor import SENSORS, phase_sensors
from custom_components.victron_mk3.switch import REMOTE_PANEL_STANDBY
from custom_components.victron_mk3.vebus_mk3.simulator import SimulatorThread

from .common import ENTRY_ID
from .peer_releases import RELEASES, PeerEntity, PeerRelease

# Every (platform, key) this integration can create.
OUR_ENTITIES = {
    *((Platform.SENSOR, d.key) for d in SENSORS),
    *((Platform.SENSOR, d.key) for phase in (1, 2, 3, 4) for d in phase_sensors(phase)),
    *((Platform.SENSOR, d.key) for d in ENERGY_SENSORS),
    *((Platform.BINARY_SENSOR, d.key) for d in BINARY_SENSORS),
    *((Platform.BUTTON, d.key) for d in BUTTONS),
    (Platform.NUMBER, REMOTE_PANEL_CURRENT_LIMIT.key),
    (Platform.SELECT, REMOTE_PANEL_MODE.key),
    (Platform.SWITCH, REMOTE_PANEL_STANDBY.key),
}


def install_peer(
    hass: HomeAssistant,
    release: PeerRelease,
    port: str,
    *,
    rename: dict[str, str] | None = None,
    options: dict[str, object] | None = None,
) -> tuple[MockConfigEntry, dr.DeviceEntry, dict[PeerEntity, str]]:
    """The entry, device and entity registry entries the release made; entity ids by entity.

    ``rename``: entity ids the user changed, by key.
    """
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Victron MK3",
        data={CONF_PORT: port},
        options=options or {},
        entry_id=ENTRY_ID,
        version=1,
        minor_version=1,
    )
    entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        name=entry.title,
        manufacturer="Victron Energy",
        identifiers={(DOMAIN, port)},
    )
    entity_registry = er.async_get(hass)
    entity_ids: dict[PeerEntity, str] = {}
    for peer in release.entities:
        registry_entry = entity_registry.async_get_or_create(
            peer.domain,
            DOMAIN,
            f"{device.id}-{peer.key}",
            config_entry=entry,
            device_id=device.id,
            suggested_object_id=peer.object_id(entry.title),
            disabled_by=None if peer.enabled else er.RegistryEntryDisabler.INTEGRATION,
        )
        if rename and peer.key in rename:
            registry_entry = entity_registry.async_update_entity(
                registry_entry.entity_id, new_entity_id=rename[peer.key]
            )
        entity_ids[peer] = registry_entry.entity_id
    return entry, device, entity_ids


def test_catalogue_is_consistent() -> None:
    """Each release's "not covered" entities are its own, and renames never chain."""
    for release in RELEASES:
        assert release.not_covered <= {(peer.domain, peer.key) for peer in release.entities}, release.name
    assert not set(RENAMED_KEYS) & set(RENAMED_KEYS.values())


@pytest.mark.parametrize("release", RELEASES, ids=lambda release: release.name)
async def test_switch_keeps_entity_ids(
    hass: HomeAssistant,
    simulator: SimulatorThread,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
    release: PeerRelease,
) -> None:
    """Every entity id stays on the same device; each one this integration has shows its value."""
    entry, device, entity_ids = install_peer(hass, release, simulator.url)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert (entry.version, entry.minor_version) == (1, CURRENT_MINOR_VERSION)
    adopted = device_registry.async_get(device.id)
    assert adopted is not None
    assert adopted.identifiers == {(DOMAIN, ENTRY_ID)}
    # The peer's device is the Multi; the MK3 interface is a device of its own beside it.
    devices = dr.async_entries_for_config_entry(device_registry, ENTRY_ID)
    assert {frozenset(d.identifiers) for d in devices} == {
        frozenset({(DOMAIN, ENTRY_ID)}),
        frozenset({(DOMAIN, f"{ENTRY_ID}-interface")}),
    }
    not_covered = set()
    for peer, entity_id in entity_ids.items():
        registry_entry = entity_registry.async_get(entity_id)
        assert registry_entry is not None, entity_id
        assert registry_entry.device_id == device.id, entity_id
        key = RENAMED_KEYS.get(peer.key, peer.key)
        assert registry_entry.unique_id == f"{ENTRY_ID}-{key}", entity_id
        if (peer.domain, key) not in OUR_ENTITIES:
            not_covered.add((peer.domain, peer.key))
        elif peer.enabled:
            state = hass.states.get(entity_id)
            assert state is not None, entity_id
            assert state.state != STATE_UNAVAILABLE, entity_id
    assert not_covered == release.not_covered
    # Nothing was added beside them: Home Assistant would have suffixed a second entity id "_2".
    ours = er.async_entries_for_config_entry(entity_registry, ENTRY_ID)
    assert not [entity.entity_id for entity in ours if entity.entity_id.endswith("_2")]
    assert {entity.device_id for entity in ours} == {device.id}
