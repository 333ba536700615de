//! The ledger: the append-only source of truth (SQLite by default, PostgreSQL
//! when shared). Every document version, deletion, outcome and alert enters
//! here first, in one transaction, and gets a sequence number.
//!
//! The ledger knows nothing of the projections that read it, nor of any face.

mod backend;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};
use sqlx::Row;
use tokio::sync::{Mutex, mpsc, oneshot, watch};

use crate::model::{DocId, IdError, Seq, Source};
use backend::Pool;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("cannot open the ledger at {url}: {source}")]
    Open {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot migrate the ledger schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("ledger {op}: {source}")]
    Query {
        op: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("ledger row {seq} is corrupt: {reason}")]
    Corrupt { seq: i64, reason: String },
    #[error("unsupported ledger URL {0:?}; use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("ledger committer: {0}")]
    Committer(String),
}

impl LedgerError {
    fn query(op: &'static str) -> impl FnOnce(sqlx::Error) -> LedgerError {
        move |source| LedgerError::Query { op, source }
    }
}

impl From<(i64, IdError)> for LedgerError {
    fn from((seq, e): (i64, IdError)) -> LedgerError {
        LedgerError::Corrupt { seq, reason: e.to_string() }
    }
}

/// A new version of a document, as ingest (or a write) hands it to the ledger.
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub doc: DocId,
    /// The source's own version marker (Jira `updated`, a page's version number).
    pub source_version: Option<String>,
    pub source_updated: Option<DateTime<Utc>>,
    /// The raw document as the source sent it.
    pub payload: Vec<u8>,
    /// The document's named graph, as N-Triples.
    pub graph: String,
    /// The search document, JSON; `None` when the document is not searchable.
    pub text_doc: Option<String>,
}

impl NewVersion {
    /// What decides whether a re-ingest changed anything: what the document
    /// projects to, not the bytes it came in (a reformatted export of the same
    /// facts is unchanged; a mapping change is a change).
    pub fn content_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.graph.as_bytes());
        h.update([0u8]);
        if let Some(t) = &self.text_doc {
            h.update(t.as_bytes());
        }
        hex::encode(h.finalize())
    }
}

/// One change to append.
#[derive(Debug, Clone)]
pub enum Change {
    Put(NewVersion),
    Delete(DocId),
}

impl Change {
    pub fn doc(&self) -> &DocId {
        match self {
            Change::Put(v) => &v.doc,
            Change::Delete(d) => d,
        }
    }
}

/// What became of one change in [`Ledger::append`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    Written(Seq),
    /// The document already had this content (or was already deleted): nothing written.
    Unchanged,
}

/// A unit of work for the group committer.
#[derive(Debug, Clone)]
pub enum Write {
    Changes(Vec<Change>),
    /// Lines of the audit log.
    Audit(Vec<AuditRecord>),
    /// A new document under an idempotency key (write_outcome).
    Keyed {
        change: NewVersion,
        key: IdempotencyKey,
    },
}

/// An idempotency key and the hash of the body it was first used with.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub key: String,
    pub body_hash: String,
}

/// What became of a [`Write`].
#[derive(Debug, Clone)]
pub enum Written {
    Changes(Vec<Appended>),
    Audited,
    Keyed(KeyedWrite),
}

/// What became of a keyed write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyedWrite {
    Written {
        doc: DocId,
        seq: Seq,
    },
    /// The key was used before with the same body: that document, nothing new.
    Replayed {
        doc: DocId,
        seq: Seq,
    },
    /// The key was used before with another body.
    Conflict {
        doc: DocId,
    },
}

/// A committed ledger entry, as projections read it (without the raw payload).
#[derive(Debug, Clone)]
pub struct Entry {
    pub seq: Seq,
    pub doc: DocId,
    pub op: Op,
    pub source_version: Option<String>,
    pub source_updated: Option<String>,
    pub recorded_at: String,
}

#[derive(Debug, Clone)]
pub enum Op {
    Put { content_hash: String, graph: String, text_doc: Option<String> },
    Delete,
}

/// The current state of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocState {
    pub seq: Seq,
    pub content_hash: String,
    pub deleted: bool,
}

