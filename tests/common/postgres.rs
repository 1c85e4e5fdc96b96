//! A private PostgreSQL for tests: its own data directory in a temp dir, its own port on
//! loopback, run as an unprivileged user (`nobody` when the tests run as root). It never
//! touches a system instance. Without PostgreSQL's server binaries the tests that need it are
//! skipped with a printed reason, except under `.ci/run` (`DNC_RELAY_CI` set), where that is
//! a failure. Also used by `examples/fleet.rs` (self-contained for that reason).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A running private server.
pub struct Postgres {
    /// Owns the data directory (removed on drop, after the server stopped).
    _dir: tempfile::TempDir,
    data: PathBuf,
    bin: PathBuf,
    port: u16,
    child: Option<Child>,
    user: Option<(u32, u32)>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Where the server binaries are (`initdb`, `postgres`), if installed.
fn bindir() -> Option<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("postgres").exists() && dir.join("initdb").exists() {
            return Some(dir);
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|b| b.join("postgres").exists() && b.join("initdb").exists())
        .collect();
    found.sort();
    found.pop()
}

/// The unprivileged user to run the server as: `nobody` when we are root (PostgreSQL refuses
/// to run as root), ourselves otherwise.
fn run_as() -> Option<(u32, u32)> {
    if nix::unistd::geteuid().is_root() {
        let nobody = nix::unistd::User::from_name("nobody")
            .ok()
            .flatten()
            .expect("no `nobody` user to run PostgreSQL as");
        Some((nobody.uid.as_raw(), nobody.gid.as_raw()))
    } else {
        None
    }
}

fn command(bin: &Path, name: &str, user: Option<(u32, u32)>) -> Command {
    let mut cmd = Command::new(bin.join(name));
    if let Some((uid, gid)) = user {
        cmd.uid(uid).gid(gid);
    }
    cmd.env_remove("PGDATA").env("LC_ALL", "C");
    cmd
}

fn chown_tree(path: &Path, user: Option<(u32, u32)>) {
    if let Some((uid, gid)) = user {
        let status = Command::new("chown")
            .arg("-R")
            .arg(format!("{uid}:{gid}"))
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success(), "chown failed");
    }
}

/// One `initdb` per test binary, copied for each server (initdb takes seconds).
fn template(bin: &Path, user: Option<(u32, u32)>) -> &'static Path {
    static TEMPLATE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &TEMPLATE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let data = dir.path().join("data");
            chown_tree(dir.path(), user);
            let out = command(bin, "initdb", user)
                .args(["-D"])
                .arg(&data)
                .args(["-U", "dnc", "--auth=trust", "-E", "UTF8", "--no-sync"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            (dir, data)
        })
        .1
}

impl Postgres {
    /// A new private server, or `None` (with the reason printed) when PostgreSQL is not
    /// installed and we are not under CI.
    pub fn start() -> Option<Postgres> {
        let Some(bin) = bindir() else {
            let why = "PostgreSQL's server binaries (initdb, postgres) are not installed";
            if std::env::var_os("DNC_RELAY_CI").is_some() {
                panic!("{why}; .ci/run installs them (apt-get install postgresql)");
            }
            eprintln!("SKIPPED: {why}; install Debian's `postgresql` or run .ci/run");
            return None;
        };
        let user = run_as();
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let copied = Command::new("cp")
            .arg("-a")
            .arg(template(&bin, user))
            .arg(&data)
            .status()
            .unwrap();
        assert!(copied.success());
        std::fs::create_dir(dir.path().join("run")).unwrap();
        chown_tree(dir.path(), user);
        let mut pg = Postgres {
            _dir: dir,
            data,
            bin,
            port: free_port(),
            child: None,
            user,
        };
        pg.resume();
        Some(pg)
    }

    /// `postgres://dnc@127.0.0.1:PORT/DB`.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://dnc@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a database.
    pub fn create_db(&self, name: &str) {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "dnc"])
            .args(["-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c"])
            .arg(format!("CREATE DATABASE {name}"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "CREATE DATABASE failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs SQL with psql; its output (unaligned, tuples only).
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "dnc"])
            .args(["-d", db, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Starts (again) on the same data and port; returns once it takes connections.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "already running");
        let run = self.data.parent().unwrap().join("run");
        let child = command(&self.bin, "postgres", self.user)
            .arg("-D")
            .arg(&self.data)
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(&run)
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
            .args(["-c", "max_connections=200"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "dnc"])
                .stdout(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "PostgreSQL did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops it (fast shutdown: sessions are cut), as an outage would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGINT,
            );
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().unwrap().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}
