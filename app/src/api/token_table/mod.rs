mod delete_saved;
mod list;
mod live_count;
mod revoke_matching;
mod revoke_selected;
mod save_search;
mod saved;

pub use delete_saved::*;
pub use list::*;
pub use live_count::*;
pub use revoke_matching::*;
pub use revoke_selected::*;
pub use save_search::*;
pub use saved::*;
