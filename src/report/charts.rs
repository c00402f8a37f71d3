//! SVG bar charts of a report (plotters' SVG backend: no fonts or system libraries needed; the
//! text is left to the viewer's sans-serif font).

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use std::path::Path;

/// One bar: its label under the axis and its height.
pub struct Bar {
    pub label: String,
    pub value: f64,
}

/// A vertical bar chart written to `path` as SVG. `y_max` fixes the axis (e.g. 100 for
/// percentages); `None` scales it to the tallest bar.
pub fn bar_chart(path: &Path, title: &str, y_desc: &str, bars: &[Bar], y_max: Option<f64>) -> Result<()> {
    let width = (120 + 28 * bars.len() as u32).clamp(480, 1600);
    let top = y_max.unwrap_or_else(|| bars.iter().map(|b| b.value).fold(0.0, f64::max) * 1.1).max(1e-9);
    let root = SVGBackend::new(path, (width, 380)).into_drawing_area();
    let draw = |e: DrawingAreaErrorKind<_>| anyhow!("drawing {}: {e}", path.display());
    root.fill(&WHITE).map_err(draw)?;
    let n = bars.len().max(1) as u32;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(70)
        .y_label_area_size(70)
        .build_cartesian_2d((0u32..n).into_segmented(), 0f64..top)
        .map_err(draw)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_desc(y_desc)
        .x_labels(bars.len().max(1))
        .x_label_style(("sans-serif", 11).into_font().transform(FontTransform::Rotate90))
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => bars.get(*i as usize).map(|b| b.label.clone()).unwrap_or_default(),
            _ => String::new(),
        })
        .draw()
        .map_err(draw)?;
    chart
        // One rectangle per bar in bar order (plotters' Histogram sums through a HashMap, so its
        // SVG element order, not the picture, changed from run to run).
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let i = i as u32;
            let mut bar = Rectangle::new(
                [(SegmentValue::Exact(i), 0.0), (SegmentValue::Exact(i + 1), b.value)],
                RGBColor(52, 101, 164).filled(),
            );
            bar.set_margin(0, 0, 3, 3);
            bar
        }))
        .map_err(draw)?;
    root.present().map_err(draw)?;
    Ok(())
}

/// One point of a [`range_chart`]: its label on the x axis, the mean and the min / max over
/// trials.
pub struct RangePoint {
    pub label: String,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// A line through the means with min..max error bars, one point per label (e.g. accuracy per
/// bit-flip rate over trials), written to `path` as SVG with the y axis from 0 to `y_max`.
pub fn range_chart(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    points: &[RangePoint],
    y_max: f64,
) -> Result<()> {
    let root = SVGBackend::new(path, (640, 380)).into_drawing_area();
    let draw = |e: DrawingAreaErrorKind<_>| anyhow!("drawing {}: {e}", path.display());
    root.fill(&WHITE).map_err(draw)?;
    let n = points.len().max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5f64..n - 0.5, 0f64..y_max.max(1e-9))
        .map_err(draw)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_labels(points.len().max(1))
        .x_label_formatter(&|v| {
            let i = v.round();
            let near = (v - i).abs() < 1e-6 && i >= 0.0;
            near.then(|| points.get(i as usize).map(|p| p.label.clone())).flatten().unwrap_or_default()
        })
        .draw()
        .map_err(draw)?;
    let blue = RGBColor(52, 101, 164);
    chart
        .draw_series(LineSeries::new(points.iter().enumerate().map(|(i, p)| (i as f64, p.mean)), blue.stroke_width(2)))
        .map_err(draw)?;
    chart
        .draw_series(
            points
                .iter()
                .enumerate()
                .map(|(i, p)| ErrorBar::new_vertical(i as f64, p.min, p.mean, p.max, blue.filled(), 10)),
        )
        .map_err(draw)?;
    root.present().map_err(draw)?;
    Ok(())
}
