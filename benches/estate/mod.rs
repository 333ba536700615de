//! A deterministic synthetic estate for benchmarks: writes N entities and about `edge_factor`·N
//! impact edges (`dependsOn`, `runsOn`, `partOf`) as real Backstage catalog YAML plus one Turtle
//! file of hosts, clusters and placement, and names two targets whose fan-outs it has counted.
//!
//! The estate is layered like a real company, bottom to top:
//!
//! | layer | where | impact edges out |
//! | --- | --- | --- |
//! | `core-backbone` (the core target), regional and staging networks, DNS, edge LB, CDN | catalog, system `platform` | regional nets → backbone; CDN → edge LB → prod net |
//! | hosts (k8s nodes, data hosts, Kafka brokers) | Turtle | → their network |
//! | Kubernetes clusters | Turtle | `runsOn` their nodes |
//! | Kafka clusters | catalog, system `platform` | `runsOn` their brokers |
//! | databases, caches, topics, buckets | catalog, per system | `runsOn` data hosts / → Kafka / → network |
//! | shared services, services, BFFs, websites | catalog, per system | → lower layers and earlier services; `runsOn` a cluster |
//! | APIs, libraries | catalog, per system | none but `partOf` |
//! | systems, domains, teams | catalog | system `partOf` domain |
//!
//! Every component, resource and API is `partOf` its system. Edges point downwards, except a few
//! deliberate cycles between services (real estates have them). Tiers run 0..3, environments are
//! mostly `production` with some `staging` systems, classifications IL2 < IL4 < IL5 < IL6.
//!
//! Files: `catalog/org/*.yaml` (departments, teams, domains), `catalog/<system>/catalog-*.yaml`
//! (the system and its members, at most [`Spec::entities_per_file`] entities per file) and
//! `rdf/estate.ttl`. The same [`Spec`] always writes the same bytes.
//!
//! The targets carry the aliases `core-target` and `mid-target`, so `ffo blast-radius core-target`
//! works on a generated estate.
// Each benchmark uses part of this module.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Entities in total (declared in the catalog or the Turtle file), approximately.
    pub entities: usize,
    /// Impact edges per entity, approximately (the structural edges alone are about 2 per entity).
    pub edge_factor: f64,
    /// Seed of the PRNG: the same spec writes the same estate.
    pub seed: u64,
    /// The mid target is the entity whose transitive dependents are nearest this count.
    pub mid_dependents: usize,
    /// Catalog entities per YAML file (a system larger than this spans several files).
    pub entities_per_file: usize,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            entities: 100_000,
            edge_factor: 3.0,
            seed: 0x00ff_0be7_c4a1,
            mid_dependents: 100,
            entities_per_file: 1_000,
        }
    }
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The catalog folder: ingest it as `catalog` (before the Turtle file).
    pub catalog_dir: PathBuf,
    /// The Turtle file of hosts, clusters and placement: ingest it as `rdf`.
    pub rdf_file: PathBuf,
    /// Entities declared.
    pub entities: usize,
    /// Impact edges (`dependsOn`, `runsOn`, `partOf`), each distinct.
    pub edges: usize,
    /// Catalog YAML files written.
    pub catalog_files: usize,
    /// Bytes written, catalog and Turtle.
    pub bytes: u64,
    /// Entity id (`kind:namespace/name`) of a service with about [`Spec::mid_dependents`] dependents.
    pub mid_target: String,
    /// Its transitive dependents, as counted here.
    pub mid_dependents: usize,
    /// Entity id of the core network, which nearly everything depends on.
    pub core_target: String,
    /// Its transitive dependents, as counted here.
    pub core_dependents: usize,
}

/// Writes the estate described by `spec` under `dir` (created if missing).
pub fn generate(dir: &Path, spec: &Spec) -> io::Result<Generated> {
    let mut estate = build(spec);
    let mid = pick_mid_target(&estate, spec.mid_dependents);
    let core = estate.core;
    estate.ents[mid].aliases.push("mid-target".to_string());
    estate.ents[core].aliases.push("core-target".to_string());
    let adjacency = estate.dependents();
    let mut walker = Walker::new(&adjacency);
    let (mid_dependents, _) = walker.closure(mid, usize::MAX);
    let (core_dependents, core_cyclic) = walker.closure(core, usize::MAX);
    debug_assert!(!core_cyclic, "the core network depends on nothing");
    if core_dependents * 10 < estate.ents.len() * 9 {
        return Err(io::Error::other(format!(
            "the core target reaches {core_dependents} of {} entities, under 90%; raise entities",
            estate.ents.len()
        )));
    }

    let catalog_dir = dir.join("catalog");
    let rdf_dir = dir.join("rdf");
    fs::create_dir_all(&rdf_dir)?;
    let (catalog_files, mut bytes) = write_catalog(&estate, &catalog_dir, spec.entities_per_file.max(1))?;
    let rdf_file = rdf_dir.join("estate.ttl");
    let turtle = turtle(&estate);
    bytes += turtle.len() as u64;
    fs::write(&rdf_file, turtle)?;

    Ok(Generated {
        catalog_dir,
        rdf_file,
        entities: estate.ents.len(),
        edges: estate.ents.iter().map(|e| e.depends.len() + e.runs_on.len() + usize::from(e.part_of.is_some())).sum(),
        catalog_files,
        bytes,
        mid_target: estate.ents[mid].id(),
        mid_dependents,
        core_target: estate.ents[core].id(),
        core_dependents,
    })
}

