"""The remote panel card in headless Chromium, on a real Home Assistant, against the simulator.

The card is the one the integration registers itself (no resource added by the test), on the
develop dashboard (``type: custom:victron-mk3-panel`` without a device: the first one). Clicks
and key presses go through Chromium's input pipeline, as a person's would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import time
from typing import Any

import pytest

from custom_components.victron_mk3.vebus_mk3.const import Led, SwitchState
from custom_components.victron_mk3.vebus_mk3.simulator import MultiplusModel, Simulator

from .browser import WAIT, CardSession, card_session

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CardSession]:
    """One Home Assistant, simulator and browser for the whole module, the dashboard open."""
    with card_session(tmp_path_factory.mktemp("card"), MultiplusModel(load_w=640.0, soc=0.62)) as session:
        session.open_dashboard()
        yield session


def wait_device(card: CardSession, read: Callable[[Simulator], object], want: object, what: str) -> None:
    """Until the simulated device shows ``want``."""
    deadline = time.monotonic() + WAIT
    while (value := card.sim.call(read)) != want:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: the device has {value!r}, expected {want!r}")
        time.sleep(0.2)


def led_states(sim: Simulator) -> dict[str, str]:
    flows = sim.model.flows()
    return {
        (led.name or "").lower(): "blink"
        if led in flows.leds_blink
        else "on"
        if led in flows.leds_on
        else "off"
        for led in Led
        if led.name
    }


CARD_LEDS_JS = (
    "Object.fromEntries([...root.querySelectorAll('[data-led]')].map(e => [e.dataset.led, e.dataset.state]))"
)
ACTIVE_MODE_JS = "root.querySelector('[data-mode][aria-checked=\"true\"]')?.dataset.mode"


def test_card_is_served_by_the_integration_and_shows_the_device(card: CardSession) -> None:
    """Mode, LEDs, the limit and its range, the readings: as the simulated device has them."""
    resources: list[str] = card.js("performance.getEntriesByType('resource').map(e => e.name)")
    scripts = [url for url in resources if "/victron_mk3/victron-mk3-panel.js?v=" in url]
    assert scripts, f"the frontend did not load the card from the integration: {resources}"
    # No network fetches: everything the page loaded came from Home Assistant itself.
    assert all(url.startswith(card.api.url) for url in resources), resources

    assert card.js("root.querySelector('.title').textContent") == "Victron MK3"
    assert card.js("root.querySelector('ha-card').dataset.availability") == "available"
    card.wait_js(f"{ACTIVE_MODE_JS} === 'on'", "the card to show mode On")
    expected = card.sim.call(led_states)
    assert expected["mains"] == "on", "the scene is on the grid"
    card.wait_value(CARD_LEDS_JS, expected, "the LEDs")

    model = card.sim.model
    slider = card.js("['min', 'max', 'value'].map(name => Number(root.querySelector('[data-limit]')[name]))")
    assert slider == [model.current_limit_min, model.current_limit_max, model.current_limit]
    assert card.js("root.querySelector('[data-limit-value]').textContent") == f"{model.current_limit:.1f} A"
    glance: dict[str, str] = card.js(
        "Object.fromEntries([...root.querySelectorAll('[data-glance]')].map(e => [e.dataset.glance,"
        " e.querySelector('.tile-value').textContent]))"
    )
    assert glance["ac_out"].endswith(" W"), glance
    assert glance["ac_in"].endswith(" W"), glance
    assert glance["battery"].endswith(" V"), glance
    assert card.js("root.querySelector('[data-standby]').getAttribute('aria-checked')") == "false"


def test_a_click_on_a_mode_switches_the_device(card: CardSession) -> None:
    card.click('[data-mode="charger_only"]')
    wait_device(card, lambda sim: sim.model.switch_state, SwitchState.CHARGER_ONLY, "after Charger only")
    card.wait_js(f"{ACTIVE_MODE_JS} === 'charger_only'", "the card to show Charger only")
    card.click('[data-mode="on"]')
    wait_device(card, lambda sim: sim.model.switch_state, SwitchState.ON, "after On")
    card.wait_js(f"{ACTIVE_MODE_JS} === 'on'", "the card to show On again")


def test_standby_toggle(card: CardSession) -> None:
    card.click("[data-standby]")
    card.wait_js("root.querySelector('[data-standby]').getAttribute('aria-checked') === 'true'", "standby on")
    state = card.run(card.api.state(card.entities["remote_panel_standby"]))
    assert state is not None
    assert state["state"] == "on"
    card.click("[data-standby]")
    card.wait_js(
        "root.querySelector('[data-standby]').getAttribute('aria-checked') === 'false'", "standby off"
    )


def _limit_and_commands(sim: Simulator) -> tuple[float, int]:
    return sim.model.current_limit, sim.count("S")


def test_the_limit_control_stays_within_the_device_range(card: CardSession) -> None:
    """End/Home on the slider go to the device's range; a step beyond it sends the bound, no error."""
    low, high = card.sim.call(lambda sim: (sim.model.current_limit_min, sim.model.current_limit_max))
    # The card reports a refused action as a toast (hass-notification): collect them.
    card.js(
        "(() => { window.cardToasts = []; window.addEventListener('hass-notification',"
        " (ev) => window.cardToasts.push(ev.detail.message), true); return true; })()"
    )
    assert card.js("[card.clampLimit(1000), card.clampLimit(-5), card.clampLimit(12.34)]") == [
        high,
        low,
        12.3,
    ]

    card.press("[data-limit]", "End", "End", 35)
    wait_device(card, lambda sim: sim.model.current_limit, high, "after End on the limit slider")
    card.wait_js(
        f"root.querySelector('[data-limit-value]').textContent === '{high:.1f} A'", "the maximum shown"
    )
    _, commands = card.sim.call(_limit_and_commands)
    card.click('[data-step="1"]')  # one more amp: the card sends the maximum, not an error
    deadline = time.monotonic() + WAIT
    while (now := card.sim.call(_limit_and_commands))[1] == commands:
        assert time.monotonic() < deadline, "the + button sent nothing"
        time.sleep(0.2)
    assert now[0] == high

    card.press("[data-limit]", "Home", "Home", 36)
    wait_device(card, lambda sim: sim.model.current_limit, low, "after Home on the limit slider")
    card.wait_js(
        f"root.querySelector('[data-limit-value]').textContent === '{low:.1f} A'", "the minimum shown"
    )
    card.click('[data-step="1"]')
    wait_device(card, lambda sim: sim.model.current_limit, round(low + 1, 1), "after + from the minimum")
    assert card.js("window.cardToasts") == [], "an action was refused"
    assert "out_of_range" not in card.process.log_since_start()


