-- Leases let concurrent generate runs on one workspace split the work: a run
-- claims a few pending (item, model, setting) answers before it generates
-- them, and other runs leave leased answers alone until the lease expires.
-- `holder` names the run (unique per run, not per process: the desktop app
-- can run two jobs at once); `pid` and `host` let a run on the same host see
-- that the holder's process is gone; `expires_at` is in Unix milliseconds.
CREATE TABLE generation_leases (
    item_id      INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
    model_id     INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    params_hash  TEXT NOT NULL,
    holder       TEXT NOT NULL CHECK (length(holder) > 0),
    pid          INTEGER NOT NULL CHECK (pid >= 0),
    host         TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (item_id, model_id, params_hash)
) WITHOUT ROWID;
CREATE INDEX generation_leases_holder ON generation_leases(holder);
