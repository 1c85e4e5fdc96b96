//! Load generator: the same SMTP load sent straight to a fast sink, then through a dnc-relay
//! started on this machine against the same sink, in one run. Prints both throughputs, their
//! ratio and RCPT latency percentiles.
//!
//!     cargo build --release && cargo run --release --example loadgen -- --help
//!
//! The relay runs as its own process (the release binary next to this example), with its
//! store pre-filled through the same bulk path imports use (`Store::add_many`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "../benches/synthetic.rs"]
mod synthetic;

#[path = "../tests/common/postgres.rs"]
#[allow(dead_code)]
mod postgres;

/// The relay's allocator, so that the store pre-fill (the bulk path `dnc-relay import` takes in
/// the relay process) is timed as users get it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Parser, Debug, Clone)]
#[command(about = "SMTP load: straight to a sink, then through dnc-relay, same run")]
struct Args {
    /// Messages per phase.
    #[arg(long, default_value_t = 20_000)]
    messages: u64,
    /// Concurrent SMTP sessions.
    #[arg(long, default_value_t = 20)]
    concurrency: usize,
    /// Message size in bytes.
    #[arg(long, default_value_t = 4096)]
    size: usize,
    /// Recipients per message.
    #[arg(long, default_value_t = 1)]
    rcpts: usize,
    /// Share of recipients that are on the list (0.0 - 1.0).
    #[arg(long, default_value_t = 0.1)]
    suppressed: f64,
    /// Suppression entries pre-filled into the relay's store.
    #[arg(long, default_value_t = 1_000_000)]
    entries: u64,
    /// A new connection for every message instead of many messages per session.
    #[arg(long)]
    no_reuse: bool,
    /// After the run, hold this many sessions open mid-transaction and report the relay's RSS.
    #[arg(long, default_value_t = 0)]
    hold: usize,
    /// Alternate direct and relayed phases this many times; medians are reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Reuse a pre-filled data directory (the store is kept between runs; entries must match).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The relay's worker threads (`[server] worker_threads`; 0: one per CPU).
    #[arg(long, default_value_t = 0)]
    relay_threads: usize,
    /// The relay's redb cache (`[store] cache_size`).
    #[arg(long, default_value = "64MiB")]
    cache: String,
    /// Ownership locks in the relay: `default` (the shipped `[locks]`: contacts block,
    /// accounts warn) or `off` (no lock is checked or taken).
    #[arg(long, default_value = "default")]
    locks: String,
    /// The dnc-relay binary (default: the release binary next to this example). Anything run as
    /// `BIN serve --config FILE` will do: `examples/splice_proxy` measures the floor.
    #[arg(long)]
    relay_bin: Option<PathBuf>,
    /// Run the sink inside the load generator instead of as its own process.
    #[arg(long)]
    sink_in_process: bool,
    /// Give each side a core of its own: the load generator and its sink on CPU 0, the relay
    /// on CPU 1. The direct phase then runs on one core. Not the protocol (that shares
    /// both cores among all three); it shows what the relay does when it does not compete
    /// with the client and the sink for CPU.
    #[arg(long)]
    pin: bool,
    /// Run the relay in a fleet (`[cluster]`) on this PostgreSQL URL (`private`: start one
    /// here, as the tests do). The list is pre-filled through the fleet's log.
    #[arg(long)]
    postgres: Option<String>,
    /// Internal: run only the sink and print its address (used to start the sink process).
    #[arg(long, hide = true)]
    sink_only: bool,
}

fn main() {
    let args = Args::parse();
    if args.pin {
        // Before the runtime starts: its threads and the sink process inherit this mask.
        pin_current_thread(0);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(args));
}

