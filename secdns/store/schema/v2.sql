-- secdns store, schema version 2.
-- A zone's snapshot may be in the compact owner format (secdns.snapshot
-- format 2); rows saved before are in format 1 and read as they are.
ALTER TABLE zone ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
