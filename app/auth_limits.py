"""Failed sign-ins slow the next ones down: after `max_failures` for a name, each further attempt
waits `lockout_s`, doubling per failure (capped), whatever the browser session. Process-wide, like
the console itself (one replica: a Streamlit session lives in one process)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

MAX_TRACKED = 10_000
MAX_LOCKOUT_S = 900.0


@dataclass
class _Failures:
    count: int
    last: float


class LoginLimiter:
    def __init__(self, max_failures: int = 5, lockout_s: float = 30.0) -> None:
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self._failures: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def wait_s(self, name: str, now: float | None = None) -> float:
        """Seconds before `name` may try again (0 when it may now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            failures = self._failures.get(name.strip().lower())
        if failures is None or failures.count < self.max_failures:
            return 0.0
        extra = failures.count - self.max_failures
        lockout = min(MAX_LOCKOUT_S, self.lockout_s * 2**extra)
        return max(0.0, failures.last + lockout - now)

    def failed(self, name: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        key = name.strip().lower()
        with self._lock:
            if len(self._failures) >= MAX_TRACKED and key not in self._failures:
                self._failures.pop(next(iter(self._failures)))
            entry = self._failures.setdefault(key, _Failures(0, now))
            entry.count += 1
            entry.last = now

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name.strip().lower(), None)