async fn run(args: Args) {
    if args.sink_only {
        let addr = start_sink().await;
        println!("{addr}");
        // Serve until the parent closes our stdin.
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 16];
        while tokio::io::AsyncReadExt::read(&mut stdin, &mut buf)
            .await
            .unwrap_or(0)
            > 0
        {}
        return;
    }
    let body = make_message(args.size);
    // The sink is its own process by default, as a real upstream MTA would be: the direct phase
    // then pays the same inter-process switches as the relayed one.
    let (sink, _sink_process) = if args.sink_in_process {
        (start_sink().await, None)
    } else {
        let (addr, child) = spawn_sink();
        (addr, Some(child))
    };
    println!(
        "load: {} messages x {} rcpt, {} B, {} sessions, {:.0}% suppressed, {}",
        args.messages,
        args.rcpts,
        args.size,
        args.concurrency,
        args.suppressed * 100.0,
        if args.no_reuse {
            "new connection per message"
        } else {
            "connections reused"
        }
    );
    if args.pin {
        println!("pinned: load generator and sink on CPU 0, relay on CPU 1");
    }

    let tmp = tempfile::tempdir().expect("tempdir");
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let _pg;
    let postgres = match args.postgres.as_deref() {
        Some("private") => {
            let pg = postgres::Postgres::start().expect("PostgreSQL installed");
            pg.create_db("load");
            let url = pg.url("load");
            _pg = Some(pg);
            Some(url)
        }
        other => {
            _pg = None;
            other.map(str::to_string)
        }
    };
    prefill(&data_dir, args.entries, postgres.as_deref()).await;
    let args = Args {
        postgres,
        ..args.clone()
    };
    let port = free_port();
    let mut relay = if args.pin {
        // The relay inherits the mask of the thread that starts it.
        let (args, dir) = (args.clone(), data_dir.clone());
        std::thread::spawn(move || {
            pin_current_thread(1);
            start_relay(&args, &dir, port, sink)
        })
        .join()
        .expect("start the relay")
    } else {
        start_relay(&args, &data_dir, port, sink)
    };
    let relay_addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    wait_for(relay_addr, &mut relay).await;

    // Alternate the phases so that drift in the machine's load hits both alike.
    let mut directs = Vec::new();
    let mut throughs = Vec::new();
    let sink_pid = _sink_process
        .as_ref()
        .map(|c| c.id())
        .unwrap_or_else(std::process::id);
    let me = std::process::id();
    for round in 1..=args.rounds.max(1) {
        let before = (cpu_micros(me), cpu_micros(sink_pid));
        let direct = drive(sink, &args, &body).await;
        report(&format!("[{round}] straight to sink"), &direct);
        let per = |a: u64, b: u64, p: &Phase| (b.saturating_sub(a)) as f64 / p.messages as f64;
        println!(
            "      CPU per message: client {:.0} us, sink {:.0} us",
            per(before.0, cpu_micros(me), &direct),
            per(before.1, cpu_micros(sink_pid), &direct)
        );
        let before = (cpu_micros(me), cpu_micros(sink_pid), cpu_micros(relay.id()));
        let relay_sys = sys_micros(relay.id());
        let through = drive(relay_addr, &args, &body).await;
        report(&format!("[{round}] through relay"), &through);
        println!(
            "      CPU per message: client {:.0} us, sink {:.0} us, relay {:.0} us (kernel {:.0} us)",
            per(before.0, cpu_micros(me), &through),
            per(before.1, cpu_micros(sink_pid), &through),
            per(before.2, cpu_micros(relay.id()), &through),
            per(relay_sys, sys_micros(relay.id()), &through)
        );
        println!(
            "[{round}] ratio {:.2}",
            through.per_second() / direct.per_second()
        );
        directs.push(direct);
        throughs.push(through);
    }
    let direct = median(directs);
    let through = median(throughs);
    println!("--- median of {} rounds", args.rounds.max(1));
    report("straight to sink", &direct);
    report("through dnc-relay", &through);
    let ratio = through.per_second() / direct.per_second();
    println!("ratio relay/direct: {ratio:.2}");
    let expected_refusals = (args.messages * args.rcpts as u64) as f64 * args.suppressed;
    println!(
        "refused at RCPT: {} (expected about {:.0}), unexpected replies: {}",
        through.refused, expected_refusals, through.errors
    );
    println!("relay RSS after the run: {:.1} MiB", rss_mib(relay.id()));

    if args.hold > 0 {
        let held = hold_sessions(relay_addr, args.hold).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        println!(
            "relay RSS with {} sessions held mid-transaction: {:.1} MiB",
            held.len(),
            rss_mib(relay.id())
        );
        drop(held);
    }
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(relay.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = relay.wait();
}

