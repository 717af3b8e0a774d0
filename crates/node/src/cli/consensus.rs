//! `quorate consensus`: run median normalization over a file of operator responses.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `quorate consensus`.
#[derive(clap::Args, Debug)]
pub struct ConsensusArgs {
    /// JSON file: `[{"operator": "<id>", "data": {...}}, ...]`.
    pub file: PathBuf,
}

/// Runs the command; the exit code says whether consensus was reached.
pub fn run(args: ConsensusArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("consensus over {} is not built yet", args.file.display())
}
