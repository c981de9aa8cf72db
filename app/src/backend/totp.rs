//! Authenticator-app codes (RFC 6238 through `totp-rs`) and the enrolment QR code. The rules
//! (digits, step, skew, replay) are in `domain::second_factor`; this module only computes.

use rand::rngs::OsRng;
use rand::RngCore;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

use crate::domain::second_factor::{TOTP_DIGITS, TOTP_STEP_SECS};

/// 160 bits, the size RFC 4226 recommends and every app accepts.
pub const SECRET_BYTES: usize = 20;
const ISSUER: &str = "Keyward";

pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut secret);
    secret
}

fn totp(secret: &[u8], account: &str) -> TOTP {
    TOTP::new_unchecked(
        Algorithm::SHA1,
        TOTP_DIGITS,
        // Skew is applied by `matching_step` (it must know which step matched).
        0,
        TOTP_STEP_SECS as u64,
        secret.to_vec(),
        Some(ISSUER.to_string()),
        account.to_string(),
    )
}

/// The code an app shows during `step`.
pub fn code_at(secret: &[u8], step: i64) -> String {
    totp(secret, "").generate((step.max(0) * TOTP_STEP_SECS) as u64)
}

/// The first of `steps` whose code is `code` (compared in constant time).
pub fn matching_step(secret: &[u8], code: &str, steps: &[i64]) -> Option<i64> {
    steps
        .iter()
        .copied()
        .find(|step| bool::from(code_at(secret, *step).as_bytes().ct_eq(code.as_bytes())))
}

/// What an enrolment page shows: the `otpauth://` address (as a QR code) and the secret in
/// base32 for apps that take it typed in.
pub struct Enrolment {
    pub uri: String,
    pub secret_base32: String,
    pub qr_svg: String,
}

pub fn enrolment(secret: &[u8], account: &str) -> Enrolment {
    let totp = totp(secret, account);
    let uri = totp.get_url();
    let qr_svg = qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M)
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        })
        // Inline in HTML: the XML declaration in front of `<svg` has no place there.
        .map(|svg| {
            svg.find("<svg")
                .map(|i| svg[i..].to_string())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    Enrolment {
        uri,
        secret_base32: totp.get_secret_base32(),
        qr_svg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (the 8-digit values' last six digits).
    #[test]
    fn matches_the_rfc_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code_at(secret, time / TOTP_STEP_SECS), code, "at {time}");
        }
    }

    #[test]
    fn the_matching_step_is_reported() {
        let secret = new_secret();
        let code = code_at(&secret, 100);
        assert_eq!(matching_step(&secret, &code, &[99, 100, 101]), Some(100));
        assert_eq!(matching_step(&secret, &code, &[101, 102]), None);
    }

    #[test]
    fn the_enrolment_names_the_issuer_and_account_and_draws_a_qr_code() {
        let e = enrolment(&new_secret(), "ada@example.com");
        assert!(
            e.uri
                .starts_with("otpauth://totp/Keyward:ada%40example.com?"),
            "{}",
            e.uri
        );
        assert!(e.uri.contains("issuer=Keyward"), "{}", e.uri);
        assert!(e.uri.contains(&format!("secret={}", e.secret_base32)));
        assert!(e.qr_svg.starts_with("<svg"), "{}", e.qr_svg);
        assert!(e.qr_svg.contains("<path"), "a drawn code");
    }
}
