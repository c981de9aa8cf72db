//! The CPU cost of checking a presented token, without I/O: parse and checksum, keyed hash,
//! constant-time comparison (and, for contrast, rejecting garbage, which stops at the parse).
//!
//!     cargo bench -p app --features ssr --bench verify

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

use app::backend::crypto::{hashes_equal, ServerKey};
use app::domain::token_format::{self, TokenKind};

fn verify(c: &mut Criterion) {
    let key = ServerKey::random();
    let issued = key.new_token(TokenKind::ServiceAccount);
    let stored = issued.hash.clone();
    let token = issued.token.expose().to_string();

    c.bench_function("parse + keyed hash + compare (valid token)", |b| {
        b.iter(|| {
            let parsed = token_format::parse(black_box(&token)).unwrap();
            let hash = key.keyed_hash(parsed.body.as_bytes());
            assert!(hashes_equal(&hash, black_box(&stored)));
        })
    });

    let mut garbage = token.clone();
    garbage.replace_range(
        30..31,
        if token.as_bytes()[30] == b'a' {
            "b"
        } else {
            "a"
        },
    );
    c.bench_function("reject a token with a bad checksum", |b| {
        b.iter(|| token_format::parse(black_box(&garbage)).is_err())
    });

    c.bench_function("parse only", |b| {
        b.iter(|| token_format::parse(black_box(&token)).is_ok())
    });
}

criterion_group!(benches, verify);
criterion_main!(benches);