/// splitmix64: small, fast, and good enough to shape an estate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64) / ((1u64 << 53) as f64) < p
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }

    /// An index into `weights`, chosen in proportion to them.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let mut r = self.below(weights.iter().sum::<u32>() as usize) as u32;
        for (i, w) in weights.iter().enumerate() {
            if r < *w {
                return i;
            }
            r -= w;
        }
        weights.len() - 1
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    Department,
    Team,
    Domain,
    System,
    Network,
    KafkaCluster,
    Host,
    Cluster,
    Datastore,
    Shared,
    Service,
    Api,
    Library,
    Bff,
    Website,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Env {
    Production,
    Staging,
}

impl Env {
    fn as_str(self) -> &'static str {
        match self {
            Env::Production => "production",
            Env::Staging => "staging",
        }
    }
    fn short(self) -> &'static str {
        match self {
            Env::Production => "prod",
            Env::Staging => "stg",
        }
    }
}

const CLASSIFICATIONS: [&str; 4] = ["IL2", "IL4", "IL5", "IL6"];
const REGIONS: [&str; 3] = ["eu-west-1", "us-east-1", "ap-southeast-2"];
const NONE: usize = usize::MAX;

/// One entity and its outgoing impact edges (entity indexes).
#[derive(Debug, Clone)]
struct Ent {
    layer: Layer,
    /// Backstage kind, lower case: the kind part of the id.
    kind: &'static str,
    name: String,
    spec_type: &'static str,
    title: Option<String>,
    description: String,
    system: usize,
    owner: usize,
    tier: u8,
    env: Env,
    /// Index into [`CLASSIFICATIONS`].
    class: usize,
    aliases: Vec<String>,
    tags: Vec<&'static str>,
    depends: Vec<usize>,
    runs_on: Vec<usize>,
    part_of: Option<usize>,
    /// APIs this component provides (not an impact edge).
    provides: Vec<usize>,
    deprecated: bool,
}

impl Ent {
    fn new(layer: Layer, kind: &'static str, name: String, spec_type: &'static str) -> Ent {
        Ent {
            layer,
            kind,
            name,
            spec_type,
            title: None,
            description: String::new(),
            system: NONE,
            owner: NONE,
            tier: 2,
            env: Env::Production,
            class: 1,
            aliases: Vec::new(),
            tags: Vec::new(),
            depends: Vec::new(),
            runs_on: Vec::new(),
            part_of: None,
            provides: Vec::new(),
            deprecated: false,
        }
    }

    fn id(&self) -> String {
        format!("{}:default/{}", self.kind, self.name)
    }

    /// Declared in the Turtle file rather than the catalog.
    fn in_rdf(&self) -> bool {
        matches!(self.layer, Layer::Host | Layer::Cluster)
    }

    fn edge_count(&self) -> usize {
        self.depends.len() + self.runs_on.len() + usize::from(self.part_of.is_some())
    }
}

/// A system and its members by layer, for "same system" choices.
#[derive(Debug, Default, Clone)]
struct SystemMembers {
    teams: Vec<usize>,
    datastores: Vec<usize>,
    shared: Vec<usize>,
    services: Vec<usize>,
    bffs: Vec<usize>,
    /// Members in creation order, for the files.
    all: Vec<usize>,
}

struct Estate {
    ents: Vec<Ent>,
    departments: Vec<usize>,
    domains: Vec<usize>,
    systems: Vec<usize>,
    members: Vec<SystemMembers>,
    core: usize,
}

impl Estate {
    fn add(&mut self, e: Ent) -> usize {
        let i = self.ents.len();
        if e.system != NONE {
            let s = self.systems.iter().position(|s| *s == e.system).expect("system of a member");
            let m = &mut self.members[s];
            match e.layer {
                Layer::Team => m.teams.push(i),
                Layer::Datastore => m.datastores.push(i),
                Layer::Shared => m.shared.push(i),
                Layer::Service => m.services.push(i),
                Layer::Bff => m.bffs.push(i),
                _ => {}
            }
            if !e.in_rdf() && e.layer != Layer::Team {
                m.all.push(i);
            }
        }
        self.ents.push(e);
        i
    }

    /// Reverse impact adjacency: for each entity, the entities with an impact edge to it.
    fn dependents(&self) -> Vec<Vec<u32>> {
        let mut rev = vec![Vec::new(); self.ents.len()];
        for (i, e) in self.ents.iter().enumerate() {
            for t in e.depends.iter().chain(&e.runs_on).chain(&e.part_of) {
                rev[*t].push(i as u32);
            }
        }
        rev
    }
}

/// Breadth-first walks over the reverse adjacency, reusing one visited set.
struct Walker<'a> {
    rev: &'a [Vec<u32>],
    /// `seen[i] == stamp`: visited in the current walk.
    seen: Vec<u32>,
    stamp: u32,
    queue: VecDeque<usize>,
}