/// The ledger. Cheap to clone; clones share the pool and the committer.
#[derive(Clone)]
pub struct Ledger {
    pool: Pool,
    /// Appends go through one committer task, which groups concurrent
    /// writers into one transaction: SQLite has one writer anyway, and one
    /// fsync for many acknowledged writes is what makes them fast.
    jobs: mpsc::Sender<Job>,
    /// Serialises the few writes that bypass the committer (cursors).
    write_lock: Arc<Mutex<()>>,
    head: Arc<watch::Sender<Seq>>,
    listener: Arc<Mutex<Option<sqlx::postgres::PgListener>>>,
    /// Audit records of reads, written in batches every [`AUDIT_EVERY`].
    audit_buffer: Arc<std::sync::Mutex<Vec<AuditRecord>>>,
}

/// How often buffered audit records of reads are written.
const AUDIT_EVERY: Duration = Duration::from_millis(250);

impl Ledger {
    /// Opens (creating and migrating) the ledger at a `sqlite://` or
    /// `postgres://` URL.
    pub async fn connect(url: &str) -> Result<Ledger, LedgerError> {
        let pool = Pool::connect(url).await?;
        pool.migrate().await?;
        let head = Arc::new(watch::channel(pool.head().await?).0);
        let (jobs, rx) = mpsc::channel(4096);
        tokio::spawn(committer(pool.clone(), head.clone(), rx));
        let audit_buffer = Arc::new(std::sync::Mutex::new(Vec::new()));
        tokio::spawn(audit_flusher(Arc::downgrade(&audit_buffer), jobs.downgrade()));
        Ok(Ledger {
            pool,
            jobs,
            write_lock: Arc::new(Mutex::new(())),
            head,
            listener: Arc::new(Mutex::new(None)),
            audit_buffer,
        })
    }

    /// The default embedded ledger in a data directory.
    pub async fn open_in(data_dir: &Path) -> Result<Ledger, LedgerError> {
        let url = format!("sqlite://{}", data_dir.join("ledger.sqlite").display());
        Ledger::connect(&url).await
    }

    pub fn is_shared(&self) -> bool {
        matches!(self.pool, Pool::Postgres(_))
    }

