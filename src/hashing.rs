//! Hashed match keys: what an erased contact's records keep instead of its address. The
//! SHA-256 of a per-installation salt and the normalised match key, so that a list of hashes
//! copied out of the store cannot be checked against guessed addresses without the salt,
//! which is kept outside the store (`[erasure] salt_file`).

use std::path::Path;

use sha2::{Digest, Sha256};

/// The prefix of a hashed key (`sha256:` and 64 hex digits): never an address, a domain or
/// a phone number.
pub const PREFIX: &str = "sha256:";

/// The installation's salt.
pub struct Salt([u8; 32]);

impl std::fmt::Debug for Salt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Salt(..)")
    }
}

impl Salt {
    /// Loads the salt (64 hex digits), creating it (mode 0600) when missing.
    pub fn load_or_create(path: &Path) -> Result<Salt, String> {
        if !path.exists() {
            let bytes = crate::token::os_random::<32>()
                .ok_or("no randomness from the OS for the erasure salt")?;
            crate::token::write_private(path, &format!("{}\n", hex::encode(bytes)))
                .map_err(|e| format!("{}: cannot create the erasure salt: {e}", path.display()))?;
            tracing::warn!(salt = %path.display(), "created the erasure salt; keep it with the store's backups (erased contacts are refused through it)");
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the erasure salt: {e}", path.display()))?;
        Salt::from_hex(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Loads the salt without creating it.
    pub fn load(path: &Path) -> Result<Salt, String> {
        if !path.exists() {
            return Err(format!(
                "{}: missing, and the list holds erased contacts hashed with it: restore it (from the backup of this data directory); without it they would be mailed again",
                path.display()
            ));
        }
        Salt::load_or_create(path)
    }

    /// A fingerprint of the salt (kept in the store: a store is never read with another
    /// salt than the one its erased contacts were hashed with).
    pub fn fingerprint(&self) -> u64 {
        let digest = self.derive(b"dnc-relay salt fingerprint", b"");
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(bytes) >> 1
    }

    /// SHA-256 of a label, the salt and `extra`: the one way every value is derived from it.
    fn derive(&self, label: &[u8], extra: &[u8]) -> [u8; 32] {
        Sha256::new()
            .chain_update(label)
            .chain_update(self.0)
            .chain_update(extra)
            .finalize()
            .into()
    }

    /// A salt from bytes (tests).
    pub fn from_bytes(bytes: [u8; 32]) -> Salt {
        Salt(bytes)
    }

    /// The salt in hex (what the hashed feed hands its subscribers).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// A salt from 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Salt, String> {
        hex::decode(text.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .map(Salt)
            .ok_or_else(|| "not a salt (64 hex digits)".to_string())
    }

    /// The salt of the hashed feed, derived from this one one way: subscribers get it, and
    /// cannot get back the erasure salt that keeps the store's erased records apart.
    pub fn feed_salt(&self) -> Salt {
        Salt(self.derive(b"dnc-relay hashed feed salt", b""))
    }

    /// 32 hex-written bytes XORed with the pad of `hashed` (sealing and opening are one
    /// operation); `None` when `hex_bytes` is not 32 bytes in hex.
    fn pad_feed_key(&self, hashed: &str, hex_bytes: &str) -> Option<String> {
        let bytes = hex::decode(hex_bytes).ok()?;
        let pad = self.derive(b"dnc-relay feed key pad", hashed.as_bytes());
        (bytes.len() == 32).then(|| {
            let padded: Vec<u8> = bytes.iter().zip(pad.iter()).map(|(a, b)| a ^ b).collect();
            hex::encode(padded)
        })
    }

    /// An erased contact's feed key as the store keeps it beside its hashed key: sealed with
    /// a pad only this salt makes, so that whoever holds the feed's salt and a copy of the
    /// store cannot link a guessed address to its erased records.
    pub fn seal_feed_key(&self, hashed: &str, feed_key: &str) -> Option<String> {
        self.pad_feed_key(hashed, feed_key.strip_prefix(PREFIX)?)
    }

    /// The feed key [`Salt::seal_feed_key`] sealed.
    pub fn open_feed_key(&self, hashed: &str, sealed: &str) -> Option<String> {
        self.pad_feed_key(hashed, sealed)
            .map(|digest| format!("{PREFIX}{digest}"))
    }

    /// The hashed form of a match key: `sha256:` and the hex digest of salt and key.
    pub fn hash(&self, key: &str) -> String {
        let digest = Sha256::new()
            .chain_update(self.0)
            .chain_update(key.as_bytes())
            .finalize();
        format!("{PREFIX}{}", hex::encode(digest))
    }
}

/// Whether a stored key is a hashed one.
pub fn is_hashed(key: &str) -> bool {
    key.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_hashes_the_same_way_with_one_salt_and_differently_with_another() {
        let a = Salt::from_bytes([1; 32]);
        let b = Salt::from_bytes([2; 32]);
        assert_eq!(a.hash("ann@example.com"), a.hash("ann@example.com"));
        assert_ne!(a.hash("ann@example.com"), b.hash("ann@example.com"));
        assert!(is_hashed(&a.hash("x")) && a.hash("x").len() == PREFIX.len() + 64);
    }

    #[test]
    fn a_sealed_feed_key_opens_only_with_its_salt_and_shows_nothing_of_it() {
        let a = Salt::from_bytes([1; 32]);
        let hashed = a.hash("ann@example.com");
        let feed_key = a.feed_salt().hash("ann@example.com");
        let sealed = a.seal_feed_key(&hashed, &feed_key).expect("sealed");
        assert!(!sealed.contains(&feed_key[PREFIX.len()..]));
        assert_eq!(a.open_feed_key(&hashed, &sealed), Some(feed_key.clone()));
        let b = Salt::from_bytes([2; 32]);
        assert_ne!(b.open_feed_key(&hashed, &sealed), Some(feed_key));
        assert_ne!(a.feed_salt().to_hex(), a.to_hex());
    }
}
