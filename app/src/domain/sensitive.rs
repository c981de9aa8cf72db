//! A string that must never be printed: passwords on their way in, token secrets and one-time
//! links on their way out. `Debug` shows a placeholder and there is no `Display`, so it cannot
//! slip into a log line or an error message by accident; reading it takes an explicit
//! `expose()`.

use serde::{Deserialize, Serialize};

#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sensitive(String);

impl Sensitive {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sensitive(****)")
    }
}

impl From<String> for Sensitive {
    fn from(value: String) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value_and_serde_is_transparent() {
        let s = Sensitive::new("hunter2hunter2");
        assert_eq!(format!("{s:?}"), "Sensitive(****)");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"hunter2hunter2\"");
        let back: Sensitive = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(back.expose(), "abc");
    }
}
