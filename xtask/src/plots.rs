//! The benchmarks' plots: line charts written as SVG by `plotters`, one series per kind
//! of run, against the number of cVMs.

use std::path::Path;

use plotters::prelude::*;

/// One line: its name and its points (cVMs, value).
pub type Series<'a> = (&'a str, Vec<(u32, f64)>);

/// Colours of the series, in order.
const COLOURS: [RGBColor; 4] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
];

/// Writes a line chart of `series` to `file` (SVG): `title` above, the number of cVMs
/// across, `unit` up.
pub fn line_chart(file: &Path, title: &str, unit: &str, series: &[Series<'_>]) -> Result<(), String> {
    let failed = |error: &dyn std::fmt::Display| format!("cannot plot {}: {error}", file.display());
    let most_cvms =
        series.iter().flat_map(|(_, points)| points.iter().map(|point| point.0)).max().unwrap_or(1);
    let highest =
        series.iter().flat_map(|(_, points)| points.iter().map(|point| point.1)).fold(0.0, f64::max);
    let root = SVGBackend::new(file, (900, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(|error| failed(&error))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(0u32..most_cvms + most_cvms / 20 + 1, 0.0..highest * 1.1)
        .map_err(|error| failed(&error))?;
    chart
        .configure_mesh()
        .x_desc("cVMs (or native processes) at once")
        .y_desc(unit)
        .draw()
        .map_err(|error| failed(&error))?;
    for (index, (name, points)) in series.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))
            .map_err(|error| failed(&error))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        chart
            .draw_series(points.iter().map(|&point| Circle::new(point, 3, colour.filled())))
            .map_err(|error| failed(&error))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperMiddle)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|error| failed(&error))?;
    root.present().map_err(|error| failed(&error))
}
