-- Stable identity for the rows that travel between workspaces (study
-- packages and returned ratings, merged on another machine): each gets a
-- random UUID (version 4) beside its integer key. Version 4, not 7: a
-- time-ordered id would let a rater sort the answers of an item by when each
-- model generated them. Existing rows get one now; new rows get one from the
-- insert trigger unless the insert gives its own (rows imported from a
-- package keep the id they travelled with).

ALTER TABLE items ADD COLUMN uuid TEXT;
UPDATE items SET uuid = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)));
CREATE UNIQUE INDEX items_uuid ON items(uuid);
CREATE TRIGGER items_uuid_on_insert AFTER INSERT ON items WHEN NEW.uuid IS NULL
BEGIN
    UPDATE items SET uuid = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))) WHERE rowid = NEW.rowid;
END;

ALTER TABLE generations ADD COLUMN uuid TEXT;
UPDATE generations SET uuid = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)));
CREATE UNIQUE INDEX generations_uuid ON generations(uuid);
CREATE TRIGGER generations_uuid_on_insert AFTER INSERT ON generations WHEN NEW.uuid IS NULL
BEGIN
    UPDATE generations SET uuid = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))) WHERE rowid = NEW.rowid;
END;

ALTER TABLE studies ADD COLUMN uuid TEXT;
UPDATE studies SET uuid = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)));
CREATE UNIQUE INDEX studies_uuid ON studies(uuid);
CREATE TRIGGER studies_uuid_on_insert AFTER INSERT ON studies WHEN NEW.uuid IS NULL
BEGIN
    UPDATE studies SET uuid = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))) WHERE rowid = NEW.rowid;
END;

ALTER TABLE raters ADD COLUMN uuid TEXT;
UPDATE raters SET uuid = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)));
CREATE UNIQUE INDEX raters_uuid ON raters(uuid);
CREATE TRIGGER raters_uuid_on_insert AFTER INSERT ON raters WHEN NEW.uuid IS NULL
BEGIN
    UPDATE raters SET uuid = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))) WHERE rowid = NEW.rowid;
END;

ALTER TABLE assignments ADD COLUMN uuid TEXT;
UPDATE assignments SET uuid = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)));
CREATE UNIQUE INDEX assignments_uuid ON assignments(uuid);
CREATE TRIGGER assignments_uuid_on_insert AFTER INSERT ON assignments WHEN NEW.uuid IS NULL
BEGIN
    UPDATE assignments SET uuid = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))) WHERE rowid = NEW.rowid;
END;

ALTER TABLE ratings ADD COLUMN uuid TEXT;
UPDATE ratings SET uuid = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)));
CREATE UNIQUE INDEX ratings_uuid ON ratings(uuid);
CREATE TRIGGER ratings_uuid_on_insert AFTER INSERT ON ratings WHEN NEW.uuid IS NULL
BEGIN
    UPDATE ratings SET uuid = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))) WHERE rowid = NEW.rowid;
END;

ALTER TABLE preferences ADD COLUMN uuid TEXT;
UPDATE preferences SET uuid = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)));
CREATE UNIQUE INDEX preferences_uuid ON preferences(uuid);
CREATE TRIGGER preferences_uuid_on_insert AFTER INSERT ON preferences WHEN NEW.uuid IS NULL
BEGIN
    UPDATE preferences SET uuid = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))) WHERE rowid = NEW.rowid;
END;

-- Every package or ratings file imported, by the sha256 of its content:
-- importing the same file again adds nothing, and the summary says what each
-- file did.
CREATE TABLE package_imports (
    id           INTEGER PRIMARY KEY,
    sha256       TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL CHECK (kind IN ('study', 'ratings')),
    study_uuid   TEXT NOT NULL,
    rater_uuid   TEXT NOT NULL,
    summary      TEXT NOT NULL,
    imported_at  TEXT NOT NULL
);
