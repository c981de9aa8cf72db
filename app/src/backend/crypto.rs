//! Keys, keyed hashes, random strings and password hashing.
//!
//! Tokens and one-time codes are long random strings, so one keyed SHA-256 (HMAC) is enough to
//! store them: the server key ("pepper") means a stolen database alone cannot even confirm a
//! guessed token. Passwords are low-entropy and get argon2id at the OWASP minimum
//! (19 MiB, 2 passes, 1 lane), computed off the async runtime.

use std::path::Path;
use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use hmac::{Hmac, Mac};
use rand::distributions::Alphanumeric;
use rand::rngs::OsRng;
use rand::{CryptoRng, Rng, RngCore};
use secrecy::{ExposeSecret, SecretBox};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::token_format::{self, TokenKind, PUBLIC_ID_LEN, SECRET_LEN};
use crate::domain::Sensitive;

pub const KEY_FILE_NAME: &str = "secret.key";
const KEY_BYTES: usize = 32;

/// The server key every keyed hash uses. Several processes sharing one database must share it.
pub struct ServerKey(SecretBox<[u8; KEY_BYTES]>);

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(****)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("KEYWARD_SECRET_KEY must be {} hexadecimal characters (32 random bytes); generate one with `openssl rand -hex 32`", KEY_BYTES * 2)]
    BadFormat,
    #[error("cannot read or write the secret key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl ServerKey {
    /// Uses the key given in configuration if there is one; otherwise the key file in the data
    /// directory, created with fresh random bytes (mode 0600) on first start.
    pub fn load_or_create(configured: Option<&str>, data_dir: &Path) -> Result<Self, KeyError> {
        if let Some(key) = Self::load_existing(configured, data_dir)? {
            return Ok(key);
        }
        let path = data_dir.join(KEY_FILE_NAME);
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let mut bytes = [0u8; KEY_BYTES];
        OsRng.fill_bytes(&mut bytes);
        let hex = to_hex(&bytes);
        write_private(&path, &hex).map_err(io)?;
        Self::from_hex(&hex)
    }

    /// The configured key, or the data directory's key file; `None` when there is neither.
    /// Restoring a backup uses this: a freshly generated key could only fail the check.
    pub fn load_existing(
        configured: Option<&str>,
        data_dir: &Path,
    ) -> Result<Option<Self>, KeyError> {
        if let Some(hex) = configured.filter(|s| !s.trim().is_empty()) {
            return Self::from_hex(hex).map(Some);
        }
        let path = data_dir.join(KEY_FILE_NAME);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_hex(&text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(KeyError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    pub fn from_hex(hex: &str) -> Result<Self, KeyError> {
        let hex = hex.trim();
        if hex.len() != KEY_BYTES * 2 {
            return Err(KeyError::BadFormat);
        }
        let mut bytes = Box::new([0u8; KEY_BYTES]);
        for (i, chunk) in hex.as_bytes().chunks(2).enumerate() {
            let s = std::str::from_utf8(chunk).map_err(|_| KeyError::BadFormat)?;
            bytes[i] = u8::from_str_radix(s, 16).map_err(|_| KeyError::BadFormat)?;
        }
        Ok(Self(SecretBox::new(bytes)))
    }

    /// A random key, for tests.
    pub fn random() -> Self {
        let mut bytes = Box::new([0u8; KEY_BYTES]);
        OsRng.fill_bytes(&mut bytes[..]);
        Self(SecretBox::new(bytes))
    }

    pub fn keyed_hash(&self, data: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret())
            .expect("HMAC accepts any key length");
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }

    /// A short public fingerprint, stored in the database to catch a process started with a
    /// different key (every token would silently stop working).
    pub fn fingerprint(&self) -> String {
        to_hex(&self.keyed_hash(b"keyward key fingerprint v1")[..8])
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, format!("{text}\n"))
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    to_hex(&Sha256::digest(data))
}

/// Constant-time equality for hashes (the lookup is by public id, so the hash comparison is
/// the step an attacker could time).
pub fn hashes_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// `n` characters drawn uniformly from [0-9A-Za-z] by the operating system's CSPRNG.
pub fn random_base62(n: usize) -> String {
    random_base62_with(&mut OsRng, n)
}

/// `random_base62` from a given cryptographically secure generator: for bulk generation
/// (`keyward dev seed`), where a system call per character would dominate.
pub fn random_base62_with<R: RngCore + CryptoRng>(rng: &mut R, n: usize) -> String {
    rng.sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

/// A freshly generated token: the full string (shown once) and its public parts.
pub struct NewTokenSecret {
    pub token: Sensitive,
    pub public_id: String,
    pub display_prefix: String,
    pub hash: Vec<u8>,
}

impl ServerKey {
    pub fn new_token(&self, kind: TokenKind) -> NewTokenSecret {
        self.new_secret_for(kind, &random_base62(PUBLIC_ID_LEN))
    }

    /// A new secret for an existing public id (rotation keeps the id).
    pub fn new_secret_for(&self, kind: TokenKind, public_id: &str) -> NewTokenSecret {
        self.new_secret_with(&mut OsRng, kind, public_id)
    }

    /// `new_secret_for` drawing the secret from a given cryptographically secure generator
    /// (bulk generation: `keyward dev seed --secrets-out`).
    pub fn new_secret_with<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
        kind: TokenKind,
        public_id: &str,
    ) -> NewTokenSecret {
        let secret = random_base62_with(rng, SECRET_LEN);
        let token = token_format::assemble(kind, public_id, &secret);
        let body = &token[..token.len() - token_format::CHECKSUM_LEN];
        NewTokenSecret {
            hash: self.keyed_hash(body.as_bytes()),
            public_id: public_id.to_string(),
            display_prefix: token_format::display_prefix(kind, public_id),
            token: Sensitive::new(token),
        }
    }

    /// A one-time code (setup, set-password link) and the hash to store for it.
    pub fn new_code(&self) -> (Sensitive, Vec<u8>) {
        let code = random_base62(32);
        let hash = self.keyed_hash(code.as_bytes());
        (Sensitive::new(code), hash)
    }
}

/// What a sealed value is for, bound into the AEAD's associated data so that a value sealed
/// for one purpose cannot be opened as another.
const WEBHOOK_SECRET_AAD: &[u8] = b"keyward webhook signing secret v1";
const SEAL_NONCE_LEN: usize = 24;

impl ServerKey {
    /// The sealing key: derived from the server key for this one use, so it is never the key
    /// that hashes tokens.
    fn seal_cipher(&self) -> chacha20poly1305::XChaCha20Poly1305 {
        use chacha20poly1305::KeyInit;
        let derived = self.keyed_hash(b"keyward seal key v1");
        chacha20poly1305::XChaCha20Poly1305::new_from_slice(&derived).expect("a 32-byte key")
    }

    /// `msg` sealed for storage (XChaCha20-Poly1305, random 24-byte nonce first, then the
    /// ciphertext and tag), bound to its purpose `aad`.
    fn seal(&self, aad: &[u8], msg: &[u8]) -> Vec<u8> {
        use chacha20poly1305::aead::{Aead, Payload};
        let mut nonce = [0u8; SEAL_NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .seal_cipher()
            .encrypt((&nonce).into(), Payload { msg, aad })
            .expect("encryption of a short message cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// The value back, or None when it was not sealed with this key for this purpose (or was
    /// changed).
    fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        use chacha20poly1305::aead::{Aead, Payload};
        if sealed.len() <= SEAL_NONCE_LEN {
            return None;
        }
        let (nonce, msg) = sealed.split_at(SEAL_NONCE_LEN);
        self.seal_cipher()
            .decrypt(nonce.into(), Payload { msg, aad })
            .ok()
    }

    /// A webhook signing secret sealed for storage.
    pub fn seal_webhook_secret(&self, secret: &Sensitive) -> Vec<u8> {
        self.seal(WEBHOOK_SECRET_AAD, secret.expose().as_bytes())
    }

    /// The secret back, or None when the value was not sealed with this key (or was changed).
    pub fn open_webhook_secret(&self, sealed: &[u8]) -> Option<Sensitive> {
        let plain = self.open(WEBHOOK_SECRET_AAD, sealed)?;
        String::from_utf8(plain).ok().map(Sensitive::new)
    }

    /// An authenticator-app secret sealed for storage. The user id is bound in, so a sealed
    /// secret copied onto another person's row does not open.
    pub fn seal_totp_secret(&self, user_id: i64, secret: &[u8]) -> Vec<u8> {
        self.seal(&totp_aad(user_id), secret)
    }

    pub fn open_totp_secret(&self, user_id: i64, sealed: &[u8]) -> Option<Vec<u8>> {
        self.open(&totp_aad(user_id), sealed)
    }

    /// A recovery code (`RECOVERY_CODE_LEN` characters of `RECOVERY_ALPHABET`) and the keyed
    /// hash to store for it.
    pub fn new_recovery_code(&self) -> (Sensitive, Vec<u8>) {
        use crate::domain::second_factor::{RECOVERY_ALPHABET, RECOVERY_CODE_LEN};
        let mut rng = OsRng;
        let code: String = (0..RECOVERY_CODE_LEN)
            .map(|_| RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())] as char)
            .collect();
        let hash = self.recovery_code_hash(&code);
        (Sensitive::new(code), hash)
    }

    /// The stored form of a (normalised) recovery code.
    pub fn recovery_code_hash(&self, code: &str) -> Vec<u8> {
        let mut input = b"keyward recovery code v1:".to_vec();
        input.extend_from_slice(code.as_bytes());
        self.keyed_hash(&input)
    }
}

fn totp_aad(user_id: i64) -> Vec<u8> {
    format!("keyward totp secret v1 user {user_id}").into_bytes()
}

/// A new webhook signing secret: `whsec_` and the base64 of 32 random bytes (Standard
/// Webhooks).
pub fn new_webhook_secret() -> Sensitive {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    Sensitive::new(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password on the calling thread (run it through `HashGate::run`, which bounds how
/// many hashes run at once).
pub fn hash_password_blocking(password: Sensitive) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Verifies a password on a blocking thread. With no stored hash (unknown e-mail, or an
/// invited user who has not set a password yet) a dummy hash is checked instead, so the answer
/// takes the same time either way.
pub async fn verify_password(password: Sensitive, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || verify_password_blocking(password, stored))
        .await
        .unwrap_or(false)
}

/// `verify_password` on the calling thread (for `HashGate::run`).
pub fn verify_password_blocking(password: Sensitive, stored: Option<String>) -> bool {
    let real = stored.is_some();
    let phc = stored.unwrap_or_else(|| dummy_hash().to_string());
    let ok = PasswordHash::new(&phc)
        .map(|parsed| {
            argon2()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false);
    ok && real
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(random_base62(24).as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_round_trips_through_hex_and_file() {
        let dir = std::env::temp_dir().join(format!("kw-key-{}", random_base62(8)));
        let a = ServerKey::load_or_create(None, &dir).unwrap();
        let b = ServerKey::load_or_create(None, &dir).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.keyed_hash(b"x"), b.keyed_hash(b"x"));
        assert!(ServerKey::from_hex("abc").is_err());
        assert!(ServerKey::from_hex(&"zz".repeat(32)).is_err());
        let c = ServerKey::load_or_create(Some(&"ab".repeat(32)), &dir).unwrap();
        assert_ne!(a.fingerprint(), c.fingerprint());
        assert!(!format!("{c:?}").contains("ab"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn new_tokens_parse_and_hash_to_the_stored_value() {
        let key = ServerKey::random();
        let t = key.new_token(TokenKind::ServiceAccount);
        let parsed = token_format::parse(t.token.expose()).unwrap();
        assert_eq!(parsed.public_id, t.public_id);
        assert!(hashes_equal(
            &key.keyed_hash(parsed.body.as_bytes()),
            &t.hash
        ));
        assert!(t.token.expose().starts_with(&t.display_prefix));
        let rotated = key.new_secret_for(TokenKind::ServiceAccount, &t.public_id);
        assert_eq!(rotated.public_id, t.public_id);
        assert_ne!(rotated.hash, t.hash);
    }

    #[test]
    fn webhook_secrets_seal_and_open_only_under_their_key() {
        let key = ServerKey::random();
        let secret = new_webhook_secret();
        assert!(secret.expose().starts_with("whsec_"));
        assert!(secret.expose().len() >= 6 + 32);
        let sealed = key.seal_webhook_secret(&secret);
        assert!(!contains(&sealed, secret.expose().as_bytes()));
        assert_ne!(
            sealed,
            key.seal_webhook_secret(&secret),
            "a fresh nonce each time"
        );
        assert_eq!(key.open_webhook_secret(&sealed), Some(secret.clone()));
        assert_eq!(ServerKey::random().open_webhook_secret(&sealed), None);
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(key.open_webhook_secret(&tampered), None);
        assert_eq!(key.open_webhook_secret(&sealed[..10]), None);
    }

    #[test]
    fn totp_secrets_open_only_for_their_user_and_purpose() {
        let key = ServerKey::random();
        let secret = [7u8; 20];
        let sealed = key.seal_totp_secret(41, &secret);
        assert!(!contains(&sealed, &secret));
        assert_eq!(key.open_totp_secret(41, &sealed), Some(secret.to_vec()));
        assert_eq!(
            key.open_totp_secret(42, &sealed),
            None,
            "copied to another user"
        );
        assert_eq!(key.open_webhook_secret(&sealed), None, "another purpose");
        assert_eq!(ServerKey::random().open_totp_secret(41, &sealed), None);
    }

    #[test]
    fn recovery_codes_are_random_and_stored_as_keyed_hashes() {
        use crate::domain::second_factor::{RECOVERY_ALPHABET, RECOVERY_CODE_LEN};
        let key = ServerKey::random();
        let (code, hash) = key.new_recovery_code();
        assert_eq!(code.expose().len(), RECOVERY_CODE_LEN);
        assert!(code
            .expose()
            .bytes()
            .all(|b| RECOVERY_ALPHABET.contains(&b)));
        assert_eq!(hash, key.recovery_code_hash(code.expose()));
        assert!(!contains(&hash, code.expose().as_bytes()));
        assert_ne!(hash, ServerKey::random().recovery_code_hash(code.expose()));
        assert_ne!(code, key.new_recovery_code().0);
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn random_strings_are_base62_and_distinct() {
        let a = random_base62(33);
        assert_eq!(a.len(), 33);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(a, random_base62(33));
    }

    #[tokio::test]
    async fn passwords_verify_only_with_the_right_password() {
        let hash = hash_password_blocking(Sensitive::new("correct horse battery")).unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password(Sensitive::new("correct horse battery"), Some(hash.clone())).await);
        assert!(!verify_password(Sensitive::new("wrong"), Some(hash)).await);
        assert!(!verify_password(Sensitive::new("anything"), None).await);
    }
}
