//! The two ledger backends behind one private enum: the SQL is the same text
//! for both (`$n` placeholders work in SQLite too), so each operation is
//! written once and expanded per backend by `on_pool!`.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Row;
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::Mutex;

use super::{
    Appended, AuditRow, Change, DocState, Entry, KeyedWrite, LedgerError, NewVersion, Write, Written, entry_from_row,
};
use crate::model::{DocId, Seq, Source};

/// The PostgreSQL notification channel appends announce themselves on.
const CHANNEL: &str = "ffo_ledger";
/// A write of at least this many changes takes the batched path.
const BATCH_MIN: usize = 8;
/// Changes per batched statement (12 values each, well under SQLite's
/// 32,766 bound parameters).
const CHUNK: usize = 500;

/// Key of the transaction-scoped advisory lock every PostgreSQL append holds.
const APPEND_LOCK: i64 = 0x0ff0_1ed9;

#[derive(Clone)]
pub(super) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Expands `$body` once per backend with `$p` bound to the concrete pool.
macro_rules! on_pool {
    ($pool:expr, $p:ident => $body:expr) => {
        match $pool {
            Pool::Sqlite($p) => $body,
            Pool::Postgres($p) => $body,
        }
    };
}

/// The columns `entry_from_row` reads (a macro so queries stay `&'static str`).
macro_rules! entry_columns {
    () => {
        "e.seq, e.doc_id, e.op, e.content_hash, e.source_version, \
         e.source_updated, e.graph, e.text_doc, e.recorded_at"
    };
}

impl Pool {
    pub(super) async fn connect(url: &str) -> Result<Pool, LedgerError> {
        let open = |source| LedgerError::Open { url: url.to_string(), source };
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(open)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // Acknowledged means on disk: fsync at every commit.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await.map_err(open)?;
            Ok(Pool::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .map_err(open)?;
            Ok(Pool::Postgres(pool))
        } else {
            Err(LedgerError::UnsupportedUrl(url.to_string()))
        }
    }

    pub(super) async fn migrate(&self) -> Result<(), LedgerError> {
        match self {
            Pool::Sqlite(p) => sqlx::migrate!("schema/sqlite").run(p).await?,
            Pool::Postgres(p) => sqlx::migrate!("schema/postgres").run(p).await?,
        }
        Ok(())
    }

