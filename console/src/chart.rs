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

/// One series of a [`columns`] chart: a value per day, drawn in the CSS
/// class `class` (`bar`, `bar alt`, `bar third`) and named in the legend.
#[derive(Clone, Debug)]
pub struct Series<'a> {
    /// Its name in the legend.
    pub label: &'a str,
    /// The CSS class of its columns.
    pub class: &'a str,
    /// One value per day of the chart, in the days' order.
    pub values: Vec<f64>,
}

/// A column chart over days: for each day (`YYYY-MM-DD`, oldest first)
/// one column per series, side by side, scaled to the largest value of
/// all. The axis below names the first, middle and last day; the largest
/// value is written at the top (as `shown` gives it) with a guide line. A
/// day a series has no value for counts as 0.
pub fn columns(
    title: &str,
    days: &[String],
    series: &[Series<'_>],
    shown: impl Fn(f64) -> String,
) -> Markup {
    const WIDTH: f64 = 640.0;
    const HEIGHT: f64 = 200.0;
    const LEFT: f64 = 70.0;
    const TOP: f64 = 14.0;
    const AXIS: f64 = 22.0;
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - TOP - AXIS;
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0_f64, f64::max);
    let slot = plot_w / days.len().max(1) as f64;
    let column = (slot * 0.8 / series.len().max(1) as f64).max(1.0);
    let baseline = TOP + plot_h;
    let ticks: Vec<usize> = match days.len() {
        0 => vec![],
        1 => vec![0],
        2 => vec![0, 1],
        n => vec![0, n / 2, n - 1],
    };
    let summary = series
        .iter()
        .map(|s| format!("{}: {}", s.label, shown(s.values.iter().sum())))
        .collect::<Vec<_>>()
        .join("; ");
    html! {
        figure.chart {
            svg viewBox={"0 0 " (WIDTH) " " (HEIGHT)} role="img" aria-label={(title) ". " (summary)} {
                title { (title) }
                line x1=(LEFT) y1=(TOP) x2=(WIDTH - 8.0) y2=(TOP) class="guide" stroke="#c8ccd2" stroke-dasharray="3 3" {}
                text x=(LEFT - 6.0) y=(TOP + 4.0) text-anchor="end" class="axis" { (shown(max)) }
                text x=(LEFT - 6.0) y=(baseline) text-anchor="end" class="axis" { (shown(0.0)) }
                line x1=(LEFT) y1=(baseline) x2=(WIDTH - 8.0) y2=(baseline) stroke="#8a929e" {}
                @for (d, day) in days.iter().enumerate() {
                    @for (k, s) in series.iter().enumerate() {
                        @let value = s.values.get(d).copied().unwrap_or(0.0);
                        @let h = if max > 0.0 { plot_h * value / max } else { 0.0 };
                        @let x = LEFT + slot * d as f64 + slot * 0.1 + column * k as f64;
                        rect x=(format!("{x:.1}")) y=(format!("{:.1}", baseline - h))
                            width=(format!("{column:.1}")) height=(format!("{h:.1}")) class=(s.class) {
                            title { (day) " · " (s.label) ": " (shown(value)) }
                        }
                    }
                }
                @for i in &ticks {
                    @let x = LEFT + slot * (*i as f64 + 0.5);
                    @let anchor = if *i == 0 { "start" } else if *i + 1 == days.len() { "end" } else { "middle" };
                    text x=(format!("{x:.1}")) y=(HEIGHT - 6.0) text-anchor=(anchor) class="axis" { (days[*i]) }
                }
            }
            figcaption {
                (title)
                @for s in series {
                    " · " span class="legend" { svg width="10" height="10" aria-hidden="true" { rect width="10" height="10" class=(s.class) {} } " " (s.label) }
                }
            }
        }
    }
}

/// One row of a [`cohort_table`]: the cohort's month, its customers, and
/// the share of them active in each month after (month 0 first).
#[derive(Clone, Debug)]
pub struct CohortLine<'a> {
    /// `YYYY-MM`.
    pub month: &'a str,
    /// Customers in the cohort.
    pub customers: u32,
    /// Shares from 0 to 1, month 0 first.
    pub retention: &'a [f64],
}

/// A retention table by monthly cohort: one row per cohort, one column per
/// month after its first, each cell the share as a whole percentage with a
/// background as dark as the share is high (so a glance finds the months
/// customers stay).
pub fn cohort_table(caption: &str, rows: &[CohortLine<'_>]) -> Markup {
    let months = rows.iter().map(|r| r.retention.len()).max().unwrap_or(0);
    html! {
        div.table-wrap {
            table.cohorts {
                caption { (caption) }
                thead {
                    tr {
                        th scope="col" { "First purchase" }
                        th scope="col" { "Customers" }
                        @for k in 0..months { th scope="col" { "Month " (k) } }
                    }
                }
                tbody {
                    @for row in rows {
                        tr {
                            th scope="row" { (row.month) }
                            td.num { (row.customers) }
                            @for k in 0..months {
                                @match row.retention.get(k) {
                                    Some(share) => {
                                        @let share = share.clamp(0.0, 1.0);
                                        td.num style=(format!("background: rgba(31, 94, 200, {:.2}); color: {}", share * 0.85, if share > 0.5 { "#fff" } else { "inherit" })) {
                                            (format!("{:.0}%", share * 100.0))
                                        }
                                    }
                                    None => { td {} }
                                }
                            }
                        }
                    }
                }
            }
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

    #[test]
    fn columns_scale_to_the_largest_value_of_any_series_and_name_the_days() {
        let days: Vec<String> = ["2026-03-01", "2026-03-02", "2026-03-03"]
            .map(String::from)
            .to_vec();
        let svg = columns(
            "Points",
            &days,
            &[
                Series {
                    label: "Issued",
                    class: "bar",
                    values: vec![10.0, 0.0, 40.0],
                },
                Series {
                    label: "Redeemed",
                    class: "bar alt",
                    values: vec![20.0],
                },
            ],
            |v| format!("{v}"),
        )
        .into_string();
        // Plot height is 200 - 14 - 22 = 164: 40 is full height, 20 half, 10 a quarter.
        assert!(svg.contains(r#"height="164.0""#), "{svg}");
        assert!(svg.contains(r#"height="82.0""#), "{svg}");
        assert!(svg.contains(r#"height="41.0""#), "{svg}");
        for day in &days {
            assert!(svg.contains(day.as_str()), "{day} missing: {svg}");
        }
        assert!(svg.contains("Issued: 50; Redeemed: 20"), "{svg}");
        assert!(svg.contains("2026-03-03 · Issued: 40"), "{svg}");
    }

    #[test]
    fn cohort_cells_are_percentages_and_short_rows_leave_cells_empty() {
        let html = cohort_table(
            "Retention",
            &[
                CohortLine {
                    month: "2026-01",
                    customers: 3,
                    retention: &[1.0, 2.0 / 3.0],
                },
                CohortLine {
                    month: "2026-02",
                    customers: 1,
                    retention: &[1.0],
                },
            ],
        )
        .into_string();
        assert!(html.contains("Month 1"), "{html}");
        assert!(!html.contains("Month 2"), "{html}");
        assert!(html.contains(">67%<"), "{html}");
        assert_eq!(html.matches(">100%<").count(), 2, "{html}");
        assert!(html.contains("<td></td>"), "{html}");
    }
}
