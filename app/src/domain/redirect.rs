//! Where a browser may be sent after signing in (`/login?next=…`) or after a no-JS form: only
//! a path on this site. Browsers are lenient readers of `Location`: they drop tabs and line
//! breaks inside a URL and read `\` as `/`, so `/\t/evil.example` is `//evil.example`, another
//! host. Anything but a plain same-origin path is therefore refused, and the answer is always
//! a valid header value (building a `Location` from a line break panics).

/// Whether `path` is a path on this site that is safe to put in a `Location` header as is.
pub fn is_local_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    // Visible ASCII only: no controls (tab, CR, LF are dropped by browsers, then `//` appears),
    // no spaces, nothing a header value cannot carry. A browser percent-encodes what it sends.
    if !path.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    !rest.starts_with('/') && !path.contains('\\')
}

/// The page to go to after signing in: `next` when it is a local path other than the login
/// page itself, otherwise the start page.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(p) if is_local_path(p) && !p.starts_with("/login") => p.to_string(),
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_are_kept() {
        assert_eq!(safe_next(Some("/team")), "/team");
        assert_eq!(
            safe_next(Some("/tokens?q=a%20b&sort=name")),
            "/tokens?q=a%20b&sort=name"
        );
        assert_eq!(safe_next(Some("/")), "/");
    }

    #[test]
    fn other_hosts_and_odd_paths_fall_back_to_the_start_page() {
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "\\/evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "\t//evil.example",
            " //evil.example",
            "/ /evil.example",
            "/\u{0}x",
            "/\u{7f}x",
            "/é",
            "/\u{2028}/evil.example",
            "evil.example",
            "",
            "/login?next=/x",
            "/login",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn every_answer_is_a_valid_header_value() {
        for input in ["/\n/x", "/a\u{0}b", "/ok", "/ü", "/\r\nSet-Cookie: a=b"] {
            let out = safe_next(Some(input));
            assert!(out.bytes().all(|b| b.is_ascii_graphic()), "{out:?}");
        }
    }
}
