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
        .draw_series(
            Histogram::vertical(&chart)
                .style(RGBColor(52, 101, 164).filled())
                .margin(3)
                .data(bars.iter().enumerate().map(|(i, b)| (i as u32, b.value))),
        )
        .map_err(draw)?;
    root.present().map_err(draw)?;
    Ok(())
}
