//! Shared by the integration tests: run the real `ffo` binary in a temporary
//! data directory, start `ffo serve` on a free port, speak plain HTTP to it,
//! and make throw-away PostgreSQL databases.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures() -> PathBuf {
    repo().join("fixtures")
}

/// The public real-format samples, kept in the repository with their
/// provenance (`tests/data/formats/PROVENANCE.md`).
pub fn formats() -> PathBuf {
    repo().join("tests/data/formats")
}

/// One `ffo` data directory and the environment to run the binary in.
pub struct Ffo {
    pub dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Ffo {
    pub fn new() -> Ffo {
        Ffo { dir: tempfile::tempdir().expect("temp dir"), env: Vec::new() }
    }

    pub fn env(mut self, key: &str, value: &str) -> Ffo {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ffo"));
        c.arg("--data").arg(self.data());
        c.env_remove("FFO_LEDGER_URL").env_remove("FFO_CONFIG").env("FFO_LOG", "warn");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run ffo")
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "ffo {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("ffo {args:?}: not JSON ({e}):\n{out}"))
    }

    /// Every quad of every graph, sorted: what two stores are compared by.
    pub fn dump(&self) -> Vec<String> {
        let out = self.ok(&["sparql", "SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }", "--format", "tsv"]);
        let mut lines: Vec<String> = out.lines().skip(1).filter(|l| !l.is_empty()).map(str::to_string).collect();
        lines.sort();
        lines
    }

    pub fn serve(&self) -> Server {
        Server::start(self, &[])
    }

    /// `ffo serve` on a given port (to restart on the same address).
    pub fn serve_on(&self, port: u16) -> Server {
        Server::start_on(self, port, &[])
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A running `ffo serve`, killed on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub port: u16,
    pub log: PathBuf,
}

impl Server {
    pub fn start(ffo: &Ffo, extra: &[&str]) -> Server {
        Server::start_on(ffo, free_port(), extra)
    }

    pub fn start_on(ffo: &Ffo, port: u16, extra: &[&str]) -> Server {
        let addr = format!("127.0.0.1:{port}");
        // The server's log goes to a file beside its data (shown if it dies).
        let log = std::fs::File::create(ffo.dir.path().join(format!("serve-{port}.log"))).expect("log file");
        let child = ffo
            .command()
            .args(["serve", "--listen", &addr])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn ffo serve");
        let log = ffo.dir.path().join(format!("serve-{port}.log"));
        let mut server = Server { child, base: format!("http://{addr}"), port, log };
        server.wait_ready();
        server
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait") {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!("ffo serve exited early: {status}\n{log}");
            }
            if let Ok((200, _)) = get(&format!("{}/healthz", self.base)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("ffo serve did not become healthy");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server the way a service manager does (SIGTERM) and waits.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..300 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("ffo serve did not stop on SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 client: enough for tests, no dependencies.
pub fn request(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> std::io::Result<(u16, String)> {
    request_with_headers(method, url, headers, body).map(|r| (r.status, r.body))
}

/// An answer with its headers (names lowercased).
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// [`request`], keeping the response headers.
pub fn request_with_headers(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> std::io::Result<Answer> {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    // A server may answer (413) and close before reading a large body; the
    // answer is still there to read.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    if let Err(e) = stream.read_to_end(&mut raw)
        && raw.is_empty()
    {
        return Err(e);
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked { dechunk(body) } else { body.to_string() };
    Ok(Answer { status, headers, body })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

pub fn get(url: &str) -> std::io::Result<(u16, String)> {
    request("GET", url, &[], b"")
}

pub fn get_json(url: &str) -> (u16, serde_json::Value) {
    let (status, body) = get(url).expect("GET");
    let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: not JSON ({e}): {body}"));
    (status, v)
}

pub fn post_json(url: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let (status, text) =
        request("POST", url, &[("Content-Type", "application/json")], body.to_string().as_bytes()).expect("POST");
    let v = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, v)
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A PostgreSQL database of its own for one test, dropped afterwards.
pub struct PgDb {
    pub url: String,
    admin: String,
    name: String,
}

impl PgDb {
    pub fn create() -> PgDb {
        let admin =
            std::env::var("FFO_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("ffo_test_{}_{n}", std::process::id());
        psql(&admin, &format!("DROP DATABASE IF EXISTS {name}"));
        psql(&admin, &format!("CREATE DATABASE {name}"));
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        PgDb { url: format!("{base}/{name}"), admin, name }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        psql(&self.admin, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qtAc", sql])
        .output()
        .expect("psql is needed for the PostgreSQL tests (scripts/setup.sh installs it)");
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The pinned official MCP Python SDK.
pub const PYTHON_MCP: &str = "mcp==2.3.0";

/// A Python with the official MCP SDK: a virtual environment under
/// target/tmp, made once (built beside and renamed into place, so test
/// processes running at once do not step on each other).
pub fn mcp_python() -> PathBuf {
    static SETUP: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    SETUP
        .get_or_init(|| {
            let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mcp-venv");
            let py = venv.join("bin/python");
            if !venv.join(".ffo-installed").exists() {
                let building = venv.with_extension(format!("building-{}", std::process::id()));
                let _ = std::fs::remove_dir_all(&building);
                run_ok(Command::new("python3").args(["-m", "venv"]).arg(&building), "python3 -m venv");
                run_ok(
                    Command::new(building.join("bin/python")).args(["-m", "pip", "install", "-q", PYTHON_MCP]),
                    "pip install mcp",
                );
                std::fs::write(building.join(".ffo-installed"), PYTHON_MCP).expect("marker");
                if std::fs::rename(&building, &venv).is_err() {
                    if venv.join(".ffo-installed").exists() {
                        // Another process got there first.
                        let _ = std::fs::remove_dir_all(&building);
                    } else {
                        // A leftover of an interrupted setup.
                        let _ = std::fs::remove_dir_all(&venv);
                        std::fs::rename(&building, &venv).expect("move the virtual environment into place");
                    }
                }
            }
            py
        })
        .clone()
}

fn run_ok(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Copies a folder tree (for tests that edit fixtures).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
