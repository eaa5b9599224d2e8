//! The run's pictures, one SVG file of three charts: objects Ready over time per kind while
//! converging, AWS calls per second over the phases, and the controller's RSS over time.

use std::fmt::Write as _;

/// One line of a chart: its name, colour and points (x, y).
pub struct Series {
    pub name: String,
    pub color: &'static str,
    pub points: Vec<(f64, f64)>,
}

/// One chart: a title, axis names and lines; `marks` are labelled vertical lines (phase starts).
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    pub marks: Vec<(f64, String)>,
}

pub const COLORS: &[&str] = &["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 150.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 40.0;

/// A round step for an axis spanning `max` with about five ticks.
fn step(max: f64) -> f64 {
    let raw = (max / 5.0).max(1e-9);
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The charts stacked in one SVG document.
pub fn render(title: &str, charts: &[Chart]) -> String {
    let total = 30.0 + charts.len() as f64 * HEIGHT;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{total}" viewBox="0 0 {WIDTH} {total}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = write!(
        svg,
        r#"<text x="{}" y="20" font-size="12" font-weight="bold">{}</text>"#,
        LEFT,
        escape(title)
    );
    for (i, chart) in charts.iter().enumerate() {
        chart_at(&mut svg, chart, 30.0 + i as f64 * HEIGHT);
    }
    svg.push_str("</svg>\n");
    svg
}

fn chart_at(svg: &mut String, c: &Chart, y0: f64) {
    let points = c.series.iter().flat_map(|s| s.points.iter());
    let (x_max, y_max) = points.fold((0.0f64, 0.0f64), |(x, y), (px, py)| (x.max(*px), y.max(*py)));
    let x_max = c.marks.iter().map(|(x, _)| *x).fold(x_max, f64::max).max(1e-9);
    let (x_step, y_step) = (step(x_max), step(y_max.max(1e-9)));
    let (x_top, y_top) = (
        (x_max / x_step).ceil() * x_step,
        (y_max.max(1e-9) / y_step).ceil() * y_step,
    );
    let (w, h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let px = |x: f64| LEFT + x / x_top * w;
    let py = |y: f64| y0 + TOP + h - y / y_top * h;
    let _ = write!(
        svg,
        r#"<text x="{LEFT}" y="{}" font-size="12" font-weight="bold">{}</text>"#,
        y0 + TOP - 10.0,
        escape(&c.title)
    );
    // Grid and ticks.
    let mut y = 0.0;
    while y <= y_top + 1e-9 {
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{0}" y1="{1}" y2="{1}" stroke="#ddd"/><text x="{2}" y="{3}" text-anchor="end">{4}</text>"##,
            LEFT + w,
            py(y),
            LEFT - 4.0,
            py(y) + 4.0,
            trim(y)
        );
        y += y_step;
    }
    let mut x = 0.0;
    while x <= x_top + 1e-9 {
        let _ = write!(
            svg,
            r##"<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="#eee"/><text x="{0}" y="{3}" text-anchor="middle">{4}</text>"##,
            px(x),
            y0 + TOP,
            y0 + TOP + h,
            y0 + TOP + h + 14.0,
            trim(x)
        );
        x += x_step;
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        LEFT + w / 2.0,
        y0 + TOP + h + 30.0,
        escape(&c.x_label)
    );
    let _ = write!(
        svg,
        r#"<text transform="translate({},{}) rotate(-90)" text-anchor="middle">{}</text>"#,
        LEFT - 44.0,
        y0 + TOP + h / 2.0,
        escape(&c.y_label)
    );
    for (i, (x, label)) in c.marks.iter().enumerate() {
        // Labels on three staggered rows, so that phases close together stay readable.
        let _ = write!(
            svg,
            r##"<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="#999" stroke-dasharray="4 3"/><text x="{3}" y="{4}" fill="#555" font-size="10">{5}</text>"##,
            px(*x),
            y0 + TOP,
            y0 + TOP + h,
            px(*x) + 3.0,
            y0 + TOP + 10.0 + (i % 3) as f64 * 11.0,
            escape(label)
        );
    }
    for (i, s) in c.series.iter().enumerate() {
        let path: Vec<String> = s
            .points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        if !path.is_empty() {
            let _ = write!(
                svg,
                r#"<polyline fill="none" stroke="{}" stroke-width="1.6" points="{}"/>"#,
                s.color,
                path.join(" ")
            );
        }
        let ly = y0 + TOP + 12.0 + i as f64 * 16.0;
        let _ = write!(
            svg,
            r#"<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="{3}" stroke-width="3"/><text x="{4}" y="{5}">{6}</text>"#,
            LEFT + w + 10.0,
            LEFT + w + 28.0,
            ly,
            s.color,
            LEFT + w + 32.0,
            ly + 4.0,
            escape(&s.name)
        );
    }
}

fn trim(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round())
    } else {
        format!("{v:.1}")
    }
}

/// Cumulative counts over time from sorted event times: a step line from 0 to the last.
pub fn cumulative(times: &[f64]) -> Vec<(f64, f64)> {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut points = vec![(0.0, 0.0)];
    for (i, t) in sorted.iter().enumerate() {
        points.push((*t, i as f64));
        points.push((*t, (i + 1) as f64));
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(step(100.0), 20.0);
        assert_eq!(step(7.0), 2.0);
        assert_eq!(step(0.9), 0.2);
    }

    #[test]
    fn cumulative_counts_step_up_at_each_time() {
        assert_eq!(
            cumulative(&[2.0, 1.0]),
            [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (2.0, 1.0), (2.0, 2.0)]
        );
    }
}
