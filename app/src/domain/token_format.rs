//! The token string: `kwsa_` or `kwpt_` (service account / personal), a 12-character public
//! lookup id, a 33-character secret (base62, 196 bits) and a 6-character base62 CRC32 of
//! everything before it:
//!
//! ```text
//! kwsa_ 3fG7aQ9xLm2B Q2w...(33) 0aZ9kK
//! ```
//!
//! The prefix lets secret scanners spot leaked tokens; the checksum lets them (and Keyward)
//! discard look-alikes without a database lookup. The checksum proves nothing about
//! authenticity: only the keyed hash on the server does. Prefixes are part of the public
//! contract and must never change once tokens exist.

use serde::{Deserialize, Serialize};

pub const PUBLIC_ID_LEN: usize = 12;
pub const SECRET_LEN: usize = 33;
pub const CHECKSUM_LEN: usize = 6;
pub const PREFIX_LEN: usize = 5;
pub const TOKEN_LEN: usize = PREFIX_LEN + PUBLIC_ID_LEN + SECRET_LEN + CHECKSUM_LEN;
/// How many characters of the public id the tables show after the prefix.
pub const DISPLAY_ID_CHARS: usize = 8;

pub const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    ServiceAccount,
    Personal,
}

impl TokenKind {
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::ServiceAccount => "kwsa_",
            TokenKind::Personal => "kwpt_",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::ServiceAccount => "service_account",
            TokenKind::Personal => "personal",
        }
    }

    pub fn parse(value: &str) -> Option<TokenKind> {
        match value {
            "service_account" => Some(TokenKind::ServiceAccount),
            "personal" => Some(TokenKind::Personal),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TokenKind::ServiceAccount => "Service account",
            TokenKind::Personal => "User",
        }
    }
}

/// A token string that has the right shape and checksum. It borrows from the presented
/// string; nothing here is kept.
#[derive(PartialEq, Eq)]
pub struct ParsedToken<'a> {
    pub kind: TokenKind,
    pub public_id: &'a str,
    /// Prefix, id and secret: what the keyed hash is computed over.
    pub body: &'a str,
}

impl std::fmt::Debug for ParsedToken<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedToken")
            .field("kind", &self.kind)
            .field("public_id", &self.public_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenFormatError {
    #[error("not a Keyward token")]
    Malformed,
    #[error("token checksum does not match")]
    BadChecksum,
}

pub fn parse(token: &str) -> Result<ParsedToken<'_>, TokenFormatError> {
    if token.len() != TOKEN_LEN || !token.is_ascii() {
        return Err(TokenFormatError::Malformed);
    }
    let kind = [TokenKind::ServiceAccount, TokenKind::Personal]
        .into_iter()
        .find(|k| token.starts_with(k.prefix()))
        .ok_or(TokenFormatError::Malformed)?;
    let rest = &token[PREFIX_LEN..];
    if !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(TokenFormatError::Malformed);
    }
    let (body, check) = token.split_at(TOKEN_LEN - CHECKSUM_LEN);
    if checksum(body) != check {
        return Err(TokenFormatError::BadChecksum);
    }
    Ok(ParsedToken {
        kind,
        public_id: &rest[..PUBLIC_ID_LEN],
        body,
    })
}

/// CRC32 of the body as exactly six base62 digits (62^6 > 2^32).
pub fn checksum(body: &str) -> String {
    let mut n = u64::from(crc32fast::hash(body.as_bytes()));
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out.to_vec()).unwrap_or_default()
}

/// Builds the full token from its random parts. The parts must be base62 of the right length.
pub fn assemble(kind: TokenKind, public_id: &str, secret: &str) -> String {
    debug_assert_eq!(public_id.len(), PUBLIC_ID_LEN);
    debug_assert_eq!(secret.len(), SECRET_LEN);
    let body = format!("{}{public_id}{secret}", kind.prefix());
    let check = checksum(&body);
    body + &check
}

/// What tables show: enough for a human to recognise a token, never enough to use it.
pub fn display_prefix(kind: TokenKind, public_id: &str) -> String {
    let shown: String = public_id.chars().take(DISPLAY_ID_CHARS).collect();
    format!("{}{shown}", kind.prefix())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3fG7aQ9xLm2B";
    const SECRET: &str = "Q2wE4rT6yU8iO0pA1sD3fG5hJ7kL9zXcV";

    #[test]
    fn assembled_tokens_parse_back() {
        let token = assemble(TokenKind::ServiceAccount, ID, SECRET);
        assert_eq!(token.len(), TOKEN_LEN);
        assert!(token.starts_with("kwsa_3fG7aQ9xLm2B"));
        let parsed = parse(&token).unwrap();
        assert_eq!(parsed.kind, TokenKind::ServiceAccount);
        assert_eq!(parsed.public_id, ID);
        assert_eq!(parsed.body, &token[..TOKEN_LEN - CHECKSUM_LEN]);
        let personal = assemble(TokenKind::Personal, ID, SECRET);
        assert_eq!(parse(&personal).unwrap().kind, TokenKind::Personal);
    }

    #[test]
    fn checksum_catches_a_changed_character() {
        let token = assemble(TokenKind::Personal, ID, SECRET);
        let mut bytes = token.clone().into_bytes();
        bytes[20] = if bytes[20] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(bytes).unwrap();
        assert_eq!(parse(&typo), Err(TokenFormatError::BadChecksum));
    }

    #[test]
    fn garbage_is_malformed() {
        let token = assemble(TokenKind::Personal, ID, SECRET);
        assert_eq!(parse(""), Err(TokenFormatError::Malformed));
        assert_eq!(parse(&token[1..]), Err(TokenFormatError::Malformed));
        assert_eq!(
            parse(&token.replace("kwpt_", "ghp__")),
            Err(TokenFormatError::Malformed)
        );
        assert_eq!(
            parse(&format!("{token}x")),
            Err(TokenFormatError::Malformed)
        );
        let with_symbol = format!("kwpt_{}", "-".repeat(TOKEN_LEN - 5));
        assert_eq!(parse(&with_symbol), Err(TokenFormatError::Malformed));
        let unicode = format!("kwpt_{}", "é".repeat(25));
        assert_eq!(parse(&unicode), Err(TokenFormatError::Malformed));
    }

    #[test]
    fn checksum_is_six_base62_digits() {
        for body in ["", "a", "kwsa_x", &"z".repeat(100)] {
            let c = checksum(body);
            assert_eq!(c.len(), CHECKSUM_LEN);
            assert!(c.bytes().all(|b| BASE62.contains(&b)));
        }
        // CRC32 of "123456789" is 0xCBF43926 = 3421780262
        assert_eq!(checksum("123456789"), "3jZRME");
    }

    #[test]
    fn display_prefix_shows_only_the_start_of_the_id() {
        assert_eq!(
            display_prefix(TokenKind::ServiceAccount, ID),
            "kwsa_3fG7aQ9x"
        );
        assert!(!display_prefix(TokenKind::Personal, ID).contains("Lm2B"));
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let token = assemble(TokenKind::Personal, ID, SECRET);
        let parsed = parse(&token).unwrap();
        assert!(!format!("{parsed:?}").contains(SECRET));
    }
}
