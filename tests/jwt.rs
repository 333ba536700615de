//! Sign-in with the team's identity provider: bearer JWTs (RS256, ES256)
//! checked against a JWKS file or URL, their scopes and clearance taken from
//! claims; every refusal answered 401 with the OAuth challenge and audited
//! with its reason, never with the token; the protected-resource metadata
//! document; an MCP client signing in with a JWT. The keys are made here.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

mod common;
use common::{Answer, Ffo, Server, request_with_headers};

const ISSUER: &str = "https://idp.example.com/realms/ops";
const AUDIENCE: &str = "https://ffo.example.com/mcp";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A signing key of the test's identity provider and its public JWK.
#[derive(Clone)]
struct Key {
    kid: String,
    alg: Algorithm,
    private_der: Vec<u8>,
    /// The public key's DER (for the HS256 confusion attempt).
    public_der: Vec<u8>,
    jwk: Value,
}

impl Key {
    fn rsa(kid: &str) -> Key {
        use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
        use rsa::traits::PublicKeyParts;
        use rsa::{Generate, PrivateKey};
        let private = PrivateKey::generate();
        let public = private.to_public_key();
        Key {
            kid: kid.into(),
            alg: Algorithm::RS256,
            private_der: private.to_pkcs1_der().expect("pkcs1").as_bytes().to_vec(),
            public_der: public.to_pkcs1_der().expect("pkcs1").as_bytes().to_vec(),
            jwk: json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                        "n": b64(&public.n_bytes()), "e": b64(&public.e_bytes())}),
        }
    }

    fn ec(kid: &str) -> Key {
        use p256::ecdsa::SigningKey;
        use p256::elliptic_curve::Generate;
        use p256::pkcs8::EncodePrivateKey;
        let private = SigningKey::generate();
        let point = private.verifying_key().to_sec1_point(false);
        let xy = &point.as_bytes()[1..];
        Key {
            kid: kid.into(),
            alg: Algorithm::ES256,
            private_der: private.to_pkcs8_der().expect("pkcs8").as_bytes().to_vec(),
            public_der: point.as_bytes().to_vec(),
            jwk: json!({"kty": "EC", "kid": kid, "use": "sig", "crv": "P-256",
                        "x": b64(&xy[..32]), "y": b64(&xy[32..])}),
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let key = match self.alg {
            Algorithm::RS256 => EncodingKey::from_rsa_der(&self.private_der),
            _ => EncodingKey::from_ec_der(&self.private_der),
        };
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &key).expect("sign")
    }
}

/// The two keys most tests use (an RSA key takes a moment to make).
fn keys() -> &'static (Key, Key) {
    static KEYS: OnceLock<(Key, Key)> = OnceLock::new();
    KEYS.get_or_init(|| (Key::rsa("rsa-1"), Key::ec("ec-1")))
}

fn jwks(keys: &[&Key]) -> String {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()}).to_string()
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64
}

/// Claims of a good token; tests change what they test.
fn claims(sub: &str, scope: Value, clearance: Option<&str>) -> Value {
    let mut c = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": now(), "exp": now() + 600, "scope": scope});
    if let Some(level) = clearance {
        c["clearance"] = json!(level);
    }
    c
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().expect("claims").remove(key);
    claims
}

