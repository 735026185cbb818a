//! `mimic alarms history`: the alarm journal, page by page, from the running daemon or
//! the store file; filters combine.

use std::io::Write;

use anyhow::bail;
use clap::Subcommand;

use super::store::{self, StoreArgs};
use crate::alarms::Priority;
use crate::alarms::journal::{Change, Filter, Page, Query, Record};

/// Records asked for at a time.
const PAGE: u32 = 2000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum AlarmsCommand {
    /// Past alarm state changes (raised, acknowledged, returned, shelved, …), oldest first.
    History {
        /// Start: a duration ago (8h, 7d) or a timestamp (2026-11-26T08:00:00Z).
        #[arg(long, default_value = "7d")]
        since: String,
        /// End (default: now), same forms as --since.
        #[arg(long)]
        until: Option<String>,
        #[arg(long)]
        tag: Option<String>,
        #[arg(long)]
        asset: Option<String>,
        /// Operator position (the asset's area).
        #[arg(long)]
        area: Option<String>,
        /// low, medium, high or critical.
        #[arg(long, value_parser = parse_priority)]
        priority: Option<Priority>,
        /// raised, returned, acknowledged, shelved, unshelved, shelve_expired, out_of_service, in_service.
        #[arg(long, value_parser = parse_change)]
        state: Option<Change>,
        /// Words in the tag, asset, kind, user or note.
        #[arg(long)]
        search: Option<String>,
        /// Newest first.
        #[arg(long)]
        reverse: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// A `--priority` or `--change` that names none.
#[derive(Debug, thiserror::Error)]
enum BadName {
    #[error("`{0}` is not a priority (low, medium, high, critical)")]
    Priority(String),
    #[error("`{0}` is not an alarm state change ({1})")]
    Change(String, String),
}

fn parse_priority(s: &str) -> Result<Priority, BadName> {
    Priority::from_name(&s.to_ascii_lowercase()).ok_or_else(|| BadName::Priority(s.to_string()))
}

fn parse_change(s: &str) -> Result<Change, BadName> {
    Change::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Change::ALL.iter().map(|c| c.name()).collect();
        BadName::Change(s.to_string(), names.join(", "))
    })
}

/// `--since`/`--until` as `[from, to)` in ms.
pub fn period(since: &str, until: Option<&str>) -> anyhow::Result<(i64, i64)> {
    let now = mimic_drivers::now_ms();
    let from = super::history::parse_time(since, now)?;
    let to = match until {
        Some(u) => super::history::parse_time(u, now)?,
        None => now + 1,
    };
    if from >= to {
        bail!("--since must be before --until");
    }
    Ok((from, to))
}

pub fn run(cmd: AlarmsCommand) -> anyhow::Result<()> {
    let AlarmsCommand::History { since, until, tag, asset, area, priority, state, search, reverse, format, store } =
        cmd;
    let (from_ms, to_ms) = period(&since, until.as_deref())?;
    let filter = Filter { tag, asset, area, priority, change: state, text: search };
    let q = Query { from_ms, to_ms, filter, after: None, newest_first: reverse, limit: PAGE };
    let dir = store.dir()?;
    let mut out = Printer::new(format)?;
    let records = store::Records::open(&dir)?;
    records.alarm_pages(q, |page| out.page(page))?;
    out.finish()
}

/// Writes records as they come, page by page.
struct Printer {
    format: Format,
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    n: u64,
}

impl Printer {
    fn new(format: Format) -> anyhow::Result<Printer> {
        let mut p = Printer { format, out: std::io::BufWriter::new(std::io::stdout().lock()), n: 0 };
        match format {
            Format::Table => writeln!(
                p.out,
                "{:<24}  {:<14}  {:<8}  {:<20}  {:<12}  {:<10}  {:>10}  {:<10}  note",
                "time (UTC)", "change", "priority", "tag", "asset", "kind", "value", "user"
            )?,
            Format::Csv => p.csv_row(&[
                "ts_ms", "time", "change", "state", "priority", "tag", "asset", "area", "kind", "value", "user", "note",
            ])?,
            Format::Json => write!(p.out, "[")?,
        }
        Ok(p)
    }

    /// Prints a page.
    fn page(&mut self, page: &Page) -> anyhow::Result<()> {
        page.records.iter().try_for_each(|r| self.record(r))
    }

    fn record(&mut self, r: &Record) -> anyhow::Result<()> {
        let opt = |s: &Option<String>| s.as_deref().map_or(String::new(), clean);
        let value = r.value.map_or(String::new(), |v| format!("{v}"));
        match self.format {
            Format::Table => writeln!(
                self.out,
                "{:<24}  {:<14}  {:<8}  {:<20}  {:<12}  {:<10}  {:>10}  {:<10}  {}",
                super::format_ts(r.ts_ms),
                r.change.name(),
                r.priority.to_string(),
                opt(&r.place.tag),
                opt(&r.place.asset),
                clean(&r.kind),
                value,
                opt(&r.user),
                clean(&r.note)
            )?,
            Format::Csv => {
                self.csv_row(&[
                    r.ts_ms.to_string(),
                    super::format_ts(r.ts_ms),
                    r.change.name().to_string(),
                    serde_json::to_value(r.state).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
                    r.priority.to_string(),
                    opt(&r.place.tag),
                    opt(&r.place.asset),
                    opt(&r.place.area),
                    clean(&r.kind),
                    value,
                    opt(&r.user),
                    clean(&r.note),
                ])?;
            }
            Format::Json => {
                let sep = if self.n == 0 { "\n" } else { ",\n" };
                write!(self.out, "{sep}{}", serde_json::to_string(r)?)?;
            }
        }
        self.n += 1;
        Ok(())
    }

    fn csv_row<S: AsRef<[u8]>>(&mut self, fields: &[S]) -> anyhow::Result<()> {
        let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
        w.write_record(fields)?;
        let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("csv: {}", e.error()))?;
        self.out.write_all(&bytes)?;
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<()> {
        match self.format {
            Format::Table => writeln!(self.out, "{} records", self.n)?,
            Format::Csv => {}
            Format::Json => writeln!(self.out, "{}]", if self.n == 0 { "" } else { "\n" })?,
        }
        self.out.flush()?;
        Ok(())
    }
}

/// Text from the store as a terminal may show it: no control characters (the screens'
/// rule and placeholder, so tampered text stays visible as such).
pub fn clean(s: &str) -> String {
    mimic_views::sanitize(s).into_owned()
}
