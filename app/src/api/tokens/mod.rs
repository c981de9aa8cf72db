mod create_for_account;
mod create_mine;
mod delete;
mod list_for_account;
mod list_mine;
mod restore;
mod revoke;
mod rotate;
mod update;

pub use create_for_account::*;
pub use create_mine::*;
pub use delete::*;
pub use list_for_account::*;
pub use list_mine::*;
pub use restore::*;
pub use revoke::*;
pub use rotate::*;
pub use update::*;
