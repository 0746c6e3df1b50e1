//! Line charts as inline SVG for the analysis pages: series of points (solid or dashed, or a
//! shaded band between two), axes with rounded ticks and the readers' number format, a title for
//! screen readers. Drawn on the server, so a chart works offline and prints; the numbers are
//! always in a table beside it.

use std::fmt::Write;

/// One line of a chart.
pub struct Series {
    /// Points in x order; a `None` y breaks the line (a censored or empty month).
    pub points: Vec<(f64, Option<f64>)>,
    /// CSS class (`series-a`, `limit`, `bound`): the stylesheet gives the colour.
    pub class: &'static str,
    pub dashed: bool,
    /// Dots on the points (for sparse data).
    pub dots: bool,
    /// A line through the points; without it only the dots (a scatter).
    pub join: bool,
}

/// A chart's frame: size, axis labels, the title read out for it.
pub struct Frame<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    /// Formats a tick value for the reader.
    pub fmt: &'a dyn Fn(f64) -> String,
    /// Formats the x axis's ticks, when not as `fmt`.
    pub x_fmt: Option<&'a dyn Fn(f64) -> String>,
}

const W: f64 = 640.0;
const H: f64 = 300.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;

/// Ticks at 1, 2 or 5 × 10ⁿ covering `lo..=hi`, about `n` of them.
fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = (hi - lo).max(f64::EPSILON);
    let raw = span / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= n as f64)
        .unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 && out.len() < 50 {
        out.push(t);
        t += step;
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The chart as an `<svg>` element.
pub fn line_chart(frame: &Frame<'_>, series: &[Series]) -> String {
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let ys = series
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|p| p.1));
    let (x0, x1) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    let (ylo, y1) = ys.fold((0.0_f64, 0.0_f64), |(lo, hi), y| (lo.min(y), hi.max(y)));
    let y0 = if ylo < 0.0 { ylo * 1.05 } else { 0.0 };
    let (x0, x1) = if x0 > x1 {
        (0.0, 1.0)
    } else {
        (x0, x1.max(x0 + 1.0))
    };
    let y1 = if y1 <= 0.0 { 1.0 } else { y1 * 1.05 };
    let px = |x: f64| LEFT + (x - x0) / (x1 - x0) * (W - LEFT - RIGHT);
    let py = |y: f64| TOP + (1.0 - (y - y0) / (y1 - y0)) * (H - TOP - BOTTOM);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        esc(frame.title),
        esc(frame.title)
    );
    for t in ticks(y0, y1, 5) {
        let y = py(t);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            esc(&(frame.fmt)(t))
        );
    }
    for t in ticks(x0, x1, 8) {
        let x = px(t);
        let _ = write!(
            s,
            r#"<line class="axis" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}"/><text class="tick" x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            H - BOTTOM,
            H - BOTTOM + 4.0,
            H - BOTTOM + 18.0,
            esc(&(frame.x_fmt.unwrap_or(frame.fmt))(t))
        );
    }
    let _ = write!(
        s,
        r#"<line class="axis" x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/><line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{:.1}"/>"#,
        H - BOTTOM,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM
    );
    let _ = write!(
        s,
        r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text class="label" x="14" y="{:.1}" text-anchor="middle" transform="rotate(-90 14 {:.1})">{}</text>"#,
        LEFT + (W - LEFT - RIGHT) / 2.0,
        H - 6.0,
        esc(frame.x_label),
        TOP + (H - TOP - BOTTOM) / 2.0,
        TOP + (H - TOP - BOTTOM) / 2.0,
        esc(frame.y_label)
    );
    for line in series {
        let mut d = String::new();
        let mut pen_up = true;
        for (x, y) in &line.points {
            match y {
                Some(y) => {
                    let _ = write!(
                        d,
                        "{}{:.1},{:.1} ",
                        if pen_up { "M" } else { "L" },
                        px(*x),
                        py(*y)
                    );
                    pen_up = false;
                }
                None => pen_up = true,
            }
        }
        if line.join {
            let _ = write!(
                s,
                r#"<path class="series {}" d="{}" fill="none"{}/>"#,
                line.class,
                d.trim_end(),
                if line.dashed {
                    r#" stroke-dasharray="5 4""#
                } else {
                    ""
                }
            );
        }
        if line.dots {
            for (x, y) in &line.points {
                if let Some(y) = y {
                    let _ = write!(
                        s,
                        r#"<circle class="dot {}" cx="{:.1}" cy="{:.1}" r="3"/>"#,
                        line.class,
                        px(*x),
                        py(*y)
                    );
                }
            }
        }
    }
    s += "</svg>";
    s
}

