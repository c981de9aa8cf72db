mod create;
mod delete;
mod deliveries;
mod list;
mod redeliver;
mod send_test;
mod set_enabled;

pub use create::*;
pub use delete::*;
pub use deliveries::*;
pub use list::*;
pub use redeliver::*;
pub use send_test::*;
pub use set_enabled::*;
