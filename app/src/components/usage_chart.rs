//! The token page's usage chart: bars drawn on the server as SVG (readable without
//! JavaScript), a sentence that says what it shows, and the numbers as a table.

use leptos::prelude::*;

use crate::domain::timefmt::date;
use crate::domain::usage::{bar_heights, thousands, DailySeries};

const BAR: i64 = 8;
const GAP: i64 = 2;
const HEIGHT: i64 = 120;

#[component]
pub fn UsageChart(series: DailySeries) -> impl IntoView {
    let summary = series.summary();
    let heights = bar_heights(&series.counts, HEIGHT);
    let width = series.counts.len() as i64 * BAR;
    let first = date(series.start);
    let last = date(series.day(series.counts.len().saturating_sub(1)));
    let bars = series
        .counts
        .iter()
        .zip(heights)
        .enumerate()
        .filter(|(_, (_, h))| *h > 0)
        .map(|(i, (count, h))| {
            let label = format!("{}: {}", date(series.day(i)), thousands(*count));
            view! {
                <rect
                    class="usage-bar"
                    x=(i as i64 * BAR).to_string()
                    y=(HEIGHT - h).to_string()
                    width=(BAR - GAP).to_string()
                    height=h.to_string()
                >
                    <title>{label}</title>
                </rect>
            }
        })
        .collect_view();
    let rows = series
        .nonzero()
        .into_iter()
        .rev()
        .map(|(day, n)| view! { <tr><td>{date(day)}</td><td class="num">{thousands(n)}</td></tr> })
        .collect_view();
    view! {
        <figure class="usage-chart">
            <svg
                role="img"
                aria-labelledby="usage-chart-title"
                viewBox=format!("0 0 {width} {HEIGHT}")
                preserveAspectRatio="none"
                width="100%"
                height=HEIGHT.to_string()
            >
                <title id="usage-chart-title">{format!("Requests per day, {first} to {last}. {summary}")}</title>
                <line class="usage-axis" x1="0" y1=HEIGHT.to_string() x2=width.to_string() y2=HEIGHT.to_string()/>
                {bars}
            </svg>
            <figcaption>
                <p class="usage-summary">{summary}</p>
                <p class="muted small">{format!("{first} to {last}, UTC days.")}</p>
            </figcaption>
        </figure>
        <details class="usage-table">
            <summary>"Requests per day (table)"</summary>
            <table class="data-table">
                <caption class="sr-only">"Days with requests, newest first"</caption>
                <thead><tr><th scope="col">"Day (UTC)"</th><th scope="col">"Requests"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </details>
    }
}
