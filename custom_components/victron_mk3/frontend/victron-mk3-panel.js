// Victron MK3 remote panel: a Lovelace card in the layout of Victron's Digital Multi Control.
// Served and loaded by the integration itself (frontend.py); plain JS, no build step, no imports,
// no network requests. Entities are found through the entity registry (platform + device +
// translation key), so renaming the device or its entities breaks nothing.
const DOMAIN = "victron_mk3";
const CARD = "victron-mk3-panel";

// Translation key of each entity the card uses (they never change with a rename).
const KEYS = {
  mode: "remote_panel_mode",
  limit: "remote_panel_current_limit",
  standby: "remote_panel_standby",
  lit: "lit_indicators",
  blinking: "blinking_indicators",
  state: "device_state",
  charge: "charge_stage",
  mains: "mains_present",
  acInPower: "ac_input_power",
  acInVoltage: "ac_input_voltage",
  acOutPower: "ac_output_power",
  acOutVoltage: "ac_output_voltage",
  batteryVoltage: "battery_voltage",
  batteryPower: "battery_power",
  soc: "battery_state_of_charge",
};

const MODE_LABELS = { on: "On", charger_only: "Charger only", inverter_only: "Inverter only", off: "Off" };
// The Digital Multi Control's LEDs: charger column, inverter column (key, label, colour).
const LED_COLUMNS = [
  [["mains", "Mains on", "ok"], ["bulk", "Bulk", "charge"], ["absorption", "Absorption", "charge"], ["float", "Float", "charge"]],
  [["inverter", "Inverter on", "ok"], ["overload", "Overload", "alarm"], ["low_battery", "Low battery", "alarm"], ["temperature", "Temperature", "alarm"]],
];
const ALARMS = { overload: "Overload", low_battery: "Low battery", temperature: "Temperature" };
const UNAVAILABLE = ["unavailable", "unknown", undefined];

const escape = (text) =>
  String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

/** Device ids that have entities of this integration, in registry order. */
function panelDevices(hass) {
  const ids = [];
  for (const entry of Object.values(hass?.entities ?? {})) {
    if (entry.platform === DOMAIN && entry.device_id && !ids.includes(entry.device_id)) ids.push(entry.device_id);
  }
  return ids;
}

/** Entity id per key for one device (the first entity with that translation key). */
function panelEntities(hass, deviceId) {
  const found = {};
  const wanted = Object.fromEntries(Object.entries(KEYS).map(([key, tk]) => [tk, key]));
  for (const entry of Object.values(hass?.entities ?? {})) {
    const key = wanted[entry.translation_key];
    if (key && entry.platform === DOMAIN && entry.device_id === deviceId && !found[key]) found[key] = entry.entity_id;
  }
  return found;
}

const deviceName = (hass, id) => {
  const device = hass?.devices?.[id];
  return device?.name_by_user || device?.name || "Victron MK3";
};

const indicatorSet = (state) => new Set(UNAVAILABLE.includes(state) || state === "none" ? [] : state.split("|"));

/** Make ``from``'s children look like ``to``'s, keeping every node that can stay (focus, presses). */
function morph(from, to, keepSliderValue) {
  const olds = [...from.childNodes];
  const news = [...to.childNodes];
  news.forEach((wanted, index) => {
    const node = olds[index];
    if (!node) from.appendChild(wanted);
    else if (node.nodeType !== wanted.nodeType || node.nodeName !== wanted.nodeName) from.replaceChild(wanted, node);
    else if (node.nodeType !== Node.ELEMENT_NODE) {
      if (node.nodeValue !== wanted.nodeValue) node.nodeValue = wanted.nodeValue;
    } else {
      for (const { name } of [...node.attributes]) if (!wanted.hasAttribute(name)) node.removeAttribute(name);
      for (const { name, value } of [...wanted.attributes]) if (node.getAttribute(name) !== value) node.setAttribute(name, value);
      // A range input's value attribute only sets its default: the property is what shows.
      if (node.localName === "input" && !keepSliderValue && node.value !== wanted.getAttribute("value")) node.value = wanted.getAttribute("value");
      morph(node, wanted, keepSliderValue);
    }
  });
  for (const extra of olds.slice(news.length)) extra.remove();
}

class VictronMk3Panel extends HTMLElement {
  static getConfigElement() {
    return document.createElement(`${CARD}-editor`);
  }