fn estate() -> Ffo {
    // Every log line the server can write, to check no token lands in one.
    let ffo = Ffo::new().env("FFO_LOG", "debug,hyper=info,h2=info,tantivy=info,sqlx=info");
    let out = ffo.run(&["ingest", "all", common::fixtures().to_str().unwrap()]);
    assert!(out.status.code() == Some(0) || out.status.code() == Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    ffo
}

fn serve_with(ffo: &Ffo, oidc: &str) -> Server {
    let config = ffo.dir.path().join("ffo.toml");
    let text = format!(
        "[[tokens]]\nname = \"static-reader\"\ntoken = \"static-read-token\"\nscopes = [\"read\"]\nclearance = \"IL4\"\n\n[oidc]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\n{oidc}"
    );
    std::fs::write(&config, text).unwrap();
    Server::start(ffo, &["--config", config.to_str().unwrap()])
}

fn call(server: &Server, method: &str, path: &str, auth: Option<&str>, body: Option<&Value>) -> Answer {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = auth {
        headers.push(("Authorization", a));
    }
    let body = body.map(Value::to_string).unwrap_or_default();
    request_with_headers(method, &server.url(path), &headers, body.as_bytes()).expect("request")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn json_of(a: &Answer) -> Value {
    serde_json::from_str(&a.body).unwrap_or_else(|_| json!(a.body))
}

/// The audit rows of refused sign-ins, read after the server stopped.
fn sign_in_failures(ffo: &Ffo) -> (Vec<Value>, String) {
    let out = ffo.ok(&["audit", "--limit", "1000", "--json"]);
    let rows: Vec<Value> = serde_json::from_str(&out).expect("audit JSON");
    (rows.into_iter().filter(|r| r["tool"] == "sign_in").collect(), out)
}

#[test]
fn jwts_sign_in_with_the_scopes_and_clearance_their_claims_give() {
    let (rsa, ec) = keys();
    let ffo = estate();
    let jwks_file = ffo.dir.path().join("jwks.json");
    std::fs::write(&jwks_file, jwks(&[rsa, ec])).unwrap();
    let server = serve_with(&ffo, &format!("jwks_file = {:?}\n", jwks_file.to_str().unwrap()));
    let base = server.base.clone();
    let mut tokens: Vec<String> = Vec::new();

    // RS256, read only, IL4: sees IL4, not IL6; may not write.
    let reader = rsa.sign(&claims("ana", json!("openid read"), Some("IL4")));
    tokens.push(reader.clone());
    let a = call(&server, "GET", "/v1/entities/checkout-api", Some(&bearer(&reader)), None);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(call(&server, "GET", "/v1/entities/key-service", Some(&bearer(&reader)), None).status, 404, "IL6");
    let outcome = json!({"entity": "checkout-api", "action": "restart", "result": "success", "summary": "done"});
    let a = call(&server, "POST", "/v1/outcomes", Some(&bearer(&reader)), Some(&outcome));
    assert_eq!(a.status, 403, "{}", a.body);
    // The scheme is case-insensitive (RFC 7235).
    for scheme in ["BEARER", "bearer", "BeArEr"] {
        let a = call(&server, "GET", "/v1/entities/checkout-api", Some(&format!("{scheme} {reader}")), None);
        assert_eq!(a.status, 200, "{scheme}: {}", a.body);
    }

    // ES256, scopes as a JSON array, IL6: sees everything and writes as its subject.
    let writer = ec.sign(&claims("bo", json!(["read", "write"]), Some("IL6")));
    tokens.push(writer.clone());
    assert_eq!(call(&server, "GET", "/v1/entities/key-service", Some(&bearer(&writer)), None).status, 200);
    let a = call(&server, "POST", "/v1/outcomes", Some(&bearer(&writer)), Some(&outcome));
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(json_of(&a)["performed_by"], "bo");

    // No clearance claim: the lowest level (IL2), so an IL4 entity does not exist.
    let lowest = rsa.sign(&claims("cy", json!("read"), None));
    tokens.push(lowest.clone());
    assert_eq!(call(&server, "GET", "/v1/entities/checkout-api", Some(&bearer(&lowest)), None).status, 404);
    assert_eq!(call(&server, "GET", "/v1/search?q=redis", Some(&bearer(&lowest)), None).status, 200);

    // Static tokens keep working beside JWTs.
    assert_eq!(call(&server, "GET", "/v1/entities/checkout-api", Some("Bearer static-read-token"), None).status, 200);

    // Every refusal: 401, the challenge pointing at the metadata, a reason.
    let good = claims("mallory", json!("read write admin"), Some("IL6"));
    let unsigned = |header: Value, claims: &Value| {
        format!("{}.{}.", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()))
    };
    let hs256 = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(rsa.kid.clone());
        jsonwebtoken::encode(&header, &good, &EncodingKey::from_secret(&rsa.public_der).unwrap()).unwrap()
    };
    let tampered = {
        let valid = rsa.sign(&claims("mallory", json!("read"), Some("IL4")));
        let parts: Vec<&str> = valid.split('.').collect();
        format!("{}.{}.{}", parts[0], b64(good.to_string().as_bytes()), parts[2])
    };
    let mut stranger = Key::ec("ec-stranger");
    let forged = stranger.sign(&good);
    stranger.kid = ec.kid.clone();
    let wrong_key = stranger.sign(&good);
    let mut rsa_as_ec = ec.clone();
    rsa_as_ec.kid = rsa.kid.clone();
    let cases: Vec<(&str, String)> = vec![
        ("expired", rsa.sign(&with(with(good.clone(), "exp", json!(now() - 3600)), "iat", json!(now() - 7200)))),
        ("not_yet_valid", ec.sign(&with(good.clone(), "nbf", json!(now() + 3600)))),
        ("wrong_issuer", rsa.sign(&with(good.clone(), "iss", json!("https://evil.example.com")))),
        ("wrong_audience", ec.sign(&with(good.clone(), "aud", json!("https://other.example.com")))),
        ("missing_claim", rsa.sign(&without(good.clone(), "aud"))),
        ("unknown_kid", forged),
        ("bad_signature", wrong_key),
        ("bad_signature", tampered),
        ("alg_mismatch", rsa_as_ec.sign(&good)),
        ("unsupported_alg", unsigned(json!({"alg": "none", "typ": "JWT"}), &good)),
        ("unsupported_alg", unsigned(json!({"alg": "None", "kid": "rsa-1"}), &good)),
        ("unsupported_alg", hs256),
        ("unknown_clearance", rsa.sign(&with(good.clone(), "clearance", json!("IL9")))),
        ("malformed_token", "not.a.jwt".to_string()),
        ("unknown_token", "a-static-token-nobody-configured".to_string()),
    ];
    let metadata = format!("resource_metadata=\"{base}/.well-known/oauth-protected-resource\"");
    for (reason, token) in &cases {
        tokens.push(token.clone());
        let a = call(&server, "GET", "/v1/entities/checkout-api", Some(&bearer(token)), None);
        assert_eq!(a.status, 401, "{reason}: {}", a.body);
        let challenge = a.header("www-authenticate").unwrap_or_else(|| panic!("{reason}: no challenge"));
        assert!(challenge.starts_with("Bearer ") && challenge.contains(&metadata), "{reason}: {challenge}");
        assert!(challenge.contains("error=\"invalid_token\""), "{reason}: {challenge}");
        assert_eq!(json_of(&a)["code"], "unauthorized");
    }
    // No token at all: the challenge without an error (RFC 6750 §3.1).
    let a = call(&server, "GET", "/v1/search?q=redis", None, None);
    assert_eq!(a.status, 401);
    let challenge = a.header("www-authenticate").unwrap();
    assert!(challenge.contains(&metadata) && !challenge.contains("error="), "{challenge}");
    let a = call(&server, "GET", "/v1/search?q=x", Some("Basic dXNlcjpwYXNz"), None);
    assert_eq!(a.status, 401);

    // MCP: the first request without a token gets the challenge for /mcp.
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let a = request_with_headers(
        "POST",
        &server.url("/mcp"),
        &[("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")],
        init.to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(a.status, 401, "{}", a.body);
    let challenge = a.header("www-authenticate").unwrap();
    assert!(
        challenge.contains(&format!("resource_metadata=\"{base}/.well-known/oauth-protected-resource/mcp\"")),
        "{challenge}"
    );

    // The protected-resource metadata (RFC 9728), without a token.
    let a = call(&server, "GET", "/.well-known/oauth-protected-resource", None, None);
    assert_eq!(a.status, 200, "{}", a.body);
    let doc = json_of(&a);
    assert_eq!(doc["resource"], base);
    assert_eq!(doc["authorization_servers"], json!([ISSUER]));
    assert_eq!(doc["scopes_supported"], json!(["read", "write", "admin"]));
    assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    let a = call(&server, "GET", "/.well-known/oauth-protected-resource/mcp", None, None);
    assert_eq!(json_of(&a)["resource"], format!("{base}/mcp"));

    // Every answer so far is free of every token.
    let log = server.log.clone();
    server.stop();

    // Each refusal is in the audit log with its reason, none with a token.
    let (failures, audit_text) = sign_in_failures(&ffo);
    let mut reasons: Vec<&str> = failures.iter().filter_map(|r| r["outcome"].as_str()).collect();
    reasons.sort();
    reasons.dedup();
    for (reason, _) in &cases {
        assert!(reasons.contains(reason), "{reason} not audited: {reasons:?}");
    }
    for reason in ["missing_token", "not_bearer"] {
        assert!(reasons.contains(&reason), "{reason} not audited: {reasons:?}");
    }
    assert!(failures.iter().all(|r| r["caller"] == "anonymous" && r["face"] == "http"), "{failures:?}");
    assert!(failures.iter().any(|r| r["detail"].as_str().unwrap_or("").contains("expired")), "{failures:?}");
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains("sign-in refused"), "the log records refusals:\n{log_text}");
    for token in &tokens {
        let signature = token.rsplit('.').next().unwrap_or(token);
        for (what, text) in [("audit log", &audit_text), ("server log", &log_text)] {
            assert!(!text.contains(token.as_str()), "a token is in the {what}");
            assert!(signature.len() < 8 || !text.contains(signature), "a token's signature is in the {what}");
        }
    }
}

