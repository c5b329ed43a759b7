"""Keeping the MK3's standby flag set: when to write it again, and when to give up.

The MK3 forgets its flags whenever it loses VE.Bus power, so a wanted standby is re-asserted
whenever a flags read shows it lost, but with a back-off and a limit: an interface that keeps
dropping (or never reports) the bit must not cost the link a write every cycle.
"""

from __future__ import annotations

from .const import InterfaceFlags

# Writes that did not stick before giving up (until a new wish or a reconnect).
STANDBY_ATTEMPTS = 3


class StandbyKeeper:
    """Decides, from each flags read, whether the standby flag must be written again."""

    def __init__(self, base_delay: float) -> None:
        self.base_delay = base_delay
        self.wanted = False
        self.failures = 0
        self._due = 0.0

    @property
    def given_up(self) -> bool:
        """Standby is wanted but the interface kept losing or refusing it."""
        return self.wanted and self.failures >= STANDBY_ATTEMPTS

    def want(self, enabled: bool) -> None:
        """A new wish gets fresh attempts."""
        self.wanted = enabled
        self.restart()

    def restart(self) -> None:
        """Fresh attempts (after a reconnect)."""
        self.failures = 0
        self._due = 0.0

    def flags_to_write(self, flags: InterfaceFlags, now: float) -> InterfaceFlags | None:
        """The flags to write after reading ``flags``, or None to leave them.

        Only a read that shows the bit ends the back-off, never the echo of a write: some
        interfaces echo a write they do not keep.
        """
        if not self.wanted:
            return None
        if InterfaceFlags.STANDBY in flags:
            self.failures = 0
            return None
        if self.failures >= STANDBY_ATTEMPTS or now < self._due:
            return None
        self.failures += 1
        self._due = now + self.base_delay * 2**self.failures
        return flags | InterfaceFlags.STANDBY
