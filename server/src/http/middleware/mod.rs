pub mod client_ip;
pub mod fn_errors;
pub mod headers;
pub mod nojs;
pub mod origin;
pub mod signed_in;
pub mod trace;
