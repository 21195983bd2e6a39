//! API keys and what each may do, per memory.
//!
//! A key has a name (for logs and messages: the secret is never logged or
//! echoed) and grants: a role (`read` < `write` < `admin`, each including
//! the ones before it) on one memory (`write@acme`) or on every memory
//! (`read`). Keys come from a TOML file:
//!
//! ```toml
//! [keys.weblate]
//! secret = "a long random string"
//! grants = ["read"]
//!
//! [keys.acme-plugin]
//! secret = "another one"
//! grants = ["read", "write@acme"]
//! ```
//!
//! or from the environment, `DHAKIRA_API_KEYS="name:secret:grant,grant …"`
//! (entries separated by spaces). Clients send `authorization: Bearer
//! <secret>`. Secrets are kept as SHA-256 digests and compared in constant
//! time, every key each time.

use std::collections::BTreeMap;
use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};
use crate::unit::memory_name;

/// Shortest accepted secret, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;

/// What a grant allows; each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Lookups, concordance, analysis, export, reading units, confirming a use.
    Read,
    /// Adding, importing, updating and deleting units.
    Write,
    /// Creating and deleting memories, metrics.
    Admin,
}

impl Role {
    fn parse(name: &str) -> Option<Role> {
        match name {
            "read" => Some(Role::Read),
            "write" => Some(Role::Write),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }
}

/// A role on one memory, or on all (`memory` `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub role: Role,
    pub memory: Option<String>,
}

impl Grant {
    /// `read`, `write@acme`…
    pub fn parse(text: &str) -> std::result::Result<Grant, String> {
        let (role, memory) = match text.split_once('@') {
            Some((role, memory)) => (role, Some(memory)),
            None => (text, None),
        };
        let role = Role::parse(role.trim())
            .ok_or_else(|| format!("{text:?} is not a grant: use read, write or admin, optionally @memory"))?;
        let memory = match memory.map(str::trim) {
            None => None,
            Some("") | Some("*") => None,
            Some(name) => Some(memory_name(name, "grant").map_err(|err| err.to_string())?),
        };
        Ok(Grant { role, memory })
    }
}

/// Who is calling: a key's name and grants, or anyone when the server has
/// no keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The key's name; `None` when no keys are configured (everything is
    /// allowed).
    pub name: Option<String>,
    grants: Vec<Grant>,
}

impl Principal {
    /// Anyone, on a server without keys: every right.
    pub fn anyone() -> Principal {
        Principal { name: None, grants: vec![Grant { role: Role::Admin, memory: None }] }
    }

    /// Whether it holds `role` on `memory`.
    pub fn can(&self, role: Role, memory: &str) -> bool {
        self.grants.iter().any(|g| g.role >= role && g.memory.as_deref().is_none_or(|m| m == memory))
    }

    /// Whether it holds `role` on every memory.
    pub fn can_everywhere(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role >= role && g.memory.is_none())
    }

    /// `PERMISSION_DENIED` naming `field` unless it holds `role` on `memory`.
    pub fn require(&self, role: Role, memory: &str, field: &str) -> Result<()> {
        if self.can(role, memory) {
            return Ok(());
        }
        Err(self.denied(field, format!("{} on memory {memory:?}", role.name())))
    }

    /// `PERMISSION_DENIED` unless it holds `role` on every memory (a request
    /// that may touch any memory).
    pub fn require_everywhere(&self, role: Role, field: &str) -> Result<()> {
        if self.can_everywhere(role) {
            return Ok(());
        }
        Err(self.denied(field, format!("{} on every memory (name the memories)", role.name())))
    }

    /// `PERMISSION_DENIED` for a unit named by id that is not in a memory
    /// where the key holds `role`, or does not exist: both get this one
    /// answer, which names no memory.
    pub fn denied_unit(&self, role: Role, id: u64, field: &str) -> Error {
        self.denied(
            field,
            format!("{} on unit {id} (it is in no memory the key may {0}, or there is no such unit)", role.name()),
        )
    }

    fn denied(&self, field: &str, needed: String) -> Error {
        let who = self.name.as_deref().unwrap_or("anonymous");
        Error::PermissionDenied { field: field.to_owned(), reason: format!("the key {who:?} lacks {needed}") }
    }

    /// The memories a read may cover: the named ones, each of which it must
    /// be allowed to read (errors name `field[i]`); or, when none is named,
    /// `None` for every memory if it may read them all, else the ones it
    /// may read among `existing`.
    pub fn readable(&self, named: &[String], existing: &[String], field: &str) -> Result<Option<Vec<String>>> {
        if !named.is_empty() {
            for (i, name) in named.iter().enumerate() {
                let name = if name.is_empty() { crate::unit::DEFAULT_MEMORY } else { name.as_str() };
                self.require(Role::Read, name, &format!("{field}[{i}]"))?;
            }
            return Ok(None);
        }
        if self.can_everywhere(Role::Read) {
            return Ok(None);
        }
        Ok(Some(existing.iter().filter(|m| self.can(Role::Read, m)).cloned().collect()))
    }
}

