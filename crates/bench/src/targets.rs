//! The targets, each checked against the measured rows with a verdict.

use std::fmt::Write as _;

use super::orchestrate::Spec;
use super::report::{fmt_ms, fmt_ratio, fmt_scaling, scaling, workload, Row};
use super::workload::Invalid;
use super::Impl;

/// The headline workload's operators and tasks in flight.
const OPS: usize = 100;
/// See [`OPS`].
const INFLIGHT: usize = 100;
/// Tasks in flight of the paced latency target.
const PACED_INFLIGHT: usize = 10_000;

/// A throughput target: Quorate in `mode` at least `min`× eigensdk on the 100 × 100 workload
/// with the invalid pattern `invalid`.
struct Ratio {
    /// Invalid signatures in the workload.
    invalid: Invalid,
    /// Quorate's mode.
    mode: Impl,
    /// Least ratio to eigensdk's throughput per core.
    min: f64,
}

/// The throughput targets, in the order of the table.
const RATIOS: [Ratio; 7] = [
    Ratio {
        invalid: Invalid::FixedOperators(1),
        mode: Impl::Optimistic,
        min: 50.0,
    },
    Ratio {
        invalid: Invalid::FixedOperators(1),
        mode: Impl::Eager,
        min: 20.0,
    },
    Ratio {
        invalid: Invalid::FixedOperators(5),
        mode: Impl::Optimistic,
        min: 30.0,
    },
    Ratio {
        invalid: Invalid::RandomPermille(50),
        mode: Impl::Optimistic,
        min: 10.0,
    },
    Ratio {
        invalid: Invalid::RandomPermille(50),
        mode: Impl::Eager,
        min: 10.0,
    },
    Ratio {
        invalid: Invalid::None,
        mode: Impl::Eager,
        min: 50.0,
    },
    Ratio {
        invalid: Invalid::None,
        mode: Impl::Optimistic,
        min: 300.0,
    },
];

/// Two-core throughput ÷ one-core throughput, at least.
const SCALING_MIN: f64 = 1.8;

fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "**holds**",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

/// The Markdown table of the targets.
pub fn targets(rows: &[Row]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "Throughput ratios are Quorate's signatures settled per core-second ÷ eigensdk-rs's on \
         the same workload in the same run (the throughput table below); with invalid signatures \
         a target also requires every invalid signature to be rejected.\n"
    );
    let _ = writeln!(
        t,
        "| target | mode | measured | verdict |\n|---|---|---|---|"
    );
    for target in &RATIOS {
        let spec = Spec {
            ops: OPS,
            inflight: INFLIGHT,
            invalid: target.invalid,
            quorums: 1,
            paced: 0,
            cores: 1,
        };
        let row = rows.iter().find(|r| r.spec == spec);
        let ratio = row.and_then(|r| r.ratio(target.mode));
        let stats = row.and_then(|r| r.per.get(&target.mode));
        let mut measured = fmt_ratio(ratio);
        let mut all_rejected = Some(true);
        if target.invalid != Invalid::None {
            let _ = write!(
                measured,
                "; {} of {} invalid rejected",
                stats.map_or(0, |s| s.invalid_rejected),
                stats.map_or(0, |s| s.invalid)
            );
            all_rejected = stats.map(|s| s.invalid_rejected == s.invalid && s.violations == 0);
        }
        let _ = writeln!(
            t,
            "| {}: ≥ {}× eigensdk | {} | {measured} | {} |",
            workload(&spec),
            target.min,
            target.mode.label(),
            verdict(ratio.zip(all_rejected).map(|(r, ok)| r >= target.min && ok))
        );
    }
    // The paced run: 10 000 in flight in the full run, 100 in the small ones (whose figure is
    // shown but does not decide the target).
    let paced = rows.iter().find(|r| r.spec.paced == 2 && r.spec.cores == 1);
    let s = paced.and_then(|r| r.per.get(&Impl::Optimistic));
    let (lat, bound) = (
        s.and_then(|s| s.p99),
        s.map(|s| 2.0 * s.pairing_us / 1000.0),
    );
    let mut measured = format!("p99 {} ms vs bound {} ms", fmt_ms(lat), fmt_ms(bound),);
    if let Some(r) = paced {
        let _ = write!(
            measured,
            " ({}, offered {:.0} sig/s)",
            workload(&r.spec),
            s.and_then(|s| s.rate).unwrap_or(0.0)
        );
    }
    let decides = paced.is_some_and(|r| r.spec.ops == OPS && r.spec.inflight == PACED_INFLIGHT);
    let _ = writeln!(
        t,
        "| {OPS} ops × {PACED_INFLIGHT} in flight at ½ max throughput: p99 ≤ 2 × one 2-pairing check | {} | {measured} | {} |",
        Impl::Optimistic.label(),
        verdict(
            lat.zip(bound)
                .filter(|_| decides)
                .map(|(l, b)| l <= b)
        )
    );
    let sc = scaling(rows);
    for mode in [Impl::Optimistic, Impl::Eager] {
        let found = sc.iter().find(|(imp, _, _)| *imp == mode);
        let ratio = found.and_then(|(_, one, two)| (*one > 0.0).then(|| two / one));
        let measured = found.map_or("n/a".into(), |(_, one, two)| {
            format!("{} ({one:.0} → {two:.0} sig/s)", fmt_scaling(ratio))
        });
        let _ = writeln!(
            t,
            "| two cores vs one ({OPS} ops × {INFLIGHT} in flight): ≥ {SCALING_MIN}× Quorate throughput | {} | {measured} | {} |",
            mode.label(),
            verdict(ratio.map(|r| r >= SCALING_MIN))
        );
    }
    t
}
