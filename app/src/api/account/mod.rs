//! The signed-in person's own account: their second factors.

mod second_factor;

pub use second_factor::*;
