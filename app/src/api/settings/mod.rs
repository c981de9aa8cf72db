mod get;
mod stale_policy;
mod update;

pub use get::*;
pub use stale_policy::*;
pub use update::*;