/// A JWKS served over HTTP by the test (the identity provider's `jwks_uri`),
/// counting how often it is fetched.
struct JwksServer {
    url: String,
    body: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
}

impl JwksServer {
    fn start(body: String) -> JwksServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let (body, hits) = (Arc::new(Mutex::new(body)), Arc::new(AtomicUsize::new(0)));
        let (served, counted) = (body.clone(), hits.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                counted.fetch_add(1, Ordering::SeqCst);
                let body = served.lock().unwrap().clone();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        JwksServer { url, body, hits }
    }
}

#[test]
fn a_jwks_url_follows_key_rotation_and_is_not_hammered() {
    let (_, ec) = keys();
    let idp = JwksServer::start(jwks(&[ec]));
    let ffo = estate();
    let server = serve_with(
        &ffo,
        &format!(
            "jwks_url = \"{}\"\nresource = \"https://ffo.example.com/\"\nclearance_claim = \"ffo_level\"\nname_claim = \"email\"\n",
            idp.url
        ),
    );
    let token = |key: &Key| {
        let c = with(claims("u-1", json!("read"), None), "ffo_level", json!("IL6"));
        key.sign(&with(c, "email", json!("ana@example.com")))
    };
    let get = |t: &str| call(&server, "GET", "/v1/entities/key-service", Some(&bearer(t)), None);
    let a = get(&token(ec));
    assert_eq!(a.status, 200, "{}", a.body);

    // The provider rotates: a new key replaces the old one.
    let next = Key::ec("ec-2");
    *idp.body.lock().unwrap() = jwks(&[&next]);
    let a = get(&token(&next));
    assert_eq!(a.status, 200, "a token signed with the new key: {}", a.body);
    let fetched = idp.hits.load(Ordering::SeqCst);
    let a = get(&token(ec));
    assert_eq!(a.status, 401, "the retired key no longer signs in: {}", a.body);
    // Made-up key ids do not make FFO refetch each time.
    for i in 0..5 {
        assert_eq!(get(&token(&Key::ec(&format!("made-up-{i}")))).status, 401);
    }
    assert!(idp.hits.load(Ordering::SeqCst) <= fetched + 1, "the JWKS was refetched for every unknown key id");

    // The configured public URL names the resource.
    let a = call(&server, "GET", "/.well-known/oauth-protected-resource/mcp", None, None);
    assert_eq!(json_of(&a)["resource"], "https://ffo.example.com/mcp");
    let a = call(&server, "GET", "/v1/search?q=x", None, None);
    assert!(
        a.header("www-authenticate")
            .unwrap()
            .contains("resource_metadata=\"https://ffo.example.com/.well-known/oauth-protected-resource\""),
        "{:?}",
        a.headers
    );
    server.stop();
    let out = ffo.ok(&["audit", "--limit", "200", "--json"]);
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert!(rows.iter().any(|r| r["caller"] == "ana@example.com" && r["tool"] == "get_entity"), "{out}");
    assert!(rows.iter().any(|r| r["tool"] == "sign_in" && r["outcome"] == "unknown_kid"), "{out}");
}

