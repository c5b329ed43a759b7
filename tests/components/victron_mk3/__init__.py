"""Tests of the Victron MK3 integration."""
