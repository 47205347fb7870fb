-- A model whose engine could not start (llama.cpp refused the file, or the
-- engine process crashed while loading it) keeps the reason until it starts
-- again or is registered anew.
ALTER TABLE models ADD COLUMN load_error TEXT;
ALTER TABLE models ADD COLUMN load_error_at TEXT;