impl<'a> Walker<'a> {
    fn new(rev: &'a [Vec<u32>]) -> Walker<'a> {
        Walker { rev, seen: vec![0; rev.len()], stamp: 0, queue: VecDeque::new() }
    }

    /// Transitive dependents of `start` (not counting itself, unless on a cycle), counting at
    /// most `cap`; and whether `start` reached itself before the cap.
    fn closure(&mut self, start: usize, cap: usize) -> (usize, bool) {
        self.stamp += 1;
        self.queue.clear();
        self.queue.push_back(start);
        let (mut count, mut cyclic) = (0, false);
        while let Some(n) = self.queue.pop_front() {
            for &d in &self.rev[n] {
                let d = d as usize;
                cyclic |= d == start;
                if self.seen[d] != self.stamp && d != start {
                    self.seen[d] = self.stamp;
                    count += 1;
                    if count >= cap {
                        return (count, cyclic);
                    }
                    self.queue.push_back(d);
                }
            }
        }
        (count, cyclic)
    }
}

/// The service-layer entity whose dependents are nearest `want`, off every cycle.
fn pick_mid_target(estate: &Estate, want: usize) -> usize {
    let rev = estate.dependents();
    let mut walker = Walker::new(&rev);
    // Services first: a tie (or an exact hit) goes to a service.
    let layers = [Layer::Service, Layer::Shared, Layer::Bff, Layer::Datastore];
    let candidates: Vec<usize> =
        layers.iter().flat_map(|l| (0..estate.ents.len()).filter(move |i| estate.ents[*i].layer == *l)).collect();
    let stride = (candidates.len() / 20_000).max(1);
    let cap = want.saturating_mul(4).max(8);
    let mut best = (usize::MAX, candidates[0]);
    for &c in candidates.iter().step_by(stride) {
        let (n, cyclic) = walker.closure(c, cap);
        if n.abs_diff(want) < best.0 && !cyclic && n < cap {
            best = (n.abs_diff(want), c);
            if n == want {
                break;
            }
        }
    }
    best.1
}

const DOMAINS: [&str; 12] = [
    "infrastructure",
    "commerce",
    "customer",
    "operations",
    "growth",
    "finance",
    "logistics",
    "content",
    "data",
    "trust",
    "partners",
    "workplace",
];
const SYSTEMS: [&str; 40] = [
    "platform",
    "payments",
    "checkout",
    "identity",
    "search",
    "catalog",
    "pricing",
    "inventory",
    "orders",
    "fulfilment",
    "shipping",
    "returns",
    "loyalty",
    "marketing",
    "analytics",
    "billing",
    "ledger",
    "fraud",
    "notifications",
    "messaging",
    "media",
    "reviews",
    "recommendations",
    "support",
    "ads",
    "subscriptions",
    "tax",
    "compliance",
    "reporting",
    "warehouse",
    "logistics",
    "accounts",
    "onboarding",
    "content",
    "experiments",
    "geo",
    "booking",
    "insurance",
    "partners",
    "storefront",
];
const TEAM_SUFFIXES: [&str; 4] = ["core", "web", "data", "ops"];
const SERVICE_ROLES: [&str; 16] = [
    "api",
    "worker",
    "consumer",
    "scheduler",
    "sync",
    "exporter",
    "reconciler",
    "indexer",
    "notifier",
    "engine",
    "router",
    "validator",
    "aggregator",
    "importer",
    "resolver",
    "processor",
];
const SHARED_ROLES: [&str; 12] = [
    "auth",
    "feature-flags",
    "config",
    "rate-limiter",
    "audit-log",
    "session",
    "currency",
    "id-generator",
    "email",
    "pdf-renderer",
    "image-resizer",
    "secrets",
];
const LANGUAGES: [&str; 7] = ["java", "go", "kotlin", "python", "typescript", "rust", "node"];

/// The `i`th name from `list`: the first entry once (platform, infrastructure), then the others
/// in turn, numbered once they run out: `payments`, ..., `payments-2`.
fn listed(list: &[&str], i: usize) -> String {
    let Some(i) = i.checked_sub(1) else {
        return list[0].to_string();
    };
    let rest = &list[1..];
    let (word, round) = (rest[i % rest.len()], i / rest.len());
    if round == 0 { word.to_string() } else { format!("{word}-{}", round + 1) }
}

/// Builds the estate in memory.
fn build(spec: &Spec) -> Estate {
    let n = spec.entities.max(200);
    let mut rng = Rng(spec.seed);
    let systems = (n / 1_000).max(2);
    let domains = (systems / 5).clamp(2, systems);
    let mut es = Estate {
        ents: Vec::with_capacity(n + 64),
        departments: Vec::new(),
        domains: Vec::new(),
        systems: Vec::new(),
        members: Vec::new(),
        core: 0,
    };

    // Organisation: a department per domain, four teams per system.
    for d in 0..domains {
        let name = format!("{}-engineering", listed(&DOMAINS, d));
        let mut e = Ent::new(Layer::Department, "group", name, "department");
        e.description = format!("Engineering for the {} domain", listed(&DOMAINS, d));
        let i = es.add(e);
        es.departments.push(i);
    }
    for d in 0..domains {
        let mut e = Ent::new(Layer::Domain, "domain", listed(&DOMAINS, d), "");
        e.description = format!("The {} domain", listed(&DOMAINS, d));
        e.owner = es.departments[d];
        let i = es.add(e);
        es.domains.push(i);
    }
    for s in 0..systems {
        let name = listed(&SYSTEMS, s);
        let domain = if s == 0 { 0 } else { 1 + (s - 1) % (domains - 1).max(1) };
        let mut e = Ent::new(Layer::System, "system", name.clone(), "");
        e.title = Some(format!("{} system", name.replace('-', " ")));
        e.description = format!("Everything that makes up {name}");
        e.part_of = Some(es.domains[domain]);
        e.env = if s > 0 && rng.chance(0.1) { Env::Staging } else { Env::Production };
        e.class = if s == 0 { 1 } else { rng.weighted(&[15, 55, 25, 5]) };
        let i = es.ents.len();
        es.ents.push(e);
        es.systems.push(i);
        es.members.push(SystemMembers::default());
    }
    for s in 0..systems {
        let sys = es.systems[s];
        let domain_of = es.ents[sys].part_of.expect("system in a domain");
        let dept = es.departments[es.domains.iter().position(|d| *d == domain_of).expect("domain")];
        for suffix in TEAM_SUFFIXES {
            let mut e = Ent::new(Layer::Team, "group", format!("team-{}-{suffix}", es.ents[sys].name), "team");
            e.description = format!("{} team of {}", suffix, es.ents[sys].name);
            e.owner = dept;
            e.system = sys;
            es.add(e);
        }
        es.ents[sys].owner = es.members[s].teams[0];
    }
    let platform = es.systems[0];
    let platform_teams = es.members[0].teams.clone();

    // Core network: the backbone everything sits on, regional networks, edge.
    let infra = |layer, name: &str, spec_type, description: &str, owner| {
        let mut e = Ent::new(layer, "resource", name.to_string(), spec_type);
        e.description = description.to_string();
        e.system = platform;
        e.part_of = Some(platform);
        e.owner = owner;
        e.tier = 0;
        e.class = 1;
        e.tags = vec!["network"];
        e
    };
    let core = es.add(infra(
        Layer::Network,
        "core-backbone",
        "network",
        "Core backbone - transit gateway and inter-region links every network hangs off",
        platform_teams[3],
    ));
    es.core = core;
    let mut prod_nets = Vec::new();
    for r in REGIONS {
        let mut e = infra(
            Layer::Network,
            &format!("net-prod-{r}"),
            "vpc",
            &format!("Production VPC in {r}"),
            platform_teams[3],
        );
        e.depends.push(core);
        prod_nets.push(es.add(e));
    }
    let mut e = infra(Layer::Network, "net-staging-eu-west-1", "vpc", "Staging VPC in eu-west-1", platform_teams[3]);
    e.depends.push(core);
    e.env = Env::Staging;
    e.tier = 3;
    let staging_net = es.add(e);
    let mut e = infra(Layer::Network, "internal-dns", "dns", "CoreDNS for the internal zones", platform_teams[0]);
    e.depends.push(core);
    es.add(e);
    let mut e =
        infra(Layer::Network, "edge-lb", "load-balancer", "Internet-facing L7 load balancer", platform_teams[0]);
    e.depends.push(prod_nets[0]);
    e.class = 0;
    let edge_lb = es.add(e);
    let mut e = infra(Layer::Network, "cdn", "cdn", "CDN in front of every website", platform_teams[0]);
    e.depends.push(edge_lb);
    e.class = 0;
    let cdn = es.add(e);
    let net_of = |env: Env, region: usize| if env == Env::Staging { staging_net } else { prod_nets[region] };

    // Hosts and clusters: Kubernetes nodes by cluster, data hosts, Kafka brokers.
    let hosts = (n * 6 / 100).max(12);
    let clusters = (n / 2_000).max(2);
    let staging_clusters = (clusters * 15 / 100).max(1);
    let kafka_clusters = (n / 10_000).max(1) + 1;
    let node_count = hosts * 55 / 100;
    let broker_count = kafka_clusters * 6;
    let data_count = hosts.saturating_sub(node_count + broker_count).max(2);
    let host = |es: &mut Estate, rng: &mut Rng, name: String, env: Env, region: usize, what: String, owner| {
        let i = es.ents.len() as u32;
        let mut e = Ent::new(Layer::Host, "resource", name, if what.contains("node") { "vm" } else { "bare-metal" });
        e.aliases = vec![
            format!("{}.{}.internal", e.name, env.short()),
            format!("10.{}.{}.{}", 16 + (i >> 16) % 200, (i >> 8) & 0xff, i & 0xff),
        ];
        e.description = what;
        e.env = env;
        e.tier = if env == Env::Staging { 3 } else { rng.pick(&[0, 0, 1]) };
        e.class = rng.weighted(&[0, 70, 30, 0]);
        e.owner = owner;
        e.depends.push(net_of(env, region));
        es.add(e)
    };
    let mut prod_clusters = Vec::new();
    let mut stg_clusters = Vec::new();
    for c in 0..clusters {
        let env = if c < staging_clusters { Env::Staging } else { Env::Production };
        let region = if env == Env::Staging { 0 } else { c % REGIONS.len() };
        let name = format!("k8s-{}-{}-{:02}", env.short(), REGIONS[region], c + 1);
        let first = node_count * c / clusters;
        let nodes = node_count * (c + 1) / clusters - first;
        let mut e = Ent::new(Layer::Cluster, "resource", name.clone(), "kubernetes-cluster");
        e.title = Some(format!("Kubernetes {} ({})", env.as_str(), REGIONS[region]));
        e.description = format!("Kubernetes cluster {name}, {nodes} nodes");
        e.env = env;
        e.tier = if env == Env::Staging { 3 } else { 0 };
        e.class = 1;
        e.owner = platform_teams[0];
        e.part_of = Some(platform);
        for k in 0..nodes.max(1) {
            let what = format!("Worker node of {name}");
            e.runs_on.push(host(&mut es, &mut rng, format!("{name}-node-{:03}", k + 1), env, region, what, e.owner));
        }
        let i = es.ents.len();
        es.ents.push(e);
        if env == Env::Staging { stg_clusters.push(i) } else { prod_clusters.push(i) }
    }
    let mut data_hosts = (Vec::new(), Vec::new());
    for k in 0..data_count {
        let env = if k % 8 == 7 { Env::Staging } else { Env::Production };
        let region = k % REGIONS.len();
        let name = format!("db-{}-{:04}", env.short(), k + 1);
        let what = format!("Data host in {}", REGIONS[region]);
        let h = host(&mut es, &mut rng, name, env, region, what, platform_teams[2]);
        if env == Env::Staging { data_hosts.1.push(h) } else { data_hosts.0.push(h) }
    }
    let mut kafka = (Vec::new(), Vec::new());
    for k in 0..kafka_clusters {
        let env = if k == 0 { Env::Staging } else { Env::Production };
        let name = format!("kafka-{}-{:02}", env.short(), k + 1);
        let mut e = infra(Layer::KafkaCluster, &name, "cluster", "Kafka cluster", platform_teams[0]);
        e.title = Some(format!("Kafka {} {}", env.as_str(), k + 1));
        e.env = env;
        e.class = 2;
        e.tags = vec!["kafka"];
        let first = broker_count * k / kafka_clusters;
        let brokers = broker_count * (k + 1) / kafka_clusters - first;
        for b in 0..brokers.max(1) {
            let what = format!("Kafka broker of {name}");
            let bname = format!("{name}-broker-{:02}", b + 1);
            e.runs_on.push(host(&mut es, &mut rng, bname, env, k % REGIONS.len(), what, platform_teams[0]));
        }
        let i = es.add(e);
        if env == Env::Staging { kafka.1.push(i) } else { kafka.0.push(i) }
    }

    // The estate's workloads and data, round-robin over systems.
    let datastores = n * 8 / 100;
    let shared = n * 5 / 100;
    let apis = n * 2 / 100;
    let libraries = n / 100;
    let bffs = n * 7 / 100;
    let websites = n * 6 / 100;
    let placed = es.ents.len() + datastores + shared + apis + libraries + bffs + websites;
    let services = n.saturating_sub(placed).max(systems);
    let mut local = vec![0usize; systems];
    let member = |es: &Estate, rng: &mut Rng, local: &mut Vec<usize>, s: usize, layer, kind, role: &str, ty| {
        local[s] += 1;
        let sys = es.systems[s];
        let sname = &es.ents[sys].name;
        let mut e = Ent::new(layer, kind, format!("{sname}-{role}-{:03}", local[s]), ty);
        e.system = sys;
        e.part_of = Some(sys);
        e.owner = es.members[s].teams[local[s] % TEAM_SUFFIXES.len()];
        e.env = es.ents[sys].env;
        let base = es.ents[sys].class;
        e.class = if rng.chance(0.1) { (base + 1).min(3) } else { base };
        e.tags = vec![rng.pick(&LANGUAGES)];
        e
    };
    let cluster_for = |rng: &mut Rng, s: usize, env: Env| match env {
        Env::Staging => rng.pick(&stg_clusters),
        Env::Production if rng.chance(0.8) => prod_clusters[s % prod_clusters.len()],
        Env::Production => rng.pick(&prod_clusters),
    };

    let mut structural: usize = es.ents.iter().map(Ent::edge_count).sum();
    for k in 0..datastores {
        let s = k % systems;
        let (layer_role, ty, what) = match rng.weighted(&[40, 25, 25, 10]) {
            0 => ("db", rng.pick(&["postgres", "postgres", "mysql", "mongodb"]), "Database"),
            1 => ("cache", rng.pick(&["redis", "memcached"]), "Cache"),
            2 => ("topic", "kafka-topic", "Kafka topic"),
            _ => ("bucket", "s3-bucket", "Object storage bucket"),
        };
        let mut e = member(&es, &mut rng, &mut local, s, Layer::Datastore, "resource", layer_role, ty);
        e.description = format!("{what} of the {} system", es.ents[es.systems[s]].name);
        e.tags = vec![ty];
        e.tier = rng.pick(&[0, 1, 1, 2]);
        e.aliases = vec![format!("{}.{}.internal", e.name, e.env.short())];
        let pools = if e.env == Env::Staging { (&data_hosts.1, &kafka.1) } else { (&data_hosts.0, &kafka.0) };
        match layer_role {
            "db" | "cache" => {
                let first = rng.below(pools.0.len());
                for r in 0..1 + rng.below(3) {
                    let h = pools.0[(first + r) % pools.0.len()];
                    if !e.runs_on.contains(&h) {
                        e.runs_on.push(h);
                    }
                }
            }
            "topic" => e.depends.push(rng.pick(pools.1)),
            _ => e.depends.push(net_of(e.env, s % REGIONS.len())),
        }
        structural += e.edge_count();
        es.add(e);
    }
    for k in 0..apis {
        let s = k % systems;
        let ty = rng.pick(&["openapi", "openapi", "grpc", "asyncapi", "graphql"]);
        let mut e = member(&es, &mut rng, &mut local, s, Layer::Api, "api", &format!("{ty}-api"), ty);
        e.description = format!("{ty} contract of the {} system", es.ents[es.systems[s]].name);
        e.tags = vec![ty];
        e.tier = rng.pick(&[0, 1, 2]);
        structural += e.edge_count();
        es.add(e);
    }
    for k in 0..libraries {
        let s = k % systems;
        let mut e = member(&es, &mut rng, &mut local, s, Layer::Library, "component", "sdk", "library");
        e.description = format!("Client library of the {} system", es.ents[es.systems[s]].name);
        e.tier = 2;
        structural += e.edge_count();
        es.add(e);
    }
    // Workloads each get a place to run and a system; the rest of the edge budget goes to dependsOn.
    let workloads = shared + services + bffs + websites;
    structural += workloads * 2;
    let budget = (spec.edge_factor * n as f64).round() as usize;
    let weights = [(shared, 0.6), (services, 1.0), (bffs, 2.0), (websites, 1.2)];
    let weight_sum: f64 = weights.iter().map(|(count, w)| *count as f64 * w).sum();
    let per_weight = budget.saturating_sub(structural) as f64 / weight_sum.max(1.0);
    let draw = |rng: &mut Rng, w: f64, min: usize| {
        let mean = per_weight * w;
        let mut k = mean.floor() as usize + usize::from(rng.chance(mean.fract()));
        if rng.chance(0.3) {
            k = if rng.chance(0.5) { k + 1 } else { k.saturating_sub(1) };
        }
        k.max(min)
    };
    let push = |e: &mut Ent, t: usize| {
        if !e.depends.contains(&t) {
            e.depends.push(t);
        }
    };
    let workload = |es: &Estate, rng: &mut Rng, e: &mut Ent, s: usize, what: String| {
        e.runs_on.push(cluster_for(rng, s, e.env));
        e.aliases = vec![format!("{}.{}.svc", e.name, e.env.short())];
        e.description = format!("{what} of the {} system", es.ents[es.systems[s]].name);
    };
    let any = |rng: &mut Rng, es: &Estate, pick: fn(&SystemMembers) -> &Vec<usize>, s: usize| -> Option<usize> {
        let own = pick(&es.members[s]);
        if !own.is_empty() && rng.chance(0.7) {
            return Some(rng.pick(own));
        }
        for _ in 0..8 {
            let other = pick(&es.members[rng.below(systems)]);
            if !other.is_empty() {
                return Some(rng.pick(other));
            }
        }
        (!own.is_empty()).then(|| rng.pick(own))
    };
    for k in 0..shared {
        let s = k % systems;
        let role = SHARED_ROLES[(k / systems) % SHARED_ROLES.len()];
        let mut e = member(&es, &mut rng, &mut local, s, Layer::Shared, "component", role, "service");
        workload(&es, &mut rng, &mut e, s, format!("Shared {role} service"));
        e.tier = rng.pick(&[0, 0, 1]);
        for _ in 0..draw(&mut rng, 0.6, 0) {
            let t = if rng.chance(0.75) {
                any(&mut rng, &es, |m| &m.datastores, s)
            } else {
                any(&mut rng, &es, |m| &m.shared, s)
            };
            t.into_iter().for_each(|t| push(&mut e, t));
        }
        es.add(e);
    }
    for k in 0..services {
        let s = k % systems;
        let role = SERVICE_ROLES[rng.below(SERVICE_ROLES.len())];
        let mut e = member(&es, &mut rng, &mut local, s, Layer::Service, "component", role, "service");
        workload(&es, &mut rng, &mut e, s, format!("The {role} service"));
        e.tier = rng.weighted(&[10, 35, 35, 20]) as u8;
        for _ in 0..draw(&mut rng, 1.0, 0) {
            let t = match rng.weighted(&[45, 20, 30, 5]) {
                0 if !es.members[s].services.is_empty() => Some(rng.pick(&es.members[s].services)),
                1 => any(&mut rng, &es, |m| &m.shared, s),
                2 if !es.members[s].datastores.is_empty() => Some(rng.pick(&es.members[s].datastores)),
                _ => {
                    let other = &es.members[rng.below(systems)].services;
                    (!other.is_empty()).then(|| rng.pick(other))
                }
            };
            t.into_iter().for_each(|t| push(&mut e, t));
        }
        e.deprecated = rng.chance(0.05);
        es.add(e);
    }
    // Each API is provided by a service of its system.
    for s in 0..systems {
        let services = es.members[s].services.clone();
        let apis: Vec<usize> = es.members[s].all.iter().copied().filter(|i| es.ents[*i].layer == Layer::Api).collect();
        for a in apis {
            if !services.is_empty() {
                let p = rng.pick(&services);
                es.ents[p].provides.push(a);
            }
        }
    }
    for k in 0..bffs {
        let s = k % systems;
        let role = rng.pick(&["bff", "mobile-bff", "partner-bff"]);
        let mut e = member(&es, &mut rng, &mut local, s, Layer::Bff, "component", role, "service");
        workload(&es, &mut rng, &mut e, s, format!("Backend for frontend ({role})"));
        e.tier = rng.pick(&[0, 1, 1, 2]);
        e.tags.push("bff");
        for _ in 0..draw(&mut rng, 2.0, 1) {
            let t = match rng.weighted(&[75, 15, 10]) {
                0 if !es.members[s].services.is_empty() => Some(rng.pick(&es.members[s].services)),
                2 => any(&mut rng, &es, |m| &m.shared, s),
                _ => any(&mut rng, &es, |m| &m.services, s),
            };
            t.into_iter().for_each(|t| push(&mut e, t));
        }
        es.add(e);
    }
    for k in 0..websites {
        let s = k % systems;
        let role = rng.pick(&["web", "portal", "admin-ui", "docs-site"]);
        let mut e = member(&es, &mut rng, &mut local, s, Layer::Website, "component", role, "website");
        workload(&es, &mut rng, &mut e, s, format!("The {role} website"));
        e.tier = rng.pick(&[0, 1, 1, 2, 3]);
        e.class = if rng.chance(0.7) { 0 } else { e.class };
        e.tags.push("frontend");
        let edge = rng.weighted(&[50, 30, 20]);
        if e.env == Env::Production && edge < 2 {
            push(&mut e, if edge == 0 { cdn } else { edge_lb });
        }
        let want = draw(&mut rng, 1.2, 1);
        for _ in 0..want * 4 {
            if e.depends.iter().filter(|d| es.ents[**d].layer == Layer::Bff).count() >= want {
                break;
            }
            if let Some(t) = any(&mut rng, &es, |m| &m.bffs, s) {
                push(&mut e, t);
            }
        }
        es.add(e);
    }
    for s in 0..systems {
        if es.ents[es.systems[s]].env == Env::Staging {
            for &i in &es.members[s].all.clone() {
                es.ents[i].tier = 3;
            }
        }
    }
    add_cycles(&mut es, &mut rng, (n / 25_000).max(1));
    es
}

impl Ent {
    fn lifecycle(&self) -> &'static str {
        if self.deprecated {
            "deprecated"
        } else if self.env == Env::Staging {
            "experimental"
        } else {
            "production"
        }
    }
}