    /// Appends changes in one transaction. A `Put` whose content equals the
    /// document's current content, or a `Delete` of a missing or deleted
    /// document, writes nothing. Returns once the commit is durable.
    pub async fn append(&self, changes: &[Change]) -> Result<Vec<Appended>, LedgerError> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        match self.submit(Write::Changes(changes.to_vec())).await? {
            Written::Changes(out) => Ok(out),
            _ => Err(LedgerError::Committer("a keyed result for changes".into())),
        }
    }

    /// Appends a new document under an idempotency key, in one transaction
    /// with the key. Returns once the commit is durable.
    pub async fn append_keyed(&self, change: NewVersion, key: IdempotencyKey) -> Result<KeyedWrite, LedgerError> {
        match self.submit(Write::Keyed { change, key }).await? {
            Written::Keyed(k) => Ok(k),
            _ => Err(LedgerError::Committer("a changes result for a keyed write".into())),
        }
    }

    async fn submit(&self, write: Write) -> Result<Written, LedgerError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { write, reply })
            .await
            .map_err(|_| LedgerError::Committer("the committer has stopped".into()))?;
        answer.await.map_err(|_| LedgerError::Committer("the committer dropped the write".into()))?
    }

    /// The highest committed sequence number (0 when empty).
    pub async fn head(&self) -> Result<Seq, LedgerError> {
        self.pool.head().await
    }

    /// The last sequence recorded at or before `at`: two instants with the
    /// same head see the same ledger.
    pub async fn head_as_of(&self, at: DateTime<Utc>) -> Result<Seq, LedgerError> {
        self.pool.head_as_of(&timestamp(at)).await
    }

    /// Notified after every local append; shared ledgers are also tailed by
    /// [`Ledger::wait_for_remote`].
    pub fn subscribe(&self) -> watch::Receiver<Seq> {
        self.head.subscribe()
    }

    /// Waits until another process may have appended: a PostgreSQL
    /// notification, or the poll interval. Returns at once for SQLite's
    /// single-process ledger after the interval.
    pub async fn wait_for_remote(&self, poll: Duration) {
        self.pool.wait_for_remote(poll, &self.listener).await
    }

    /// Entries after `after`, in order, at most `limit`.
    pub async fn entries_after(&self, after: Seq, limit: i64) -> Result<Vec<Entry>, LedgerError> {
        self.pool.entries_after(after, limit).await
    }

    /// The live (not deleted) latest version of every document, in sequence
    /// order, from `after` on: what a rebuild replays.
    pub async fn live_after(&self, after: Seq, limit: i64) -> Result<Vec<Entry>, LedgerError> {
        self.pool.live_after(after, limit).await
    }

    /// The live version of every document as the ledger stood at `at`.
    pub async fn live_as_of(&self, at: DateTime<Utc>) -> Result<Vec<Entry>, LedgerError> {
        self.pool.live_as_of(&timestamp(at)).await
    }

    pub async fn state(&self, doc: &DocId) -> Result<Option<DocState>, LedgerError> {
        self.pool.state(doc).await
    }

    /// Current states of every document of a source (for noticing deletions).
    pub async fn states_of(&self, source: Source) -> Result<HashMap<DocId, DocState>, LedgerError> {
        self.pool.states_of(source).await
    }

    /// The source's own last-updated time of every live document of a source
    /// (to keep an older export from replacing a newer version).
    pub async fn updated_of(&self, source: Source) -> Result<HashMap<DocId, String>, LedgerError> {
        self.pool.updated_of(source).await
    }

    /// The source's own last-updated time of one live document.
    pub async fn updated_of_doc(&self, doc: &DocId) -> Result<Option<String>, LedgerError> {
        self.pool.updated_of_doc(doc).await
    }

    /// The raw payload of a document's entry.
    pub async fn payload(&self, seq: Seq) -> Result<Option<Vec<u8>>, LedgerError> {
        self.pool.payload(seq).await
    }

    pub async fn cursor(&self, name: &str) -> Result<Option<String>, LedgerError> {
        self.pool.cursor(name).await
    }

    pub async fn set_cursor(&self, name: &str, value: &str) -> Result<(), LedgerError> {
        let _guard = self.write_lock.lock().await;
        self.pool.set_cursor(name, value, &timestamp(Utc::now())).await
    }

    /// Records a call in the audit log, durably, before returning (writes
    /// are audited so: an acknowledged write is an audited one).
    pub async fn audit(&self, record: AuditRecord) -> Result<(), LedgerError> {
        self.submit(Write::Audit(vec![record])).await.map(|_| ())
    }

    /// Records a call in the audit log without waiting (reads): records are
    /// buffered and written together every quarter second, so a read costs
    /// no commit.
    pub fn audit_later(&self, record: AuditRecord) {
        self.audit_buffer.lock().unwrap_or_else(|e| e.into_inner()).push(record);
    }

    /// Writes the buffered audit records and waits until every write
    /// submitted before this call is committed.
    pub async fn flush(&self) -> Result<(), LedgerError> {
        let pending = std::mem::take(&mut *self.audit_buffer.lock().unwrap_or_else(|e| e.into_inner()));
        if !pending.is_empty() {
            self.submit(Write::Audit(pending)).await?;
        }
        self.submit(Write::Changes(Vec::new())).await.map(|_| ())
    }

    pub async fn audit_tail(&self, limit: i64) -> Result<Vec<AuditRow>, LedgerError> {
        self.pool.audit_tail(limit).await
    }

    pub async fn count_entries(&self) -> Result<i64, LedgerError> {
        self.pool.count_entries().await
    }
}

/// A write waiting for the committer, and where its result goes.
struct Job {
    write: Write,
    reply: oneshot::Sender<Result<Written, LedgerError>>,
}

/// Writes buffered audit records until the ledger is gone.
async fn audit_flusher(buffer: std::sync::Weak<std::sync::Mutex<Vec<AuditRecord>>>, jobs: mpsc::WeakSender<Job>) {
    loop {
        tokio::time::sleep(AUDIT_EVERY).await;
        let (Some(buffer), Some(jobs)) = (buffer.upgrade(), jobs.upgrade()) else { return };
        let pending = std::mem::take(&mut *buffer.lock().unwrap_or_else(|e| e.into_inner()));
        drop(buffer);
        if pending.is_empty() {
            continue;
        }
        // Nobody waits for the answer: a lost batch is logged by the committer's caller side.
        let (reply, answer) = oneshot::channel();
        if jobs.send(Job { write: Write::Audit(pending), reply }).await.is_err() {
            return;
        }
        drop(jobs);
        if let Ok(Err(e)) = answer.await {
            tracing::warn!(error = %e, "audit records not written");
        }
    }
}

