# -*- test-case-name: tests.unit.test_deliver_stream -*-
"""
Append JSON lines to a file, rotated by size.

When a line would take the file past C{max_bytes}, the file is renamed
C{<name>.1} (C{.1} to C{.2}, and so on), and at most C{keep} old files are
kept: the oldest goes.  Each append opens, writes one line and closes, so
an outside rotation (logrotate) or a deleted file is simply followed.
The writes are small and run on the reactor thread; a line is at most a
few kilobytes.
"""

from __future__ import annotations

import os

__all__ = ["StreamFile", "MAX_BYTES", "KEEP"]

MAX_BYTES = 10 * 1024 * 1024
KEEP = 5


class StreamFile:
    """One stream file.  Errors (a full disk, a directory we may not write) are raised as L{OSError}."""

    def __init__(self, path: str, max_bytes: int = MAX_BYTES, keep: int = KEEP) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep

    def rotated(self, n: int) -> str:
        """The path of the C{n}th old file."""
        return f"{self.path}.{n}"

    def _rotate(self) -> None:
        if self.keep <= 0:
            os.truncate(self.path, 0)
            return
        oldest = self.rotated(self.keep)
        if os.path.exists(oldest):
            os.unlink(oldest)
        for n in range(self.keep - 1, 0, -1):
            if os.path.exists(self.rotated(n)):
                os.replace(self.rotated(n), self.rotated(n + 1))
        os.replace(self.path, self.rotated(1))

    def append(self, lines: list[bytes]) -> None:
        """Append C{lines} (each ending in a newline), rotating first when they would not fit."""
        data = b"".join(lines)
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        try:
            size = os.path.getsize(self.path)
        except FileNotFoundError:
            size = 0
        if size and size + len(data) > self.max_bytes:
            self._rotate()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
