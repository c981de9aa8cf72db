//! Queries, one module per aggregate. Each function takes a `Conn` (inside or outside a
//! transaction) and returns rows; rules about what is allowed live in `service`.

pub mod audit;
pub mod codes;
pub mod epoch;
pub mod login_failures;
pub mod saved_searches;
pub mod second_factors;
pub mod service_accounts;
pub mod sessions;
pub mod settings;
pub mod stale;
pub mod token_store;
pub mod token_table;
pub mod tokens;
pub mod usage;
pub mod users;
pub mod webhooks;

diesel::define_sql_function! {
    /// SQL `LOWER()`, the same on both backends (ASCII case folding on SQLite).
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// A `LIKE` pattern matching `needle` anywhere, with `%`, `_` and `\` taken literally
/// (use with `.escape('\\')`). Lowercased: callers compare against lowercased columns.
pub fn contains_pattern(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(super::contains_pattern("ci_Bot%"), "%ci\\_bot\\%%");
        assert_eq!(super::contains_pattern(""), "%%");
    }
}