/// Writes at most this many jobs per transaction.
const GROUP: usize = 512;

/// The group committer: takes every job waiting, commits them in one
/// transaction, answers each. If the group fails, each job is retried alone,
/// so one bad write cannot fail its neighbours.
async fn committer(pool: Pool, head: Arc<watch::Sender<Seq>>, mut rx: mpsc::Receiver<Job>) {
    let mut jobs: Vec<Job> = Vec::new();
    while rx.recv_many(&mut jobs, GROUP).await > 0 {
        let now = timestamp(Utc::now());
        let writes: Vec<&Write> = jobs.iter().map(|j| &j.write).collect();
        match pool.commit(&writes, &now).await {
            Ok(results) => {
                note_head(&head, &results);
                for (job, result) in jobs.drain(..).zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            Err(_) if jobs.len() > 1 => {
                for job in jobs.drain(..) {
                    let result = pool.commit(&[&job.write], &now).await.map(|mut r| r.remove(0));
                    if let Ok(r) = &result {
                        note_head(&head, std::slice::from_ref(r));
                    }
                    let _ = job.reply.send(result);
                }
            }
            Err(e) => {
                for job in jobs.drain(..) {
                    let _ = job.reply.send(Err(LedgerError::Committer(e.to_string())));
                }
            }
        }
    }
}

/// Tells subscribers the highest sequence just written.
fn note_head(head: &watch::Sender<Seq>, results: &[Written]) {
    let last = results
        .iter()
        .flat_map(|r| match r {
            Written::Changes(a) => a
                .iter()
                .filter_map(|a| match a {
                    Appended::Written(s) => Some(*s),
                    Appended::Unchanged => None,
                })
                .collect::<Vec<_>>(),
            Written::Keyed(KeyedWrite::Written { seq, .. }) => vec![*seq],
            Written::Keyed(_) | Written::Audited => Vec::new(),
        })
        .max();
    if let Some(last) = last {
        head.send_if_modified(|h| {
            let newer = last > *h;
            if newer {
                *h = last;
            }
            newer
        });
    }
}

/// One audited call.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    /// RFC 3339, when the call was made.
    pub at: String,
    pub caller: String,
    pub face: String,
    pub tool: String,
    pub outcome: String,
    pub detail: Option<String>,
}

impl AuditRecord {
    pub fn now(caller: &str, face: &str, tool: &str, outcome: &str, detail: Option<String>) -> AuditRecord {
        AuditRecord {
            at: timestamp(Utc::now()),
            caller: caller.to_string(),
            face: face.to_string(),
            tool: tool.to_string(),
            outcome: outcome.to_string(),
            detail,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuditRow {
    pub at: String,
    pub caller: String,
    pub face: String,
    pub tool: String,
    pub outcome: String,
    pub detail: Option<String>,
}

/// Fixed-width RFC 3339 in UTC, so that text order is time order in both backends.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn entry_from_row<R: Row>(row: &R) -> Result<Entry, LedgerError>
where
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database>,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
{
    let get = |e| LedgerError::Query { op: "read entry", source: e };
    let seq: i64 = row.try_get("seq").map_err(get)?;
    let doc_id: String = row.try_get("doc_id").map_err(get)?;
    let doc: DocId = doc_id.parse().map_err(|e| (seq, e))?;
    let op: String = row.try_get("op").map_err(get)?;
    let op = match op.as_str() {
        "put" => Op::Put {
            content_hash: row.try_get("content_hash").map_err(get)?,
            graph: row.try_get("graph").map_err(get)?,
            text_doc: row.try_get("text_doc").map_err(get)?,
        },
        "delete" => Op::Delete,
        other => {
            return Err(LedgerError::Corrupt { seq, reason: format!("unknown op {other:?}") });
        }
    };
    Ok(Entry {
        seq: Seq(seq),
        doc,
        op,
        source_version: row.try_get("source_version").map_err(get)?,
        source_updated: row.try_get("source_updated").map_err(get)?,
        recorded_at: row.try_get("recorded_at").map_err(get)?,
    })
}
