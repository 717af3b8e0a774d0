//! docs/performance.png: throughput per workload as horizontal bars (workload names on the
//! y axis, where long labels fit), log scale, one bar per implementation.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::report::{workload, Row};
use super::Impl;

/// Pixels per workload (three bars and a gap).
const ROW_PX: u32 = 54;
/// Width of the image and of the workload-label column.
const WIDTH: u32 = 1500;
/// See [`WIDTH`].
const LABEL_PX: u32 = 470;

/// Bar colour per implementation, in drawing order (top to bottom inside a workload).
const COLORS: [(Impl, RGBColor); 3] = [
    (Impl::Eigensdk, RGBColor(150, 150, 150)),
    (Impl::Eager, RGBColor(31, 119, 180)),
    (Impl::Optimistic, RGBColor(255, 127, 14)),
];

fn register_font() -> Result<()> {
    let font = [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
    ]
    .iter()
    .find_map(|p| std::fs::read(p).ok())
    .context("no DejaVuSans.ttf found (apt-get install fonts-dejavu-core)")?;
    // plotters keeps registered fonts for the life of the process.
    let font: &'static [u8] = Box::leak(font.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, font)
        .map_err(|_| anyhow!("could not load the chart font"))
}

/// Throughput per workload (saturated one-core runs), log scale, one bar per implementation.
pub fn chart(rows: &[Row], path: &Path) -> Result<()> {
    register_font()?;
    let rows: Vec<&Row> = rows
        .iter()
        .filter(|r| r.spec.paced == 0 && r.spec.cores == 1)
        .collect();
    let n = rows.len().max(1);
    let max = rows
        .iter()
        .flat_map(|r| r.per.values())
        .map(|s| s.thr)
        .fold(1.0, f64::max);
    let height = 170 + ROW_PX * n as u32;
    let root = BitMapBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    // The y range is reversed so that row 0 is drawn at the top; the x range leaves room on
    // the right for the figures at the bars' ends and the legend.
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Signatures settled per core-second (log scale; longer is faster)",
            ("sans-serif", 26),
        )
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(LABEL_PX)
        .build_cartesian_2d((10f64..max * 15.0).log_scale(), n as f64..0f64)
        .map_err(|e| anyhow!("{e}"))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .x_desc("signatures / core-second")
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    // Workload names, right-aligned next to the axis at each row's centre.
    let label_style = ("sans-serif", 17)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Right, VPos::Center));
    for (i, r) in rows.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(10.0, i as f64 + 0.5));
        root.draw(&Text::new(workload(&r.spec), (x - 10, y), &label_style))
            .map_err(|e| anyhow!("{e}"))?;
    }
    let value_style = ("sans-serif", 13)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (k, &(imp, color)) in COLORS.iter().enumerate() {
        let bar = |i: usize| {
            let y0 = i as f64 + 0.1 + k as f64 * 0.27;
            (y0, y0 + 0.25)
        };
        let bars = rows.iter().enumerate().filter_map(|(i, r)| {
            let s = r.per.get(&imp)?;
            let (y0, y1) = bar(i);
            (s.thr > 0.0).then(|| Rectangle::new([(10.0, y0), (s.thr, y1)], color.filled()))
        });
        chart
            .draw_series(bars)
            .map_err(|e| anyhow!("{e}"))?
            .label(imp.label())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled()));
        // The figure at the end of each bar.
        for (i, r) in rows.iter().enumerate() {
            let Some(s) = r.per.get(&imp).filter(|s| s.thr > 0.0) else {
                continue;
            };
            let (y0, y1) = bar(i);
            let (x, y) = chart.backend_coord(&(s.thr, (y0 + y1) / 2.0));
            let mark = if s.truncated { "†" } else { "" };
            root.draw(&Text::new(
                format!("{:.0}{mark}", s.thr),
                (x + 4, y),
                &value_style,
            ))
            .map_err(|e| anyhow!("{e}"))?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font(("sans-serif", 18))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    root.present().map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orchestrate::Spec;
    use crate::report::Stats;
    use crate::workload::Invalid;

    /// Renders synthetic rows to `QUORATE_BENCH_CHART` (run by hand to look at the layout).
    #[test]
    #[ignore = "writes a PNG; run by hand with QUORATE_BENCH_CHART=/tmp/chart.png"]
    fn renders_synthetic_rows() -> Result<()> {
        let Ok(path) = std::env::var("QUORATE_BENCH_CHART") else {
            return Ok(());
        };
        let rows: Vec<Row> = [
            (10, 1, Invalid::None),
            (1000, 100, Invalid::FixedOperators(5)),
        ]
        .into_iter()
        .map(|(ops, inflight, invalid)| Row {
            spec: Spec {
                ops,
                inflight,
                invalid,
                quorums: 2,
                paced: 0,
                cores: 1,
            },
            per: COLORS
                .iter()
                .enumerate()
                .map(|(k, (imp, _))| {
                    let thr = 500.0 * 30f64.powi(k as i32);
                    (
                        *imp,
                        Stats {
                            thr,
                            ..Stats::default()
                        },
                    )
                })
                .collect(),
        })
        .collect();
        chart(&rows, Path::new(&path))
    }
}
