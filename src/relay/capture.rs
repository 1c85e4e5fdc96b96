//! The `capture:DIR` upstream: each accepted message becomes one `.eml` file, fsynced before
//! the client hears 250. For staging and for trying the relay out.
//!
//! A file appears under its final name only once complete (write to a hidden temporary name,
//! fsync, rename, fsync the directory), so a reader never sees half a message.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{Failure, Outcome, SetupError, Stage, UpstreamReply};
use crate::model::Timestamp;

#[derive(Debug)]
pub(super) struct Capture {
    dir: Arc<PathBuf>,
    seq: Arc<AtomicU64>,
}

impl Capture {
    /// The capture upstream for `dir`; nothing is created until [`Capture::prepare`].
    pub(super) fn new(dir: &Path) -> Capture {
        Capture {
            dir: Arc::new(dir.to_path_buf()),
            seq: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Creates the directory (mode 0700) if needed.
    pub(super) fn prepare(&self) -> Result<(), SetupError> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(crate::datadir::DIR_MODE)
            .create(&*self.dir)
            .map_err(|e| {
                SetupError(format!(
                    "cannot create the capture directory {}: {e}",
                    self.dir.display()
                ))
            })
    }

    pub(super) fn recipient(&self) -> Outcome {
        Outcome::Accepted(UpstreamReply::new(
            250,
            vec!["2.1.5 recipient OK (capture)".into()],
        ))
    }

    /// Writes the message; the outcome names the file.
    pub(super) async fn write(&self, message: &[u8]) -> Outcome {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}-{}-{seq:06}.eml", Timestamp::now().0, std::process::id());
        let dir = self.dir.clone();
        let message = message.to_vec();
        let written =
            tokio::task::spawn_blocking(move || write_synced(&dir, &name, &message).map(|()| name))
                .await;
        match written {
            Ok(Ok(name)) => Outcome::Accepted(UpstreamReply::new(
                250,
                vec![format!(
                    "2.0.0 captured as {}",
                    self.dir.join(name).display()
                )],
            )),
            Ok(Err(e)) => Outcome::Unavailable(Failure {
                stage: Stage::Capture,
                detail: format!("writing to {}: {e}", self.dir.display()),
            }),
            Err(e) => Outcome::Unavailable(Failure {
                stage: Stage::Capture,
                detail: format!("capture task failed: {e}"),
            }),
        }
    }
}

fn write_synced(dir: &Path, name: &str, message: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let result = (|| {
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(crate::datadir::FILE_MODE)
            .open(&tmp)?;
        file.write_all(message)?;
        file.sync_all()?;
        std::fs::rename(&tmp, dir.join(name))?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
