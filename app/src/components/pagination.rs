use leptos::prelude::*;

/// "Page 2 of 7 · 163 results" with previous/next links. `href(n)` builds the link to page n
/// (keeping the rest of the query), so paging works without JavaScript and survives reload.
#[component]
pub fn Pagination(page: i64, pages: i64, total: i64, href: Callback<i64, String>) -> impl IntoView {
    let prev = (page > 1).then(|| href.run(page - 1));
    let next = (page < pages).then(|| href.run(page + 1));
    view! {
        <nav class="pagination" aria-label="Pagination">
            {match prev {
                Some(h) => view! { <a class="btn btn-small" href=h rel="prev">"← Previous"</a> }.into_any(),
                None => view! { <span class="btn btn-small disabled" aria-disabled="true">"← Previous"</span> }.into_any(),
            }}
            <span class="page-info">
                {format!("Page {page} of {pages} · {total} result{}", if total == 1 { "" } else { "s" })}
            </span>
            {match next {
                Some(h) => view! { <a class="btn btn-small" href=h rel="next">"Next →"</a> }.into_any(),
                None => view! { <span class="btn btn-small disabled" aria-disabled="true">"Next →"</span> }.into_any(),
            }}
        </nav>
    }
}

/// Encodes a query-string value (`application/x-www-form-urlencoded`).
pub fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_reserved_characters() {
        assert_eq!(super::encode("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }
}
