-- Idempotency keys of writes (write_outcome): the same key with the same
-- body returns the same document; with another body it is a conflict.
CREATE TABLE idempotency (
    key        TEXT PRIMARY KEY,
    body_hash  TEXT NOT NULL,
    doc_id     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
