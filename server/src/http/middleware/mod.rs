pub mod access;
pub mod client_ip;
pub mod fn_errors;
pub mod headers;
pub mod nojs;
pub mod origin;
pub mod request_id;
pub mod signed_in;
