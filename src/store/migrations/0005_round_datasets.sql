-- Retraining rounds: the snapshot of a round's dataset (one row per
-- example, with its split and provenance), the training curve (a loss per
-- optimizer step and per epoch), and the round's summary, training state and
-- failure as typed JSON.
CREATE TABLE round_examples (
    id          INTEGER PRIMARY KEY,
    round_id    INTEGER NOT NULL REFERENCES rounds(id) ON DELETE CASCADE,
    example_id  TEXT NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('pack', 'synthetic', 'validated', 'corrected')),
    category    TEXT NOT NULL,
    question    TEXT NOT NULL,
    answer      TEXT NOT NULL,
    facts       TEXT NOT NULL DEFAULT '[]',
    strata      TEXT NOT NULL DEFAULT '{}',
    split       TEXT NOT NULL CHECK (split IN ('train', 'val')),
    provenance  TEXT NOT NULL DEFAULT '{}',
    UNIQUE (round_id, example_id)
);
CREATE INDEX round_examples_round ON round_examples(round_id, split);

CREATE TABLE round_epochs (
    round_id    INTEGER NOT NULL REFERENCES rounds(id) ON DELETE CASCADE,
    epoch       INTEGER NOT NULL CHECK (epoch >= 1),
    train_loss  REAL NOT NULL,
    val_loss    REAL NOT NULL,
    finished_at TEXT NOT NULL,
    PRIMARY KEY (round_id, epoch)
);

CREATE TABLE round_steps (
    round_id  INTEGER NOT NULL REFERENCES rounds(id) ON DELETE CASCADE,
    epoch     INTEGER NOT NULL CHECK (epoch >= 1),
    step      INTEGER NOT NULL CHECK (step >= 1),
    loss      REAL NOT NULL,
    PRIMARY KEY (round_id, epoch, step)
);

ALTER TABLE rounds ADD COLUMN summary TEXT;
ALTER TABLE rounds ADD COLUMN training TEXT;
ALTER TABLE rounds ADD COLUMN failure TEXT;