/// Mutual dependencies between services (a calls b, b calls back), and one longer loop.
fn add_cycles(es: &mut Estate, rng: &mut Rng, count: usize) {
    let services: Vec<usize> = (0..es.ents.len()).filter(|i| es.ents[*i].layer == Layer::Service).collect();
    let is_service = |es: &Estate, i: usize| es.ents[i].layer == Layer::Service;
    let mut made = 0;
    for _ in 0..count * 100 {
        if made == count {
            break;
        }
        let a = rng.pick(&services);
        let Some(&b) = es.ents[a].depends.iter().find(|d| is_service(es, **d)) else {
            continue;
        };
        if !es.ents[b].depends.contains(&a) {
            es.ents[b].depends.push(a);
            made += 1;
        }
    }
    // a -> b -> c, then c -> a.
    for _ in 0..1_000 {
        let a = rng.pick(&services);
        let Some(&b) = es.ents[a].depends.iter().find(|d| is_service(es, **d)) else {
            continue;
        };
        let Some(&c) = es.ents[b].depends.iter().find(|d| is_service(es, **d) && **d != a) else {
            continue;
        };
        if !es.ents[c].depends.contains(&a) {
            es.ents[c].depends.push(a);
            break;
        }
    }
}

/// Writes the catalog; returns the files and bytes written.
fn write_catalog(es: &Estate, dir: &Path, per_file: usize) -> io::Result<(usize, u64)> {
    let mut files = 0;
    let mut bytes = 0;
    let mut write = |path: PathBuf, members: &[usize]| -> io::Result<()> {
        for (k, chunk) in members.chunks(per_file).enumerate() {
            let mut text = String::with_capacity(chunk.len() * 800);
            for &i in chunk {
                yaml(es, i, &mut text);
            }
            let file = if k == 0 { path.clone() } else { path.with_file_name(format!("catalog-{}.yaml", k + 1)) };
            fs::create_dir_all(file.parent().expect("a catalog file has a folder"))?;
            bytes += text.len() as u64;
            files += 1;
            fs::write(file, text)?;
        }
        Ok(())
    };
    let org: Vec<usize> = (0..es.ents.len())
        .filter(|i| matches!(es.ents[*i].layer, Layer::Department | Layer::Team | Layer::Domain))
        .collect();
    write(dir.join("org").join("catalog-1.yaml"), &org)?;
    for (s, m) in es.members.iter().enumerate() {
        let mut members = vec![es.systems[s]];
        members.extend(&m.all);
        write(dir.join(&es.ents[es.systems[s]].name).join("catalog-1.yaml"), &members)?;
    }
    Ok((files, bytes))
}

