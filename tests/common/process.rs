//! The built binary as a child process: `serve` with its own data directory and port, the
//! admin CLI, and a minimal blocking SMTP client.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::binary;

/// A `dnc-relay serve` child process with its own data directory and port.
pub struct Relay {
    pub child: Child,
    pub addr: SocketAddr,
    pub dir: PathBuf,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Relay {
    pub fn start(dir: &Path) -> Relay {
        Relay::start_on(dir, free_port())
    }

    pub fn start_on(dir: &Path, port: u16) -> Relay {
        Relay::spawn(&[OsStr::new("--data-dir"), dir.as_os_str()], dir, port)
    }

    /// `serve --config FILE` on a free port; its data directory (for the socket) is `dir`.
    pub fn start_with_config(config: &Path, dir: &Path) -> Relay {
        Relay::spawn(
            &[OsStr::new("--config"), config.as_os_str()],
            dir,
            free_port(),
        )
    }

    fn spawn(args: &[&OsStr], dir: &Path, port: u16) -> Relay {
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let child = Command::new(binary())
            .args(["serve", "--listen", &addr.to_string()])
            .args(args)
            .env_remove("DNC_RELAY_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut relay = Relay {
            child,
            addr,
            dir: dir.to_path_buf(),
        };
        relay.wait_ready();
        relay
    }

    /// Polls until both the SMTP port and the admin socket answer (bounded).
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                let _ = self.child.stderr.take().unwrap().read_to_string(&mut err);
                panic!("relay exited with {status}: {err}");
            }
            let smtp = TcpStream::connect(self.addr).is_ok();
            let admin =
                std::os::unix::net::UnixStream::connect(self.dir.join("admin.sock")).is_ok();
            if smtp && admin {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("relay did not become ready");
    }

    pub fn cli(&self, args: &[&str]) -> Output {
        cli(&self.dir, args)
    }

    pub fn sigterm(self) -> std::process::ExitStatus {
        self.sigterm_with_log().0
    }

    /// Stops the relay with SIGTERM; its exit status and everything it wrote to stderr.
    pub fn sigterm_with_log(mut self) -> (std::process::ExitStatus, String) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let status = wait_exit(&mut self.child);
        let mut log = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.read_to_string(&mut log);
        }
        (status, log)
    }

    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "relay did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(binary())
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("DNC_RELAY_SOCKET")
        .env_remove("DNC_RELAY_CONFIG")
        .output()
        .unwrap()
}

pub fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// A minimal blocking SMTP client: one command, one reply.
pub struct Smtp {
    pub reader: BufReader<TcpStream>,
    pub writer: TcpStream,
}

impl Smtp {
    pub fn connect(addr: SocketAddr) -> Smtp {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut s = Smtp {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        };
        assert!(s.reply().starts_with("220"));
        s
    }

    pub fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).unwrap() == 0 {
                return all;
            }
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }

    pub fn cmd(&mut self, line: &str) -> String {
        self.writer.write_all(line.as_bytes()).unwrap();
        self.reply()
    }

    pub fn rcpt_reply(addr: SocketAddr, rcpt: &str) -> String {
        let mut s = Smtp::connect(addr);
        s.cmd("EHLO t\r\n");
        s.cmd("MAIL FROM:<rep@sales.example>\r\n");
        let reply = s.cmd(&format!("RCPT TO:<{rcpt}>\r\n"));
        s.cmd("QUIT\r\n");
        reply
    }
}
