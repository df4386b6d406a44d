//! Charts as SVG, rendered on the server: no chart library, no script, and
//! they print. Each chart is a function of the figures it shows; labels and
//! values are escaped.

use maud::{Markup, html};

/// A horizontal bar chart: one bar per `(label, value)`, scaled to the
/// largest value, with the value written at the bar's end as `shown`
/// gives it.
pub fn bars(title: &str, rows: &[(String, f64)], shown: impl Fn(f64) -> String) -> Markup {
    const ROW: f64 = 28.0;
    const LABEL: f64 = 160.0;
    const WIDTH: f64 = 560.0;
    let max = rows.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
    let height = ROW * rows.len().max(1) as f64 + 8.0;
    html! {
        figure.chart {
            svg viewBox={"0 0 " (WIDTH) " " (height)} role="img" aria-label=(title) {
                title { (title) }
                @for (i, (label, value)) in rows.iter().enumerate() {
                    @let y = ROW * i as f64 + 4.0;
                    @let length = if max > 0.0 { (WIDTH - LABEL - 90.0) * value / max } else { 0.0 };
                    text x="0" y=(y + 18.0) class="label" { (label) }
                    rect x=(LABEL) y=(y + 4.0) width=(format!("{length:.1}")) height=(ROW - 8.0) class="bar" {}
                    text x=(format!("{:.1}", LABEL + length + 6.0)) y=(y + 18.0) class="value" { (shown(*value)) }
                }
            }
            figcaption { (title) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_value_and_escape_labels() {
        let svg = bars(
            "Points issued",
            &[("<Bakery>".into(), 100.0), ("Cafe".into(), 50.0)],
            |v| format!("{v} points"),
        )
        .into_string();
        assert!(svg.contains("&lt;Bakery&gt;"), "{svg}");
        assert!(svg.contains(r#"width="310.0""#), "{svg}");
        assert!(svg.contains(r#"width="155.0""#), "{svg}");
        assert!(svg.contains("50 points"));
    }
}
