-- secdns store, schema version 3.
-- Zones and TSIG keys made at run time (through the API).  Those declared
-- in the config file are never stored here: the file is their record.
CREATE TABLE api_zone (
    name TEXT PRIMARY KEY,      -- canonical, with the final dot
    settings TEXT NOT NULL,     -- JSON (secdns.store.catalog)
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE api_key (
    name TEXT PRIMARY KEY,
    algorithm TEXT NOT NULL,
    secret BLOB NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