/// The configured keys.
#[derive(Clone, Default)]
pub struct Keys {
    keys: Vec<Key>,
}

#[derive(Clone)]
struct Key {
    name: String,
    digest: [u8; 32],
    grants: Vec<Grant>,
}

impl fmt::Debug for Keys {
    /// Names only: secrets never reach a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.keys.iter().map(|k| &k.name)).finish()
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    #[serde(default)]
    keys: BTreeMap<String, KeyEntry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    secret: String,
    grants: Vec<String>,
}

impl Keys {
    /// True when no key is configured: the server is open to anyone.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Reads a keys file (TOML, see the module documentation).
    pub fn from_toml(text: &str, origin: &str) -> Result<Keys> {
        let file: KeysFile = toml::from_str(text)
            .map_err(|err| Error::Input { path: origin.to_owned(), reason: err.message().to_owned() })?;
        let mut keys = Keys::default();
        for (name, entry) in file.keys {
            keys.add(&name, &entry.secret, &entry.grants.iter().map(String::as_str).collect::<Vec<_>>(), origin)?;
        }
        Ok(keys)
    }

    /// Reads `name:secret:grant,grant …` entries separated by whitespace.
    pub fn from_env(text: &str, origin: &str) -> Result<Keys> {
        let mut keys = Keys::default();
        for (i, entry) in text.split_whitespace().enumerate() {
            let mut parts = entry.splitn(3, ':');
            let (Some(name), Some(secret), Some(grants)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(Error::Input {
                    path: origin.to_owned(),
                    reason: format!("entry {}: expected name:secret:grant[,grant…]", i + 1),
                });
            };
            keys.add(name, secret, &grants.split(',').collect::<Vec<_>>(), origin)?;
        }
        Ok(keys)
    }

    /// Adds the keys of `other`.
    pub fn extend(&mut self, other: Keys) {
        self.keys.extend(other.keys);
    }

