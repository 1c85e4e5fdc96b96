//! Tokens in what the relay adds to outgoing mail (the one-click unsubscribe link and its
//! `mailto:` twin): opaque, and impossible to make for another address without the key.
//!
//! - The link token is sealed (ChaCha20-Poly1305, a random nonce each time): it carries the
//!   recipient, the sender, the unit and the time, and reveals none of them. An altered token
//!   does not open.
//! - The `mailto:` token has to fit in an address's local part (64 octets, RFC 5321), so it
//!   carries no address: it is a MAC over the recipient, the unit and the day it was issued.
//!   The unsubscribe mail comes from the recipient's own mailbox, and its `From` is what the
//!   MAC is checked against.
//!
//! Both are lowercase base32: local parts are often case-folded on the way.

use std::path::Path;
use std::time::Duration;

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use crate::model::Timestamp;

/// Format version of sealed tokens.
const VERSION: u8 = 1;

/// Bytes of the key file (hex in the file).
const KEY_LEN: usize = 32;

/// What a link token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The recipient the message was sent to.
    pub recipient: String,
    /// The envelope sender.
    pub sender: String,
    /// The sender group's name.
    pub group: String,
    /// The sender group's unit, for `unsubscribe_scope = "unit"`.
    pub unit: Option<String>,
    /// When the message went out (seconds since the epoch).
    pub issued: u64,
}

/// Why a token was refused. Deliberately coarse: the answer to a bad token reveals nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token this relay made (malformed, altered, another key).
    #[error("not a valid token")]
    Invalid,
    /// Made here, but older than the token lifetime.
    #[error("expired token")]
    Expired,
}

