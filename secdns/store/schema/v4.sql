-- secdns store, schema version 4.
-- Alarms and notification topics made at run time (through the API); those
-- declared in the config file, or built in, are never stored here.
CREATE TABLE api_alarm (
    name TEXT PRIMARY KEY,
    settings TEXT NOT NULL,     -- JSON (secdns.store.alarms)
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE api_topic (
    name TEXT PRIMARY KEY,
    settings TEXT NOT NULL,     -- JSON, subscriptions' secrets in base64
    created REAL NOT NULL,
    updated REAL NOT NULL
);
-- Where each alarm stands for each zone, when that is not plain OK: what
-- was firing, and what was notified, survives a restart.
CREATE TABLE alarm_state (
    alarm TEXT NOT NULL,
    zone TEXT NOT NULL,         -- as operators write it, no final dot
    state TEXT NOT NULL,        -- OK, PENDING, FIRING
    since REAL,
    value REAL,
    last_notified REAL,
    dedup_key TEXT,
    deadline REAL,              -- expiry notices: the approach's expire time
    began REAL,                 -- and the hours to expiry it began with
    steps_sent TEXT NOT NULL DEFAULT '',  -- and the steps notified, comma-separated
    PRIMARY KEY (alarm, zone)
);
-- Secondary zones whose refreshes are failing, and since when.
CREATE TABLE alarm_zone (
    zone TEXT PRIMARY KEY,
    failing_since REAL NOT NULL
);
-- The notifications sent (the most recent are kept).
CREATE TABLE notification (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sent REAL NOT NULL,
    alarm TEXT NOT NULL,
    zone TEXT NOT NULL,
    topics TEXT NOT NULL,       -- JSON list
    message TEXT NOT NULL       -- JSON (secdns.store.alarms)
);
CREATE INDEX notification_sent ON notification (sent);
