//! Exit codes of the `tasktoken` binary, in one place.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success: `serve` stopped cleanly (SIGINT or SIGTERM); `check` found the target conformant |
//! | 1 | `check` found the target non-conformant |
//! | 2 | usage or setup error: bad flags, bad configuration, a port that cannot be bound, a target that cannot be reached |

/// Success.
pub const OK: u8 = 0;
/// The target broke at least one checked rule.
pub const NON_CONFORMANT: u8 = 1;
/// Usage or setup error, or an unreachable target (clap's own usage errors are 2 as well).
pub const SETUP_ERROR: u8 = 2;
