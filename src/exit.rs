//! Exit codes: part of the tool's interface, documented in the README and tested.

/// Every case conformed (or deviated only in ways the baseline accepts).
pub const OK: u8 = 0;
/// The endpoint is wrong: a deviation (one a baseline does not accept), an unparseable response
/// (a redirect among them) or a failing stateful property was found.
pub const DEVIATIONS: u8 = 1;
/// Bad usage or set-up: flags, spec, world, corpus, baseline or an unreachable endpoint.
pub const SETUP_ERROR: u8 = 2;
/// Nothing found wrong, but the run could not judge the endpoint: a case got no answer
/// (connection reset, timeout, throttling past the retries) or the stateful checks stopped.
pub const INCONCLUSIVE: u8 = 3;
/// Ctrl-C stopped the run (128 + SIGINT, as shells report it): the reports hold the cases
/// done so far, marked as interrupted; a second Ctrl-C aborts with this code and no report.
pub const INTERRUPTED: u8 = 130;
