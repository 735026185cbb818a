//! `mimic report`: what the records say over a period (`report shift`: see [`super::shift`]). `report alarms` gives the
//! ISA-18.2 / EEMUA 191 figures of the site and of each operator position beside their
//! targets, from the running daemon (which computes them where the journal is) or the
//! store file.

use std::io::Write;

use anyhow::Context;
use clap::Subcommand;

use super::alarms::clean;
use super::store::{self, StoreArgs};
use crate::alarms::kpi::{self, Report, Scope, Verdict};
use crate::ipc::{Reply, Request};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Csv,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Alarm-system performance: rates, floods, chattering, standing, priorities, times to
    /// acknowledge, per operator position and for the site, each beside its target.
    Alarms {
        /// Start: a duration ago (30d) or a timestamp.
        #[arg(long, default_value = "30d")]
        since: String,
        #[arg(long)]
        until: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// What a crew hands over: alarms raised, acknowledged and shelved, operator acts,
    /// write requests with their approvals and outcomes, maintenance, model alarms.
    Shift {
        /// Start: a duration ago (8h) or a timestamp.
        #[arg(long, default_value = "8h")]
        since: String,
        #[arg(long)]
        until: Option<String>,
        #[arg(long, value_enum, default_value_t = super::shift::Format::Text)]
        format: super::shift::Format,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub fn run(cmd: ReportCommand) -> anyhow::Result<()> {
    match cmd {
        ReportCommand::Alarms { since, until, format, store } => {
            let (from_ms, to_ms) = super::alarms::period(&since, until.as_deref())?;
            let report = alarm_report(&store, from_ms, to_ms)?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            match format {
                Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
                Format::Csv => csv(&report, &mut out)?,
                Format::Text => text(&report, &mut out)?,
            }
            out.flush()?;
            Ok(())
        }
        ReportCommand::Shift { since, until, format, store } => {
            let (from_ms, to_ms) = super::alarms::period(&since, until.as_deref())?;
            let shift = super::shift::gather(&store, from_ms, to_ms)?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            shift.write(format, &mut out)?;
            out.flush()?;
            Ok(())
        }
    }
}

fn alarm_report(store: &StoreArgs, from_ms: i64, to_ms: i64) -> anyhow::Result<Report> {
    let (site, dir) = store.site_and_dir()?;
    match store::Records::open(&dir)? {
        store::Records::Daemon(s) => store::ask(&s, &Request::AlarmReport { from_ms, to_ms }, |r| match r {
            Reply::AlarmReport(r) => Some(*r),
            _ => None,
        }),
        store::Records::File(db) => {
            // floods as the site's engine counts them (the standards' figure without a site)
            let flood = site.map(|s| s.flood).unwrap_or_default();
            kpi::of_store(&db, from_ms, to_ms, &flood).context("reading the alarm journal")
        }
    }
}

fn csv(r: &Report, out: &mut impl Write) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["scope", "figure", "value", "text", "target", "verdict"])?;
    for s in std::iter::once(&r.site).chain(&r.areas) {
        for f in s.figures() {
            let v = format!("{}", f.value);
            w.write_record([clean(&s.name).as_str(), f.name, &v, &f.text, f.target, f.verdict.name()])?;
        }
    }
    w.flush()?;
    Ok(())
}

/// A bar of `width` cells for `v` of `max`.
fn bar(v: f64, max: f64, width: usize) -> String {
    let n = if max > 0.0 { ((v / max) * width as f64).round() as usize } else { 0 };
    "█".repeat(n.min(width))
}

fn scope_text(s: &Scope, out: &mut impl Write) -> anyhow::Result<()> {
    writeln!(out, "{} ({} alarms)", clean(&s.name), s.raised)?;
    for f in s.figures() {
        let mark = match f.verdict {
            Verdict::Acceptable => "ok  ",
            Verdict::Manageable => "~   ",
            Verdict::Over => "OVER",
            Verdict::Info => "    ",
        };
        writeln!(out, "  {mark} {:<28} {:<44} target {}", f.name, f.text, f.target)?;
    }
    let total = s.raised.max(1) as f64;
    for (p, n) in crate::alarms::Priority::ALL.iter().zip(s.by_priority) {
        let pct = n as f64 * 100.0 / total;
        writeln!(out, "       {:<9} {:>6} {:>5.1} % {}", p.to_string(), n, pct, bar(pct, 100.0, 40))?;
    }
    Ok(())
}

fn text(r: &Report, out: &mut impl Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "Alarm system performance, {} to {} ({} journal records)",
        super::format_ts(r.from_ms),
        super::format_ts(r.to_ms),
        r.records
    )?;
    writeln!(out, "Targets: ISA-18.2 / EEMUA 191.\n")?;
    scope_text(&r.site, out)?;
    for a in &r.areas {
        writeln!(out)?;
        scope_text(a, out)?;
    }
    if !r.top.is_empty() {
        writeln!(out, "\nMost frequent alarms (share of all)")?;
        let max = r.top.first().map_or(1, |f| f.count) as f64;
        for f in &r.top {
            writeln!(
                out,
                "  {:<32} {:<12} {:>6} {:>5.1} % {}",
                clean(&f.alarm),
                clean(&f.area),
                f.count,
                f.share_pct,
                bar(f.count as f64, max, 30)
            )?;
        }
    }
    if !r.chattering.is_empty() {
        writeln!(out, "\nChattering: {}", r.chattering.iter().map(|c| clean(c)).collect::<Vec<_>>().join(", "))?;
    }
    for s in &r.standing {
        writeln!(
            out,
            "Standing: {} ({}) active since {}, {:.1} h",
            clean(&s.alarm),
            clean(&s.area),
            super::format_ts(s.since_ms),
            s.longest_ms as f64 / 3_600_000.0
        )?;
    }
    if r.per_hour.iter().any(|&n| n > 0) {
        writeln!(out, "\nAlarms per hour: {}", sparkline(&r.per_hour, 120))?;
    }
    Ok(())
}

/// At most `width` cells, each the peak of its share of `values`.
fn sparkline(values: &[u32], width: usize) -> String {
    const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let per = values.len().div_ceil(width.max(1)).max(1);
    let cells: Vec<u32> = values.chunks(per).map(|c| c.iter().copied().max().unwrap_or(0)).collect();
    let max = cells.iter().copied().max().unwrap_or(0).max(1);
    cells.iter().map(|&v| if v == 0 { ' ' } else { LEVELS[(v as usize * 7 / max as usize).min(7)] }).collect()
}