/// Appends one entity as a YAML document.
fn yaml(es: &Estate, i: usize, out: &mut String) {
    let e = &es.ents[i];
    let name_of = |j: usize| es.ents[j].name.as_str();
    let kind = match e.layer {
        Layer::Department | Layer::Team => "Group",
        Layer::Domain => "Domain",
        Layer::System => "System",
        Layer::Api => "API",
        Layer::Shared | Layer::Service | Layer::Bff | Layer::Website | Layer::Library => "Component",
        Layer::Network | Layer::KafkaCluster | Layer::Datastore | Layer::Host | Layer::Cluster => "Resource",
    };
    let _ = writeln!(out, "---\napiVersion: backstage.io/v1alpha1\nkind: {kind}\nmetadata:\n  name: {}", e.name);
    if let Some(t) = &e.title {
        let _ = writeln!(out, "  title: {t:?}");
    }
    let _ = writeln!(out, "  description: {:?}", e.description);
    let catalogued = !matches!(e.layer, Layer::Department | Layer::Team | Layer::Domain | Layer::System);
    if catalogued {
        if !e.tags.is_empty() {
            let _ = writeln!(out, "  tags: [{}]", e.tags.join(", "));
        }
        let _ = writeln!(
            out,
            "  annotations:\n    ffo/tier: \"{}\"\n    ffo/environment: {}\n    ffo/classification: {}",
            e.tier,
            e.env.as_str(),
            CLASSIFICATIONS[e.class]
        );
        if !e.aliases.is_empty() {
            let _ = writeln!(out, "    ffo/aliases: {}", e.aliases.join(", "));
        }
    }
    out.push_str("spec:\n");
    match e.layer {
        Layer::Department | Layer::Team => {
            let _ = writeln!(out, "  type: {}", e.spec_type);
            if e.owner != NONE {
                let _ = writeln!(out, "  parent: {}", name_of(e.owner));
            }
            out.push_str("  children: []\n");
        }
        Layer::Domain => {
            let _ = writeln!(out, "  owner: group:{}", name_of(e.owner));
        }
        Layer::System => {
            let _ = writeln!(out, "  owner: group:{}", name_of(e.owner));
            if let Some(d) = e.part_of {
                let _ = writeln!(out, "  domain: {}", name_of(d));
            }
        }
        _ => {
            let _ = writeln!(out, "  type: {}", e.spec_type);
            if kind != "Resource" {
                let _ = writeln!(out, "  lifecycle: {}", e.lifecycle());
            }
            let _ = writeln!(out, "  owner: group:{}", name_of(e.owner));
            if let Some(s) = e.part_of {
                let _ = writeln!(out, "  system: {}", name_of(s));
            }
            if !e.provides.is_empty() {
                let apis: Vec<&str> = e.provides.iter().map(|a| name_of(*a)).collect();
                let _ = writeln!(out, "  providesApis: [{}]", apis.join(", "));
            }
            if !e.depends.is_empty() {
                out.push_str("  dependsOn:\n");
                for &d in &e.depends {
                    let _ = writeln!(out, "    - {}:{}", es.ents[d].kind, name_of(d));
                }
            }
        }
    }
}

