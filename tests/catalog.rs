//! Catalog and RDF ingest through the CLI, and the blast-radius and entity
//! answers on the fixture estate.

use std::collections::BTreeMap;
use std::fs;

use serde_json::Value;

mod common;
use common::Ffo;

fn estate() -> Ffo {
    let ffo = Ffo::new();
    ffo.ok(&["ingest", "catalog", common::fixtures().join("catalog").to_str().unwrap()]);
    ffo.ok(&["ingest", "rdf", common::fixtures().join("rdf").to_str().unwrap()]);
    ffo
}

fn dependents(answer: &Value) -> BTreeMap<String, u64> {
    answer["dependents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["id"].as_str().unwrap().to_string(), d["depth"].as_u64().unwrap()))
        .collect()
}

#[test]
fn blast_radius_of_the_shared_cache_on_the_fixture_estate() {
    let ffo = estate();
    let b = ffo.json(&["blast-radius", "redis-shared", "--json"]);
    assert_eq!(b["target"]["id"], "resource:default/redis-shared");
    assert_eq!(b["target"]["kind"], "cache");
    let deps = dependents(&b);
    let expect = [
        ("component:default/checkout-api", 1),
        ("component:default/cart-service", 1),
        ("component:default/catalog-service", 1),
        ("component:default/fraud-service", 1),
        ("component:default/storefront-bff", 2),
        ("component:default/mobile-bff", 2),
        ("component:default/payments-service", 2),
        ("component:default/gateway", 3),
        ("component:default/psp-adapter", 3),
        ("component:default/web-storefront", 4),
    ];
    for (id, depth) in expect {
        assert_eq!(deps.get(id), Some(&depth), "{id} in {deps:?}");
    }
    let totals = &b["totals"];
    assert_eq!(totals["dependents"].as_u64().unwrap() as usize, deps.len());
    let by_tier: u64 = totals["by_tier"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(by_tier as usize, deps.len(), "tier totals add up");
    assert!(totals["by_classification"]["IL5"].as_u64().unwrap() >= 2, "{totals}");
    assert!(totals["by_environment"]["production"].as_u64().unwrap() >= 10);

    // A depth limit stops the walk.
    let b1 = ffo.json(&["blast-radius", "resource:default/redis-shared", "--max-depth", "1", "--json"]);
    assert_eq!(dependents(&b1).len(), 4);
    assert!(dependents(&b1).values().all(|d| *d == 1));

    // The text rendering names the target and the totals.
    let text = ffo.ok(&["blast-radius", "redis-shared"]);
    assert!(text.contains("blast radius of resource:default/redis-shared"), "{text}");
    assert!(text.contains("by tier:"), "{text}");
}

#[test]
fn blast_radius_reaches_through_runs_on_from_the_turtle_hosts_and_survives_the_cycle() {
    let ffo = estate();
    // db-pay-01 is a host from the Turtle file, reached by its alias.
    let b = ffo.json(&["blast-radius", "db-pay-01.prod.internal", "--json"]);
    assert_eq!(b["target"]["id"], "resource:default/db-pay-01");
    assert_eq!(b["target"]["kind"], "host");
    let deps = dependents(&b);
    assert_eq!(deps.get("resource:default/payments-db"), Some(&1));
    assert_eq!(deps.get("component:default/checkout-api"), Some(&2));
    assert!(deps.contains_key("component:default/web-storefront"));
    // pricing-service and promotions-service depend on each other.
    let b = ffo.json(&["blast-radius", "pricing-service", "--json"]);
    let deps = dependents(&b);
    assert!(deps.contains_key("component:default/promotions-service"));
    assert!(!deps.contains_key("component:default/pricing-service"), "the target is not its own dependent");
}

#[test]
fn names_resolve_by_id_name_or_alias_and_ambiguity_lists_candidates() {
    let ffo = estate();
    for q in ["checkout-api", "chk-api", "component:default/checkout-api", "component:checkout-api", "CHECKOUT-API"] {
        let b = ffo.json(&["blast-radius", q, "--json"]);
        assert_eq!(b["target"]["id"], "component:default/checkout-api", "{q}");
    }
    let out = ffo.run(&["blast-radius", "search"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ambiguous"), "{err}");
    assert!(err.contains("system:default/search") && err.contains("component:default/search"), "{err}");

    let out = ffo.run(&["blast-radius", "no-such-thing"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no entity matches \"no-such-thing\""), "{err}");
    // A near miss suggests the real name.
    let out = ffo.run(&["entity", "checkout-apj"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did you mean") && err.contains("checkout-api"), "{err}");
}

#[test]
fn entity_answer_has_attributes_relations_both_ways_and_provenance() {
    let ffo = estate();
    let e = ffo.json(&["entity", "checkout-api", "--json"]);
    assert_eq!(e["entity"]["tier"], 0);
    assert_eq!(e["entity"]["environment"], "production");
    assert_eq!(e["entity"]["classification"], "IL4");
    assert_eq!(e["owner"], "group:default/team-payments");
    assert!(e["aliases"].as_array().unwrap().iter().any(|a| a == "chk-api"));
    let rel = |key: &str, relation: &str, id: &str| {
        e[key].as_array().unwrap().iter().any(|l| l["relation"] == relation && l["entity"]["id"] == id)
    };
    assert!(rel("relations", "dependsOn", "resource:default/redis-shared"));
    assert!(rel("relations", "dependsOn", "resource:default/payments-db"));
    assert!(rel("relations", "partOf", "system:default/payments"));
    assert!(rel("incoming", "dependsOn", "component:default/storefront-bff"));
    // runsOn comes from the Turtle file, and says so.
    let runs_on = e["relations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "runsOn")
        .expect("checkout-api runs on something");
    assert_eq!(runs_on["source"]["source"], "rdf");
    assert!(runs_on["source"]["external_id"].as_str().unwrap().ends_with("fixtures/rdf/hosts.ttl"));
    let tier = e["attributes"].as_array().unwrap().iter().find(|a| a["attribute"] == "tier").unwrap();
    assert_eq!(tier["source"]["source"], "catalog");
    assert!(tier["source"]["external_id"].as_str().unwrap().ends_with("fixtures/catalog/payments.yaml"));
    assert!(tier["source"]["url"].as_str().unwrap().starts_with("file:///"));
}

#[test]
fn reingest_unchanged_writes_nothing_and_a_change_replaces_exactly_its_facts() {
    let ffo = Ffo::new();
    let cat = ffo.dir.path().join("catalog");
    common::copy_tree(&common::fixtures().join("catalog"), &cat);
    let cat_s = cat.to_str().unwrap();
    let first = ffo.json(&["ingest", "catalog", cat_s, "--json"]);
    assert_eq!(first["written"], 9, "{first}");
    assert!(first["entities"].as_u64().unwrap() >= 80);
    let again = ffo.json(&["ingest", "catalog", cat_s, "--json"]);
    assert_eq!(again["written"], 0);
    assert_eq!(again["unchanged"], 9);

    let before = ffo.dump();
    // Remove fraud-service (the document after `name: fraud-service`) and
    // change checkout-api's tier.
    let path = cat.join("payments.yaml");
    let text = fs::read_to_string(&path).unwrap();
    let docs: Vec<&str> = text.split("\n---\n").collect();
    let kept: Vec<String> = docs
        .iter()
        .filter(|d| !d.contains("name: fraud-service"))
        .map(|d| d.replace("ffo/tier: \"0\"\n    ffo/environment: production\n    ffo/classification: IL4\n    ffo/aliases: checkout,", "ffo/tier: \"1\"\n    ffo/environment: production\n    ffo/classification: IL4\n    ffo/aliases: checkout,"))
        .collect();
    assert_eq!(kept.len() + 1, docs.len(), "the fixture has fraud-service in its own document");
    fs::write(&path, kept.join("\n---\n")).unwrap();
    let changed = ffo.json(&["ingest", "catalog", cat_s, "--json"]);
    assert_eq!(changed["written"], 1, "{changed}");
    assert_eq!(changed["unchanged"], 8);
    let after = ffo.dump();
    let payments_graph =
        |lines: &[String]| -> Vec<String> { lines.iter().filter(|l| l.contains("payments.yaml")).cloned().collect() };
    // Only the changed file's graph differs.
    let others =
        |lines: &[String]| -> Vec<String> { lines.iter().filter(|l| !l.contains("payments.yaml")).cloned().collect() };
    assert_eq!(others(&before), others(&after));
    assert_ne!(payments_graph(&before), payments_graph(&after));

    let out = ffo.run(&["entity", "fraud-service"]);
    assert!(!out.status.success(), "a removed entity disappears");
    let e = ffo.json(&["entity", "checkout-api", "--json"]);
    assert_eq!(e["entity"]["tier"], 1);

    // A file removed from the folder takes its entities with it.
    fs::remove_file(cat.join("marketing.yaml")).unwrap();
    let removed = ffo.json(&["ingest", "catalog", cat_s, "--json"]);
    assert_eq!(removed["deleted"], 1, "{removed}");
    assert!(!ffo.run(&["entity", "marketing-site"]).status.success());
}

#[test]
fn malformed_yaml_names_file_document_and_line_and_changes_nothing() {
    let ffo = estate();
    let before = ffo.dump();
    let bad = ffo.dir.path().join("bad");
    fs::create_dir_all(&bad).unwrap();
    fs::write(
        bad.join("good.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: brand-new\nspec:\n  type: service\n  owner: team-web\n",
    )
    .unwrap();
    fs::write(
        bad.join("broken.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: fine\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: [unclosed\n  owner: x\n",
    )
    .unwrap();
    let out = ffo.run(&["ingest", "catalog", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.yaml"), "{err}");
    assert!(err.contains("document 2"), "{err}");
    assert!(err.contains("line "), "{err}");
    assert_eq!(before, ffo.dump(), "a failed ingest leaves the graph as it was");
    assert!(!ffo.run(&["entity", "brand-new"]).status.success(), "nothing of the good file went in");

    // Malformed Turtle: file and line.
    fs::write(bad.join("broken.ttl"), "@prefix ffo: <https://ffo.dev/ns#> .\n\n<a> ffo:name \"x\" ;\n   ffo:tier .\n")
        .unwrap();
    let out = ffo.run(&["ingest", "rdf", bad.join("broken.ttl").to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.ttl") && err.contains("line 4"), "{err}");
    assert_eq!(before, ffo.dump());
}

#[test]
fn unknown_kinds_are_skipped_with_a_warning_and_dangling_refs_are_reported() {
    let ffo = Ffo::new();
    let dir = ffo.dir.path().join("cat");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("x.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: a\nspec:\n  type: service\n  owner: ghosts\n  dependsOn: ['resource:nowhere']\n---\n# everything here is commented out\n# kind: User\n---\napiVersion: backstage.io/v1alpha1\nkind: Template\nmetadata:\n  name: t\n",
    )
    .unwrap();
    let r = ffo.json(&["ingest", "catalog", dir.to_str().unwrap(), "--json"]);
    assert_eq!(r["entities"], 1);
    let warnings = r["warnings"].to_string();
    assert!(warnings.contains("unknown kind \\\"template\\\""), "{warnings}");
    let dangling: Vec<String> =
        r["dangling"].as_array().unwrap().iter().map(|d| d["target"].as_str().unwrap().to_string()).collect();
    assert!(dangling.contains(&"group:default/ghosts".to_string()), "{dangling:?}");
    assert!(dangling.contains(&"resource:default/nowhere".to_string()), "{dangling:?}");
    assert!(r["notes"].to_string().contains("commented-out"), "{}", r["notes"]);
}

#[test]
fn public_backstage_samples_ingest() {
    let ffo = Ffo::new();
    let samples = common::formats().join("backstage");
    let r = ffo.json(&["ingest", "catalog", samples.to_str().unwrap(), "--json"]);
    assert!(r["entities"].as_u64().unwrap() >= 40, "{r}");
    // Location targets were followed, commented-out documents and the
    // OpenAPI files passed over with a note, the AiResource kind skipped.
    assert!(r["warnings"].to_string().contains("airesource"), "{}", r["warnings"]);
    assert!(r["notes"].to_string().contains("not a catalog entity"), "{}", r["notes"]);
    // namespace/name owner refs resolve to the namespace.
    let e = ffo.json(&["entity", "backstage-demo", "--json"]);
    assert_eq!(e["owner"], "group:backstage/maintainers");
    let b = ffo.json(&["blast-radius", "artists-db", "--json"]);
    assert!(dependents(&b).contains_key("component:default/artist-lookup"), "{b}");
}
