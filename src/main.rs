//! The `ffo` binary: see `cli`.

fn main() -> std::process::ExitCode {
    ffo::cli::main()
}
