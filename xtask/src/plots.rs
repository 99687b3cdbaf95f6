//! The benchmarks' plots: line charts written as SVG by `plotters`, one series per kind
//! of run, against the number of cVMs or against time.

use std::path::Path;

use plotters::prelude::*;

/// One line: its name and its points (across, up).
pub type Series<'a> = (&'a str, Vec<(f64, f64)>);

/// Whether a chart's points are marked (few points) or only joined (many).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Points {
    Marked,
    Joined,
}

/// Colours of the series, in order.
const COLOURS: [RGBColor; 8] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
];

/// Writes a line chart of `series` to `file` (SVG): `title` above, `across` and `unit`
/// naming the axes.
pub fn line_chart(
    file: &Path,
    title: &str,
    across: &str,
    unit: &str,
    series: &[Series<'_>],
    marks: Points,
) -> Result<(), String> {
    let failed = |error: &dyn std::fmt::Display| format!("cannot plot {}: {error}", file.display());
    let widest = series.iter().flat_map(|(_, points)| points.iter().map(|point| point.0)).fold(1.0, f64::max);
    let highest =
        series.iter().flat_map(|(_, points)| points.iter().map(|point| point.1)).fold(0.0, f64::max);
    let root = SVGBackend::new(file, (900, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(|error| failed(&error))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..widest * 1.05, 0.0..highest * 1.1)
        .map_err(|error| failed(&error))?;
    chart.configure_mesh().x_desc(across).y_desc(unit).draw().map_err(|error| failed(&error))?;
    for (index, (name, points)) in series.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))
            .map_err(|error| failed(&error))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        if marks == Points::Marked {
            chart
                .draw_series(points.iter().map(|&point| Circle::new(point, 3, colour.filled())))
                .map_err(|error| failed(&error))?;
        }
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
