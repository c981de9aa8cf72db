mod detail;
mod list;

pub use detail::ServiceAccountPage;
pub use list::ServiceAccountsPage;