/// The Turtle file: hosts and clusters declared, then what runs where.
fn turtle(es: &Estate) -> String {
    let mut out = String::with_capacity(es.ents.len() * 120);
    out.push_str(
        "# Synthetic estate: hosts, clusters and what runs where (generated; see benches/estate).\n\
         @prefix ffo:  <https://ffo.dev/ns#> .\n\
         @prefix res:  <https://ffo.dev/entity/resource/default/> .\n\
         @prefix comp: <https://ffo.dev/entity/component/default/> .\n\
         @prefix grp:  <https://ffo.dev/entity/group/default/> .\n\
         @prefix sys:  <https://ffo.dev/entity/system/default/> .\n\n",
    );
    let term = |j: usize| {
        let e = &es.ents[j];
        let prefix = match e.kind {
            "component" => "comp",
            "group" => "grp",
            "system" => "sys",
            _ => "res",
        };
        format!("{prefix}:{}", e.name)
    };
    let list = |xs: &[usize]| xs.iter().map(|x| term(*x)).collect::<Vec<_>>().join(", ");
    for (i, e) in es.ents.iter().enumerate().filter(|(_, e)| e.in_rdf()) {
        let class = if e.layer == Layer::Host { "Host" } else { "Cluster" };
        let _ = write!(out, "{} a ffo:{class} ;\n    ffo:name \"{}\" ;\n", term(i), e.name);
        if let Some(t) = &e.title {
            let _ = writeln!(out, "    ffo:title \"{t}\" ;");
        }
        if !e.aliases.is_empty() {
            let aliases: Vec<String> = e.aliases.iter().map(|a| format!("\"{a}\"")).collect();
            let _ = writeln!(out, "    ffo:alias {} ;", aliases.join(", "));
        }
        let _ = writeln!(
            out,
            "    ffo:description \"{}\" ;\n    ffo:specType \"{}\" ;\n    ffo:tier {} ;\n    ffo:environment \"{}\" ;\n    ffo:classification \"{}\" ;\n    ffo:ownedBy {} ;",
            e.description,
            e.spec_type,
            e.tier,
            e.env.as_str(),
            CLASSIFICATIONS[e.class],
            term(e.owner)
        );
        if let Some(p) = e.part_of {
            let _ = writeln!(out, "    ffo:partOf {} ;", term(p));
        }
        if !e.depends.is_empty() {
            let _ = writeln!(out, "    ffo:dependsOn {} ;", list(&e.depends));
        }
        if !e.runs_on.is_empty() {
            let _ = writeln!(out, "    ffo:runsOn {} ;", list(&e.runs_on));
        }
        // Every block above ends in " ;\n": close the statement.
        out.truncate(out.len() - 3);
        out.push_str(" .\n\n");
    }
    out.push_str("# Placement of catalog entities.\n");
    for (i, e) in es.ents.iter().enumerate().filter(|(_, e)| !e.in_rdf() && !e.runs_on.is_empty()) {
        let _ = writeln!(out, "{} ffo:runsOn {} .", term(i), list(&e.runs_on));
    }
    out
}
