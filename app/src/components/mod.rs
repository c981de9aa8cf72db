//! Building blocks every page composes: forms with errors beside the field at fault, the
//! one-time secret reveal, confirmations, time stamps, badges, pagination, the page layout.

pub mod badges;
pub mod confirm;
pub mod form;
pub mod layout;
pub mod pagination;
pub mod reveal;
pub mod time;
pub mod tokens;
pub mod usage_chart;
