"""Every translation has every key of strings.json, with its placeholders and code spans intact.

strings.json is the source (English). A key added there fails here for each language until it is
translated; the failure lists exactly the keys to add.
"""

from __future__ import annotations

import json
from pathlib import Path
import re

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

TRANSLATIONS = Path(__file__).parents[3] / "custom_components" / "victron_mk3" / "translations"
STRINGS = TRANSLATIONS.parent / "strings.json"
# English, and the languages of Victron's largest markets.
LANGUAGES = ("en", "de", "nl", "fr", "es")

PLACEHOLDER = re.compile(r"\{([a-z_0-9]*)\}")
CODE_SPAN = re.compile(r"`[^`]*`")


def _leaves(tree: dict, prefix: str = "") -> dict[str, str]:
    """Dotted key -> text, for every text in a strings file."""
    leaves: dict[str, str] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            leaves.update(_leaves(value, f"{path}."))
        else:
            leaves[path] = value
    return leaves


def _load(path: Path) -> dict[str, str]:
    return _leaves(json.loads(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def source() -> dict[str, str]:
    """The English texts every language must have."""
    return _load(STRINGS)


def test_languages_present() -> None:
    """The five languages ship; no translation file is for an unknown language code."""
    files = {path.stem for path in TRANSLATIONS.glob("*.json")}
    assert files >= set(LANGUAGES), f"missing translation files: {sorted(set(LANGUAGES) - files)}"
    for code in files:
        assert re.fullmatch(r"[a-z]{2}(-[A-Z]{2})?", code), code


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_translated(source: dict[str, str], language: str) -> None:
    """Each key of strings.json has a non-empty text; keys strings.json no longer has are reported too."""
    texts = _load(TRANSLATIONS / f"{language}.json")
    missing = sorted(key for key in source if not texts.get(key))
    assert not missing, f"translations/{language}.json lacks {len(missing)} key(s):\n" + "\n".join(missing)
    stale = sorted(set(texts) - set(source))
    assert not stale, f"translations/{language}.json has key(s) strings.json does not:\n" + "\n".join(stale)


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_survive(source: dict[str, str], language: str) -> None:
    """Every {placeholder} and every `code span` (URLs, paths) of a text is in its translation."""
    texts = _load(TRANSLATIONS / f"{language}.json")
    broken = []
    for key, english in source.items():
        translated = texts.get(key)
        if not translated:
            continue  # reported by test_every_key_translated
        if sorted(PLACEHOLDER.findall(english)) != sorted(PLACEHOLDER.findall(translated)):
            broken.append(f"{key}: placeholders {sorted(set(PLACEHOLDER.findall(english)))}")
        if sorted(CODE_SPAN.findall(english)) != sorted(CODE_SPAN.findall(translated)):
            broken.append(f"{key}: code spans {CODE_SPAN.findall(english)}")
    assert not broken, f"translations/{language}.json changes:\n" + "\n".join(broken)


def test_check_finds_a_missing_key(source: dict[str, str], tmp_path: Path) -> None:
    """The comparison itself: a dropped key and a lost placeholder are seen."""
    german = json.loads((TRANSLATIONS / "de.json").read_text(encoding="utf-8"))
    del german["exceptions"]["link_down"]
    german["exceptions"]["not_loaded"]["message"] = "nicht eingerichtet"
    (tmp_path / "de.json").write_text(json.dumps(german), encoding="utf-8")
    texts = _load(tmp_path / "de.json")
    assert sorted(key for key in source if not texts.get(key)) == ["exceptions.link_down.message"]
    assert PLACEHOLDER.findall(texts["exceptions.not_loaded.message"]) == []
    assert PLACEHOLDER.findall(source["exceptions.not_loaded.message"]) == ["title"]


@pytest.mark.parametrize(
    ("language", "battery_voltage", "mode"),
    [("de", "Batteriespannung", "Fernbedienung Modus"), ("nl", "Accuspanning", "Modus afstandsbediening")],
)
async def test_home_assistant_uses_them(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, language: str, battery_voltage: str, mode: str
) -> None:
    """Home Assistant loads the files: entity names come out in the configured language."""
    hass.config.language = language
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    names = {state.name for state in hass.states.async_all()}
    assert f"Victron MK3 {battery_voltage}" in names
    assert f"Victron MK3 {mode}" in names