    /// Commits a group of writes in one transaction (group commit: many
    /// writers, one fsync). Each write gets its own result.
    pub(super) async fn commit(&self, writes: &[&Write], now: &str) -> Result<Vec<Written>, LedgerError> {
        on_pool!(self, p => {
            // SQLite: take the write lock up front, so the reads below cannot
            // be refused an upgrade when another connection has written.
            let begin = match self {
                Pool::Sqlite(_) => "BEGIN IMMEDIATE",
                Pool::Postgres(_) => "BEGIN",
            };
            let mut tx = p.begin_with(begin).await.map_err(LedgerError::query("begin append"))?;
            if let Pool::Postgres(_) = self {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(APPEND_LOCK)
                    .execute(&mut *tx)
                    .await
                    .map_err(LedgerError::query("take the append lock"))?;
            }
            // Appends one change in `tx`, skipping it when it changes nothing.
            macro_rules! append_change {
                ($change:expr) => {{
                    let change: &Change = $change;
                    let doc = change.doc();
                    let doc_id = doc.to_string();
                    let current = sqlx::query("SELECT content_hash, deleted FROM documents WHERE doc_id = $1")
                        .bind(&doc_id)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(LedgerError::query("read document state"))?;
                    let current: Option<(String, bool)> = match current {
                        Some(row) => Some((
                            row.try_get::<String, _>(0).map_err(LedgerError::query("read document state"))?,
                            row.try_get::<i64, _>(1).map_err(LedgerError::query("read document state"))? != 0,
                        )),
                        None => None,
                    };
                    let plan = match change {
                        Change::Put(v) => {
                            let hash = v.content_hash();
                            if matches!(&current, Some((h, false)) if *h == hash) {
                                None
                            } else {
                                Some(("put", hash, Some(v)))
                            }
                        }
                        Change::Delete(_) => {
                            if matches!(current, Some((_, false))) {
                                Some(("delete", String::new(), None))
                            } else {
                                None
                            }
                        }
                    };
                    match plan {
                        None => Appended::Unchanged,
                        Some((op, hash, version)) => {
                            let row = sqlx::query(
                                "INSERT INTO entries (doc_id, source, external_id, op, content_hash, source_version, \
                                 source_updated, payload, graph, text_doc, recorded_at) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING seq",
                            )
                            .bind(&doc_id)
                            .bind(doc.source().as_str())
                            .bind(doc.external_id())
                            .bind(op)
                            .bind(&hash)
                            .bind(version.and_then(|v: &NewVersion| v.source_version.clone()))
                            .bind(version.and_then(|v: &NewVersion| v.source_updated.map(super::timestamp)))
                            .bind(version.map(|v: &NewVersion| v.payload.as_slice()))
                            .bind(version.map(|v: &NewVersion| v.graph.as_str()).unwrap_or(""))
                            .bind(version.and_then(|v: &NewVersion| v.text_doc.as_deref()))
                            .bind(now)
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(LedgerError::query("append entry"))?;
                            let seq: i64 = row.try_get(0).map_err(LedgerError::query("append entry"))?;
                            sqlx::query(
                                "INSERT INTO documents (doc_id, source, external_id, seq, content_hash, deleted) \
                                 VALUES ($1, $2, $3, $4, $5, $6) \
                                 ON CONFLICT (doc_id) DO UPDATE SET seq = excluded.seq, \
                                 content_hash = excluded.content_hash, deleted = excluded.deleted",
                            )
                            .bind(&doc_id)
                            .bind(doc.source().as_str())
                            .bind(doc.external_id())
                            .bind(seq)
                            .bind(&hash)
                            .bind(i64::from(op == "delete"))
                            .execute(&mut *tx)
                            .await
                            .map_err(LedgerError::query("update document state"))?;
                            Appended::Written(Seq(seq))
                        }
                    }
                }};
            }
            let mut out = Vec::with_capacity(writes.len());
            let mut wrote = false;
            for write in writes {
                match write {
                    Write::Audit(records) => {
                        for chunk in records.chunks(CHUNK) {
                            let mut q = sqlx::QueryBuilder::new("INSERT INTO audit (at, caller, face, tool, outcome, detail) ");
                            q.push_values(chunk, |mut b, r| {
                                b.push_bind(r.at.as_str())
                                    .push_bind(r.caller.as_str())
                                    .push_bind(r.face.as_str())
                                    .push_bind(r.tool.as_str())
                                    .push_bind(r.outcome.as_str())
                                    .push_bind(r.detail.as_deref());
                            });
                            q.build().execute(&mut *tx).await.map_err(LedgerError::query("write audit records"))?;
                        }
                        out.push(Written::Audited);
                    }
                    Write::Changes(changes) if changes.len() < BATCH_MIN => {
                        let mut done = Vec::with_capacity(changes.len());
                        for change in changes {
                            let a = append_change!(change);
                            wrote |= matches!(a, Appended::Written(_));
                            done.push(a);
                        }
                        out.push(Written::Changes(done));
                    }
                    Write::Changes(changes) => {
                        // Many changes (an import): a few statements per
                        // chunk instead of three per document.
                        let mut done = Vec::with_capacity(changes.len());
                        for chunk in changes.chunks(CHUNK) {
                            // The current state of the chunk's documents.
                            let mut q = sqlx::QueryBuilder::new("SELECT doc_id, content_hash, deleted FROM documents WHERE doc_id IN (");
                            let mut ids = q.separated(", ");
                            for c in chunk {
                                ids.push_bind(c.doc().to_string());
                            }
                            q.push(")");
                            let rows = q.build().fetch_all(&mut *tx).await.map_err(LedgerError::query("read document states"))?;
                            let mut current: HashMap<String, (String, bool)> = HashMap::with_capacity(rows.len());
                            for r in &rows {
                                let id: String = r.try_get(0).map_err(LedgerError::query("read document states"))?;
                                let hash: String = r.try_get(1).map_err(LedgerError::query("read document states"))?;
                                let deleted: i64 = r.try_get(2).map_err(LedgerError::query("read document states"))?;
                                current.insert(id, (hash, deleted != 0));
                            }
                            // What to write, in order; a document changed twice in the
                            // chunk is compared with its own earlier change.
                            let mut rows: Vec<(String, &Change, &'static str, String)> = Vec::new();
                            for c in chunk {
                                let id = c.doc().to_string();
                                let plan = match c {
                                    Change::Put(v) => {
                                        let hash = v.content_hash();
                                        (!matches!(current.get(&id), Some((h, false)) if *h == hash)).then_some(("put", hash))
                                    }
                                    Change::Delete(_) => matches!(current.get(&id), Some((_, false))).then(|| ("delete", String::new())),
                                };
                                match plan {
                                    Some((op, hash)) => {
                                        current.insert(id.clone(), (hash.clone(), op == "delete"));
                                        rows.push((id, c, op, hash));
                                        done.push(Appended::Written(Seq(0)));
                                    }
                                    None => done.push(Appended::Unchanged),
                                }
                            }
                            if rows.is_empty() {
                                continue;
                            }
                            // Sequence numbers, allocated in order under the append lock.
                            let first: i64 = match self {
                                Pool::Sqlite(_) => {
                                    let r = sqlx::query("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'entries'), 0)")
                                        .fetch_one(&mut *tx)
                                        .await
                                        .map_err(LedgerError::query("allocate sequence numbers"))?;
                                    r.try_get::<i64, _>(0).map_err(LedgerError::query("allocate sequence numbers"))? + 1
                                }
                                Pool::Postgres(_) => {
                                    let r = sqlx::query("SELECT setval('entries_seq_seq', nextval('entries_seq_seq') + $1 - 1) - $1 + 1")
                                        .bind(rows.len() as i64)
                                        .fetch_one(&mut *tx)
                                        .await
                                        .map_err(LedgerError::query("allocate sequence numbers"))?;
                                    r.try_get::<i64, _>(0).map_err(LedgerError::query("allocate sequence numbers"))?
                                }
                            };
                            let mut q = sqlx::QueryBuilder::new(
                                "INSERT INTO entries (seq, doc_id, source, external_id, op, content_hash, source_version, \
                                 source_updated, payload, graph, text_doc, recorded_at) ",
                            );
                            q.push_values(rows.iter().enumerate(), |mut b, (i, (id, c, op, hash))| {
                                let v = match c {
                                    Change::Put(v) => Some(v),
                                    Change::Delete(_) => None,
                                };
                                b.push_bind(first + i as i64)
                                    .push_bind(id.as_str())
                                    .push_bind(c.doc().source().as_str())
                                    .push_bind(c.doc().external_id())
                                    .push_bind(*op)
                                    .push_bind(hash.as_str())
                                    .push_bind(v.and_then(|v| v.source_version.as_deref()))
                                    .push_bind(v.and_then(|v| v.source_updated.map(super::timestamp)))
                                    .push_bind(v.map(|v| v.payload.as_slice()))
                                    .push_bind(v.map(|v| v.graph.as_str()).unwrap_or(""))
                                    .push_bind(v.and_then(|v| v.text_doc.as_deref()))
                                    .push_bind(now);
                            });
                            q.build().execute(&mut *tx).await.map_err(LedgerError::query("append entries"))?;
                            // The latest state of each document.
                            let mut latest: HashMap<&str, usize> = HashMap::new();
                            for (i, (id, ..)) in rows.iter().enumerate() {
                                latest.insert(id.as_str(), i);
                            }
                            let mut last: Vec<usize> = latest.into_values().collect();
                            last.sort_unstable();
                            let mut q = sqlx::QueryBuilder::new(
                                "INSERT INTO documents (doc_id, source, external_id, seq, content_hash, deleted) ",
                            );
                            q.push_values(last.iter().map(|i| (*i, &rows[*i])), |mut b, (i, (id, c, op, hash))| {
                                b.push_bind(id.as_str())
                                    .push_bind(c.doc().source().as_str())
                                    .push_bind(c.doc().external_id())
                                    .push_bind(first + i as i64)
                                    .push_bind(hash.as_str())
                                    .push_bind(i64::from(*op == "delete"));
                            });
                            q.push(
                                " ON CONFLICT (doc_id) DO UPDATE SET seq = excluded.seq, \
                                 content_hash = excluded.content_hash, deleted = excluded.deleted",
                            );
                            q.build().execute(&mut *tx).await.map_err(LedgerError::query("update document states"))?;
                            // Fill in the sequence numbers of what was written.
                            let mut seqs = (first..).take(rows.len());
                            for a in done.iter_mut().rev().take(chunk.len()).rev() {
                                if let Appended::Written(s) = a {
                                    *s = Seq(seqs.next().unwrap_or_default());
                                }
                            }
                            wrote = true;
                        }
                        out.push(Written::Changes(done));
                    }
                    Write::Keyed { change, key } => {
                        let existing = sqlx::query("SELECT body_hash, doc_id FROM idempotency WHERE key = $1")
                            .bind(&key.key)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(LedgerError::query("read idempotency key"))?;
                        if let Some(row) = existing {
                            let hash: String = row.try_get(0).map_err(LedgerError::query("read idempotency key"))?;
                            let doc: String = row.try_get(1).map_err(LedgerError::query("read idempotency key"))?;
                            let doc: DocId = doc.parse().map_err(|e| (0, e))?;
                            if hash == key.body_hash {
                                let seq = sqlx::query("SELECT seq FROM documents WHERE doc_id = $1")
                                    .bind(doc.to_string())
                                    .fetch_optional(&mut *tx)
                                    .await
                                    .map_err(LedgerError::query("read document state"))?
                                    .map(|r| r.try_get::<i64, _>(0))
                                    .transpose()
                                    .map_err(LedgerError::query("read document state"))?
                                    .unwrap_or(0);
                                out.push(Written::Keyed(KeyedWrite::Replayed { doc, seq: Seq(seq) }));
                            } else {
                                out.push(Written::Keyed(KeyedWrite::Conflict { doc }));
                            }
                            continue;
                        }
                        let change = Change::Put(change.clone());
                        let appended = append_change!(&change);
                        sqlx::query("INSERT INTO idempotency (key, body_hash, doc_id, created_at) VALUES ($1, $2, $3, $4)")
                            .bind(&key.key)
                            .bind(&key.body_hash)
                            .bind(change.doc().to_string())
                            .bind(now)
                            .execute(&mut *tx)
                            .await
                            .map_err(LedgerError::query("record idempotency key"))?;
                        let seq = match appended {
                            Appended::Written(s) => {
                                wrote = true;
                                s
                            }
                            Appended::Unchanged => Seq(0),
                        };
                        out.push(Written::Keyed(KeyedWrite::Written { doc: change.doc().clone(), seq }));
                    }
                }
            }
            if let Pool::Postgres(_) = self
                && wrote
            {
                sqlx::query("SELECT pg_notify($1, '')")
                    .bind(CHANNEL)
                    .execute(&mut *tx)
                    .await
                    .map_err(LedgerError::query("notify"))?;
            }
            tx.commit().await.map_err(LedgerError::query("commit append"))?;
            Ok(out)
        })
    }

    pub(super) async fn head(&self) -> Result<Seq, LedgerError> {
        on_pool!(self, p => {
            let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM entries")
                .fetch_one(p)
                .await
                .map_err(LedgerError::query("read head"))?;
            Ok(Seq(row.try_get::<i64, _>(0).map_err(LedgerError::query("read head"))?))
        })
    }

    pub(super) async fn head_as_of(&self, at: &str) -> Result<Seq, LedgerError> {
        on_pool!(self, p => {
            let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM entries WHERE recorded_at <= $1")
                .bind(at)
                .fetch_one(p)
                .await
                .map_err(LedgerError::query("read head as of a time"))?;
            Ok(Seq(row.try_get::<i64, _>(0).map_err(LedgerError::query("read head as of a time"))?))
        })
    }

    pub(super) async fn wait_for_remote(&self, poll: Duration, listener: &Mutex<Option<PgListener>>) {
        match self {
            Pool::Sqlite(_) => tokio::time::sleep(poll).await,
            Pool::Postgres(p) => {
                // A listener per wait would miss notifications between waits;
                // one kept listener is enough, and polling covers any gap.
                let mut guard = listener.lock().await;
                if guard.is_none()
                    && let Ok(mut l) = PgListener::connect_with(p).await
                    && l.listen(CHANNEL).await.is_ok()
                {
                    *guard = Some(l);
                }
                match guard.as_mut() {
                    Some(l) => {
                        if let Ok(Err(_)) = tokio::time::timeout(poll, l.recv()).await {
                            *guard = None;
                        }
                    }
                    None => tokio::time::sleep(poll).await,
                }
            }
        }
    }

    pub(super) async fn entries_after(&self, after: Seq, limit: i64) -> Result<Vec<Entry>, LedgerError> {
        let sql = concat!("SELECT ", entry_columns!(), " FROM entries e WHERE e.seq > $1 ORDER BY e.seq LIMIT $2");
        on_pool!(self, p => {
            let rows = sqlx::query(sql)
                .bind(after.0)
                .bind(limit)
                .fetch_all(p)
                .await
                .map_err(LedgerError::query("read entries"))?;
            rows.iter().map(entry_from_row).collect()
        })
    }

    pub(super) async fn live_after(&self, after: Seq, limit: i64) -> Result<Vec<Entry>, LedgerError> {
        let sql = concat!(
            "SELECT ",
            entry_columns!(),
            " FROM documents d JOIN entries e ON e.seq = d.seq \
             WHERE d.deleted = 0 AND d.seq > $1 ORDER BY d.seq LIMIT $2"
        );
        on_pool!(self, p => {
            let rows = sqlx::query(sql)
                .bind(after.0)
                .bind(limit)
                .fetch_all(p)
                .await
                .map_err(LedgerError::query("read live documents"))?;
            rows.iter().map(entry_from_row).collect()
        })
    }

    pub(super) async fn live_as_of(&self, at: &str) -> Result<Vec<Entry>, LedgerError> {
        let sql = concat!(
            "SELECT ",
            entry_columns!(),
            " FROM entries e JOIN \
             (SELECT doc_id, MAX(seq) AS seq FROM entries WHERE recorded_at <= $1 GROUP BY doc_id) m \
             ON e.seq = m.seq WHERE e.op = 'put' ORDER BY e.seq"
        );
        on_pool!(self, p => {
            let rows = sqlx::query(sql)
                .bind(at)
                .fetch_all(p)
                .await
                .map_err(LedgerError::query("read the ledger as of a time"))?;
            rows.iter().map(entry_from_row).collect()
        })
    }

    pub(super) async fn state(&self, doc: &DocId) -> Result<Option<DocState>, LedgerError> {
        on_pool!(self, p => {
            let row = sqlx::query("SELECT seq, content_hash, deleted FROM documents WHERE doc_id = $1")
                .bind(doc.to_string())
                .fetch_optional(p)
                .await
                .map_err(LedgerError::query("read document state"))?;
            row.map(|r| doc_state(&r)).transpose()
        })
    }

    pub(super) async fn states_of(&self, source: Source) -> Result<HashMap<DocId, DocState>, LedgerError> {
        on_pool!(self, p => {
            let rows = sqlx::query("SELECT doc_id, seq, content_hash, deleted FROM documents WHERE source = $1")
                .bind(source.as_str())
                .fetch_all(p)
                .await
                .map_err(LedgerError::query("read document states"))?;
            let mut out = HashMap::with_capacity(rows.len());
            for r in &rows {
                let state = doc_state(r)?;
                let id: String = r.try_get("doc_id").map_err(LedgerError::query("read document states"))?;
                out.insert(id.parse().map_err(|e| (state.seq.0, e))?, state);
            }
            Ok(out)
        })
    }

    pub(super) async fn updated_of(&self, source: Source) -> Result<HashMap<DocId, String>, LedgerError> {
        on_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT d.doc_id, e.source_updated FROM documents d JOIN entries e ON e.seq = d.seq \
                 WHERE d.source = $1 AND d.deleted = 0 AND e.source_updated IS NOT NULL",
            )
            .bind(source.as_str())
            .fetch_all(p)
            .await
            .map_err(LedgerError::query("read source times"))?;
            let mut out = HashMap::with_capacity(rows.len());
            for r in &rows {
                let id: String = r.try_get(0).map_err(LedgerError::query("read source times"))?;
                let at: String = r.try_get(1).map_err(LedgerError::query("read source times"))?;
                out.insert(id.parse().map_err(|e| (0, e))?, at);
            }
            Ok(out)
        })
    }

    pub(super) async fn updated_of_doc(&self, doc: &DocId) -> Result<Option<String>, LedgerError> {
        on_pool!(self, p => {
            let row = sqlx::query(
                "SELECT e.source_updated FROM documents d JOIN entries e ON e.seq = d.seq \
                 WHERE d.doc_id = $1 AND d.deleted = 0",
            )
            .bind(doc.to_string())
            .fetch_optional(p)
            .await
            .map_err(LedgerError::query("read a source time"))?;
            match row {
                Some(r) => r.try_get::<Option<String>, _>(0).map_err(LedgerError::query("read a source time")),
                None => Ok(None),
            }
        })
    }

    pub(super) async fn payload(&self, seq: Seq) -> Result<Option<Vec<u8>>, LedgerError> {
        on_pool!(self, p => {
            let row = sqlx::query("SELECT payload FROM entries WHERE seq = $1")
                .bind(seq.0)
                .fetch_optional(p)
                .await
                .map_err(LedgerError::query("read payload"))?;
            match row {
                Some(r) => r.try_get::<Option<Vec<u8>>, _>(0).map_err(LedgerError::query("read payload")),
                None => Ok(None),
            }
        })
    }

    pub(super) async fn cursor(&self, name: &str) -> Result<Option<String>, LedgerError> {
        on_pool!(self, p => {
            let row = sqlx::query("SELECT value FROM cursors WHERE name = $1")
                .bind(name)
                .fetch_optional(p)
                .await
                .map_err(LedgerError::query("read cursor"))?;
            row.map(|r| r.try_get::<String, _>(0)).transpose().map_err(LedgerError::query("read cursor"))
        })
    }

    pub(super) async fn set_cursor(&self, name: &str, value: &str, now: &str) -> Result<(), LedgerError> {
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO cursors (name, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(name)
            .bind(value)
            .bind(now)
            .execute(p)
            .await
            .map_err(LedgerError::query("write cursor"))?;
            Ok(())
        })
    }

    pub(super) async fn audit_tail(&self, limit: i64) -> Result<Vec<AuditRow>, LedgerError> {
        on_pool!(self, p => {
            let rows = sqlx::query(
                "SELECT at, caller, face, tool, outcome, detail FROM audit ORDER BY id DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(p)
            .await
            .map_err(LedgerError::query("read audit log"))?;
            rows.iter()
                .map(|r| {
                    Ok(AuditRow {
                        at: r.try_get(0)?,
                        caller: r.try_get(1)?,
                        face: r.try_get(2)?,
                        tool: r.try_get(3)?,
                        outcome: r.try_get(4)?,
                        detail: r.try_get(5)?,
                    })
                })
                .collect::<Result<_, sqlx::Error>>()
                .map_err(LedgerError::query("read audit log"))
        })
    }

    pub(super) async fn count_entries(&self) -> Result<i64, LedgerError> {
        on_pool!(self, p => {
            let row = sqlx::query("SELECT COUNT(*) FROM entries")
                .fetch_one(p)
                .await
                .map_err(LedgerError::query("count entries"))?;
            row.try_get::<i64, _>(0).map_err(LedgerError::query("count entries"))
        })
    }
}

fn doc_state<R: Row>(r: &R) -> Result<DocState, LedgerError>
where
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
{
    let get = LedgerError::query("read document state");
    let seq: i64 = r.try_get("seq").map_err(get)?;
    let get = LedgerError::query("read document state");
    let content_hash: String = r.try_get("content_hash").map_err(get)?;
    let get = LedgerError::query("read document state");
    let deleted: i64 = r.try_get("deleted").map_err(get)?;
    Ok(DocState { seq: Seq(seq), content_hash, deleted: deleted != 0 })
}
