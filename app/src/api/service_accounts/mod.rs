mod create;
mod delete;
mod get;
mod list;
mod set_enabled;
mod update;

pub use create::*;
pub use delete::*;
pub use get::*;
pub use list::*;
pub use set_enabled::*;
pub use update::*;
