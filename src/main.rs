//! The `dnc-relay` binary: everything lives in the library; see `dnc_relay::cli`.

fn main() -> std::process::ExitCode {
    dnc_relay::cli::main()
}
