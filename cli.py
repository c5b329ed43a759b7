#!/usr/bin/env python3
"""Seed-compatible command line: ``python3 cli.py monitor|control|probe|simulate …``.

Runs without Home Assistant, on Python >= 3.11 with only serialx installed.
"""

from pathlib import Path
import sys

# Import the vendored library as a top-level package so the integration's
# __init__ (which needs Home Assistant) is never loaded.
sys.path.insert(0, str(Path(__file__).resolve().parent / "custom_components" / "victron_mk3"))

from vebus_mk3.cli import main

if __name__ == "__main__":
    sys.exit(main())