/// What one phase measured.
struct Phase {
    messages: u64,
    elapsed: Duration,
    rcpt_micros: Vec<u32>,
    refused: u64,
    errors: u64,
}

impl Phase {
    fn per_second(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }
}

/// The phase with the median throughput.
fn median(mut phases: Vec<Phase>) -> Phase {
    phases.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
    let mid = phases.len() / 2;
    phases.swap_remove(mid)
}

fn report(name: &str, p: &Phase) {
    let mut lat = p.rcpt_micros.clone();
    lat.sort_unstable();
    let pct = |q: f64| {
        lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{name:<22} {:>7.0} msg/s  ({} messages in {:.2}s)  RCPT latency p50 {} us  p99 {} us  max {} us",
        p.per_second(),
        p.messages,
        p.elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        lat.last().copied().unwrap_or(0)
    );
}

/// Runs the load against `addr` with `concurrency` sessions.
async fn drive(addr: SocketAddr, args: &Args, body: &Arc<Vec<u8>>) -> Phase {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..args.concurrency {
        let next = next.clone();
        let args = args.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            session_loop(addr, worker, &args, &next, &body).await
        }));
    }
    let mut phase = Phase {
        messages: 0,
        elapsed: Duration::ZERO,
        rcpt_micros: Vec::new(),
        refused: 0,
        errors: 0,
    };
    for t in tasks {
        let w = t.await.expect("worker");
        phase.messages += w.messages;
        phase.rcpt_micros.extend(w.rcpt_micros);
        phase.refused += w.refused;
        phase.errors += w.errors;
    }
    phase.elapsed = started.elapsed();
    phase
}

struct Conn {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
    line: String,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let (r, w) = stream.into_split();
        let mut c = Conn {
            reader: BufReader::new(r),
            writer: w,
            line: String::new(),
        };
        c.reply().await;
        c.cmd(b"EHLO loadgen.test\r\n").await;
        c
    }

    /// Reads one reply; returns its code.
    async fn reply(&mut self) -> u16 {
        loop {
            self.line.clear();
            if self.reader.read_line(&mut self.line).await.unwrap_or(0) == 0 {
                return 0;
            }
            if self.line.as_bytes().get(3) != Some(&b'-') {
                return self.line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
            }
        }
    }

    async fn cmd(&mut self, bytes: &[u8]) -> u16 {
        if self.writer.write_all(bytes).await.is_err() {
            return 0;
        }
        self.reply().await
    }
}

#[derive(Default)]
struct WorkerResult {
    messages: u64,
    rcpt_micros: Vec<u32>,
    refused: u64,
    errors: u64,
}

async fn session_loop(
    addr: SocketAddr,
    worker: usize,
    args: &Args,
    next: &AtomicU64,
    body: &[u8],
) -> WorkerResult {
    let mut out = WorkerResult::default();
    let mut conn: Option<Conn> = None;
    let mut rng = (worker as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= args.messages {
            break;
        }
        if conn.is_none() {
            conn = Some(Conn::open(addr).await);
        }
        let Some(c) = conn.as_mut() else { break };
        if c.cmd(b"MAIL FROM:<rep@sales.example>\r\n").await != 250 {
            out.errors += 1;
        }
        let mut accepted = 0;
        for r in 0..args.rcpts {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let suppressed = (rng % 10_000) as f64 / 10_000.0 < args.suppressed;
            let rcpt = if suppressed && args.entries > 0 {
                format!(
                    "RCPT TO:<dnc{}@example.com>\r\n",
                    synthetic::address_index(rng % args.entries)
                )
            } else {
                format!("RCPT TO:<ok{n}-{r}@example.net>\r\n")
            };
            let t = Instant::now();
            let code = c.cmd(rcpt.as_bytes()).await;
            out.rcpt_micros
                .push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
            match code {
                250 => accepted += 1,
                550 => out.refused += 1,
                _ => out.errors += 1,
            }
        }
        if accepted > 0 {
            if c.cmd(b"DATA\r\n").await != 354 || c.cmd(body).await != 250 {
                out.errors += 1;
            }
        } else if c.cmd(b"RSET\r\n").await != 250 {
            out.errors += 1;
        }
        out.messages += 1;
        if args.no_reuse {
            let _ = c.cmd(b"QUIT\r\n").await;
            conn = None;
        }
    }
    if let Some(mut c) = conn {
        let _ = c.cmd(b"QUIT\r\n").await;
    }
    out
}