  static getStubConfig(hass) {
    const [device] = panelDevices(hass);
    return device ? { device } : {};
  }

  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this._signature = "";
    this._dragging = false;
    // Delegated once: the DOM is patched in place (morph), never rebuilt, so a press and its
    // release land on the same button even when a state update arrives in between.
    const root = this.shadowRoot;
    root.addEventListener("click", (ev) => this._onClick(ev));
    root.addEventListener("pointerdown", (ev) => { if (ev.target.matches?.("[data-limit]")) this._dragging = true; });
    for (const type of ["pointerup", "pointercancel", "focusout"]) {
      root.addEventListener(type, () => { if (this._dragging) { this._dragging = false; this._render(); } });
    }
    root.addEventListener("input", (ev) => {
      if (!ev.target.matches?.("[data-limit]")) return;
      root.querySelector("[data-limit-value]").textContent = `${Number(ev.target.value).toFixed(1)} A`;
    });
    root.addEventListener("change", (ev) => {
      if (!ev.target.matches?.("[data-limit]")) return;
      this._dragging = false;
      this._setLimit(Number(ev.target.value));
    });
  }

  setConfig(config) {
    if (!config || typeof config !== "object") throw new Error("Invalid configuration");
    if (config.device !== undefined && typeof config.device !== "string") throw new Error("device must be a device id");
    this._config = config;
    this._signature = "";
    this._render();
  }

  set hass(hass) {
    this._hass = hass;
    this._render();
  }

  connectedCallback() {
    this._signature = "";
    this._render();
  }

  getCardSize() {
    return 7;
  }

  getGridOptions() {
    return { columns: 12, min_columns: 6, rows: "auto" };
  }

  get _deviceId() {
    return this._config?.device || panelDevices(this._hass)[0];
  }

  _state(key) {
    const id = this._entities?.[key];
    return id ? this._hass.states[id] : undefined;
  }

  _format(key) {
    const stateObj = this._state(key);
    if (!stateObj || UNAVAILABLE.includes(stateObj.state)) return "—";
    if (this._hass.formatEntityState) return this._hass.formatEntityState(stateObj);
    const unit = stateObj.attributes.unit_of_measurement;
    return unit ? `${stateObj.state} ${unit}` : stateObj.state;
  }

  _render() {
    if (!this._hass || !this._config) return;
    const deviceId = this._deviceId;
    this._entities = deviceId ? panelEntities(this._hass, deviceId) : {};
    const used = Object.values(this._entities).map((id) => this._hass.states[id]);
    const signature = JSON.stringify([this._config, deviceId, deviceName(this._hass, deviceId), this._pending, this._hass.themes?.darkMode,
      used.map((s) => (s ? [s.entity_id, s.state, s.attributes.min, s.attributes.max] : null))]);
    if (signature === this._signature) return;
    this._signature = signature;
    let html;
    try {
      html = `<style>${STYLE}</style>${this._template(deviceId)}`;
    } catch (err) {
      // A frontend mid-way through loading (no translations or registry yet): try at the next update.
      console.warn("victron-mk3-panel: cannot render yet", err);
      this._signature = "";
      return;
    }
    const next = document.createElement("template");
    next.innerHTML = html;
    morph(this.shadowRoot, next.content, this._dragging);
  }

  _template(deviceId) {
    const title = escape(this._config.title || deviceName(this._hass, deviceId));
    if (!deviceId || !this._entities.mode) {
      return `<ha-card><div class="content"><div class="title">${title}</div>
        <div class="banner unavailable" data-banner="missing">No Victron MK3 device found. Add the integration, or pick the device in the card's editor.</div></div></ha-card>`;
    }
    const mode = this._state("mode");
    const available = mode && !UNAVAILABLE.includes(mode.state);
    const lit = indicatorSet(this._state("lit")?.state);
    const blinking = indicatorSet(this._state("blinking")?.state);
    const alarms = Object.entries(ALARMS).filter(([key]) => lit.has(key) || blinking.has(key))
      .map(([key, label]) => `${label}${blinking.has(key) && !lit.has(key) ? " (pre-alarm)" : ""}`);
    const deviceState = this._state("state");
    const banners = [];
    if (!available) banners.push(`<div class="banner unavailable" data-banner="unavailable" role="alert">Unavailable: the MK3 interface or the device does not answer</div>`);
    else {
      if (deviceState?.state === "down") banners.push(`<div class="banner fault" data-banner="fault" role="alert">Device down</div>`);
      if (alarms.length) banners.push(`<div class="banner fault" data-banner="alarm" role="alert">${escape(alarms.join(" · "))}</div>`);
    }
    return `<ha-card data-availability="${available ? "available" : "unavailable"}">
      <div class="content">
        <div class="header">
          <div class="title">${title}</div>
          <button class="chip" data-more="state">${escape(available ? this._format("state") : "Unavailable")}</button>
        </div>
        ${banners.join("")}
        <div class="leds ${available ? "" : "dim"}">${LED_COLUMNS.map((column, index) => `<div class="column">
          <div class="column-title">${index ? "Inverter" : "Charger"}</div>
          ${column.map(([key, label, colour]) => {
            const state = !available ? "off" : blinking.has(key) ? "blink" : lit.has(key) ? "on" : "off";
            return `<div class="led" data-led="${key}" data-state="${state}"><span class="lamp ${colour} ${state}"></span>${label}</div>`;
          }).join("")}</div>`).join("")}
        </div>
        ${this._modeTemplate(mode, available)}
        ${this._limitTemplate(available)}
        ${this._standbyTemplate(available)}
        ${this._glanceTemplate(available)}
      </div></ha-card>`;
  }

  _modeTemplate(mode, available) {
    const options = mode?.attributes?.options ?? Object.keys(MODE_LABELS);
    return `<div class="section"><div class="label">Mode</div><div class="modes" role="radiogroup" aria-label="Mode">
      ${options.map((option) => `<button class="mode ${mode?.state === option ? "active" : ""}" role="radio"
        aria-checked="${mode?.state === option}" data-mode="${escape(option)}"
        ${available ? "" : "disabled"}>${escape(MODE_LABELS[option] ?? option)}</button>`).join("")}
    </div></div>`;
  }

  _limitTemplate(available) {
    const limit = this._state("limit");
    if (!limit) return "";
    const usable = available && !UNAVAILABLE.includes(limit.state);
    const { min = 0, max = 100, step = 0.1 } = limit.attributes;
    const held = this._dragging && this.shadowRoot.querySelector("[data-limit]");
    const value = this._pending ?? (held ? Number(held.value) : usable ? Number(limit.state) : min);
    const unit = limit.attributes.unit_of_measurement ?? "A";
    return `<div class="section"><div class="label">AC input current limit
        <span class="range">${escape(min)}–${escape(max)} ${escape(unit)}</span></div>
      <div class="limit">
        <button class="step" data-step="-1" aria-label="Lower the limit" ${usable ? "" : "disabled"}>−</button>
        <input type="range" data-limit min="${escape(min)}" max="${escape(max)}" step="${escape(step)}"
          value="${escape(value)}" aria-label="AC input current limit" ${usable ? "" : "disabled"}>
        <button class="step" data-step="1" aria-label="Raise the limit" ${usable ? "" : "disabled"}>+</button>
        <span class="value" data-limit-value>${usable ? `${escape(Number(value).toFixed(1))} ${escape(unit)}` : "—"}</span>
      </div></div>`;
  }

  _standbyTemplate(available) {
    const standby = this._state("standby");
    if (!standby) return "";
    const on = standby.state === "on";
    const usable = available && !UNAVAILABLE.includes(standby.state);
    return `<div class="section row"><div class="label">Standby <span class="hint">keeps the Multi awake while off</span></div>
      <button class="toggle ${on ? "on" : ""}" role="switch" aria-checked="${on}" data-standby
        aria-label="Standby" ${usable ? "" : "disabled"}><span class="knob"></span></button></div>`;
  }

  _glanceTemplate(available) {
    const tile = (name, key, more, detail) => `<button class="tile" data-more="${more}" data-glance="${name}">
        <span class="tile-title">${name === "ac_in" ? "AC in" : name === "ac_out" ? "AC out" : "Battery"}</span>
        <span class="tile-value">${escape(available ? this._format(key) : "—")}</span>
        <span class="tile-detail">${escape(available ? detail : "")}</span></button>`;
    const mains = this._state("mains");
    const soc = this._state("soc");
    const socText = soc && !UNAVAILABLE.includes(soc.state) ? `${this._format("soc")} · ` : "";
    return `<div class="glance">
      ${tile("ac_in", "acInPower", "acInPower", `${this._format("acInVoltage")}${mains?.state === "off" ? " · no mains" : ""}`)}
      ${tile("ac_out", "acOutPower", "acOutPower", this._format("acOutVoltage"))}
      ${tile("battery", "batteryVoltage", "batteryVoltage", `${socText}${this._format("batteryPower")}`)}
    </div>`;
  }

  _onClick(ev) {
    const button = ev.target.closest?.("button");
    if (!button || button.disabled) return;
    const { mode, step, more } = button.dataset;
    if (mode) this._call("select", "select_option", "mode", { option: mode });
    else if (step) this._setLimit(Number(this._pending ?? this._state("limit")?.state) + Number(step));
    else if (button.hasAttribute("data-standby")) {
      this._call("switch", this._state("standby")?.state === "on" ? "turn_off" : "turn_on", "standby", {});
    } else if (more && this._entities[more]) {
      const entityId = this._entities[more];
      this.dispatchEvent(new CustomEvent("hass-more-info", { detail: { entityId }, bubbles: true, composed: true }));
    }
  }

  /** The limit, clamped to the device's range and rounded to the entity's step. */
  clampLimit(value) {
    const { min = 0, max = 100, step = 0.1 } = this._state("limit")?.attributes ?? {};
    const stepped = Math.round(value / step) * step;
    return Number(Math.min(max, Math.max(min, stepped)).toFixed(3));
  }

  async _setLimit(value) {
    this._pending = this.clampLimit(value);
    this._render();
    try {
      await this._call("number", "set_value", "limit", { value: this._pending });
    } finally {
      this._pending = undefined;
      this._signature = "";
      this._render();
    }
  }

  async _call(domain, service, key, data) {
    const entityId = this._entities[key];
    if (!entityId) return;
    try {
      await this._hass.callService(domain, service, { entity_id: entityId, ...data });
    } catch (err) {
      this.dispatchEvent(new CustomEvent("hass-notification", {
        detail: { message: `Victron MK3: ${err?.message ?? err}` }, bubbles: true, composed: true }));
    }
  }
}

