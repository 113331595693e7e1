//! The load results: a Markdown table (pasted as is into BENCHMARKS.md), the Confab / Socket.IO
//! ratios of scenarios run on both, JSON, and SVG plots (latency over time, percentile curves).

use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use plotters::prelude::*;
use serde_json::{json, Value};

use super::record::Outcome;
use super::scenarios::SEND_SCENARIO;
use super::server::Target;

pub fn table(outcomes: &[Outcome]) -> String {
    let mut out = String::from(
        "| scenario | server | done / asked | per s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | ack p99 ms | server CPU (cores) | server RSS MiB | notes |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for o in outcomes {
        let notes: Vec<String> = o.notes.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} / {} | {:.0} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {:.2} | {:.1} | {} |",
            o.scenario,
            o.target.name(),
            o.recorded.received,
            o.expected,
            o.per_second(),
            o.ms(0.5),
            o.ms(0.9),
            o.ms(0.99),
            o.ms(0.999),
            o.recorded.latency.max() as f64 / 1000.0,
            o.ack_ms(0.99).map_or_else(|| "–".to_owned(), |v| format!("{v:.3}")),
            o.cpu_cores(),
            o.server_rss as f64 / 1048576.0,
            notes.join("; "),
        );
    }
    out
}

/// Confab against the baseline for every scenario run on both, then their throughput: the most
/// 1:1 sends each delivered per second at any rate asked (past its limit a server delivers
/// less, or, as the baseline does, nothing at all).
pub fn ratios(outcomes: &[Outcome]) -> String {
    let mut rows = String::new();
    for confab in outcomes.iter().filter(|o| o.target == Target::Confab) {
        let Some(base) = outcomes
            .iter()
            .find(|o| o.target == Target::Socketio && o.scenario == confab.scenario)
        else {
            continue;
        };
        let rss = base.server_rss as f64 / (confab.server_rss.max(1) as f64);
        if base.recorded.received == 0 {
            let _ = writeln!(
                rows,
                "| {} | – (the baseline delivered none) | – | – | {rss:.1} |",
                confab.scenario
            );
            continue;
        }
        let per_op = |o: &Outcome| o.server_cpu / (o.recorded.received.max(1) as f64);
        let _ = writeln!(
            rows,
            "| {} | {:.1} | {:.1} | {:.1} | {rss:.1} |",
            confab.scenario,
            confab.per_second() / base.per_second().max(1e-9),
            base.ms(0.99) / confab.ms(0.99).max(1e-9),
            per_op(base) / per_op(confab).max(1e-12),
        );
    }
    let most = |target: Target| {
        outcomes
            .iter()
            .filter(|o| o.target == target && o.scenario.starts_with(SEND_SCENARIO))
            .max_by(|a, b| a.per_second().total_cmp(&b.per_second()))
    };
    if let (Some(confab), Some(base)) = (most(Target::Confab), most(Target::Socketio)) {
        let _ = writeln!(
            rows,
            "| 1:1 sends, most delivered per second at any rate asked: {:.0} ({}) against {:.0} ({}) | {:.1} | – | – | – |",
            confab.per_second(),
            confab.scenario.trim_start_matches(SEND_SCENARIO).trim(),
            base.per_second(),
            base.scenario.trim_start_matches(SEND_SCENARIO).trim(),
            confab.per_second() / base.per_second().max(1e-9),
        );
    }
    if rows.is_empty() {
        return rows;
    }
    format!(
        "| scenario | throughput × | p99 latency ÷ | server CPU per op ÷ | server RSS ÷ |\n\
         |---|---:|---:|---:|---:|\n{rows}"
    )
}

