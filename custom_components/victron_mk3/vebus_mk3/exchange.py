"""One exchange on the link: requests sent together and their replies as they come.

Replies are matched to the first request still waiting for one that answers it, so several
requests can be in flight when their replies tell them apart (``Mk3Link.request_batch``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from .exceptions import UnsupportedError
from .requests import Request

# A request whose reply has not come (yet).
MISSING: Any = object()


class Exchange:
    """Requests sent together, and their replies as they come (parsed value or error)."""

    __slots__ = ("all_in", "invalid", "remaining", "requests", "results", "unsupported_answer")

    def __init__(self, requests_: Sequence[Request[Any]], all_in: asyncio.Future[None]) -> None:
        self.requests = requests_
        self.all_in = all_in  # done when every request has its reply
        self.results: list[Any] = [MISSING] * len(requests_)
        self.remaining = len(requests_)
        self.invalid: str | None = None  # why the last frame taken was dropped
        self.unsupported_answer = False  # the last frame taken said "unsupported"

    def take(self, payload: bytes) -> bool:
        """Match ``payload`` to the first request still waiting for it; False if none.

        A reply that fails validation is dropped (``invalid``): its request may still get a
        good one before the exchange ends.
        """
        self.invalid, self.unsupported_answer = None, False
        results = self.results
        for index, request in enumerate(self.requests):
            if results[index] is not MISSING or not request.matches(payload):
                continue
            try:
                results[index] = request.parse(payload)
            except UnsupportedError as err:
                # A definite answer: fail the request now instead of waiting for its timeout.
                results[index] = err
                self.unsupported_answer = True
            except (ValueError, KeyError) as err:
                self.invalid = f"{request.name}: {err}"
                return True
            self.remaining -= 1
            if self.remaining == 0 and not self.all_in.done():
                self.all_in.set_result(None)
            return True
        return False


def expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())