class VictronMk3PanelEditor extends HTMLElement {
  setConfig(config) {
    this._config = config;
    this._render();
  }

  set hass(hass) {
    this._hass = hass;
    this._render();
  }

  _render() {
    if (!this._hass || !this._config) return;
    if (!customElements.get("ha-form")) {
      // The editor dialog defines ha-form; until then a plain list of the devices.
      customElements.whenDefined("ha-form").then(() => this._render());
      const options = panelDevices(this._hass).map((id) =>
        `<option value="${escape(id)}" ${id === this._config.device ? "selected" : ""}>${escape(deviceName(this._hass, id))}</option>`);
      this.innerHTML = `<label>Device <select data-device>${options.join("")}</select></label>`;
      this.querySelector("select").addEventListener("change", (ev) => this._changed({ ...this._config, device: ev.target.value }));
      return;
    }
    let form = this.querySelector("ha-form");
    if (!form) {
      this.innerHTML = "";
      form = document.createElement("ha-form");
      form.schema = [
        { name: "device", selector: { device: { filter: { integration: DOMAIN } } } },
        { name: "title", selector: { text: {} } },
      ];
      form.computeLabel = (field) => ({ device: "Device", title: "Title (optional)" })[field.name];
      form.addEventListener("value-changed", (ev) => this._changed(ev.detail.value));
      this.appendChild(form);
    }
    form.hass = this._hass;
    form.data = this._config;
  }

