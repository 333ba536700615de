//! Crash safety, proven: `ffo serve` runs as a real process while several
//! clients stream write_outcome calls; it is killed with SIGKILL at random
//! moments and restarted, again and again. Afterwards every acknowledged
//! write is in the ledger, the graph and the search index, none twice, and
//! the projections equal a fresh `ffo rebuild`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};

mod common;
use common::{Ffo, post_json};

const WRITERS: usize = 4;

#[derive(Default)]
struct Book {
    /// Idempotency key → the id FFO acknowledged for it.
    acked: BTreeMap<String, String>,
    /// Keys sent but not acknowledged: retried with the same body.
    pending: Vec<String>,
    next: usize,
}

fn body(key: &str) -> Value {
    json!({
        "entity": "checkout-api",
        "action": "restart pods",
        "result": "success",
        "summary": format!("crash test write {key}"),
        "idempotency_key": key,
    })
}

/// Sends writes until `stop`; records what was acknowledged.
fn writer(url: String, book: Arc<Mutex<Book>>, stop: Arc<AtomicBool>, who: usize) {
    while !stop.load(Ordering::SeqCst) {
        let key = {
            let mut b = book.lock().unwrap();
            match b.pending.pop() {
                Some(k) => k,
                None => {
                    b.next += 1;
                    format!("w{who}-{}", b.next)
                }
            }
        };
        let answer = try_post(&url, &body(&key));
        let mut b = book.lock().unwrap();
        match answer.as_ref().and_then(|a| a["id"].as_str()) {
            Some(id) => {
                if let Some(before) = b.acked.insert(key.clone(), id.to_string()) {
                    assert_eq!(before, id, "key {key} acknowledged with two ids");
                }
            }
            None => {
                b.pending.push(key);
                drop(b);
                thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// The answer to a POST, if one came back whole with status 200; a killed
/// server gives none (refused, reset, cut short).
fn try_post(url: &str, body: &Value) -> Option<Value> {
    let headers = [("Content-Type", "application/json")];
    match common::request("POST", url, &headers, body.to_string().as_bytes()) {
        Ok((200, text)) => serde_json::from_str(&text).ok(),
        _ => None,
    }
}

/// A small deterministic generator for kill delays.
fn delays(seed: u64) -> impl Iterator<Item = u64> {
    let mut x = seed;
    std::iter::from_fn(move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        Some(150 + x % 900)
    })
}

#[test]
fn acknowledged_writes_survive_sigkill_and_projections_equal_a_rebuild() {
    let ffo = Ffo::new();
    ffo.ok(&["ingest", "catalog", common::fixtures().join("catalog").to_str().unwrap()]);
    let rounds: usize = std::env::var("FFO_CRASH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(10);
    let port = common::free_port();
    let url = format!("http://127.0.0.1:{port}/v1/outcomes");
    let book = Arc::new(Mutex::new(Book::default()));
    let mut wait = delays(0x5eed_f00d);
    let mut server = ffo.serve_on(port);
    for _ in 0..rounds {
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..WRITERS)
            .map(|who| {
                let (url, book, stop) = (url.clone(), book.clone(), stop.clone());
                thread::spawn(move || writer(url, book, stop, who))
            })
            .collect();
        thread::sleep(Duration::from_millis(wait.next().unwrap_or(500)));
        // SIGKILL: no shutdown, no flush, mid-write.
        server.child.kill().expect("kill");
        server.child.wait().expect("reap");
        stop.store(true, Ordering::SeqCst);
        for w in writers {
            w.join().expect("writer");
        }
        server = ffo.serve_on(port);
    }
    // Retry what was never acknowledged until it is.
    loop {
        let key = book.lock().unwrap().pending.pop();
        let Some(key) = key else { break };
        let (status, answer) = post_json(&url, &body(&key));
        assert_eq!(status, 200, "{answer}");
        book.lock().unwrap().acked.insert(key, answer["id"].as_str().unwrap().to_string());
    }
    let acked = book.lock().unwrap().acked.clone();
    eprintln!("crash test: {rounds} SIGKILLs, {} acknowledged writes", acked.len());
    assert!(acked.len() > rounds * 2, "the test wrote too little to prove anything: {}", acked.len());

    // Every acknowledged write is in the index (documents endpoint) and the graph.
    for (key, id) in &acked {
        let (status, d) = common::get_json(&server.url(&format!("/v1/documents/{id}")));
        assert_eq!(status, 200, "{key} → {id} is not served: {d}");
        assert!(d["document"]["summary"].as_str().unwrap().contains(key.as_str()), "{d}");
    }
    let q =
        "PREFIX ffo: <https://ffo.dev/ns#> SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { GRAPH ?o { ?o a ffo:Outcome } }";
    let (_, counted) = common::get(&server.url(&format!("/sparql?query={}&format=csv", common::urlencode(q)))).unwrap();
    let graphs: usize = counted.lines().nth(1).and_then(|l| l.trim().parse().ok()).expect("count");
    drop(server);

    // In the ledger, each key is one document: none twice.
    let (documents, keys, mismatched) = ledger_view(&ffo, &acked);
    assert_eq!(mismatched, Vec::<String>::new(), "acknowledged ids differ from the ledger's");
    assert_eq!(documents, keys, "every outcome document has exactly one key");
    assert_eq!(documents, acked.len(), "no write stored twice, none lost");
    assert_eq!(graphs, acked.len(), "one graph per outcome");

    // The projections equal a fresh rebuild, and hold what the ledger says.
    let check = |ffo: &Ffo| -> Value { ffo.json(&["check", "--json"]) };
    let before = check(&ffo);
    assert_eq!(before["consistent"], true, "{before}");
    ffo.ok(&["rebuild"]);
    let after = check(&ffo);
    for field in ["graph_digest", "index_digest", "quads", "indexed", "live_documents"] {
        assert_eq!(before[field], after[field], "{field} differs after a rebuild");
    }
}

/// (outcome documents, idempotency keys, acked keys whose id the ledger disagrees with).
fn ledger_view(ffo: &Ffo, acked: &BTreeMap<String, String>) -> (usize, usize, Vec<String>) {
    let url = format!("sqlite://{}?mode=ro", ffo.data().join("ledger.sqlite").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let docs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM documents WHERE source = 'outcome' AND deleted = 0")
            .fetch_one(&pool)
            .await
            .unwrap();
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT key, doc_id FROM idempotency").fetch_all(&pool).await.unwrap();
        let by_key: BTreeMap<String, String> =
            rows.into_iter().map(|(k, d)| (k.split('\u{1f}').nth(1).unwrap_or_default().to_string(), d)).collect();
        let distinct_docs: BTreeSet<&String> = by_key.values().collect();
        assert_eq!(distinct_docs.len(), by_key.len(), "two keys share a document");
        let mismatched = acked
            .iter()
            .filter(|(k, id)| by_key.get(*k) != Some(*id))
            .map(|(k, id)| format!("{k}: acked {id}, ledger {:?}", by_key.get(k)))
            .collect();
        pool.close().await;
        (docs as usize, by_key.len(), mismatched)
    })
}
