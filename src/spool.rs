//! Message bodies between the client's DATA and the upstream: in memory while a message is
//! small and the relay-wide budget allows, in an unnamed private file otherwise.
//!
//! Whatever the clients send, the bytes of message data held in memory by all sessions
//! together stay within `[server] message_memory`: each session reserves what it holds from one
//! budget, a message over [`IN_MEMORY_MAX`] or one that finds the budget used up continues in
//! a file (`O_TMPFILE` in the data directory, mode 0600, gone when closed), and only a bounded
//! tail ([`FILE_CHUNK`]) of it is in memory at a time. No function here blocks the runtime:
//! file I/O runs on the blocking pool.

use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The largest message kept wholly in memory.
pub const IN_MEMORY_MAX: usize = 1024 * 1024;

/// Bytes of a spilled message gathered in memory before they are written to its file, and the
/// size of the pieces it is read back in.
pub const FILE_CHUNK: usize = 64 * 1024;

/// Memory reservations are made in steps of this size.
const STEP: usize = 16 * 1024;

/// The most a session appends to a body between two calls of [`Body::settle`]: one bounded
/// read of the client (16 KiB), doubled at worst by the decoder (bare LF to CRLF). Each
/// reservation covers this much beyond what the body holds, and the buffer is sized to the
/// reservation exactly, so what a body really occupies is what it reserved.
pub const MAX_APPEND: usize = 32 * 1024;

/// The head of a spilled message kept in memory for header parsing (Message-ID).
const HEAD: usize = 32 * 1024;

/// Spool file operations under way at once, across all sessions: each runs on a thread of the
/// blocking pool, and hundreds of sessions spilling at once must not mean hundreds of threads.
const MAX_FILE_OPS: usize = 8;

/// Runs a spool file operation on the blocking pool, a few at a time.
async fn file_op<T: Send + 'static>(op: impl FnOnce() -> T + Send + 'static) -> std::io::Result<T> {
    static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_FILE_OPS);
    let _slot = SLOTS.acquire().await.map_err(std::io::Error::other)?;
    tokio::task::spawn_blocking(op)
        .await
        .map_err(std::io::Error::other)
}

/// The relay-wide budget for message bodies in memory.
#[derive(Debug)]
pub struct SpoolBudget {
    limit: usize,
    used: AtomicUsize,
    peak: AtomicUsize,
    dir: PathBuf,
}

impl SpoolBudget {
    /// A budget of `limit` bytes; spilled messages go to unnamed files in `dir`.
    pub fn new(limit: usize, dir: PathBuf) -> Arc<SpoolBudget> {
        Arc::new(SpoolBudget {
            limit,
            used: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            dir,
        })
    }

    /// Bytes reserved now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// The most bytes ever reserved at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    fn try_reserve(&self, n: usize) -> bool {
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            let Some(next) = used.checked_add(n).filter(|&next| next <= self.limit) else {
                return false;
            };
            match self
                .used
                .compare_exchange_weak(used, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.peak.fetch_max(next, Ordering::Relaxed);
                    return true;
                }
                Err(now) => used = now,
            }
        }
    }

    fn release(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }
}

/// One message's (decoded) body.
pub struct Body {
    budget: Arc<SpoolBudget>,
    /// The whole message (in memory), or the tail not yet written to the file (spilled).
    mem: Vec<u8>,
    /// Budget held for `mem` while in memory.
    reserved: usize,
    /// The file of a spilled message and how much of it is written.
    file: Option<(Arc<std::fs::File>, u64)>,
    /// The first bytes of a spilled message.
    head: Vec<u8>,
}

impl Drop for Body {
    fn drop(&mut self) {
        self.budget.release(self.reserved);
    }
}

impl Body {
    /// An empty body drawing on `budget`.
    pub fn new(budget: Arc<SpoolBudget>) -> Body {
        Body {
            budget,
            mem: Vec::new(),
            reserved: 0,
            file: None,
            head: Vec::new(),
        }
    }

    /// Starts a message: reserves and allocates room for a small one up front (one allocation
    /// for most messages), if the budget allows; otherwise [`Body::settle`] decides later.
    pub fn begin(&mut self) {
        self.reset();
        let first = STEP + MAX_APPEND;
        if self.budget.try_reserve(first) {
            self.reserved = first;
            self.mem = Vec::with_capacity(first);
        }
    }