/// A 4 KiB-ish message: headers, filler lines, the end marker.
fn make_message(size: usize) -> Arc<Vec<u8>> {
    let mut m = b"From: Rep <rep@sales.example>\r\nTo: Prospect <p@example.net>\r\nSubject: load test\r\nMessage-ID: <load@sales.example>\r\n\r\n".to_vec();
    let line =
        b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n";
    while m.len() + line.len() < size {
        m.extend_from_slice(line);
    }
    m.extend_from_slice(b".\r\n");
    Arc::new(m)
}

/// Starts this program again as a sink process; returns its address.
fn spawn_sink() -> (SocketAddr, Child) {
    use std::io::BufRead;
    let exe = std::env::current_exe().expect("current exe");
    let mut child = Command::new(exe)
        .arg("--sink-only")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the sink process");
    let stdout = child.stdout.take().expect("sink stdout");
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("sink address");
    (line.trim().parse().expect("sink address"), child)
}

/// The fastest honest sink: answers every command, reads DATA to the end marker, keeps nothing.
async fn start_sink() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("sink bind");
    let addr = listener.local_addr().expect("sink addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(sink_session(stream));
        }
    });
    addr
}

async fn sink_session(stream: TcpStream) -> std::io::Result<()> {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::with_capacity(64 * 1024, r);
    w.write_all(b"220 sink ESMTP\r\n").await?;
    let mut line = Vec::with_capacity(256);
    let mut out = Vec::with_capacity(256);
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let upper = line
            .get(..4)
            .map(|c| c.to_ascii_uppercase())
            .unwrap_or_default();
        match upper.as_slice() {
            // Like Postfix >= 3.4: PIPELINING and CHUNKING.
            b"EHLO" => out.extend_from_slice(b"250-sink\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n"),
            b"BDAT" => {
                let text = String::from_utf8_lossy(&line);
                let size: usize = text.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0);
                let mut chunk = vec![0u8; size];
                r.read_exact(&mut chunk).await?;
                out.extend_from_slice(b"250 2.0.0 Ok: queued\r\n");
            }
            b"DATA" => {
                w.write_all(b"354 go\r\n").await?;
                // Read lines until a lone dot.
                loop {
                    line.clear();
                    if r.read_until(b'\n', &mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == b".\r\n" {
                        break;
                    }
                }
                out.extend_from_slice(b"250 2.0.0 Ok: queued\r\n");
            }
            b"QUIT" => {
                w.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => out.extend_from_slice(b"250 2.0.0 Ok\r\n"),
        }
        // Answer once the pipelined batch is consumed.
        if r.buffer().is_empty() {
            w.write_all(&out).await?;
            out.clear();
        }
    }
}

/// Fills the store with `entries` synthetic suppressions through the bulk path, unless it
/// already holds them, and reports how long the import took.
async fn prefill(dir: &Path, entries: u64, postgres: Option<&str>) {
    let sequencer = match postgres {
        Some(url) => {
            let cluster = dnc_relay::cluster::Cluster::new(&fleet_config(url)).expect("cluster");
            cluster
                .migrate()
                .await
                .expect("migrate the fleet's database");
            let seq = cluster.sequencer(tokio::runtime::Handle::current());
            Some(Box::new(seq) as Box<dyn dnc_relay::store::replica::Sequencer>)
        }
        None => None,
    };
    let (store, took) =
        synthetic::filled_replica(&dir.join("dnc.redb"), entries, 64 << 20, sequencer).await;
    if took.is_zero() {
        println!("store: {entries} entries already present");
    } else {
        println!(
            "store: {entries} entries imported in {:.2}s ({:.0} entries/s)",
            took.as_secs_f64(),
            entries as f64 / took.as_secs_f64()
        );
    }
    store.close().await.expect("close");
}