/// One bar: its label, value and CSS class (`green`, `amber`, `red`, or `bar`).
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub class: &'static str,
}

/// Horizontal bars (a breakdown), labels on the left, each value at its bar's end, a marker line
/// at `mark` (the target) when given. Negative values (a margin) draw leftwards from zero.
pub fn bar_chart(
    title: &str,
    bars: &[Bar],
    mark: Option<f64>,
    fmt: &dyn Fn(f64) -> String,
) -> String {
    const ROW: f64 = 26.0;
    const LABEL: f64 = 200.0;
    const VALUE: f64 = 110.0;
    let h = TOP + ROW * bars.len().max(1) as f64 + 8.0;
    let lo = bars
        .iter()
        .map(|b| b.value)
        .chain(mark)
        .fold(0.0_f64, f64::min);
    let hi = bars
        .iter()
        .map(|b| b.value)
        .chain(mark)
        .fold(0.0_f64, f64::max);
    let span = if hi - lo <= 0.0 { 1.0 } else { hi - lo };
    let plot = W - LABEL - VALUE;
    let px = |v: f64| LABEL + (v - lo) / span * plot;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart bars" viewBox="0 0 {W} {h:.0}" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = esc(title)
    );
    for (i, b) in bars.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let (x0, x1) = if b.value >= 0.0 {
            (px(0.0), px(b.value))
        } else {
            (px(b.value), px(0.0))
        };
        let label: String = b.label.chars().take(28).collect();
        let _ = write!(
            s,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text><rect class="bar {}" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"/><text class="tick" x="{:.1}" y="{:.1}">{}</text>"#,
            LABEL - 8.0,
            y + ROW * 0.65,
            esc(&label),
            b.class,
            x0,
            y + 4.0,
            (x1 - x0).max(1.0),
            ROW - 8.0,
            x1.max(px(0.0)) + 6.0,
            y + ROW * 0.65,
            esc(&fmt(b.value))
        );
    }
    if let Some(m) = mark {
        let _ = write!(
            s,
            r#"<line class="limit" x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}" stroke-dasharray="5 4"/>"#,
            TOP - 4.0,
            h - 4.0,
            x = px(m)
        );
    }
    s += "</svg>";
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(0.0, 48.0, 8), vec![0.0, 10.0, 20.0, 30.0, 40.0]);
        assert!(ticks(0.0, 0.37, 5).iter().all(|t| *t <= 0.37 + 1e-12));
    }

    #[test]
    fn a_chart_has_its_title_axes_and_a_broken_line_where_a_value_is_missing() {
        let fmt = |v: f64| format!("{v}");
        let svg = line_chart(
            &Frame {
                title: "C/1000 <by> month",
                x_label: "Month",
                y_label: "Claims",
                fmt: &fmt,
                x_fmt: None,
            },
            &[Series {
                points: vec![(1.0, Some(2.0)), (2.0, None), (3.0, Some(4.0))],
                class: "series-a",
                dashed: false,
                dots: true,
                join: true,
            }],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title>C/1000 &lt;by&gt; month</title>"));
        assert_eq!(svg.matches(" M").count() + svg.matches("\"M").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 2);
    }

    #[test]
    fn bars_start_at_zero_and_carry_their_class() {
        let fmt = |v: f64| format!("{v}");
        let bars = [
            Bar {
                label: "Lisboa".into(),
                value: 80.0,
                class: "green",
            },
            Bar {
                label: "Porto".into(),
                value: -20.0,
                class: "red",
            },
        ];
        let svg = bar_chart("Margin", &bars, Some(50.0), &fmt);
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("bar green") && svg.contains("bar red"));
        assert!(svg.contains("<line class=\"limit\""));
    }
}
