//! `mimic report shift`: what a crew hands to the next one — the alarms of the shift
//! (raised, acknowledged, shelved, the most frequent, those still active, the models'),
//! the operators' acts, the write requests with their approvals and outcomes, and the
//! maintenance recorded. Read from the alarm journal and the audit trail, through the
//! running daemon or from the store file, page by page.

use std::collections::BTreeMap;
use std::io::Write;

use super::alarms::clean;
use super::store::{Records, StoreArgs};
use crate::alarms::journal::{Change, Query, Record};
use crate::historian::devices::DeviceSummary;

const PAGE: u32 = 2000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Csv,
}

/// One line of the report: when, who, what, on what, and the detail.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Line {
    pub ts_ms: i64,
    pub who: String,
    pub what: String,
    pub target: String,
    pub detail: String,
}

/// The shift's report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shift {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Count of each alarm change.
    pub changes: BTreeMap<&'static str, u64>,
    /// Alarms raised most often: name, count.
    pub frequent: Vec<(String, u64)>,
    /// Times each alarm was raised, while the records go by.
    raised: BTreeMap<String, u64>,
    /// Alarms active at the end of the shift by the journal ([`crate::alarms::journal::active_at`]),
    /// those raised before the shift included.
    pub still_active: Vec<Line>,
    pub model_alarms: Vec<Line>,
    pub operator_acts: Vec<Line>,
    pub writes: Vec<Line>,
    pub maintenance: Vec<Line>,
    /// Each device's down time and data quality (none: the site's devices are not known).
    pub devices: Option<Vec<DeviceSummary>>,
}

/// A journal record as a line of the report.
fn line_of(r: &Record) -> Line {
    Line {
        ts_ms: r.ts_ms,
        who: r.user.as_deref().map(clean).unwrap_or_default(),
        what: r.change.name().into(),
        target: clean(&r.alarm_name()),
        detail: clean(&r.note),
    }
}

fn text_of(v: &serde_json::Value, key: &str) -> String {
    v.get(key).and_then(|x| x.as_str()).map(clean).unwrap_or_default()
}

impl Shift {
    pub fn new(from_ms: i64, to_ms: i64) -> Shift {
        Shift { from_ms, to_ms, ..Shift::default() }
    }

    /// Takes the next journal record of the shift (oldest first): counted, and listed when
    /// a model raised it. Call [`Shift::finish_alarms`] after the last.
    pub fn alarm(&mut self, r: &Record) {
        *self.changes.entry(r.change.name()).or_default() += 1;
        if r.change == Change::Raised {
            *self.raised.entry(r.alarm_name()).or_default() += 1;
        }
        if r.kind.starts_with("MODEL") {
            self.model_alarms.push(line_of(r));
        }
    }

    /// The alarms active at the end of the shift, as [`crate::alarms::journal::active_at`] finds them.
    pub fn still_active(&mut self, records: &[Record]) {
        self.still_active = records.iter().map(line_of).collect();
        self.still_active.sort_by_key(|l| l.ts_ms);
    }

    /// The ten alarms raised most often.
    pub fn finish_alarms(&mut self) {
        let mut frequent: Vec<(String, u64)> = std::mem::take(&mut self.raised).into_iter().collect();
        frequent.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        frequent.truncate(10);
        self.frequent = frequent;
    }

    /// Takes an audit entry of the shift (as `audit::entry_json` writes it).
    pub fn audit(&mut self, e: &serde_json::Value) {
        let action = text_of(e, "action");
        let full = text_of(e, "full_name");
        let user = text_of(e, "user");
        let line = Line {
            ts_ms: e.get("ts_ms").and_then(serde_json::Value::as_i64).unwrap_or(0),
            who: if full.is_empty() { user } else { format!("{user} ({full})") },
            what: action.clone(),
            target: text_of(e, "target"),
            detail: text_of(e, "detail"),
        };
        match action.as_str() {
            "alarm_ack" | "alarm_shelve" | "alarm_unshelve" | "alarm_out_of_service" => self.operator_acts.push(line),
            "write_requested" | "approval" | "rejection" | "write_outcome" => self.writes.push(line),
            a if a.starts_with("other:") && ["expired", "refused", "effect"].iter().any(|w| a.contains(w)) => {
                self.writes.push(line)
            }
            "maintenance_event" | "model_retrain" => self.maintenance.push(line),
            _ => {}
        }
    }

