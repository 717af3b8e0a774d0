//! The memory-over-time chart (PNG).

use anyhow::{anyhow, Context};
use plotters::prelude::*;

use crate::judge::Sample;

/// Draws resident memory, live heap, active tasks and stored results over time.
pub(crate) fn draw(
    samples: &[Sample],
    path: &std::path::Path,
    slope_pct: f64,
) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let font = [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
    ]
    .iter()
    .find_map(|p| std::fs::read(p).ok());
    let Some(font) = font else {
        println!("no DejaVuSans.ttf found: skipping the chart (apt-get install fonts-dejavu-core)");
        return Ok(());
    };
    let font: &'static [u8] = Box::leak(font.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, font)
        .map_err(|_| anyhow!("could not load the chart font"))?;
    let t_max = samples.last().map_or(1.0, |s| s.t).max(1.0);
    let rss_max = samples.iter().map(|s| s.rss_mib).fold(1.0, f64::max) * 1.2;
    let count_max = samples
        .iter()
        .map(|s| (s.active + s.stored) as f64)
        .fold(1.0, f64::max)
        * 1.2;
    let root = BitMapBackend::new(path, (1200, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("Soak: memory over time (RSS slope after warm-up {slope_pct:+.2} %/min)"),
            ("sans-serif", 24),
        )
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .right_y_label_area_size(70)
        .build_cartesian_2d(0f64..t_max, 0f64..rss_max)
        .map_err(|e| anyhow!("{e}"))?
        .set_secondary_coord(0f64..t_max, 0f64..count_max);
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc("MiB")
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_secondary_axes()
        .y_desc("tasks")
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .draw_series(LineSeries::new(
            samples.iter().map(|s| (s.t, s.rss_mib)),
            RED.stroke_width(2),
        ))
        .map_err(|e| anyhow!("{e}"))?
        .label("RSS (MiB)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    chart
        .draw_series(LineSeries::new(
            samples.iter().map(|s| (s.t, s.heap_mib)),
            MAGENTA.stroke_width(2),
        ))
        .map_err(|e| anyhow!("{e}"))?
        .label("live heap (MiB)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], MAGENTA));
    chart
        .draw_secondary_series(LineSeries::new(
            samples.iter().map(|s| (s.t, s.active as f64)),
            BLUE,
        ))
        .map_err(|e| anyhow!("{e}"))?
        .label("active tasks")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    chart
        .draw_secondary_series(LineSeries::new(
            samples.iter().map(|s| (s.t, s.stored as f64)),
            GREEN,
        ))
        .map_err(|e| anyhow!("{e}"))?
        .label("stored results")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}
