//! Bar charts as inline SVG, drawn on the server so the auditor views need no JavaScript.
//! Every chart sits next to a table of the same figures (screen readers and copy-paste), has a
//! `role="img"` with a title, and tells its series apart by a labelled legend, not colour alone
//! (each series also has its own hatching-free shade, all at ≥ 3:1 against white).

use std::fmt::Write as _;

use super::i18n::{Lang, escape};

/// Colours of the series (requests, acknowledged, answered, declined, overdue).
pub const SERIES_COLOURS: [&str; 5] = ["#0b4f8a", "#5b3f99", "#1d5e20", "#7a5a00", "#a10000"];

/// A grouped bar chart: one group per label, one bar per series.
pub fn grouped_bars(
    lang: Lang,
    title: &str,
    series: &[String],
    groups: &[(String, Vec<u64>)],
) -> String {
    let n_series = series.len().max(1);
    let bar = 14.0_f64;
    let gap = 18.0_f64;
    let longest = groups
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0) as f64;
    let group_w = (bar * n_series as f64 + gap).max(longest * 6.5 + 12.0);
    let left = 48.0;
    let top = 36.0;
    let plot_h = 180.0;
    let width = (left + group_w * groups.len() as f64 + 20.0).max(360.0);
    let height = top + plot_h + 30.0;
    let max = groups
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let ticks = nice_ticks(max);
    let top_value = *ticks.last().unwrap_or(&1) as f64;
    let y = |v: f64| top + plot_h - v / top_value * plot_h;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" viewBox=\"0 0 {width:.0} {height:.0}\" \
         width=\"{width:.0}\" height=\"{height:.0}\" aria-label=\"{}\"><title>{}</title>",
        escape(title),
        escape(title)
    );
    for t in &ticks {
        let ty = y(*t as f64);
        let _ = write!(
            s,
            "<line x1=\"{left}\" x2=\"{width:.0}\" y1=\"{ty:.1}\" y2=\"{ty:.1}\" stroke=\"#c4c4c4\"/>\
             <text x=\"{:.0}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#1a1a1a\">{}</text>",
            left - 6.0,
            ty + 4.0,
            escape(&lang.number(*t))
        );
    }
    for (gi, (label, values)) in groups.iter().enumerate() {
        let gx = left + 10.0 + gi as f64 * group_w;
        for (si, v) in values.iter().enumerate() {
            let x = gx + si as f64 * bar;
            let h = *v as f64 / top_value * plot_h;
            let colour = SERIES_COLOURS[si % SERIES_COLOURS.len()];
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{colour}\">\
                 <title>{} · {}: {}</title></rect>",
                y(*v as f64),
                bar - 2.0,
                escape(label),
                escape(series.get(si).map_or("", String::as_str)),
                escape(&lang.number(*v))
            );
        }
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1a1a1a\">{}</text>",
            gx + bar * n_series as f64 / 2.0,
            top + plot_h + 16.0,
            escape(label)
        );
    }
    s.push_str("</svg>");
    // The legend is HTML, so that it follows the page's direction and wraps.
    s.push_str("<ul class=\"legend\">");
    for (si, name) in series.iter().enumerate() {
        let colour = SERIES_COLOURS[si % SERIES_COLOURS.len()];
        let _ = write!(
            s,
            "<li><svg width=\"12\" height=\"12\" aria-hidden=\"true\"><rect width=\"12\" height=\"12\" fill=\"{colour}\"/></svg> {}</li>",
            escape(name)
        );
    }
    s.push_str("</ul>");
    s
}

/// A round scale: 0 and up to five ticks ending at or above `max`.
fn nice_ticks(max: u64) -> Vec<u64> {
    let mut step = 1;
    for s in [
        1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000,
    ] {
        step = s;
        if max.div_ceil(s) <= 5 {
            break;
        }
    }
    while max.div_ceil(step) > 5 {
        step *= 10;
    }
    (0..=max.div_ceil(step)).map(|i| i * step).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bars_are_scaled_and_labelled() {
        let svg = grouped_bars(
            Lang::En,
            "t <&>",
            &["a".into(), "b".into()],
            &[("2021-07".into(), vec![4, 2])],
        );
        assert!(svg.contains("t &lt;&amp;&gt;"));
        assert!(svg.contains("2021-07 · a: 4"));
        assert!(svg.contains("2021-07 · b: 2"));
        assert_eq!(nice_ticks(4), vec![0, 1, 2, 3, 4]);
        assert_eq!(nice_ticks(7), vec![0, 2, 4, 6, 8]);
        assert_eq!(nice_ticks(12_345).last().copied(), Some(15_000));
    }
}
