-- The whole loop: seed corpus → items → models → generations → studies →
-- ratings → rounds, plus an append-only audit log. Shipped migrations are
-- never edited; later changes go into new numbered files.

CREATE TABLE workspace (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    domain_pack   TEXT NOT NULL,
    pack_version  INTEGER NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE seed_sources (
    id       TEXT PRIMARY KEY,
    kind     TEXT NOT NULL,
    title    TEXT NOT NULL,
    authors  TEXT,
    year     INTEGER,
    venue    TEXT,
    url      TEXT
);

CREATE TABLE seed_facts (
    id          TEXT PRIMARY KEY,
    topic       TEXT NOT NULL,
    statement   TEXT NOT NULL,
    locator     TEXT,
    created_at  TEXT NOT NULL
);

CREATE TABLE seed_fact_sources (
    fact_id    TEXT NOT NULL REFERENCES seed_facts(id) ON DELETE CASCADE,
    source_id  TEXT NOT NULL REFERENCES seed_sources(id),
    PRIMARY KEY (fact_id, source_id)
);

CREATE TABLE rounds (
    id               INTEGER PRIMARY KEY,
    number           INTEGER NOT NULL UNIQUE,
    status           TEXT NOT NULL DEFAULT 'planned'
                     CHECK (status IN ('planned', 'dataset_ready', 'training', 'trained', 'evaluated', 'failed')),
    base_model_id    INTEGER REFERENCES models(id),
    output_model_id  INTEGER REFERENCES models(id),
    seed             INTEGER NOT NULL DEFAULT 0,
    config           TEXT NOT NULL DEFAULT '{}',
    dataset_hash     TEXT,
    created_at       TEXT NOT NULL,
    finished_at      TEXT
);

CREATE TABLE items (
    id                INTEGER PRIMARY KEY,
    external_id       TEXT NOT NULL UNIQUE,
    kind              TEXT NOT NULL CHECK (kind IN ('question', 'vignette')),
    category          TEXT NOT NULL,
    text              TEXT NOT NULL,
    strata            TEXT NOT NULL DEFAULT '{}',
    origin            TEXT NOT NULL CHECK (origin IN ('seed', 'synthetic', 'expert')),
    split             TEXT NOT NULL DEFAULT 'eval' CHECK (split IN ('eval', 'train', 'val', 'pool')),
    review_status     TEXT NOT NULL DEFAULT 'approved' CHECK (review_status IN ('pending', 'approved', 'rejected')),
    reference_answer  TEXT,
    provenance        TEXT NOT NULL DEFAULT '{}',
    round_id          INTEGER REFERENCES rounds(id),
    created_at        TEXT NOT NULL
);
CREATE INDEX items_category ON items(category);

CREATE TABLE item_facts (
    item_id  INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    fact_id  TEXT NOT NULL REFERENCES seed_facts(id),
    PRIMARY KEY (item_id, fact_id)
);

CREATE TABLE models (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL CHECK (kind IN ('local', 'remote')),
    role             TEXT NOT NULL DEFAULT 'baseline'
                     CHECK (role IN ('candidate', 'baseline', 'generator', 'base')),
    path             TEXT,
    sha256           TEXT,
    size_bytes       INTEGER,
    architecture     TEXT,
    parameter_count  INTEGER,
    quantization     TEXT,
    context_length   INTEGER,
    chat_template    TEXT,
    endpoint_url     TEXT,
    remote_model     TEXT,
    api_key_env      TEXT,
    parent_model_id  INTEGER REFERENCES models(id),
    round_id         INTEGER REFERENCES rounds(id),
    settings         TEXT NOT NULL DEFAULT '{}',
    verified_mtime   INTEGER,
    created_at       TEXT NOT NULL,
    CHECK ((kind = 'local' AND path IS NOT NULL) OR (kind = 'remote' AND endpoint_url IS NOT NULL))
);

CREATE TABLE generations (
    id                 INTEGER PRIMARY KEY,
    item_id            INTEGER NOT NULL REFERENCES items(id),
    model_id           INTEGER NOT NULL REFERENCES models(id),
    params_hash        TEXT NOT NULL,
    params             TEXT NOT NULL,
    seed               INTEGER NOT NULL,
    system_prompt      TEXT NOT NULL,
    text               TEXT NOT NULL,
    prompt_tokens      INTEGER NOT NULL,
    completion_tokens  INTEGER NOT NULL,
    prompt_ms          REAL NOT NULL,
    generation_ms      REAL NOT NULL,
    finish_reason      TEXT NOT NULL,
    template_hash      TEXT NOT NULL,
    n_parallel         INTEGER NOT NULL DEFAULT 1,
    engine             TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    UNIQUE (item_id, model_id, params_hash)
);
CREATE INDEX generations_model ON generations(model_id);

CREATE TABLE raters (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    specialty   TEXT NOT NULL CHECK (specialty IN ('dermatology', 'psychology', 'other')),
    created_at  TEXT NOT NULL
);

CREATE TABLE studies (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('draft', 'open', 'closed')),
    rubric      TEXT NOT NULL,
    overlap     INTEGER NOT NULL DEFAULT 2 CHECK (overlap >= 1),
    seed        INTEGER NOT NULL,
    params_hash TEXT NOT NULL,
    params      TEXT NOT NULL DEFAULT '{}',
    system_prompt TEXT NOT NULL DEFAULT '',
    round_id    INTEGER REFERENCES rounds(id),
    created_at  TEXT NOT NULL,
    closed_at   TEXT
);

CREATE TABLE study_models (
    study_id  INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    model_id  INTEGER NOT NULL REFERENCES models(id),
    PRIMARY KEY (study_id, model_id)
);

CREATE TABLE study_items (
    study_id  INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    item_id   INTEGER NOT NULL REFERENCES items(id),
    PRIMARY KEY (study_id, item_id)
);

CREATE TABLE assignments (
    id          INTEGER PRIMARY KEY,
    study_id    INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    rater_id    INTEGER NOT NULL REFERENCES raters(id),
    item_id     INTEGER NOT NULL REFERENCES items(id),
    order_seed  INTEGER NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'draft', 'submitted')),
    submitted_at TEXT,
    UNIQUE (study_id, rater_id, item_id)
);

CREATE TABLE ratings (
    id                 INTEGER PRIMARY KEY,
    assignment_id      INTEGER NOT NULL REFERENCES assignments(id) ON DELETE CASCADE,
    generation_id      INTEGER NOT NULL REFERENCES generations(id),
    accuracy           INTEGER CHECK (accuracy BETWEEN 1 AND 5),
    appropriateness    INTEGER CHECK (appropriateness BETWEEN 1 AND 5),
    empathy            INTEGER CHECK (empathy BETWEEN 1 AND 5),
    harm               TEXT CHECK (harm IN ('none', 'mild_moderate', 'severe')),
    harm_likelihood    TEXT CHECK (harm_likelihood IN ('low', 'medium', 'high')),
    comment            TEXT,
    corrected_answer   TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    UNIQUE (assignment_id, generation_id)
);

CREATE TABLE preferences (
    assignment_id            INTEGER PRIMARY KEY REFERENCES assignments(id) ON DELETE CASCADE,
    verdict                  TEXT NOT NULL CHECK (verdict IN ('better', 'tie', 'both_bad')),
    preferred_generation_id  INTEGER REFERENCES generations(id),
    updated_at               TEXT NOT NULL,
    CHECK ((verdict = 'better') = (preferred_generation_id IS NOT NULL))
);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    entity     TEXT NOT NULL,
    entity_id  TEXT,
    details    TEXT NOT NULL DEFAULT '{}'
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
