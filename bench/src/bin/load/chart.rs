//! The latency-monkey chart: throughput second by second per target, as a plain SVG (a few lines
//! of markup; no plotting crate needed), with the slow phase shaded.

/// An SVG of `series` (target, requests per second for each second); the dependency was slow for
/// `slow` seconds from second `from`.
pub fn throughput(series: &[(String, Vec<f64>)], from: u64, slow: u64) -> String {
    let phase = from;
    let (width, height, margin) = (720.0, 320.0, 48.0);
    let seconds = series.iter().map(|(_, s)| s.len()).max().unwrap_or(1).max(2) as f64;
    let top = series.iter().flat_map(|(_, s)| s.iter().copied()).fold(1.0_f64, f64::max) * 1.1;
    let x = |i: f64| margin + i * (width - 2.0 * margin) / (seconds - 1.0);
    let y = |v: f64| height - margin - v * (height - 2.0 * margin) / top;
    let colours = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"];
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <rect x=\"{:.1}\" y=\"{margin}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#fde0dd\"/>\n\
         <text x=\"{:.1}\" y=\"{:.1}\">ratings +2 s</text>\n\
         <text x=\"{margin}\" y=\"20\">requests per second, second by second (latency monkey)</text>\n\
         <line x1=\"{margin}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"black\"/>\n\
         <text x=\"4\" y=\"{:.1}\">{:.0}</text><text x=\"4\" y=\"{:.1}\">0</text>\n",
        x(phase as f64),
        x((phase + slow) as f64) - x(phase as f64),
        height - 2.0 * margin,
        x(phase as f64) + 4.0,
        margin + 14.0,
        height - margin,
        width - margin,
        height - margin,
        y(top / 1.1) + 4.0,
        top / 1.1,
        height - margin,
    );
    for (i, (name, values)) in series.iter().enumerate() {
        let colour = colours[i % colours.len()];
        let points: Vec<String> =
            values.iter().enumerate().map(|(s, v)| format!("{:.1},{:.1}", x(s as f64), y(*v))).collect();
        svg.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>\n<text x=\"{:.1}\" y=\"{:.1}\" fill=\"{colour}\">{name}</text>\n",
            points.join(" "),
            width - margin - 120.0,
            margin + 16.0 * (i as f64 + 1.0),
        ));
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_target_and_the_slow_phase_shaded() {
        let svg = throughput(&[("a".into(), vec![10.0, 12.0, 1.0, 11.0]), ("b".into(), vec![5.0; 4])], 1, 1);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("ratings +2 s") && svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
    }
}