  _changed(value) {
    const config = Object.fromEntries(Object.entries({ ...value, type: `custom:${CARD}` }).filter(([, v]) => v !== "" && v != null));
    this._config = config;
    this.dispatchEvent(new CustomEvent("config-changed", { detail: { config }, bubbles: true, composed: true }));
  }
}

const STYLE = `
  :host { display: block; }
  .content { padding: 16px; display: flex; flex-direction: column; gap: 14px; color: var(--primary-text-color);
    container-type: inline-size; }
  .header { display: flex; align-items: center; justify-content: space-between; gap: 8px; flex-wrap: wrap; }
  .title { font-size: var(--ha-card-header-font-size, 20px); font-weight: 500; }
  button { font: inherit; color: inherit; cursor: pointer; }
  button:disabled { cursor: default; opacity: 0.5; }
  .chip { border: 1px solid var(--divider-color); border-radius: 16px; padding: 4px 12px; background: none; }
  .banner { border-radius: 8px; padding: 8px 12px; font-weight: 500; }
  .banner.unavailable { background: var(--secondary-background-color); color: var(--secondary-text-color); border: 1px dashed var(--divider-color); }
  .banner.fault { background: var(--error-color, #db4437); color: var(--text-primary-color, #fff); }
  .leds { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; padding: 12px; border-radius: 12px;
    background: var(--secondary-background-color); }
  .leds.dim { opacity: 0.5; }
  .column { display: flex; flex-direction: column; gap: 6px; min-width: 0; }
  .column-title, .label { color: var(--secondary-text-color); font-size: 0.9em; }
  .led { display: flex; align-items: center; gap: 8px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .lamp { flex: none; width: 12px; height: 12px; border-radius: 50%; border: 2px solid var(--disabled-text-color, #bdbdbd); box-sizing: border-box; }
  .lamp.ok { --lamp: var(--success-color, #43a047); }
  .lamp.charge { --lamp: var(--warning-color, #ffa600); }
  .lamp.alarm { --lamp: var(--error-color, #db4437); }
  .lamp.on, .lamp.blink { background: var(--lamp); border-color: var(--lamp); box-shadow: 0 0 6px var(--lamp); }
  .lamp.blink { animation: blink 1s steps(1, end) infinite; }
  @keyframes blink { 50% { background: transparent; box-shadow: none; } }
  @media (prefers-reduced-motion: reduce) { .lamp.blink { animation: none; background: linear-gradient(90deg, var(--lamp) 50%, transparent 50%); } }
  .section { display: flex; flex-direction: column; gap: 6px; }
  .section.row { flex-direction: row; align-items: center; justify-content: space-between; }
  .range, .hint { opacity: 0.8; margin-left: 4px; }
  .modes { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 6px; }
  @container (max-width: 420px) { .modes { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
  .mode { padding: 8px 6px; border-radius: 8px; border: 1px solid var(--divider-color); background: none; }
  .mode.active { background: var(--primary-color); border-color: var(--primary-color); color: var(--text-primary-color, #fff); }
  .limit { display: flex; align-items: center; gap: 8px; }
  .limit input { flex: 1; min-width: 60px; accent-color: var(--primary-color); }
  .step { width: 36px; height: 36px; border-radius: 50%; border: 1px solid var(--divider-color); background: none; font-size: 1.2em; }
  .value { min-width: 64px; text-align: right; font-variant-numeric: tabular-nums; font-weight: 500; }
  .toggle { position: relative; flex: none; width: 44px; height: 24px; border-radius: 12px; border: none;
    background: var(--switch-unchecked-track-color, var(--disabled-text-color, #9e9e9e)); }
  .toggle.on { background: var(--switch-checked-track-color, var(--primary-color)); }
  .knob { position: absolute; top: 3px; left: 3px; width: 18px; height: 18px; border-radius: 50%; background: #fff; transition: left 0.15s; }
  .toggle.on .knob { left: 23px; }
  .glance { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 8px; }
  .tile { display: flex; flex-direction: column; align-items: flex-start; gap: 2px; padding: 8px; min-width: 0; text-align: left;
    border-radius: 8px; border: 1px solid var(--divider-color); background: none; }
  .tile-title, .tile-detail { color: var(--secondary-text-color); font-size: 0.85em; }
  .tile-value { font-size: 1.15em; font-weight: 500; }
  .tile > span { max-width: 100%; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
`;