def test_alarm_leds_show_as_a_fault(card: CardSession) -> None:
    card.sim.call(lambda sim: setattr(sim.model, "over_temperature", True))
    try:
        card.wait_js(
            "root.querySelector('[data-banner=\"alarm\"]')?.textContent.includes('Temperature')", "the alarm"
        )
        assert card.js("root.querySelector('[data-led=\"temperature\"]').dataset.state") in ("on", "blink")
    finally:
        card.sim.call(lambda sim: setattr(sim.model, "over_temperature", False))
    card.wait_js("!root.querySelector('[data-banner=\"alarm\"]')", "the alarm to clear")


EDITOR_JS = """
(async () => {
  const hass = document.querySelector('home-assistant').hass;
  const Card = customElements.get('victron-mk3-panel');
  // What the card editor dialog loads before it shows an editor.
  const helpers = await window.loadCardHelpers();
  const entities = await helpers.createCardElement({type: 'entities', entities: []});
  await entities.constructor.getConfigElement();
  await customElements.whenDefined('ha-form');
  const stub = Card.getStubConfig(hass);
  const editor = await Card.getConfigElement();
  const changes = [];
  editor.addEventListener('config-changed', (ev) => changes.push(ev.detail.config));
  document.body.appendChild(editor);
  editor.setConfig({type: 'custom:victron-mk3-panel', ...stub});
  editor.hass = hass;
  const form = editor.querySelector('ha-form');
  form.dispatchEvent(new CustomEvent('value-changed', {detail: {value: {...form.data, title: 'Boat'}}}));
  const result = {stub, changes, schema: form.schema, data: form.data};
  editor.remove();
  return result;
})()
"""


def test_visual_editor_picks_the_device(card: CardSession) -> None:
    result: dict[str, Any] = card.js(EDITOR_JS)
    assert result["stub"] == {"device": card.device_id}
    assert result["schema"][0]["selector"] == {"device": {"filter": {"integration": "victron_mk3"}}}
    assert result["changes"] == [
        {"type": "custom:victron-mk3-panel", "device": card.device_id, "title": "Boat"}
    ]


def _background_luminance(card: CardSession) -> float:
    rgb: list[float] = card.js(
        "getComputedStyle(root.querySelector('ha-card')).backgroundColor.match(/\\d+(\\.\\d+)?/g).map(Number)"
    )
    red, green, blue = rgb[:3]
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def test_dark_theme_on_a_phone(card: CardSession) -> None:
    """A 360 px wide phone in dark mode: nothing sticks out, the card follows the theme."""
    card.open_dashboard(width=360, height=800, dark=True)
    try:
        card.wait_js(f"{ACTIVE_MODE_JS}", "the card on a phone")
        overflow = card.js(
            "[...root.querySelectorAll('.content, .content > *')]"
            ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.className)"
        )
        assert overflow == [], f"wider than the phone: {overflow}"
        assert card.js("card.getBoundingClientRect().right") <= 360
        assert _background_luminance(card) < 0.3
    finally:
        card.open_dashboard()
    assert _background_luminance(card) > 0.7


def test_card_shows_unavailable_when_the_port_is_pulled(card: CardSession) -> None:
    card.sim.unplug()
    try:
        card.wait_js("root.querySelector('ha-card')?.dataset.availability === 'unavailable'", "unavailable")
        assert "Unavailable" in card.js("root.querySelector('[data-banner=\"unavailable\"]').textContent")
        assert card.js("[...root.querySelectorAll('[data-mode]')].every(b => b.disabled)")
        assert card.js("root.querySelector('[data-limit]').disabled")
    finally:
        card.sim.replug()
    card.wait_js("root.querySelector('ha-card')?.dataset.availability === 'available'", "available again", 60)
