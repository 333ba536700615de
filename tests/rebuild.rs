//! Projections are derived: a rebuild from the ledger equals what was built
//! incrementally, and a deleted projection comes back on start.

use std::fs;

mod common;
use common::Ffo;

#[test]
fn rebuilt_graph_equals_the_incrementally_built_one() {
    let ffo = Ffo::new();
    let cat = ffo.dir.path().join("catalog");
    common::copy_tree(&common::fixtures().join("catalog"), &cat);
    let cat_s = cat.to_str().unwrap();
    ffo.ok(&["ingest", "catalog", cat_s]);
    ffo.ok(&["ingest", "rdf", common::fixtures().join("rdf").to_str().unwrap()]);
    // Several incremental steps: an edit, a removal, a re-add.
    let path = cat.join("platform.yaml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replace("ffo/environment: production", "ffo/environment: prod-eu")).unwrap();
    ffo.ok(&["ingest", "catalog", cat_s]);
    let marketing = fs::read_to_string(cat.join("marketing.yaml")).unwrap();
    fs::remove_file(cat.join("marketing.yaml")).unwrap();
    ffo.ok(&["ingest", "catalog", cat_s]);
    fs::write(cat.join("marketing.yaml"), marketing).unwrap();
    ffo.ok(&["ingest", "catalog", cat_s]);

    let incremental = ffo.dump();
    let blast_before = ffo.json(&["blast-radius", "kafka-main", "--json"]);
    assert!(incremental.len() > 1000, "{}", incremental.len());
    let out = ffo.ok(&["rebuild"]);
    assert!(out.contains("rebuilt"), "{out}");
    assert_eq!(incremental, ffo.dump());
    assert_eq!(blast_before, ffo.json(&["blast-radius", "kafka-main", "--json"]));

    // Deleting the graph projection outright: it is rebuilt on the next start.
    fs::remove_dir_all(ffo.data().join("graph")).unwrap();
    assert_eq!(incremental, ffo.dump());
}
