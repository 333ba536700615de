-- The ledger: append-only entries, each a version (or the deletion) of one
-- source document, in commit order. Everything else in FFO is derived from it.
-- Writers hold a transaction-scoped advisory lock while appending, so
-- sequence numbers become visible in order and a tailer never skips one.
CREATE TABLE entries (
    seq            BIGSERIAL PRIMARY KEY,
    doc_id         TEXT   NOT NULL,
    source         TEXT   NOT NULL,
    external_id    TEXT   NOT NULL,
    op             TEXT   NOT NULL CHECK (op IN ('put', 'delete')),
    content_hash   TEXT   NOT NULL,
    source_version TEXT,
    source_updated TEXT,
    payload        BYTEA,
    graph          TEXT   NOT NULL,
    text_doc       TEXT,
    recorded_at    TEXT   NOT NULL
);
CREATE INDEX entries_doc ON entries (doc_id, seq);
CREATE INDEX entries_recorded ON entries (recorded_at);

CREATE FUNCTION ffo_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only';
END;
$$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION ffo_append_only();

CREATE TABLE documents (
    doc_id       TEXT   PRIMARY KEY,
    source       TEXT   NOT NULL,
    external_id  TEXT   NOT NULL,
    seq          BIGINT NOT NULL,
    content_hash TEXT   NOT NULL,
    deleted      BIGINT NOT NULL
);
CREATE INDEX documents_source ON documents (source, external_id);

CREATE TABLE cursors (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE audit (
    id      BIGSERIAL PRIMARY KEY,
    at      TEXT NOT NULL,
    caller  TEXT NOT NULL,
    face    TEXT NOT NULL,
    tool    TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail  TEXT
);