function defineElements() {
  if (customElements.get(CARD)) return;
  customElements.define(CARD, VictronMk3Panel);
  customElements.define(`${CARD}-editor`, VictronMk3PanelEditor);
  window.customCards = window.customCards || [];
  window.customCards.push({
    type: CARD,
    name: "Victron MK3 panel",
    description: "The Digital Multi Control of a Victron inverter/charger: mode, current limit, standby, LEDs.",
    preview: true,
    documentationURL: "https://github.com/victron-mk3-hass/victron-mk3-hass#the-remote-panel-card",
  });
}

// This file loads in parallel with the frontend, which replaces window.customElements with a
// scoped-registry polyfill while it boots (frontend 20260930, app.js). A name defined on the
// browser's own registry before that is invisible to the polyfill's registry and blocks it, so
// wait until the frontend has defined <home-assistant> (same file, after the polyfill), until the
// registry was swapped, or 10 s (a page without <home-assistant>, e.g. a cast receiver).
const bootRegistry = window.customElements;
const giveUpAt = Date.now() + 10000;
(function defineWhenReady() {
  const ready = window.customElements !== bootRegistry || bootRegistry.get("home-assistant");
  if (ready || Date.now() > giveUpAt) defineElements();
  else setTimeout(defineWhenReady, 50);
})();
