//! The floor for any relay on this machine: a transparent TCP proxy that copies bytes between
//! each client and its own upstream connection and does nothing else (no SMTP parsing, no
//! policy, no log, no store). It answers to the same command line the load generator gives the
//! relay, so it can stand in for it:
//!
//! ```text
//! cargo build --release --examples
//! ./target/release/examples/loadgen --relay-bin ./target/release/examples/splice_proxy
//! ```
//!
//! The ratio it reaches is what the machine allows a third process on the message path, before
//! the relay does any work of its own. It is a measuring tool, not a product.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let config = match args.iter().position(|a| a == "--config") {
        Some(i) => args.get(i + 1).cloned(),
        None => None,
    };
    let Some(config) = config else {
        eprintln!(
            "usage: splice_proxy serve --config FILE (listen and upstream url are read from it)"
        );
        std::process::exit(2);
    };
    let text = match std::fs::read_to_string(&config) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("splice_proxy: {config}: {e}");
            std::process::exit(2);
        }
    };
    let (Some(listen), Some(upstream)) = (
        quoted_after(&text, "listen = [\""),
        quoted_after(&text, "url = \"smtp://"),
    ) else {
        eprintln!("splice_proxy: {config} has no listen or smtp:// upstream url");
        std::process::exit(2);
    };
    let (Ok(listen), Ok(upstream)) = (listen.parse::<SocketAddr>(), upstream.parse::<SocketAddr>())
    else {
        eprintln!("splice_proxy: listen and upstream must be IP:PORT");
        std::process::exit(2);
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("splice_proxy: runtime: {e}");
            std::process::exit(1);
        }
    };
    runtime.block_on(serve(listen, upstream));
}

/// The text between `prefix` and the next `"` (or `]`/`"` for the listen list).
fn quoted_after<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let start = text.find(prefix)? + prefix.len();
    let rest = &text[start..];
    Some(&rest[..rest.find('"')?])
}

async fn serve(listen: SocketAddr, upstream: SocketAddr) {
    let listener = match TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("splice_proxy: bind {listen}: {e}");
            std::process::exit(1);
        }
    };
    while let Ok((client, _)) = listener.accept().await {
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(upstream).await else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (mut client, mut server) = (client, server);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        });
    }
}