/// The key tokens are sealed with.
pub struct Sealer {
    cipher: ChaCha20Poly1305,
    mac_key: [u8; 32],
    lifetime: Duration,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// The key in `path` (64 hex digits), created (mode 0600) when the file does not exist.
    /// Returns whether it was created.
    pub fn load_or_create(path: &Path, lifetime: Duration) -> Result<(Sealer, bool), String> {
        let created = if path.exists() {
            false
        } else {
            let key = ChaCha20Poly1305::generate_key(&mut OsRng);
            write_private(path, &format!("{}\n", hex::encode(key)))
                .map_err(|e| format!("{}: cannot create the token key: {e}", path.display()))?;
            true
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the token key: {e}", path.display()))?;
        let bytes = hex::decode(text.trim())
            .ok()
            .filter(|b| b.len() == KEY_LEN)
            .ok_or_else(|| format!("{}: not a token key (64 hex digits)", path.display()))?;
        Ok((Sealer::new(&bytes, lifetime), created))
    }

    /// A sealer with `key` (32 bytes).
    pub fn new(key: &[u8], lifetime: Duration) -> Sealer {
        // Two keys from one: the cipher's, and the MAC's (domain-separated).
        let mac_key: [u8; 32] = Sha256::new()
            .chain_update(b"dnc-relay mailto token")
            .chain_update(key)
            .finalize()
            .into();
        Sealer {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
            mac_key,
            lifetime,
        }
    }

    /// A link token for `claims`.
    pub fn seal(&self, claims: &Claims) -> String {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let mut plain = postcard::to_stdvec(claims).unwrap_or_default();
        // Padded to a multiple of 128 bytes: the token's length says little of the address's.
        plain.resize(plain.len().div_ceil(128) * 128, 0);
        // Encryption with a valid key and nonce cannot fail for in-memory buffers.
        let sealed = self
            .cipher
            .encrypt(&nonce, plain.as_slice())
            .unwrap_or_default();
        let mut out = Vec::with_capacity(1 + nonce.len() + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        encode(&out)
    }

    /// Opens a link token: its claims, if this relay made it and it has not expired.
    pub fn open(&self, token: &str) -> Result<Claims, TokenError> {
        let bytes = decode(token).ok_or(TokenError::Invalid)?;
        let (version, rest) = bytes.split_first().ok_or(TokenError::Invalid)?;
        if *version != VERSION || rest.len() < 12 + 16 {
            return Err(TokenError::Invalid);
        }
        let (nonce, sealed) = rest.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| TokenError::Invalid)?;
        let (claims, _padding): (Claims, _) =
            postcard::take_from_bytes(&plain).map_err(|_| TokenError::Invalid)?;
        self.fresh(claims.issued)?;
        Ok(claims)
    }

    /// A `mailto:` token for `recipient` (its match key) and `unit`, issued now.
    pub fn mailto(&self, recipient: &str, unit: Option<&str>) -> String {
        let day = (now_secs() / 86_400) as u32;
        let mut out = Vec::with_capacity(14);
        out.extend_from_slice(&day.to_be_bytes());
        out.extend_from_slice(&self.mac(day, recipient, unit));
        encode(&out)
    }

    /// Checks a `mailto:` token against the address the unsubscribe mail came from and the
    /// units of the sender groups (the token says which by its MAC, not in clear). Returns the
    /// unit it was issued for.
    pub fn check_mailto<'u>(
        &self,
        token: &str,
        from: &str,
        units: &'u [String],
    ) -> Result<Option<&'u str>, TokenError> {
        let bytes = decode(token).ok_or(TokenError::Invalid)?;
        if bytes.len() != 14 {
            return Err(TokenError::Invalid);
        }
        let day = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let given = &bytes[4..];
        let candidates = std::iter::once(None).chain(units.iter().map(|u| Some(u.as_str())));
        for unit in candidates {
            if self.mac(day, from, unit).ct_eq(given).into() {
                self.fresh(u64::from(day) * 86_400)?;
                return Ok(unit);
            }
        }
        Err(TokenError::Invalid)
    }

    /// A return-path token for the return path stored under `id`: the id and a MAC over it
    /// (the recipient, sender and time are in the store; an address's local part has room for
    /// no more).
    pub fn return_token(&self, id: u64, salt: u32) -> String {
        let mut out = Vec::with_capacity(22);
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&salt.to_be_bytes());
        out.extend_from_slice(&self.mac(0, &format!("return-path {id} {salt}"), None));
        encode(&out)
    }

    /// The id and salt in a return-path token, if this relay made it.
    pub fn check_return_token(&self, token: &str) -> Option<(u64, u32)> {
        let bytes = decode(token)?;
        if bytes.len() != 22 {
            return None;
        }
        let id = u64::from_be_bytes(bytes[..8].try_into().ok()?);
        let salt = u32::from_be_bytes(bytes[8..12].try_into().ok()?);
        let ok: bool = self
            .mac(0, &format!("return-path {id} {salt}"), None)
            .ct_eq(&bytes[12..])
            .into();
        ok.then_some((id, salt))
    }

    fn mac(&self, day: u32, recipient: &str, unit: Option<&str>) -> [u8; 10] {
        use hmac::Mac as _;
        // A 32-byte key is always a valid HMAC key.
        let Ok(mut mac) = <hmac::Hmac<Sha256> as hmac::Mac>::new_from_slice(&self.mac_key) else {
            return [0; 10];
        };
        mac.update(&day.to_be_bytes());
        mac.update(recipient.as_bytes());
        mac.update(&[0]);
        mac.update(unit.unwrap_or("").as_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; 10];
        out.copy_from_slice(&full[..10]);
        out
    }

    fn fresh(&self, issued: u64) -> Result<(), TokenError> {
        let now = now_secs();
        match now.saturating_sub(issued) > self.lifetime.as_secs() {
            true => Err(TokenError::Expired),
            false => Ok(()),
        }
    }
}

/// Seconds since the epoch.
pub fn now_secs() -> u64 {
    u64::try_from(Timestamp::now().0 / 1_000_000).unwrap_or(0)
}

fn encode(bytes: &[u8]) -> String {
    data_encoding::BASE32_NOPAD
        .encode(bytes)
        .to_ascii_lowercase()
}

fn decode(token: &str) -> Option<Vec<u8>> {
    if token.len() > 2048 {
        return None;
    }
    data_encoding::BASE32_NOPAD
        .decode(token.to_ascii_uppercase().as_bytes())
        .ok()
}