    fn add(&mut self, name: &str, secret: &str, grants: &[&str], origin: &str) -> Result<()> {
        let input =
            |reason: String| Error::Input { path: origin.to_owned(), reason: format!("key {name:?}: {reason}") };
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            return Err(input("a key name is letters, digits, '-', '_' or '.'".into()));
        }
        if secret.len() < MIN_SECRET_BYTES {
            return Err(input(format!("its secret is shorter than {MIN_SECRET_BYTES} bytes")));
        }
        if grants.is_empty() {
            return Err(input("it has no grants".into()));
        }
        let grants =
            grants.iter().map(|g| Grant::parse(g)).collect::<std::result::Result<Vec<_>, _>>().map_err(input)?;
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        if self.keys.iter().any(|k| k.name == name) {
            return Err(input("the name is used twice".into()));
        }
        if self.keys.iter().any(|k| bool::from(k.digest.ct_eq(&digest))) {
            return Err(input("its secret is another key's".into()));
        }
        self.keys.push(Key { name: name.to_owned(), digest, grants });
        Ok(())
    }

    /// The caller of a request with this `authorization` header value:
    /// anyone when no key is configured, else the key whose secret it
    /// bears (`UNAUTHENTICATED` when none does).
    pub fn authenticate(&self, authorization: Option<&[u8]>) -> Result<Principal> {
        if self.keys.is_empty() {
            return Ok(Principal::anyone());
        }
        let Some(value) = authorization else {
            return Err(Error::Unauthenticated(
                "this server needs an API key: send `authorization: Bearer <key>`".into(),
            ));
        };
        let token = match value.get(..7) {
            Some(scheme) if scheme.eq_ignore_ascii_case(b"bearer ") => value[7..].trim_ascii(),
            _ => return Err(Error::Unauthenticated("the authorization header must be `Bearer <key>`".into())),
        };
        self.principal_of(token)
    }

    /// The key whose secret is `token` (a MyMemory `key=` parameter).
    pub fn principal_of(&self, token: &[u8]) -> Result<Principal> {
        if self.keys.is_empty() {
            return Ok(Principal::anyone());
        }
        let digest: [u8; 32] = Sha256::digest(token).into();
        // Every key is compared, whichever matches: the time taken says
        // nothing about which one did, or how much of it.
        let mut found = None;
        for key in &self.keys {
            if bool::from(key.digest.ct_eq(&digest)) {
                found = Some(key);
            }
        }
        match found {
            Some(key) => Ok(Principal { name: Some(key.name.clone()), grants: key.grants.clone() }),
            None => Err(Error::Unauthenticated("the API key is not valid".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::from_toml(
            r#"
            [keys.reader]
            secret = "reader-secret-0123456789"
            grants = ["read"]
            [keys.acme]
            secret = "acme-secret-0123456789"
            grants = ["read@acme", "write@acme"]
            [keys.ops]
            secret = "ops-secret-0123456789"
            grants = ["admin"]
            "#,
            "keys.toml",
        )
        .unwrap()
    }

    #[test]
    fn keys_authenticate_bearer_tokens_and_grant_roles_per_memory() {
        let keys = keys();
        let acme = keys.authenticate(Some(b"Bearer acme-secret-0123456789")).unwrap();
        assert_eq!(acme.name.as_deref(), Some("acme"));
        assert!(acme.can(Role::Write, "acme") && acme.can(Role::Read, "acme"));
        assert!(!acme.can(Role::Read, "news") && !acme.can(Role::Admin, "acme"));
        let reader = keys.authenticate(Some(b"bearer  reader-secret-0123456789 ")).unwrap();
        assert!(reader.can(Role::Read, "news") && !reader.can(Role::Write, "news"));
        let ops = keys.authenticate(Some(b"Bearer ops-secret-0123456789")).unwrap();
        assert!(ops.can_everywhere(Role::Write));
        for bad in [None, Some(&b"Bearer nope"[..]), Some(b"Basic acme-secret-0123456789"), Some(b"")] {
            assert!(matches!(keys.authenticate(bad), Err(Error::Unauthenticated(_))), "{bad:?}");
        }
        assert_eq!(
            acme.require(Role::Write, "news", "units[0].memory").unwrap_err().to_string(),
            "units[0].memory: the key \"acme\" lacks write on memory \"news\""
        );
        let existing = ["acme".to_owned(), "news".to_owned()];
        assert_eq!(acme.readable(&[], &existing, "memories").unwrap(), Some(vec!["acme".to_owned()]));
        assert_eq!(reader.readable(&[], &existing, "memories").unwrap(), None);
        assert!(acme.readable(&["news".into()], &existing, "memories").is_err());
    }

    #[test]
    fn no_keys_means_anyone_may_do_anything() {
        let anyone = Keys::default().authenticate(None).unwrap();
        assert!(anyone.can_everywhere(Role::Admin));
    }

    #[test]
    fn bad_key_files_name_the_problem_and_never_the_secret() {
        let short = Keys::from_env("a:short:read", "DHAKIRA_API_KEYS").unwrap_err().to_string();
        assert_eq!(short, "DHAKIRA_API_KEYS: key \"a\": its secret is shorter than 16 bytes");
        let grant = Keys::from_env("a:0123456789abcdef0:owner", "env").unwrap_err().to_string();
        assert!(grant.contains("\"owner\" is not a grant"), "{grant}");
        let twice = Keys::from_env("a:0123456789abcdef0:read b:0123456789abcdef0:read", "env").unwrap_err().to_string();
        assert!(twice.contains("another key's") && !twice.contains("0123456789abcdef0"), "{twice}");
        let env = Keys::from_env("w:0123456789abcdef0:read,write@news", "env").unwrap();
        assert_eq!(format!("{env:?}"), "[\"w\"]");
        assert!(
            Keys::from_toml("[keys.x]\nsecret = \"0123456789abcdef0\"\ngrants = [\"read\"]\nextra = 1", "f").is_err()
        );
    }
}
