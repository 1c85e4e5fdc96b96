//! The `dnc-relay` binary: everything lives in the library; see `dnc_relay::cli`.

/// mimalloc: per-thread heaps without glibc's consolidation passes; the per-message path
/// allocates small buffers on one worker thread and frees them on another (measured: see the
/// README's performance section).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    dnc_relay::cli::main()
}
