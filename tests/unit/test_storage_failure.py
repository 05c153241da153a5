"""secdns.store.database.storage_failure: why the store could not be written, in the system's words."""

from __future__ import annotations

import errno
import sqlite3

import pytest

from secdns.store.database import storage_failure
from tests.support import tmpfs


def test_os_errors_say_their_own_words(tmp_path):
    assert storage_failure(OSError(errno.ENOSPC, "No space left on device"), str(tmp_path)) == "No space left on device"


def test_sqlite_full_is_no_space(tmp_path):
    """SQLite says "database or disk is full"; the operator reads the system's word first."""
    words = storage_failure(sqlite3.OperationalError("database or disk is full"), str(tmp_path))
    assert words == "No space left on device (database or disk is full)"


@pytest.fixture
def read_only_dir(tmp_path):
    with tmpfs(tmp_path / "ro", "ro,size=1m") as mount:
        yield mount


def test_read_only_file_system(read_only_dir):
    words = storage_failure(sqlite3.OperationalError("attempt to write a readonly database"), str(read_only_dir))
    assert words == "Read-only file system (attempt to write a readonly database)"
