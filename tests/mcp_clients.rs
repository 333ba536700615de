//! MCP through real third-party clients: the official Python SDK (from
//! PyPI, in a virtual environment the test sets up once under
//! target/tmp) over stdio and streamable HTTP, and the MCP Inspector CLI
//! (from npm) once, in strict mode.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

mod common;
use common::{Ffo, Server};

/// The pinned Inspector version (the Python SDK's is `common::PYTHON_MCP`).
const INSPECTOR: &str = "@modelcontextprotocol/inspector@2.12.0";

fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn python() -> PathBuf {
    common::mcp_python()
}

fn estate() -> Ffo {
    let ffo = Ffo::new();
    let out = ffo.run(&["ingest", "all", common::fixtures().to_str().unwrap()]);
    assert!(out.status.code() == Some(0) || out.status.code() == Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    ffo
}

fn client_script() -> PathBuf {
    common::repo().join("tests/mcp/client.py")
}

#[test]
fn python_sdk_over_stdio_calls_every_tool() {
    let ffo = estate();
    let out = Command::new(python())
        .arg(client_script())
        .args(["stdio", env!("CARGO_BIN_EXE_ffo")])
        .arg(ffo.data())
        .env("FFO_LOG", "warn")
        .output()
        .expect("run the python client");
    assert!(
        out.status.success(),
        "python client (stdio) failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"ok\": true"));
}

#[test]
fn python_sdk_over_streamable_http_survives_a_server_restart() {
    let ffo = estate();
    let mut server = Server::start(&ffo, &[]);
    let url = server.url("/mcp");
    let mut client = Command::new(python())
        .arg(client_script())
        .args(["http", &url, "--restart-check"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the python client");
    let mut stdout = BufReader::new(client.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("read");
    if line.trim() != "RESTART" {
        let _ = client.kill();
        let mut err = String::new();
        let _ = std::io::Read::read_to_string(client.stderr.as_mut().expect("stderr"), &mut err);
        panic!("python client (http) failed before the restart: {line}\n{err}");
    }
    // Restart the server on the same port: a stateless MCP server needs no
    // session, so the same client carries on.
    let port = server.port;
    let _ = server.child.kill();
    let _ = server.child.wait();
    drop(server);
    let restarted = ffo.serve_on(port);
    client.stdin.as_mut().expect("stdin").write_all(b"go\n").expect("write");
    let out = client.wait_with_output().expect("wait");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).expect("read");
    assert!(
        out.status.success(),
        "python client (http) failed after the restart:\n{rest}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(rest.contains("\"ok\": true"), "{rest}");
    drop(restarted);
}

/// The MCP Inspector CLI lists the tools, in strict mode (schema portability
/// problems are errors), over stdio.
#[test]
fn mcp_inspector_lists_the_tools_in_strict_mode() {
    let dir = tmp().join("inspector");
    let bin = dir.join("node_modules/.bin/mcp-inspector");
    if !bin.exists() {
        std::fs::create_dir_all(&dir).expect("mkdir");
        run(
            Command::new("npm").args(["install", "--no-audit", "--no-fund", "--prefix"]).arg(&dir).arg(INSPECTOR),
            "npm install inspector",
        );
    }
    let ffo = estate();
    let out = Command::new(&bin)
        .args(["--cli", "--strict", env!("CARGO_BIN_EXE_ffo"), "--data"])
        .arg(ffo.data())
        .args(["mcp", "--method", "tools/list"])
        .current_dir(Path::new(&dir))
        .output()
        .expect("run the inspector");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "inspector failed:\n{stderr}");
    assert!(!stderr.contains("Warning") && !stderr.contains("Error"), "strict-mode findings:\n{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("tools/list JSON");
    let mut names: Vec<&str> =
        v["tools"].as_array().expect("tools").iter().filter_map(|t| t["name"].as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        vec!["blast_radius", "context_for_action", "get_entity", "search_incidents", "sparql_query", "write_outcome"]
    );
}
