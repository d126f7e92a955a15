//! The `tasktoken` binary: parse the command line, run, exit with the documented code.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
