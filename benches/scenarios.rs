//! Scores `context_for_action` on a scenario set written apart from FFO
//! (by default `../shared/eval/harbor`, or the folder in `FFO_SCENARIOS`):
//! ingests the set with its own `ingest.sh` (or `ffo ingest all`), asks for
//! the context of every scenario's alert and action through the binary,
//! and prints decisive-recall@5 per scenario and per kind, next to the
//! set's baselines when it has a `baselines.py`.
//!
//! Not part of the test command. Run with `cargo bench --bench scenarios`
//! (release) or `cargo test --bench scenarios` (a debug build, quicker to
//! build); `FFO_SCENARIOS_VERBOSE=1` lists the top five of each list for a
//! miss. Where the set is absent it says so and exits cleanly.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

#[path = "../tests/common/scenarios.rs"]
mod scenarios;

fn main() {
    let dir = std::env::var_os("FFO_SCENARIOS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/eval/harbor"));
    let file = dir.join("scenarios.json");
    if !file.exists() {
        println!("no scenario set at {} (no scenarios.json): nothing to score", dir.display());
        return;
    }
    let ffo = PathBuf::from(env!("CARGO_BIN_EXE_ffo"));
    let data = tempfile::tempdir().expect("temp dir");
    let data_dir = data.path().join("data");
    let ingest = dir.join("ingest.sh");
    let status = if ingest.exists() {
        Command::new("bash").arg(&ingest).arg(&ffo).env("FFO_DATA", &data_dir).env("FFO_LOG", "error").status()
    } else {
        Command::new(&ffo).arg("--data").arg(&data_dir).args(["ingest", "all"]).arg(&dir).status()
    };
    match status {
        Ok(s) if s.success() || s.code() == Some(3) => {}
        other => {
            eprintln!("ingesting {} failed: {other:?}", dir.display());
            std::process::exit(1);
        }
    }
    let set = scenarios::load(&file);
    let started = std::time::Instant::now();
    let score = scenarios::run(&ffo, &data_dir, &set);
    let verbose = std::env::var_os("FFO_SCENARIOS_VERBOSE").is_some();
    print!("{}", scenarios::report(&score, verbose, &set));
    println!("({} scenarios in {:.1} s, through the ffo binary)", set.len(), started.elapsed().as_secs_f64());

    // The set's baselines, side by side.
    let baselines = dir.join("baselines.py");
    if !baselines.exists() {
        return;
    }
    let Ok(out) = Command::new("python3").arg(&baselines).arg("--json").output() else {
        println!("baselines: python3 is not available");
        return;
    };
    let Ok(rows) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
        println!("baselines: {} printed no JSON", baselines.display());
        return;
    };
    let mut table: BTreeMap<String, [usize; 3]> = BTreeMap::new();
    for r in rows.as_array().into_iter().flatten() {
        let kind = r["kind"].as_str().unwrap_or("?").to_string();
        let e = table.entry(kind).or_default();
        e[0] += usize::from(r["hit"]["keyword"].as_bool() == Some(true));
        e[1] += usize::from(r["hit"]["one-hop"].as_bool() == Some(true));
        e[2] += 1;
    }
    let ffo_by_kind = score.by_kind();
    println!("\n{:<17} {:>6} {:>8} {:>8}", "kind", "FFO", "keyword", "one-hop");
    let mut totals = [0usize; 4];
    for (kind, [k, o, n]) in &table {
        let f = ffo_by_kind.get(kind).map_or(0, |(h, _)| *h);
        println!("{kind:<17} {:>6} {:>8} {:>8}", format!("{f}/{n}"), format!("{k}/{n}"), format!("{o}/{n}"));
        totals[0] += f;
        totals[1] += k;
        totals[2] += o;
        totals[3] += n;
    }
    let [f, k, o, n] = totals;
    println!("{:<17} {:>6} {:>8} {:>8}", "all", format!("{f}/{n}"), format!("{k}/{n}"), format!("{o}/{n}"));
}
