//! The ledger on both backends: SQLite in a temp directory and PostgreSQL on
//! 127.0.0.1:5432 (a database of its own per test).

use chrono::Utc;
use ffo::ledger::{Appended, Change, Ledger, NewVersion, Op};
use ffo::model::{DocId, Seq, Source};

mod common;

fn version(id: &str, graph: &str) -> Change {
    Change::Put(NewVersion {
        doc: DocId::new(Source::Jira, id).unwrap(),
        source_version: Some("1".into()),
        source_updated: Some(Utc::now()),
        payload: format!("{{\"key\":\"{id}\"}}").into_bytes(),
        graph: graph.to_string(),
        text_doc: None,
    })
}

async fn exercise(ledger: &Ledger) {
    assert_eq!(ledger.head().await.unwrap(), Seq(0));
    let a = "<https://ffo.dev/doc/jira/A> <https://ffo.dev/ns#title> \"a\" .\n";
    let b = "<https://ffo.dev/doc/jira/B> <https://ffo.dev/ns#title> \"b\" .\n";
    let out = ledger.append(&[version("A", a), version("B", b)]).await.unwrap();
    assert_eq!(out, vec![Appended::Written(Seq(1)), Appended::Written(Seq(2))]);

    // The same content again writes nothing; a change writes one entry.
    let out = ledger.append(&[version("A", a), version("B", "changed")]).await.unwrap();
    assert_eq!(out, vec![Appended::Unchanged, Appended::Written(Seq(3))]);
    let before_delete = Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    // Deleting twice writes once.
    let del = Change::Delete(DocId::new(Source::Jira, "A").unwrap());
    assert_eq!(ledger.append(std::slice::from_ref(&del)).await.unwrap(), vec![Appended::Written(Seq(4))]);
    assert_eq!(ledger.append(&[del]).await.unwrap(), vec![Appended::Unchanged]);
    // A deleted document comes back with a put of the same content.
    assert_eq!(ledger.append(&[version("A", a)]).await.unwrap(), vec![Appended::Written(Seq(5))]);

    let all = ledger.entries_after(Seq(0), 100).await.unwrap();
    let seqs: Vec<i64> = all.iter().map(|e| e.seq.0).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    assert!(matches!(all[3].op, Op::Delete));
    assert_eq!(ledger.entries_after(Seq(3), 1).await.unwrap().len(), 1);

    let live = ledger.live_after(Seq(0), 100).await.unwrap();
    let live: Vec<(String, i64)> = live.iter().map(|e| (e.doc.to_string(), e.seq.0)).collect();
    assert_eq!(live, vec![("jira:B".to_string(), 3), ("jira:A".to_string(), 5)]);

    // As of before the delete: A (first version) and B (changed).
    let then = ledger.live_as_of(before_delete).await.unwrap();
    let then: Vec<i64> = then.iter().map(|e| e.seq.0).collect();
    assert_eq!(then, vec![1, 3]);

    assert_eq!(ledger.head().await.unwrap(), Seq(5));
    let payload = ledger.payload(Seq(1)).await.unwrap().unwrap();
    assert_eq!(payload, b"{\"key\":\"A\"}");
    ledger.set_cursor("jira:updated", "2026-01-01").await.unwrap();
    ledger.set_cursor("jira:updated", "2026-02-01").await.unwrap();
    assert_eq!(ledger.cursor("jira:updated").await.unwrap().as_deref(), Some("2026-02-01"));
    let states = ledger.states_of(Source::Jira).await.unwrap();
    assert_eq!(states.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_ledger_appends_in_order_and_skips_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open_in(dir.path()).await.unwrap();
    exercise(&ledger).await;
    // Reopening keeps everything.
    drop(ledger);
    let ledger = Ledger::open_in(dir.path()).await.unwrap();
    assert_eq!(ledger.head().await.unwrap(), Seq(5));
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_ledger_appends_in_order_and_skips_unchanged() {
    let db = common::PgDb::create();
    let ledger = Ledger::connect(&db.url).await.unwrap();
    assert!(ledger.is_shared());
    exercise(&ledger).await;
    drop(ledger);
    let ledger = Ledger::connect(&db.url).await.unwrap();
    assert_eq!(ledger.head().await.unwrap(), Seq(5));
}

/// The entries table refuses updates and deletes, in both backends.
#[tokio::test(flavor = "multi_thread")]
async fn entries_are_append_only_in_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let ledger = Ledger::open_in(dir.path()).await.unwrap();
    ledger.append(&[version("A", "x")]).await.unwrap();
    drop(ledger);
    let conn = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let err = sqlx::query("UPDATE entries SET graph = 'y'").execute(&conn).await.unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    let err = sqlx::query("DELETE FROM entries").execute(&conn).await.unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");

    let db = common::PgDb::create();
    let ledger = Ledger::connect(&db.url).await.unwrap();
    ledger.append(&[version("A", "x")]).await.unwrap();
    let pg = sqlx::PgPool::connect(&db.url).await.unwrap();
    let err = sqlx::query("DELETE FROM entries").execute(&pg).await.unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    pg.close().await;
}

/// Concurrent appenders on PostgreSQL: sequence numbers are contiguous in
/// commit order, so a tailer reading `seq > watermark` never skips one.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_concurrent_appends_are_gapless_in_commit_order() {
    let db = common::PgDb::create();
    let a = Ledger::connect(&db.url).await.unwrap();
    let b = Ledger::connect(&db.url).await.unwrap();
    let mut tasks = Vec::new();
    for (i, l) in [a.clone(), b.clone()].into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for n in 0..25 {
                l.append(&[version(&format!("T{i}-{n}"), &format!("g{i}{n}"))]).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let all = a.entries_after(Seq(0), 1000).await.unwrap();
    let seqs: Vec<i64> = all.iter().map(|e| e.seq.0).collect();
    assert_eq!(seqs, (1..=50).collect::<Vec<_>>());
}

/// A large batch (an import) takes the batched path: the same results as
/// one change at a time, sequence numbers contiguous, duplicates and
/// unchanged documents handled, in both backends.
async fn exercise_batch(ledger: &Ledger) {
    let mut changes: Vec<Change> = (0..1200).map(|i| version(&format!("B{i}"), &format!("g{i}"))).collect();
    // A document changed twice in the batch, and one deleted after its put.
    changes.push(version("B7", "g7-again"));
    changes.push(Change::Delete(DocId::new(Source::Jira, "B8").unwrap()));
    let out = ledger.append(&changes).await.unwrap();
    let seqs: Vec<i64> = out
        .iter()
        .map(|a| match a {
            Appended::Written(s) => s.0,
            Appended::Unchanged => panic!("nothing here is unchanged"),
        })
        .collect();
    assert_eq!(seqs, (1..=1202).collect::<Vec<_>>());
    let state = ledger.state(&DocId::new(Source::Jira, "B7").unwrap()).await.unwrap().unwrap();
    assert_eq!(state.seq, Seq(1201));
    assert!(ledger.state(&DocId::new(Source::Jira, "B8").unwrap()).await.unwrap().unwrap().deleted);
    // Again: everything unchanged but a new document at the end.
    let mut again: Vec<Change> =
        (0..1200).filter(|i| *i != 7 && *i != 8).map(|i| version(&format!("B{i}"), &format!("g{i}"))).collect();
    again.push(version("B-new", "n"));
    let out = ledger.append(&again).await.unwrap();
    assert!(out[..out.len() - 1].iter().all(|a| *a == Appended::Unchanged));
    assert_eq!(out.last(), Some(&Appended::Written(Seq(1203))));
    // Single appends continue the sequence.
    assert_eq!(ledger.append(&[version("C", "c")]).await.unwrap(), vec![Appended::Written(Seq(1204))]);
    let live = ledger.live_after(Seq(0), 5000).await.unwrap();
    assert_eq!(live.len(), 1200 - 1 + 1 + 1, "B8 deleted, B-new and C added");
}

#[tokio::test(flavor = "multi_thread")]
async fn batched_appends_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    exercise_batch(&Ledger::open_in(dir.path()).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn batched_appends_on_postgres() {
    let db = common::PgDb::create();
    exercise_batch(&Ledger::connect(&db.url).await.unwrap()).await;
}
