mod change_role;
mod invite;
mod list;
mod remove;
mod reset_link;
mod reset_second_factor;
mod set_active;

pub use change_role::*;
pub use invite::*;
pub use list::*;
pub use remove::*;
pub use reset_link::*;
pub use reset_second_factor::*;
pub use set_active::*;