fn fleet_config(url: &str) -> dnc_relay::config::ClusterConfig {
    dnc_relay::config::ClusterConfig {
        postgres: url.into(),
        node: "load".into(),
        ..Default::default()
    }
}

fn start_relay(args: &Args, dir: &Path, port: u16, sink: SocketAddr) -> Child {
    let bin = args.relay_bin.clone().unwrap_or_else(|| {
        let exe = std::env::current_exe().expect("current exe");
        exe.parent()
            .and_then(Path::parent)
            .expect("target dir")
            .join("dnc-relay")
    });
    let config = dir.join("loadgen.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {dir:?}\n[server]\nlisten = [\"127.0.0.1:{port}\"]\nhostname = \"relay.load\"\nmax_connections = 20000\nmax_connections_per_client = 20000\nworker_threads = {threads}\n\
             [upstream]\nurl = \"smtp://{sink}\"\nmax_connections = 2048\n{share}[store]\ncache_size = \"{cache}\"\n[log]\nlevel = \"warn\"\n{locks}{cluster}",
            cluster = match &args.postgres {
                Some(url) => format!("[cluster]\npostgres = {url:?}\nnode = \"load\"\n"),
                None => String::new(),
            },
            locks = match args.locks.as_str() {
                "off" => "[locks]\ncontact = \"off\"\naccount = \"off\"\n",
                _ => "",
            },
            cache = args.cache,
            threads = args.relay_threads,
            // Every load comes from one address; its share is the whole pool. A relay built
            // before the per-client share (run with --relay-bin) does not know the key.
            share = if args.relay_bin.is_some() {
                ""
            } else {
                "max_connections_per_client = 2048\n"
            },
        ),
    )
    .expect("config");
    Command::new(&bin)
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e} (cargo build --release first)",
                bin.display()
            )
        })
}

async fn wait_for(addr: SocketAddr, relay: &mut Child) {
    for _ in 0..1000 {
        if let Ok(Some(status)) = relay.try_wait() {
            panic!("relay exited: {status}");
        }
        if TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("relay did not start");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

/// Restricts the calling thread (and what it starts later) to one CPU.
fn pin_current_thread(cpu: usize) {
    let mut set = nix::sched::CpuSet::new();
    set.set(cpu).expect("cpu number");
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
        .unwrap_or_else(|e| panic!("cannot pin to CPU {cpu}: {e}"));
}

/// User plus system CPU time of a process (all threads), in microseconds.
fn cpu_micros(pid: u32) -> u64 {
    stat_micros(pid, &[11, 12])
}

/// System (kernel) CPU time of a process (all threads), in microseconds.
fn sys_micros(pid: u32) -> u64 {
    stat_micros(pid, &[12])
}

/// The sum of the given tick fields of `/proc/PID/stat` (counted after the command name), in
/// microseconds.
fn stat_micros(pid: u32, wanted: &[usize]) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = wanted
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as u64;
    ticks * 1_000_000 / hz
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Opens `n` sessions to the relay, each stopped after an accepted RCPT.
async fn hold_sessions(addr: SocketAddr, n: usize) -> Vec<Conn> {
    let mut held = Vec::with_capacity(n);
    for i in 0..n {
        let mut c = Conn::open(addr).await;
        c.cmd(b"MAIL FROM:<rep@sales.example>\r\n").await;
        let code = c
            .cmd(format!("RCPT TO:<held{i}@example.net>\r\n").as_bytes())
            .await;
        if code == 250 {
            held.push(c);
        }
    }
    held
}
