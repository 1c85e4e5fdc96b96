//! Panics inside redb become store errors.
//!
//! A damaged page can make redb panic in the middle of a lookup. It must not take the session
//! (or the writer) down: it becomes [`StoreError::Corrupt`], which the relay answers like any
//! store failure (451 4.3.0 for that recipient), and which the caller logs.

use super::StoreError;

/// Runs `f`; a panic inside it becomes `StoreError::Corrupt`.
pub(super) fn guarded<T>(f: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
    crate::panics::catch(f).unwrap_or_else(|what| {
        Err(StoreError::Corrupt(format!(
            "the store file is damaged (a read failed inside redb: {what}); restore it from a backup"
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_damaged_store_error() {
        let r: Result<(), StoreError> = guarded(|| panic!("bad page"));
        match r {
            Err(e @ StoreError::Corrupt(_)) => {
                assert!(e.to_string().contains("bad page"), "{e}");
                assert!(e.is_storage_failure());
            }
            other => panic!("{other:?}"),
        }
    }
}
