//! Who may relay: trusted networks, accounts for AUTH (argon2 hashes), and the senders each
//! account may use. Also the relay's own TLS certificate. Built from the config at start and
//! on every SIGHUP; sessions keep the snapshot they started with.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

use crate::address::{Address, Target};
use crate::config::Config;

/// One account.
#[derive(Debug, Clone)]
struct Account {
    hash: String,
    senders: Vec<Target>,
}

/// Trusted networks and accounts.
#[derive(Debug, Clone, Default)]
pub struct Access {
    trusted: Vec<ipnet::IpNet>,
    accounts: HashMap<String, Account>,
    allow_plaintext_on_loopback: bool,
}

/// A hash to verify unknown users against, so that a wrong user name takes as long as a
/// wrong password (no user enumeration by timing).
pub(crate) const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$kqQci6HMEksYfGYhtPCu3Q$a6wqow/38IDCUExdfPwxUIRD9yoTvwi1ChfE0ynJDHc";

impl Access {
    /// From `[server] trusted_networks` and `[auth]`.
    pub fn from_config(config: &Config) -> Access {
        Access {
            trusted: config.server.trusted_networks.clone(),
            accounts: config
                .auth
                .users
                .iter()
                .map(|u| {
                    let senders = u
                        .senders
                        .iter()
                        .filter_map(|s| Target::parse(s).ok())
                        .collect();
                    (
                        u.name.clone(),
                        Account {
                            hash: u.password_hash.clone(),
                            senders,
                        },
                    )
                })
                .collect(),
            allow_plaintext_on_loopback: config.auth.allow_plaintext_on_loopback,
        }
    }

    /// Whether a client address may relay without authenticating.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// Whether AUTH may be offered: there are accounts, and the connection is encrypted or a
    /// loopback one where plaintext AUTH is allowed.
    pub fn offers_auth(&self, encrypted: bool, loopback: bool) -> bool {
        !self.accounts.is_empty() && (encrypted || (loopback && self.allow_plaintext_on_loopback))
    }

    /// Checks a user name and password (argon2, on a blocking thread).
    pub async fn verify(&self, user: &str, password: &[u8]) -> bool {
        let (hash, known) = match self.accounts.get(user) {
            Some(account) => (account.hash.clone(), true),
            None => (DECOY_HASH.to_string(), false),
        };
        let password = password.to_vec();
        let ok = tokio::task::spawn_blocking(move || verify_hash(&hash, &password))
            .await
            .unwrap_or(false);
        ok && known
    }

    /// Whether `user` may use `from` as MAIL FROM (always, when its sender list is empty).
    pub fn may_send_as(&self, user: &str, from: Option<&Address>) -> bool {
        let Some(account) = self.accounts.get(user) else {
            return false;
        };
        if account.senders.is_empty() {
            return true;
        }
        let Some(from) = from else {
            return false;
        };
        account.senders.iter().any(|rule| match rule {
            Target::Address(a) => a == from,
            Target::Domain(d) => from.domains().any(|x| x == d),
            Target::Phone(_) => false,
        })
    }
}

/// Whether `password` matches an argon2 `hash` (slow on purpose: call it off the runtime).
pub fn verify_hash(hash: &str, password: &[u8]) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password, &parsed).is_ok())
        .unwrap_or(false)
}

/// Hashes a password for `[[auth.users]] password_hash` (argon2id, random salt).
pub fn hash_password(password: &[u8]) -> Result<String, String> {
    Argon2::default()
        .hash_password(password)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Loads `[tls]` into a rustls acceptor (ring, TLS 1.2 and 1.3), if configured.
pub fn tls_acceptor(config: &Config) -> Result<Option<tokio_rustls::TlsAcceptor>, String> {
    let (Some(cert), Some(key)) = (&config.tls.cert_file, &config.tls.key_file) else {
        return Ok(None);
    };
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("tls.cert_file {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("tls.cert_file {}: no certificate", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("tls.key_file {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("tls: certificate and key do not match or are unusable: {e}"))?;
    Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(server))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(senders: &[&str]) -> Access {
        let mut config = Config::default();
        config.auth.users.push(crate::config::AuthUser {
            name: "tool".into(),
            password_hash: hash_password(b"s3cret").unwrap(),
            senders: senders.iter().map(|s| s.to_string()).collect(),
        });
        Access::from_config(&config)
    }

    #[tokio::test]
    async fn passwords_verify_against_their_hash_only() {
        let a = access(&[]);
        assert!(a.verify("tool", b"s3cret").await);
        assert!(!a.verify("tool", b"wrong").await);
        assert!(!a.verify("nobody", b"s3cret").await);
    }

    #[test]
    fn the_decoy_hash_is_a_real_argon2_hash() {
        assert!(PasswordHash::new(DECOY_HASH).is_ok());
    }

    #[test]
    fn loopback_is_trusted_by_default_and_nothing_else() {
        let a = Access::from_config(&Config::default());
        assert!(a.is_trusted("127.0.0.1".parse().unwrap()));
        assert!(a.is_trusted("::1".parse().unwrap()));
        assert!(a.is_trusted("::ffff:127.0.0.5".parse().unwrap()));
        assert!(!a.is_trusted("192.0.2.7".parse().unwrap()));
    }

    #[test]
    fn sender_lists_restrict_mail_from() {
        let a = access(&["@sales.example", "ceo@corp.example"]);
        let ok = Address::parse("rep@eu.sales.example").unwrap();
        let ceo = Address::parse("ceo@corp.example").unwrap();
        let other = Address::parse("x@corp.example").unwrap();
        assert!(a.may_send_as("tool", Some(&ok)));
        assert!(a.may_send_as("tool", Some(&ceo)));
        assert!(!a.may_send_as("tool", Some(&other)));
        assert!(!a.may_send_as("tool", None));
        assert!(access(&[]).may_send_as("tool", Some(&other)));
    }
}
