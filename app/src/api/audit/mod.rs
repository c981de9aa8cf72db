mod list;

pub use list::*;