#[test]
fn without_oidc_there_is_no_metadata_and_the_challenge_names_a_realm() {
    let ffo = Ffo::new();
    let config = ffo.dir.path().join("ffo.toml");
    std::fs::write(&config, "[[tokens]]\nname = \"r\"\ntoken = \"t\"\nscopes = [\"read\"]\n").unwrap();
    let server = Server::start(&ffo, &["--config", config.to_str().unwrap()]);
    assert_eq!(call(&server, "GET", "/.well-known/oauth-protected-resource", None, None).status, 404);
    let a = call(&server, "GET", "/v1/search?q=x", Some("bearer nope"), None);
    assert_eq!(a.status, 401);
    assert_eq!(a.header("www-authenticate"), Some("Bearer realm=\"ffo\", error=\"invalid_token\""));
    assert_eq!(call(&server, "GET", "/v1/search?q=x", Some("BEARER t"), None).status, 200);
    server.stop();
}

#[test]
fn an_oidc_config_alone_lifts_the_loopback_only_rule() {
    let ffo = Ffo::new();
    let jwks_file = ffo.dir.path().join("jwks.json");
    std::fs::write(&jwks_file, jwks(&[&keys().1])).unwrap();
    let config = ffo.dir.path().join("ffo.toml");
    std::fs::write(
        &config,
        format!(
            "[oidc]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\njwks_file = {:?}\n",
            jwks_file.to_str().unwrap()
        ),
    )
    .unwrap();
    let port = common::free_port();
    let mut child = ffo
        .command()
        .args(["serve", "--listen", &format!("0.0.0.0:{port}"), "--config"])
        .arg(&config)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let healthy = loop {
        if child.try_wait().unwrap().is_some() || std::time::Instant::now() > deadline {
            break false;
        }
        if let Ok((200, _)) = common::get(&format!("http://127.0.0.1:{port}/healthz")) {
            break true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert!(healthy, "ffo serve refused a wildcard address with [oidc]: {}", String::from_utf8_lossy(&out.stderr));
    // A JWKS file that cannot be read stops the start, naming it.
    std::fs::remove_file(&jwks_file).unwrap();
    let out = ffo.run(&[
        "serve",
        "--listen",
        &format!("127.0.0.1:{}", common::free_port()),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("jwks.json") && err.contains("[oidc]"), "{err}");
}

#[test]
fn python_mcp_sdk_signs_in_with_a_bearer_jwt() {
    let (rsa, _) = keys();
    let ffo = estate();
    let jwks_file = ffo.dir.path().join("jwks.json");
    std::fs::write(&jwks_file, jwks(&[rsa])).unwrap();
    let server = serve_with(&ffo, &format!("jwks_file = {:?}\n", jwks_file.to_str().unwrap()));
    // sparql_query needs the highest clearance; write_outcome the write scope.
    let token = rsa.sign(&claims("agent-7", json!("read write"), Some("IL6")));
    let out = Command::new(common::mcp_python())
        .arg(common::repo().join("tests/mcp/client.py"))
        .args(["http", &server.url("/mcp"), "--bearer-env", "FFO_TEST_BEARER"])
        .env("FFO_TEST_BEARER", &token)
        .output()
        .expect("run the python client");
    assert!(
        out.status.success(),
        "python client with a JWT failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"ok\": true"));
    server.stop();
    let audit = ffo.ok(&["audit", "--limit", "200", "--json"]);
    let rows: Vec<Value> = serde_json::from_str(&audit).unwrap();
    assert!(
        rows.iter().any(|r| r["caller"] == "agent-7" && r["tool"] == "write_outcome" && r["outcome"] == "ok"),
        "{audit}"
    );
    assert!(!audit.contains(&token));
}
