-- secdns store, schema version 1.
-- One row per zone: the served version as a snapshot, and its timers.
CREATE TABLE zone (
    name        TEXT PRIMARY KEY,       -- apex, lowercase, with the final dot
    serial      INTEGER NOT NULL,
    records     INTEGER NOT NULL,
    snapshot    BLOB NOT NULL,          -- secdns.snapshot format
    saved_at    REAL NOT NULL           -- wall-clock time of the save
);

-- Secondary-zone timers, so a restart keeps the schedule (and the expiry).
CREATE TABLE timers (
    name            TEXT PRIMARY KEY,
    last_success    REAL,               -- wall-clock time of the last successful refresh
    next_refresh    REAL,
    expire_at       REAL,
    last_master     TEXT,
    last_failure    REAL,
    failure_reason  TEXT
);

-- IXFR history: one row per version change, oldest first.
CREATE TABLE journal (
    name        TEXT NOT NULL,
    serial_from INTEGER NOT NULL,
    serial_to   INTEGER NOT NULL,
    removed     BLOB NOT NULL,          -- secdns.snapshot format
    added       BLOB NOT NULL,
    size        INTEGER NOT NULL,
    seq         INTEGER PRIMARY KEY AUTOINCREMENT
);
CREATE INDEX journal_by_zone ON journal (name, seq);
