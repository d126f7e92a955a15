//! The `tasktoken` binary: parse the command line, run, exit with the documented code.

fn main() -> std::process::ExitCode {
    tasktoken::cli::main()
}