    /// Where the decoder appends. Call [`Body::settle`] after each append.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.mem
    }

    /// The message's size so far.
    pub fn len(&self) -> u64 {
        self.file.as_ref().map_or(0, |(_, n)| *n) + self.mem.len() as u64
    }

    /// Whether nothing was received.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the message went to a file.
    pub fn is_spilled(&self) -> bool {
        self.file.is_some()
    }

    /// The start of the message (at least its first 64 KiB, or all of it), for headers.
    pub fn head(&self) -> &[u8] {
        if self.file.is_some() {
            &self.head
        } else {
            &self.mem
        }
    }

    /// Keeps the memory held within the budget: reserves room for what the next read may
    /// append to a message growing in memory, or moves it to its file, or writes the tail of
    /// a spilled one.
    pub async fn settle(&mut self) -> std::io::Result<()> {
        if self.file.is_some() {
            if self.mem.len() >= FILE_CHUNK {
                self.write_tail().await?;
            }
            return Ok(());
        }
        if self.mem.len() + MAX_APPEND <= self.reserved {
            return Ok(());
        }
        // Doubling, like a Vec grows on its own, but reserved first: copies stay linear in
        // the size of the message, and what the buffer occupies is always accounted for.
        let needed = (self.mem.len() + MAX_APPEND).div_ceil(STEP) * STEP;
        let wanted = needed.max((2 * self.reserved).min(IN_MEMORY_MAX + MAX_APPEND));
        if self.mem.len() <= IN_MEMORY_MAX && self.budget.try_reserve(wanted - self.reserved) {
            self.reserved = wanted;
            self.mem.reserve_exact(wanted - self.mem.len());
            return Ok(());
        }
        self.spill().await
    }

    /// Moves what is in memory to a new unnamed file; from now on only the tail is in memory.
    async fn spill(&mut self) -> std::io::Result<()> {
        let dir = self.budget.dir.clone();
        let file = file_op(move || tempfile::tempfile_in(dir)).await??;
        self.head = self.mem[..self.mem.len().min(HEAD)].to_vec();
        self.file = Some((Arc::new(file), 0));
        self.write_tail().await?;
        self.budget.release(self.reserved);
        self.reserved = 0;
        // The buffer that held the message in memory is not kept for the tail.
        self.mem = Vec::with_capacity(FILE_CHUNK + MAX_APPEND);
        Ok(())
    }

    /// Appends the in-memory tail to the file.
    async fn write_tail(&mut self) -> std::io::Result<()> {
        let Some((file, written)) = &mut self.file else {
            return Ok(());
        };
        if self.mem.is_empty() {
            return Ok(());
        }
        let tail = std::mem::take(&mut self.mem);
        let (f, at) = (file.clone(), *written);
        let (tail, result) = file_op(move || {
            let result = f.write_all_at(&tail, at);
            (tail, result)
        })
        .await?;
        result?;
        *written += tail.len() as u64;
        self.mem = tail;
        self.mem.clear();
        Ok(())
    }

    /// Ends the message: a spilled one is wholly in its file afterwards.
    pub async fn finish(&mut self) -> std::io::Result<()> {
        self.write_tail().await
    }

    /// Puts `bytes` before the message (header fields the relay adds). A message in memory
    /// grows in place; a spilled one is copied behind them into a new file, piece by piece.
    pub async fn prepend(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let Some((old, len)) = self.file.clone() else {
            if self.budget.try_reserve(bytes.len()) {
                self.reserved += bytes.len();
            }
            self.mem.splice(0..0, bytes.iter().copied());
            return Ok(());
        };
        let dir = self.budget.dir.clone();
        let front = bytes.to_vec();
        let file = file_op(move || -> std::io::Result<std::fs::File> {
            let new = tempfile::tempfile_in(dir)?;
            new.write_all_at(&front, 0)?;
            let mut buf = vec![0u8; FILE_CHUNK];
            let mut at = 0u64;
            while at < len {
                let n = (len - at).min(FILE_CHUNK as u64) as usize;
                old.read_exact_at(&mut buf[..n], at)?;
                new.write_all_at(&buf[..n], front.len() as u64 + at)?;
                at += n as u64;
            }
            Ok(new)
        })
        .await??;
        let mut head = bytes.to_vec();
        head.extend_from_slice(&self.head);
        head.truncate(HEAD);
        self.head = head;
        self.file = Some((Arc::new(file), len + bytes.len() as u64));
        Ok(())
    }

    /// Forgets the content (a message over the size limit is refused, not kept).
    pub fn discard(&mut self) {
        self.reset();
    }

    /// Empties the body for the next message. Its buffer goes with its reservation: memory
    /// a session keeps between messages would be memory the budget does not see.
    pub fn reset(&mut self) {
        self.budget.release(self.reserved);
        self.reserved = 0;
        self.file = None;
        self.head = Vec::new();
        self.mem = Vec::new();
    }

    /// The content, for sending: in memory, or a file to read in pieces.
    pub fn content(&self) -> Content<'_> {
        match &self.file {
            None => Content::Memory(&self.mem),
            Some((file, len)) => Content::File {
                file: file.clone(),
                len: *len,
            },
        }
    }

    /// Takes the in-memory bytes out (to move them to a blocking task); give them back with
    /// [`Body::restore`].
    pub fn take_memory(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.mem)
    }

    /// Puts back what [`Body::take_memory`] took.
    pub fn restore(&mut self, mem: Vec<u8>) {
        self.mem = mem;
    }
}

