//! The request path: arbitrary bytes into an SMTP session, replies out. Never panics, never
//! hangs, and every byte written back is a well-formed reply line.
#![no_main]

use std::sync::{Arc, OnceLock};

use dnc_relay::access::Access;
use dnc_relay::audit::DecisionLog;
use dnc_relay::config::Config;
use dnc_relay::policy::{MatchOptions, Policy, SenderGroups};
use dnc_relay::relay::Relay;
use dnc_relay::smtp::{run_session, Limits, ListenerKind, Phase, Reloadable, SessionContext};
use dnc_relay::store::{Store, StoreOptions};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct World {
    rt: tokio::runtime::Runtime,
    ctx: Arc<SessionContext>,
    phase: tokio::sync::watch::Sender<Phase>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap().keep();
        let mut config = Config::default();
        config.data_dir = dir;
        // A closed port: allowed recipients fail fast with 451 and nothing is written.
        config.upstream.url = "smtp://127.0.0.1:1".parse().unwrap();
        config.server.trusted_networks = vec!["0.0.0.0/0".parse().unwrap()];
        config.server.hostname = "fuzz.test".into();
        let ctx = rt.block_on(async {
            let store = Store::open(&config.store_path(), &StoreOptions::default()).unwrap();
            Arc::new(SessionContext {
                hostname: "fuzz.test".into(),
                limits: Limits::from_config(&config),
                relay: {
                    let relay = Relay::from_config(&config).unwrap();
                    relay.prepare().unwrap();
                    relay
                },
                log: DecisionLog::open(&config.decisions_path()).unwrap(),
                locks: dnc_relay::locks::LockManager::new(store.clone(), dnc_relay::locks::system_clock()),
                store: store.clone(),
                reloadable: std::sync::RwLock::new(Arc::new(Reloadable {
                    policy: Policy::new(Arc::new(store), MatchOptions::default(), Arc::new(SenderGroups::default())),
                    access: Access::from_config(&config),
                    tls: None,
                    locks: dnc_relay::locks::LockSettings::from_config(&config),
                })),
                spool: dnc_relay::spool::SpoolBudget::new(64 << 20, config.data_dir.clone()),
                auth_failures: dnc_relay::smtp::throttle::AuthThrottle::new(10, std::time::Duration::from_secs(900)),
            })
        });
        let (phase, _) = tokio::sync::watch::channel(Phase::Running);
        World { rt, ctx, phase }
    })
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let out = w.rt.block_on(async {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let kind = ListenerKind { implicit_tls: false, loopback: false };
        let session = tokio::spawn(run_session(
            server,
            "192.0.2.1:25".parse().unwrap(),
            w.ctx.clone(),
            w.phase.subscribe(),
            kind,
        ));
        let mut out = Vec::new();
        let io = async {
            let _ = client.write_all(data).await;
            let _ = client.shutdown().await;
            let _ = client.read_to_end(&mut out).await;
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), io)
            .await
            .expect("the session answers and ends");
        let _ = session.await;
        out
    });
    // Every reply line: three digits, then ' ' or '-', CRLF-terminated.
    assert!(out.is_empty() || out.ends_with(b"\r\n"));
    for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        assert!(line.len() >= 5, "{:?}", String::from_utf8_lossy(line));
        assert!(line[..3].iter().all(u8::is_ascii_digit), "{:?}", String::from_utf8_lossy(line));
        assert!(line[3] == b' ' || line[3] == b'-', "{:?}", String::from_utf8_lossy(line));
        assert_eq!(line[line.len() - 1], b'\r');
    }
});
