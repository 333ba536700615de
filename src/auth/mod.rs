//! Who is calling: an identity with scopes and a clearance. Tokens come from
//! configuration; the CLI acts as an administrator. Every face turns its
//! credentials into a [`Caller`] and hands it to the query layer, which
//! decides what the caller may see and do. [`jwt`] validates bearer JWTs
//! from the team's identity provider (OAuth 2.0 / OIDC).

pub mod jwt;

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use sha2::{Digest, Sha256};

use crate::model::{Classification, ClassificationScale};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Read,
    Write,
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Scope, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "read" => Ok(Scope::Read),
            "write" => Ok(Scope::Write),
            "admin" => Ok(Scope::Admin),
            other => Err(format!("unknown scope {other:?}; expected read, write or admin")),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authenticated identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    scopes: BTreeSet<Scope>,
    pub clearance: Classification,
    /// The face the call came through (`cli`, `http`, `mcp`), for the audit log.
    pub via: &'static str,
}

impl Caller {
    pub fn new(name: impl Into<String>, scopes: impl IntoIterator<Item = Scope>, clearance: Classification) -> Caller {
        Caller { name: name.into(), scopes: scopes.into_iter().collect(), clearance, via: "cli" }
    }

    pub fn via(mut self, face: &'static str) -> Caller {
        self.via = face;
        self
    }

    /// The operator at the terminal, or a server with no tokens configured
    /// (which then listens on loopback only).
    pub fn admin(name: &str, scale: &ClassificationScale) -> Caller {
        Caller::new(name, [Scope::Read, Scope::Write, Scope::Admin], scale.highest().clone())
    }

    /// Admin implies every scope; reading never implies writing.
    pub fn can(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin)
    }

    pub fn scopes(&self) -> impl Iterator<Item = Scope> + '_ {
        self.scopes.iter().copied()
    }
}

/// The configured bearer tokens, stored as SHA-256 digests.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    by_digest: HashMap<[u8; 32], Caller>,
}

impl Tokens {
    pub fn new() -> Tokens {
        Tokens::default()
    }

    pub fn add_plain(&mut self, token: &str, caller: Caller) {
        self.by_digest.insert(digest(token), caller);
    }

    pub fn add_digest(&mut self, hex_digest: &str, caller: Caller) -> Result<(), String> {
        let bytes = hex::decode(hex_digest.trim()).map_err(|e| format!("token_sha256 is not hex: {e}"))?;
        let d: [u8; 32] = bytes.try_into().map_err(|_| "token_sha256 must be 64 hex digits".to_string())?;
        self.by_digest.insert(d, caller);
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty()
    }

    pub fn authenticate(&self, token: &str) -> Option<&Caller> {
        self.by_digest.get(&digest(token.trim()))
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_never_implies_writing() {
        let scale = ClassificationScale::default();
        let reader = Caller::new("r", [Scope::Read], scale.lowest().clone());
        assert!(reader.can(Scope::Read));
        assert!(!reader.can(Scope::Write));
        assert!(Caller::admin("cli", &scale).can(Scope::Write));
        let mut tokens = Tokens::new();
        tokens.add_plain("s3cret", reader.clone());
        assert_eq!(tokens.authenticate("s3cret"), Some(&reader));
        assert_eq!(tokens.authenticate("other"), None);
        assert!(tokens.add_digest("zz", reader).is_err());
    }
}
