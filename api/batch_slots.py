"""A bound on concurrent batch work, so memory stays within a replica's budget whatever the load.

Each batch (reading its body, parsing, scoring, building the answer) holds a slot. A batch that
finds no free slot within `wait_s` is refused with 503 and Retry-After, instead of adding its
hundreds of megabytes to the ones already in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import HTTPException, status

RETRY_AFTER_S = 5


class BatchSlots:
    def __init__(self, slots: int, wait_s: float) -> None:
        self.slots = slots
        self.wait_s = wait_s
        self._semaphore = asyncio.Semaphore(slots)

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        """A slot for the duration of the block, or a 503 after waiting `wait_s` for one."""
        try:
            await asyncio.wait_for(self._semaphore.acquire(), self.wait_s)
        except TimeoutError:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"{self.slots} batches already in progress on this replica; retry shortly",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            ) from None
        try:
            yield
        finally:
            self._semaphore.release()
