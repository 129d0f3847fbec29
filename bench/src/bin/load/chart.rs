//! The charts, as plain SVG (a few lines of markup; no plotting crate needed): the latency
//! monkey's throughput second by second per target, with the slow phase shaded, and the soak's
//! resident memory and open file descriptors over time.

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

/// The soak's chart: one panel per series (its title and `(second, value)` points), stacked, each
/// from zero, with the warm-up shaded grey and the two windows the verdict compares shaded blue.
pub fn over_time(panels: &[(String, Vec<(f64, f64)>)], warmup: f64, windows: [(f64, f64); 2]) -> String {
    let (width, panel, margin) = (720.0, 220.0, 48.0);
    let height = panel * panels.len() as f64;
    let end = panels.iter().flat_map(|(_, p)| p.last().map(|(t, _)| *t)).fold(1.0_f64, f64::max);
    let x = |t: f64| margin + t * (width - 2.0 * margin) / end;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for (k, (title, points)) in panels.iter().enumerate() {
        let (top_y, bottom) = (k as f64 * panel + margin, (k + 1) as f64 * panel - margin / 2.0);
        let top = points.iter().map(|(_, v)| *v).fold(1.0_f64, f64::max) * 1.1;
        let y = |v: f64| bottom - v * (bottom - top_y) / top;
        let shade = |from: f64, to: f64, colour: &str| {
            format!(
                "<rect x=\"{:.1}\" y=\"{top_y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\"/>\n",
                x(from),
                (x(to) - x(from)).max(0.0),
                bottom - top_y
            )
        };
        svg.push_str(&shade(0.0, warmup, "#e8e8e8"));
        for (from, to) in windows {
            svg.push_str(&shade(from, to, "#dbe9f6"));
            svg.push_str(&format!("<text x=\"{:.1}\" y=\"{:.1}\">compared</text>\n", x(from) + 4.0, top_y + 28.0));
        }
        let line: Vec<String> = points.iter().map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v))).collect();
        svg.push_str(&format!(
            "<text x=\"{margin}\" y=\"{:.1}\">{title}</text>\n\
             <line x1=\"{margin}\" y1=\"{bottom:.1}\" x2=\"{:.1}\" y2=\"{bottom:.1}\" stroke=\"black\"/>\n\
             <text x=\"4\" y=\"{:.1}\">{:.0}</text><text x=\"4\" y=\"{bottom:.1}\">0</text>\n\
             <text x=\"{:.1}\" y=\"{:.1}\">{end:.0} s</text><text x=\"{:.1}\" y=\"{:.1}\">warm-up</text>\n\
             <polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\" points=\"{}\"/>\n",
            top_y - 8.0,
            width - margin,
            y(top / 1.1) + 4.0,
            top / 1.1,
            width - margin - 30.0,
            bottom + 14.0,
            margin + 4.0,
            top_y + 14.0,
            line.join(" "),
        ));
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_panel_per_series_with_the_warm_up_and_both_windows_shaded() {
        let rss = ("RSS MiB".to_owned(), vec![(1.0, 40.0), (2.0, 41.0), (3.0, 41.0)]);
        let fds = ("open fds".to_owned(), vec![(1.0, 90.0), (2.0, 91.0), (3.0, 90.0)]);
        let svg = over_time(&[rss, fds], 1.0, [(1.0, 2.0), (2.0, 3.0)]);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("fill=\"#dbe9f6\"").count(), 4);
        assert!(svg.contains("RSS MiB") && svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
    }

    #[test]
    fn one_line_per_target_and_the_slow_phase_shaded() {
        let svg = throughput(&[("a".into(), vec![10.0, 12.0, 1.0, 11.0]), ("b".into(), vec![5.0; 4])], 1, 1);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("ratings +2 s") && svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
    }
}