/// `N` random bytes from the OS, or `None` when it gives none.
pub(crate) fn os_random<const N: usize>() -> Option<[u8; N]> {
    use chacha20poly1305::aead::rand_core::RngCore;
    let mut bytes = [0u8; N];
    OsRng.try_fill_bytes(&mut bytes).ok()?;
    Some(bytes)
}

/// Whether two secrets are equal, in constant time (their lengths are not secret).
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A secret kept in a file (a token): its first line, trimmed; `key` names the setting in
/// messages.
pub fn read_secret(key: &str, path: &Path) -> Result<String, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("{key} {}: {e}", path.display()))?;
    let secret = text.lines().next().unwrap_or("").trim().to_string();
    if secret.is_empty() {
        return Err(format!("{key} {}: the first line is empty", path.display()));
    }
    Ok(secret)
}

/// Writes `text` to a new file only its owner may read.
pub(crate) fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> Sealer {
        Sealer::new(&[7u8; 32], Duration::from_secs(86_400 * 365))
    }

    fn claims() -> Claims {
        Claims {
            recipient: "pat@example.com".into(),
            sender: "rep@acme.example".into(),
            group: "prospecting".into(),
            unit: Some("acme".into()),
            issued: now_secs(),
        }
    }

    #[test]
    fn a_sealed_token_opens_and_reveals_nothing() {
        let s = sealer();
        let token = s.seal(&claims());
        assert!(!token.contains("pat"), "{token}");
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        assert_eq!(s.open(&token), Ok(claims()));
        assert_eq!(s.open(&token.to_ascii_uppercase()), Ok(claims()));
        assert_ne!(s.seal(&claims()), token, "a fresh nonce each time");
    }

    #[test]
    fn token_lengths_hide_the_address_length() {
        let s = sealer();
        let short = s.seal(&Claims {
            recipient: "a@b.example".into(),
            ..claims()
        });
        let long = s.seal(&Claims {
            recipient: "a.much.longer.name@b.example".into(),
            ..claims()
        });
        assert_eq!(short.len(), long.len());
    }

    #[test]
    fn altered_foreign_and_old_tokens_are_refused() {
        let s = sealer();
        let token = s.seal(&claims());
        for i in [0, 5, token.len() / 2, token.len() - 1] {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let altered = String::from_utf8(bytes).expect("ascii");
            assert_eq!(s.open(&altered), Err(TokenError::Invalid), "byte {i}");
        }
        let other = Sealer::new(&[8u8; 32], Duration::from_secs(60));
        assert_eq!(other.open(&token), Err(TokenError::Invalid));
        assert_eq!(s.open("not-a-token"), Err(TokenError::Invalid));
        assert_eq!(s.open(""), Err(TokenError::Invalid));
        let old = Claims {
            issued: 1,
            ..claims()
        };
        assert_eq!(s.open(&s.seal(&old)), Err(TokenError::Expired));
    }

    #[test]
    fn a_return_path_token_names_its_id_and_cannot_be_made_for_another() {
        let s = sealer();
        let token = s.return_token(42, 7);
        assert!(("bounces+".len() + token.len()) <= 64, "{token}");
        assert_eq!(s.check_return_token(&token), Some((42, 7)));
        assert_eq!(
            s.check_return_token(&token.to_ascii_uppercase()),
            Some((42, 7))
        );
        let other = Sealer::new(&[9u8; 32], Duration::from_secs(60)).return_token(43, 7);
        assert_eq!(s.check_return_token(&other), None);
        assert_eq!(s.check_return_token("abc"), None);
    }

    #[test]
    fn a_mailto_token_fits_a_local_part_and_binds_its_recipient_and_unit() {
        let s = sealer();
        let units = vec!["acme".to_string(), "beta".to_string()];
        let token = s.mailto("pat@example.com", Some("beta"));
        assert!(("unsubscribe+".len() + token.len()) <= 64, "{token}");
        assert_eq!(
            s.check_mailto(&token, "pat@example.com", &units),
            Ok(Some("beta"))
        );
        assert_eq!(
            s.check_mailto(&token, "lee@example.com", &units),
            Err(TokenError::Invalid)
        );
        let plain = s.mailto("pat@example.com", None);
        assert_eq!(s.check_mailto(&plain, "pat@example.com", &units), Ok(None));
    }
}