    fn sections(&self) -> [(&'static str, &Vec<Line>); 5] {
        [
            ("Alarms still active at the end of the shift", &self.still_active),
            ("Model alarms", &self.model_alarms),
            ("Operator acts on alarms", &self.operator_acts),
            ("Write requests, approvals and outcomes", &self.writes),
            ("Maintenance and models", &self.maintenance),
        ]
    }

    pub fn write(&self, format: Format, out: &mut impl Write) -> anyhow::Result<()> {
        let ts = super::format_ts;
        let count = |c: Change| self.changes.get(c.name()).copied().unwrap_or(0);
        let mut summary = format!(
            "{} raised, {} acknowledged, {} returned, {} shelved, {} out of service",
            count(Change::Raised),
            count(Change::Acknowledged),
            count(Change::Returned),
            count(Change::Shelved),
            count(Change::OutOfService)
        );
        if count(Change::FloodHeld) > 0 {
            summary.push_str(&format!(", {} held back by alarm floods", count(Change::FloodHeld)));
        }
        match format {
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(["section", "ts_ms", "time", "who", "what", "target", "detail"])?;
                w.write_record(["alarms", "", "", "", "summary", "", summary.as_str()])?;
                for (name, n) in &self.frequent {
                    w.write_record(["frequent alarms", "", "", "", "raised", name, &n.to_string()])?;
                }
                for (title, lines) in self.sections() {
                    for l in lines {
                        let t = l.ts_ms.to_string();
                        w.write_record([title, &t, &ts(l.ts_ms), &l.who, &l.what, &l.target, &l.detail])?;
                    }
                }
                for d in self.devices.iter().flatten() {
                    w.write_record(["devices", "", "", "", "device", &d.name, &d.summary()])?;
                }
                w.flush()?;
            }
            Format::Text | Format::Markdown => {
                let md = format == Format::Markdown;
                let head = |t: &str| if md { format!("\n## {t}\n") } else { format!("\n{t}") };
                let title = format!("Shift report {} to {}", ts(self.from_ms), ts(self.to_ms));
                writeln!(out, "{}", if md { format!("# {title}") } else { title })?;
                writeln!(out, "{}", head("Alarms"))?;
                writeln!(out, "{}{summary}", if md { "" } else { "  " })?;
                if !self.frequent.is_empty() {
                    writeln!(out, "{}", head("Most frequent alarms"))?;
                    for (name, n) in &self.frequent {
                        writeln!(out, "{}{n:>5}  {name}", if md { "- " } else { "  " })?;
                    }
                }
                for (t, lines) in self.sections() {
                    writeln!(out, "{}", head(t))?;
                    if lines.is_empty() {
                        writeln!(out, "{}none", if md { "" } else { "  " })?;
                    }
                    for l in lines {
                        let who = if l.who.is_empty() { String::new() } else { format!(" {}", l.who) };
                        let line = format!("{}{who}  {}  {}  {}", ts(l.ts_ms), l.what, l.target, l.detail);
                        writeln!(out, "{}{}", if md { "- " } else { "  " }, line.trim_end())?;
                    }
                }
                writeln!(out, "{}", head("Devices: down time and data quality"))?;
                let lead = if md { "- " } else { "  " };
                match &self.devices {
                    None => writeln!(out, "{lead}the site's devices are known with --site FILE")?,
                    Some(ds) if ds.is_empty() => writeln!(out, "{lead}none")?,
                    Some(ds) => {
                        for d in ds {
                            writeln!(out, "{lead}{}: {}", d.name, d.summary())?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Gathers the shift's records from the daemon serving the store, or the store file, a
/// page at a time: the alarms still active at its end, the journal's records of the shift,
/// the audit entries; with `--site`, the devices' summary.
pub fn gather(store_args: &StoreArgs, from_ms: i64, to_ms: i64) -> anyhow::Result<Shift> {
    let (site, dir) = store_args.site_and_dir()?;
    let mut shift = Shift::new(from_ms, to_ms);
    let records = Records::open(&dir)?;
    shift.still_active(&records.alarms_active(to_ms)?);
    let q = Query { from_ms, to_ms, limit: PAGE, ..Query::default() };
    records.alarm_pages(q, |p| {
        p.records.iter().for_each(|r| shift.alarm(r));
        Ok(())
    })?;
    records.audit_pages(from_ms, |entries| {
        entries.iter().filter(|e| e["ts_ms"].as_i64().is_some_and(|t| t < to_ms)).for_each(|e| shift.audit(e));
        Ok(())
    })?;
    shift.finish_alarms();
    if let Some(site) = &site {
        let stream = records.into_daemon();
        shift.devices = Some(super::shift_devices::gather(stream.as_ref(), &dir, site, from_ms, to_ms)?);
    }
    Ok(shift)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarms::{AlarmState, Place, Priority};

    fn rec(ts_ms: i64, tag: &str, kind: &str, change: Change, user: Option<&str>) -> Record {
        Record {
            ts_ms,
            seq: 0,
            place: Place::of_tag(tag, None, None),
            kind: kind.into(),
            priority: Priority::Low,
            change,
            state: AlarmState::Normal,
            value: None,
            user: user.map(String::from),
            note: format!("{tag} note"),
        }
    }

    #[test]
    fn a_shift_in_sections() {
        let mut s = Shift::new(0, 100);
        let records = [
            rec(1, "T1", "HI", Change::Raised, None),
            rec(2, "T1", "HI", Change::Acknowledged, Some("ana")),
            rec(3, "T1", "HI", Change::Returned, None),
            rec(4, "T1", "HI", Change::Raised, None),
            rec(5, "P-101", "MODEL anomaly", Change::Raised, None),
            rec(6, "T2", "LO", Change::Raised, None),
            rec(7, "T2", "LO", Change::Shelved, Some("ana")),
            rec(8, "T3", "LO", Change::FloodHeld, None),
        ];
        records.iter().for_each(|r| s.alarm(r));
        s.finish_alarms();
        // what journal::active_at finds at the end: one standing since before the shift
        s.still_active(&[rec(4, "T1", "HI", Change::Raised, None), rec(-50, "T0", "HI", Change::Raised, None)]);
        for (action, target) in [("alarm_ack", "alarm A1"), ("approval", "request 3"), ("maintenance_event", "P-101")] {
            s.audit(&serde_json::json!({"ts_ms": 9, "user": "ana", "full_name": "Ana\u{1b}[2J O", "action": action, "target": target, "detail": "d"}));
        }
        assert_eq!(s.changes.get("raised"), Some(&4));
        assert_eq!(s.frequent[0], ("T1 HI".to_string(), 2));
        let active: Vec<&str> = s.still_active.iter().map(|l| l.target.as_str()).collect();
        assert_eq!(active, ["T0 HI", "T1 HI"], "oldest first");
        assert_eq!(s.model_alarms.len(), 1);
        assert_eq!((s.operator_acts.len(), s.writes.len(), s.maintenance.len()), (1, 1, 1));
        let mut md = Vec::new();
        s.write(Format::Markdown, &mut md).unwrap();
        let md = String::from_utf8(md).unwrap();
        assert!(md.starts_with("# Shift report") && md.contains("## Operator acts on alarms"), "{md}");
        assert!(md.contains("4 raised, 1 acknowledged, 1 returned, 1 shelved"), "{md}");
        assert!(md.contains("0 out of service, 1 held back by alarm floods"), "{md}");
        assert!(!md.contains('\u{1b}'), "no control characters reach a terminal");
        let mut csv = Vec::new();
        s.write(Format::Csv, &mut csv).unwrap();
        assert!(String::from_utf8(csv).unwrap().lines().count() > 5);
    }
}