pub fn json(outcomes: &[Outcome]) -> Value {
    let results: Vec<Value> = outcomes
        .iter()
        .map(|o| {
            json!({
                "scenario": o.scenario,
                "server": o.target.name(),
                "asked": o.expected,
                "done": o.recorded.received,
                "errors": o.recorded.errors,
                "per_s": o.per_second(),
                "p50_ms": o.ms(0.5),
                "p90_ms": o.ms(0.9),
                "p99_ms": o.ms(0.99),
                "p999_ms": o.ms(0.999),
                "max_ms": o.recorded.latency.max() as f64 / 1000.0,
                "ack_p50_ms": o.ack_ms(0.5),
                "ack_p99_ms": o.ack_ms(0.99),
                "wall_s": o.wall.as_secs_f64(),
                "server_cpu_s": o.server_cpu,
                "server_rss_bytes": o.server_rss,
                "notes": o.notes.iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "results": results })
}

fn slug(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_owned()
}

const COLORS: [RGBColor; 3] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
];

fn color(target: Target) -> RGBColor {
    match target {
        Target::Confab => COLORS[0],
        Target::Socketio => COLORS[1],
        Target::Echo => COLORS[2],
    }
}

/// Two SVGs per scenario into `dir`: latency over time (one dot per sampled delivery) and the
/// percentile curve (latency against 1 / (1 − q), log scale), every server of it on each.
pub fn plots(outcomes: &[Outcome], dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut scenarios: Vec<&str> = Vec::new();
    for o in outcomes {
        if !scenarios.contains(&o.scenario.as_str()) {
            scenarios.push(&o.scenario);
        }
    }
    let mut written = Vec::new();
    for scenario in scenarios {
        let runs: Vec<&Outcome> = outcomes.iter().filter(|o| o.scenario == scenario).collect();
        let over_time = dir.join(format!("{}-over-time.svg", slug(scenario)));
        plot_over_time(scenario, &runs, &over_time)?;
        let curve = dir.join(format!("{}-percentiles.svg", slug(scenario)));
        plot_percentiles(scenario, &runs, &curve)?;
        written.push(over_time);
        written.push(curve);
    }
    Ok(written)
}

fn plot_over_time(title: &str, runs: &[&Outcome], path: &Path) -> Result<()> {
    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let t_max = runs
        .iter()
        .flat_map(|o| o.recorded.series.iter().map(|p| p.0))
        .fold(1.0f64, f64::max);
    let y_max = runs
        .iter()
        .flat_map(|o| o.recorded.series.iter().map(|p| p.1))
        .fold(1.0f64, f64::max)
        .max(0.001);
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("{title}: latency over time"), ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..t_max * 1.02, (0.001f64..y_max * 1.5).log_scale())
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("seconds since start")
        .y_desc("latency (ms)")
        .draw()
        .map_err(plot_error)?;
    for o in runs {
        let c = color(o.target);
        chart
            .draw_series(
                o.recorded
                    .series
                    .iter()
                    .map(|&(t, ms)| Circle::new((t, ms.max(0.001)), 1, c.filled())),
            )
            .map_err(plot_error)?
            .label(o.target.name())
            .legend(move |(x, y)| Circle::new((x, y), 4, c.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)?;
    root.present().map_err(plot_error)?;
    Ok(())
}

fn plot_percentiles(title: &str, runs: &[&Outcome], path: &Path) -> Result<()> {
    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    // x = 1 / (1 - q): 2 is the median, 100 is p99, 1000 is p99.9.
    let quantiles: Vec<f64> = (0..=400)
        .map(|i| 1.0 - 10f64.powf(-(i as f64) / 100.0))
        .collect();
    let y_max = runs
        .iter()
        .map(|o| o.recorded.latency.max() as f64 / 1000.0)
        .fold(1.0f64, f64::max);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{title}: latency by percentile"),
            ("sans-serif", 20),
        )
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(
            (1f64..10_000f64).log_scale(),
            (0.001f64..y_max * 1.5).log_scale(),
        )
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("1 / (1 − percentile): 2 = p50, 100 = p99, 1000 = p99.9")
        .y_desc("latency (ms)")
        .draw()
        .map_err(plot_error)?;
    for o in runs {
        if o.recorded.latency.is_empty() {
            continue;
        }
        let c = color(o.target);
        let points = quantiles.iter().map(|&q| {
            let ms = o.recorded.latency.value_at_quantile(q) as f64 / 1000.0;
            (1.0 / (1.0 - q).max(1e-4), ms.max(0.001))
        });
        chart
            .draw_series(LineSeries::new(points, c.stroke_width(2)))
            .map_err(plot_error)?
            .label(o.target.name())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)?;
    root.present().map_err(plot_error)?;
    Ok(())
}

fn plot_error<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("plotting failed: {e}")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;
    use crate::load::record::Recorder;

    /// 1:1 sends of `target` asked at `rate`/s that delivered `received` over a 10 s window,
    /// each 2 ms after it was sent.
    fn sends(target: Target, rate: u64, received: u64) -> Outcome {
        let recorder = Recorder::new(received);
        let sent = Instant::now();
        for _ in 0..received {
            recorder.delivered(recorder.stamp(sent), sent + Duration::from_millis(2));
        }
        Outcome {
            scenario: format!("{SEND_SCENARIO} at {rate}/s"),
            target,
            expected: rate * 10,
            recorded: recorder.snapshot(),
            wall: Duration::from_secs(10),
            server_cpu: 5.0,
            server_rss: 64 << 20,
            notes: Vec::new(),
        }
    }

    #[test]
    fn throughput_is_each_servers_best_rate_and_a_rate_with_nothing_delivered_says_so() {
        let outcomes = [
            sends(Target::Confab, 5_000, 50_000),
            sends(Target::Confab, 20_000, 150_000),
            sends(Target::Socketio, 5_000, 15_000),
            sends(Target::Socketio, 20_000, 0),
            sends(Target::Echo, 20_000, 200_000),
        ];
        let table = ratios(&outcomes);
        assert!(
            table.contains("| 1:1 send → delivery at 5000/s | 3.3 | 1.0 | 3.3 | 1.0 |"),
            "{table}"
        );
        assert!(
            table.contains(
                "| 1:1 send → delivery at 20000/s | – (the baseline delivered none) | – | – | 1.0 |"
            ),
            "{table}"
        );
        // The echo is no baseline: Confab's best (20,000/s asked) against Socket.IO's (5,000/s).
        assert!(
            table.contains(
                "most delivered per second at any rate asked: 15000 (at 20000/s) against 1500 \
                 (at 5000/s) | 10.0 |"
            ),
            "{table}"
        );
    }
}
