//! The data directory: whether the relay may create a new, empty store, and the file modes of
//! everything it keeps there.
//!
//! A relay that starts on an empty list relays to everyone who opted out, so a store is
//! created only where no relay has run before: no store, no decision log, no outbox, no socket
//! of ours. A missing, empty or unreadable store anywhere else stops the start (exit 3) with
//! what to restore. This module must never create or remove a store itself.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::config::{Config, UpstreamUrl};

/// Mode of the data directory and of any directory the relay creates for its files.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file the relay creates (store, decision log, captured mail).
pub const FILE_MODE: u32 = 0o600;

/// What the start may do with the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreStart {
    /// Open the existing store (and check it).
    Open,
    /// The data directory is new: create a new, empty store.
    Create,
}

/// Why the relay must not start on this data directory.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DataDirError {
    /// The store is gone, but a relay has run here.
    #[error(
        "the store {store} is missing, but {evidence} shows that a relay has run with this \
         data directory before. Refusing to start on an empty list (everyone who opted out \
         would be mailed). Restore {store} from a backup (stop the relay, copy the file back, \
         start it). To start a new, empty list on purpose, move {dir} away first."
    )]
    Missing {
        /// The store file.
        store: PathBuf,
        /// The file of ours that proves a relay ran here.
        evidence: String,
        /// The data directory.
        dir: PathBuf,
    },
    /// The store file exists but holds nothing.
    #[error(
        "the store {store} is empty (0 bytes): it was truncated or replaced. Refusing to start \
         on an empty list. Restore it from a backup (stop the relay, copy the file back, start \
         it). To start a new, empty list on purpose, move {dir} away first."
    )]
    Empty {
        /// The store file.
        store: PathBuf,
        /// The data directory.
        dir: PathBuf,
    },
    /// A path could not be inspected or created.
    #[error("{path}: {message}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

fn io_error(path: &Path, e: std::io::Error) -> DataDirError {
    DataDirError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Decides, without creating or changing anything, whether the store is opened or created.
pub fn inspect(config: &Config) -> Result<StoreStart, DataDirError> {
    let store = config.store_path();
    let dir = config.data_dir.clone();
    match std::fs::metadata(&store) {
        Ok(meta) if meta.len() == 0 => Err(DataDirError::Empty { store, dir }),
        Ok(_) => Ok(StoreStart::Open),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match trace_of_a_relay(config) {
            Some(evidence) => Err(DataDirError::Missing {
                store,
                evidence,
                dir,
            }),
            None => Ok(StoreStart::Create),
        },
        Err(e) => Err(io_error(&store, e)),
    }
}

/// A file or directory of ours other than the store, if one exists.
fn trace_of_a_relay(config: &Config) -> Option<String> {
    let mut ours = vec![config.decisions_path()];
    if let UpstreamUrl::Capture(outbox) = config.upstream_url() {
        if outbox.starts_with(&config.data_dir) {
            ours.push(outbox);
        }
    }
    let socket = config.socket_path();
    if socket.starts_with(&config.data_dir) {
        ours.push(socket);
    }
    if let Some(found) = ours.iter().find(|p| std::fs::symlink_metadata(p).is_ok()) {
        return Some(found.display().to_string());
    }
    // Copies and rotations of ours count too: `dnc.redb.bak`, `decisions.jsonl.1`.
    [config.store_path(), config.decisions_path()]
        .iter()
        .find_map(|file| sibling_with_prefix(file))
}

/// A file next to `file` whose name starts with `file`'s name, if there is one.
fn sibling_with_prefix(file: &Path) -> Option<String> {
    let name = file.file_name()?.to_str()?;
    let dir = file.parent().filter(|p| !p.as_os_str().is_empty())?;
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_str().is_some_and(|n| n.starts_with(name)))
        .map(|e| e.path().display().to_string())
}

/// Creates `dir` (and missing parents) with mode 0700.
pub fn create_private_dir(dir: &Path) -> Result<(), DataDirError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(|e| io_error(dir, e))
}

/// Creates the data directory (0700) and the directories of the store and the decision log.
pub fn prepare(config: &Config) -> Result<(), DataDirError> {
    create_private_dir(&config.data_dir)?;
    for file in [config.store_path(), config.decisions_path()] {
        if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(parent)?;
        }
    }
    Ok(())
}

/// Creates an empty file with mode 0600 if it does not exist (so that a library that creates
/// it later, such as redb, does not decide its mode).
pub fn create_private_file(path: &Path) -> Result<(), DataDirError> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io_error(path, e)),
    }
}

/// Paths of ours that other local users can reach, with their modes: the data directory, the
/// store, the decision log and the capture outbox. A wider mode is reported, not changed: the
/// operator may have reasons, and the relay must not fight the system's configuration.
pub fn too_open(config: &Config) -> Vec<(PathBuf, u32)> {
    let mut paths = vec![
        config.data_dir.clone(),
        config.store_path(),
        config.decisions_path(),
    ];
    if let UpstreamUrl::Capture(outbox) = config.upstream_url() {
        paths.push(outbox);
    }
    paths
        .into_iter()
        .filter_map(|path| {
            let mode = std::fs::metadata(&path).ok()?.mode() & 0o7777;
            (mode & 0o077 != 0).then_some((path, mode))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path) -> Config {
        Config {
            data_dir: dir.to_path_buf(),
            ..Config::default()
        }
    }

    #[test]
    fn a_new_or_empty_directory_creates_the_store() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(
            inspect(&config(&tmp.path().join("absent"))).unwrap(),
            StoreStart::Create
        );
        assert_eq!(inspect(&config(tmp.path())).unwrap(), StoreStart::Create);
        std::fs::write(tmp.path().join("README"), "not ours").unwrap();
        assert_eq!(inspect(&config(tmp.path())).unwrap(), StoreStart::Create);
    }

    #[test]
    fn a_missing_store_where_a_relay_ran_is_refused() {
        for trace in [
            "decisions.jsonl",
            "outbox",
            "admin.sock",
            "dnc.redb.bak",
            "decisions.jsonl.1",
        ] {
            let tmp = tempfile::tempdir().unwrap();
            let path = tmp.path().join(trace);
            if trace == "outbox" {
                std::fs::create_dir(&path).unwrap();
            } else {
                std::fs::write(&path, "").unwrap();
            }
            let err = inspect(&config(tmp.path())).unwrap_err();
            assert!(
                matches!(err, DataDirError::Missing { .. }),
                "{trace}: {err}"
            );
            assert!(err.to_string().contains(trace), "{err}");
            assert!(err.to_string().contains("backup"), "{err}");
        }
    }

    #[test]
    fn an_empty_store_file_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("dnc.redb"), "").unwrap();
        let err = inspect(&config(tmp.path())).unwrap_err();
        assert!(matches!(err, DataDirError::Empty { .. }), "{err}");
        assert!(err.to_string().contains("0 bytes"), "{err}");
    }

    #[test]
    fn created_paths_are_private_and_wide_ones_are_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let c = config(&tmp.path().join("data"));
        prepare(&c).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o777;
        assert_eq!(mode(&c.data_dir), 0o700);
        create_private_file(&c.store_path()).unwrap();
        assert_eq!(mode(&c.store_path()), 0o600);
        assert!(too_open(&c).is_empty());
        std::fs::set_permissions(
            c.store_path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o644),
        )
        .unwrap();
        assert_eq!(too_open(&c), vec![(c.store_path(), 0o644)]);
    }
}
