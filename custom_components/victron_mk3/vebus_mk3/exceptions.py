"""The library's one exception hierarchy: callers catch ``Mk3Error``."""

from __future__ import annotations


class Mk3Error(Exception):
    """Base class for every fault the library reports."""


class PortInaccessibleError(Mk3Error):
    """The port could not be opened (missing, permission denied, busy)."""


class LinkIOError(Mk3Error):
    """Reading from or writing to the open port failed, or the port went away."""


class NotConnectedError(LinkIOError):
    """A request was made while the link is closed."""


class NoAnswerError(Mk3Error):
    """The interface did not answer in time (asleep, unpowered, or the wrong port)."""


class UnsupportedError(Mk3Error):
    """The device answered that it does not support what was asked."""


class AccessLevelRequiredError(UnsupportedError):
    """The device refused a write that needs a higher access level (reply ``0x9B``, e.g. grid codes)."""


class LinkFailedError(LinkIOError):
    """The link task failed in an unexpected way; it is restarted."""
