-- The ledger: append-only entries, each a version (or the deletion) of one
-- source document, in commit order. Everything else in FFO is derived from it.
CREATE TABLE entries (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id         TEXT    NOT NULL,           -- source:external-id
    source         TEXT    NOT NULL,
    external_id    TEXT    NOT NULL,
    op             TEXT    NOT NULL CHECK (op IN ('put', 'delete')),
    content_hash   TEXT    NOT NULL,           -- sha256 of what the entry projects to
    source_version TEXT,                       -- the source's own version (Jira updated, page version)
    source_updated TEXT,                       -- RFC 3339, when the source last changed it
    payload        BLOB,                       -- the raw document as the source sent it
    graph          TEXT    NOT NULL,           -- the document's named graph, N-Triples
    text_doc       TEXT,                       -- the search document, JSON; NULL when not searchable
    recorded_at    TEXT    NOT NULL            -- RFC 3339 UTC, fixed width, so text order is time order
);
CREATE INDEX entries_doc ON entries (doc_id, seq);
CREATE INDEX entries_recorded ON entries (recorded_at);

CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;

-- The latest entry of every document: what re-ingest compares against and
-- what a rebuild replays. Written in the same transaction as the entry.
CREATE TABLE documents (
    doc_id       TEXT    PRIMARY KEY,
    source       TEXT    NOT NULL,
    external_id  TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    content_hash TEXT    NOT NULL,
    deleted      INTEGER NOT NULL
);
CREATE INDEX documents_source ON documents (source, external_id);

-- Incremental pull positions (Jira updated, Confluence last-modified), by name.
CREATE TABLE cursors (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Who called what, when, and how it ended.
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    caller  TEXT NOT NULL,
    face    TEXT NOT NULL,
    tool    TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail  TEXT
);
