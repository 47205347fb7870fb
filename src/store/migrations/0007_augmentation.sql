-- Augmentation: runs of a generator model, every refused answer with its
-- reason, experts' review of synthetic items (who approved or rejected,
-- why, and every edit with the text before it), and what each generator's
-- server accepts (structured-output mode) and costs.

CREATE TABLE augment_runs (
    id                 INTEGER PRIMARY KEY,
    generator_id       INTEGER NOT NULL REFERENCES models(id),
    requested          INTEGER NOT NULL CHECK (requested >= 1),
    max_attempts       INTEGER NOT NULL CHECK (max_attempts >= requested),
    seed               INTEGER NOT NULL,
    config             TEXT NOT NULL,
    status             TEXT NOT NULL DEFAULT 'running'
                       CHECK (status IN ('running', 'completed', 'cancelled', 'exhausted')),
    accepted           INTEGER NOT NULL DEFAULT 0,
    rejected           INTEGER NOT NULL DEFAULT 0,
    prompt_tokens      INTEGER NOT NULL DEFAULT 0,
    completion_tokens  INTEGER NOT NULL DEFAULT 0,
    cost_usd           REAL NOT NULL DEFAULT 0,
    elapsed_s          REAL NOT NULL DEFAULT 0,
    -- The process running the run now (NULL once a session ends): a second
    -- process may not resume it while that one lives.
    holder_host        TEXT,
    holder_pid         INTEGER,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    finished_at        TEXT
);

CREATE TABLE augment_rejections (
    id                 INTEGER PRIMARY KEY,
    run_id             INTEGER NOT NULL REFERENCES augment_runs(id) ON DELETE CASCADE,
    attempt            INTEGER NOT NULL,
    reason             TEXT NOT NULL CHECK (reason IN ('backend_error', 'empty', 'too_long', 'invalid_json', 'schema', 'length', 'language', 'no_facts', 'unoffered_fact', 'red_flag', 'eval_leak', 'duplicate')),
    detail             TEXT NOT NULL,
    stratum            TEXT NOT NULL,
    output             TEXT NOT NULL,
    prompt_tokens      INTEGER NOT NULL DEFAULT 0,
    completion_tokens  INTEGER NOT NULL DEFAULT 0,
    created_at         TEXT NOT NULL,
    UNIQUE (run_id, attempt)
);
CREATE INDEX augment_rejections_run ON augment_rejections(run_id, reason);

ALTER TABLE items ADD COLUMN augment_run_id INTEGER REFERENCES augment_runs(id);
ALTER TABLE items ADD COLUMN augment_attempt INTEGER;
ALTER TABLE items ADD COLUMN reviewed_by TEXT;
ALTER TABLE items ADD COLUMN reviewed_at TEXT;
ALTER TABLE items ADD COLUMN review_note TEXT;
CREATE UNIQUE INDEX items_augment_attempt ON items(augment_run_id, augment_attempt)
    WHERE augment_run_id IS NOT NULL;
CREATE INDEX items_review_queue ON items(origin, review_status, id);

CREATE TABLE item_revisions (
    id              INTEGER PRIMARY KEY,
    item_id         INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    editor          TEXT NOT NULL,
    text_before     TEXT NOT NULL,
    answer_before   TEXT,
    text_after      TEXT NOT NULL,
    answer_after    TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX item_revisions_item ON item_revisions(item_id, id);

CREATE TABLE generator_profiles (
    model_id             INTEGER PRIMARY KEY REFERENCES models(id),
    output_mode          TEXT CHECK (output_mode IN ('json_schema', 'json_object')),
    usd_per_mtok_input   REAL CHECK (usd_per_mtok_input >= 0),
    usd_per_mtok_output  REAL CHECK (usd_per_mtok_output >= 0),
    updated_at           TEXT NOT NULL
);
