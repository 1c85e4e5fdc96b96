//! The `capture:DIR` upstream: each accepted message becomes one `.eml` file, fsynced before
//! the client hears 250. For staging and for trying the relay out.
//!
//! A file appears under its final name only once complete (write to a hidden temporary name,
//! fsync, rename, fsync the directory), so a reader never sees half a message.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{Failure, Outcome, SetupError, Stage, UpstreamReply};
use crate::model::Timestamp;
use crate::spool::{Body, Content};

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

    /// Writes the message; the outcome names the file. The bytes move to the blocking task
    /// and back, never copied.
    pub(super) async fn write(&self, message: &mut Body) -> Outcome {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}-{}-{seq:06}.eml", Timestamp::now().0, std::process::id());
        let dir = self.dir.clone();
        let spooled = match message.content() {
            Content::Memory(_) => None,
            Content::File { file, len } => Some((file, len)),
        };
        let memory = message.take_memory();
        let written = tokio::task::spawn_blocking(move || {
            let result = write_synced(&dir, &name, &memory, spooled).map(|()| name);
            (memory, result)
        })
        .await
        .map(|(memory, result)| {
            message.restore(memory);
            result
        });
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

/// Writes the message (in memory, or in its spool file) under a temporary name, fsyncs it,
/// and renames it into place.
fn write_synced(
    dir: &Path,
    name: &str,
    memory: &[u8],
    spooled: Option<(Arc<std::fs::File>, u64)>,
) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let result = (|| {
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(crate::datadir::FILE_MODE)
            .open(&tmp)?;
        match spooled {
            None => file.write_all(memory)?,
            Some((spool, len)) => {
                let copied = std::io::copy(&mut (&*spool).take(len), &mut file)?;
                if copied != len {
                    return Err(std::io::Error::other(
                        "the spooled message is shorter than written",
                    ));
                }
            }
        }
        file.sync_all()?;
        std::fs::rename(&tmp, dir.join(name))?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
