#!/usr/bin/env python3
"""Seed-compatible command line: ``python3 cli.py monitor|control|probe|simulate …``.

Runs without Home Assistant, on Python >= 3.11 with only serialx installed.
"""

import importlib.util
from pathlib import Path
import sys

# Load the vendored library as the top-level package ``vebus_mk3``. Neither the
# integration's __init__ (which needs Home Assistant) nor its folder on sys.path
# (its select.py would shadow the standard library's select) may come into play.
_PACKAGE = Path(__file__).resolve().parent / "custom_components" / "victron_mk3" / "vebus_mk3"
_spec = importlib.util.spec_from_file_location(
    "vebus_mk3", _PACKAGE / "__init__.py", submodule_search_locations=[str(_PACKAGE)]
)
assert _spec is not None
assert _spec.loader is not None
sys.modules["vebus_mk3"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sys.modules["vebus_mk3"])

from vebus_mk3.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
