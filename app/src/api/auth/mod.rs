mod current_user;
mod login;
mod logout;
mod password_link;
mod second_factor;
mod set_password;
mod setup;
mod setup_state;

pub use current_user::*;
pub use login::*;
pub use logout::*;
pub use password_link::*;
pub use second_factor::*;
pub use set_password::*;
pub use setup::*;
pub use setup_state::*;