/// A finished body's bytes.
pub enum Content<'a> {
    /// All in memory.
    Memory(&'a [u8]),
    /// In a file of `len` bytes.
    File {
        /// The file (read with positional reads).
        file: Arc<std::fs::File>,
        /// Its length.
        len: u64,
    },
}

impl Content<'_> {
    /// The size in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Content::Memory(m) => m.len() as u64,
            Content::File { len, .. } => *len,
        }
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reads a spilled body back in pieces of [`FILE_CHUNK`], on the blocking pool.
pub struct FileReader {
    file: Arc<std::fs::File>,
    len: u64,
    at: u64,
    buf: Vec<u8>,
}

impl FileReader {
    /// A reader from the start of `file`.
    pub fn new(file: Arc<std::fs::File>, len: u64) -> FileReader {
        FileReader {
            file,
            len,
            at: 0,
            buf: Vec::new(),
        }
    }

    /// The next piece, or `None` at the end.
    pub async fn next(&mut self) -> std::io::Result<Option<&[u8]>> {
        if self.at >= self.len {
            return Ok(None);
        }
        let n = (self.len - self.at).min(FILE_CHUNK as u64) as usize;
        let mut buf = std::mem::take(&mut self.buf);
        buf.resize(n, 0);
        let (file, at) = (self.file.clone(), self.at);
        let (buf, result) = file_op(move || {
            let result = file.read_exact_at(&mut buf, at);
            (buf, result)
        })
        .await?;
        self.buf = buf;
        result?;
        self.at += n as u64;
        Ok(Some(&self.buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn fill(body: &mut Body, bytes: &[u8]) {
        for piece in bytes.chunks(8192) {
            body.buffer().extend_from_slice(piece);
            body.settle().await.unwrap();
        }
        body.finish().await.unwrap();
    }

    async fn read_back(body: &Body) -> Vec<u8> {
        match body.content() {
            Content::Memory(m) => m.to_vec(),
            Content::File { file, len } => {
                let mut r = FileReader::new(file, len);
                let mut out = Vec::new();
                while let Some(piece) = r.next().await.unwrap() {
                    out.extend_from_slice(piece);
                }
                out
            }
        }
    }

    fn message(n: usize) -> Vec<u8> {
        (0..n).map(|i| b"abcdefghij\r\n"[i % 12]).collect()
    }

    #[tokio::test]
    async fn small_messages_stay_in_memory_within_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let budget = SpoolBudget::new(1024 * 1024, dir.path().into());
        let mut body = Body::new(budget.clone());
        let m = message(100_000);
        fill(&mut body, &m).await;
        assert!(!body.is_spilled());
        assert!(budget.used() >= 100_000 && budget.used() <= 2 * (100_000 + MAX_APPEND));
        assert!(
            body.mem.capacity() <= body.reserved,
            "what the body occupies is what it reserved: {} > {}",
            body.mem.capacity(),
            body.reserved
        );
        assert_eq!(read_back(&body).await, m);
        drop(body);
        assert_eq!(budget.used(), 0, "released when dropped");
    }

    #[tokio::test]
    async fn large_messages_and_those_over_the_budget_go_to_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let budget = SpoolBudget::new(1024 * 1024, dir.path().into());
        let big = message(3 * 1024 * 1024 + 17);
        let mut a = Body::new(budget.clone());
        fill(&mut a, &big).await;
        assert!(a.is_spilled());
        assert_eq!(a.len(), big.len() as u64);
        assert_eq!(a.head(), &big[..HEAD]);
        assert_eq!(read_back(&a).await, big);
        assert_eq!(budget.used(), 0, "a spilled message holds no budget");
        // Two messages of 600 KiB: the second does not fit next to the first.
        let mid = message(600 * 1024);
        let mut b = Body::new(budget.clone());
        fill(&mut b, &mid).await;
        let mut c = Body::new(budget.clone());
        fill(&mut c, &mid).await;
        assert!(!b.is_spilled() && c.is_spilled());
        assert!(budget.peak() <= 1024 * 1024);
        assert_eq!(read_back(&c).await, mid);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "spill files have no name"
        );
        c.reset();
        assert!(!c.is_spilled() && c.is_empty());
    }

    #[tokio::test]
    async fn header_fields_put_before_a_message_keep_it_whole_in_memory_or_in_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let budget = SpoolBudget::new(1024 * 1024, dir.path().into());
        let front = b"List-Unsubscribe: <https://u.example/u/x>\r\n";
        for size in [1000, 3 * 1024 * 1024 + 5] {
            let m = message(size);
            let mut body = Body::new(budget.clone());
            fill(&mut body, &m).await;
            body.prepend(front).await.unwrap();
            let mut want = front.to_vec();
            want.extend_from_slice(&m);
            assert_eq!(body.len(), want.len() as u64);
            assert_eq!(read_back(&body).await, want, "size {size}");
            assert!(body.head().starts_with(front));
        }
    }
}
