//! The Overview screen: the ISA-95 asset tree (area → unit → asset) with tag
//! and bad counts and running state, a device comm-status panel and the
//! historian store panel.

use std::borrow::Cow;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use crate::format;
use crate::model::{AssetRow, RulView, Snapshot};
use crate::sanitize::sanitize;
use crate::state::UiState;
use crate::theme::Theme;
use crate::widgets::{CellText, Col, draw_table, put};

/// One line of the asset tree.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeLine<'a> {
    /// 0 = area, 1 = unit, 2 = asset (deeper paths indent further).
    pub depth: usize,
    pub label: &'a str,
    pub tags: usize,
    pub bad_tags: usize,
    /// Running state (assets only).
    pub running: Option<bool>,
    /// Alarms per priority `[low, medium, high, critical]` (groups: sums).
    pub alarms: [usize; 4],
    /// Anomaly score 0..=1 (assets only).
    pub health: Option<f64>,
    /// Remaining useful life in days (assets only).
    pub rul_days: Option<f64>,
    /// Remaining useful life with its interval (assets only; preferred over `rul_days`).
    pub rul: Option<RulView>,
    /// `true` for an asset row, `false` for an area/unit group.
    pub leaf: bool,
}

/// Flattens the assets into tree lines, sorted by path, with group lines
/// carrying the sums of their assets.
pub fn tree_lines(assets: &[AssetRow]) -> Vec<TreeLine<'_>> {
    let mut sorted: Vec<&AssetRow> = assets.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut out: Vec<TreeLine> = Vec::new();
    // index in `out` of the open group line at each depth
    let mut open: Vec<usize> = Vec::new();
    let mut prev: &[String] = &[];
    for a in sorted {
        let path = &a.path[..];
        let groups = path.len().saturating_sub(1);
        let common = prev.iter().zip(path).take(groups).take_while(|(x, y)| x == y).count().min(open.len());
        open.truncate(common);
        for (d, label) in path.iter().enumerate().take(groups).skip(common) {
            open.push(out.len());
            out.push(TreeLine {
                depth: d,
                label,
                tags: 0,
                bad_tags: 0,
                running: None,
                leaf: false,
                alarms: [0; 4],
                health: None,
                rul_days: None,
                rul: None,
            });
        }
        for &g in &open {
            out[g].tags = out[g].tags.saturating_add(a.tags);
            out[g].bad_tags = out[g].bad_tags.saturating_add(a.bad_tags);
            for (s, n) in out[g].alarms.iter_mut().zip(a.alarms_by_priority) {
                *s = s.saturating_add(n);
            }
        }
        let label = path.last().map_or("(unnamed)", |s| s.as_str());
        out.push(TreeLine {
            depth: groups,
            label,
            tags: a.tags,
            bad_tags: a.bad_tags,
            running: a.running,
            leaf: true,
            alarms: a.alarms_by_priority,
            health: a.health,
            rul_days: a.rul_days,
            rul: a.rul,
        });
        prev = path;
    }
    out
}

/// Alarm counts as text, highest priority first, zeros left out:
/// `2C 1H 4L`; empty when there are none.
pub fn alarm_counts(by_priority: [usize; 4]) -> String {
    let letters = ['L', 'M', 'H', 'C'];
    (0..4)
        .rev()
        .filter(|&i| by_priority[i] > 0)
        .map(|i| format!("{}{}", format::count(by_priority[i] as u64), letters[i]))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Anomaly score as text with a word: `0.12 ok`, `0.55 watch`, `0.91 ANOM`.
pub fn health_text(score: f64) -> String {
    if !score.is_finite() {
        return "-".into();
    }
    let s = score.clamp(0.0, 1.0);
    let word = if s >= 0.8 {
        "ANOM"
    } else if s >= 0.5 {
        "watch"
    } else {
        "ok"
    };
    format!("{s:.2} {word}")
}

fn tree_row<'a>(l: &TreeLine<'a>, t: Theme, model: bool) -> Vec<CellText<'a>> {
    let indent = "  ".repeat(l.depth);
    let label = format!("{indent}{}{}", if l.leaf { "" } else { "▾ " }, sanitize(l.label));
    let (state, sstyle) = match l.running {
        Some(true) => ("RUN", t.good()),
        Some(false) => ("STOP", t.warn()),
        None => ("", t.dim()),
    };
    let (bad, bstyle) =
        if l.bad_tags > 0 { (format!("{} bad", l.bad_tags), t.bad()) } else { (String::new(), t.dim()) };
    let mut row = vec![
        (Cow::Owned(label), if l.leaf { t.normal() } else { t.header() }),
        (Cow::Owned(l.tags.to_string()), t.dim()),
        (Cow::Owned(bad), bstyle),
        (Cow::Borrowed(state), sstyle),
    ];
    let alarms = alarm_counts(l.alarms);
    let astyle = if l.alarms[2] > 0 || l.alarms[3] > 0 {
        t.bad()
    } else if l.alarms[1] > 0 {
        t.warn()
    } else {
        t.normal()
    };
    row.push((Cow::Owned(alarms), astyle));
    if model {
        let (h, hs) = match l.health {
            Some(h) if h >= 0.8 => (health_text(h), t.bad()),
            Some(h) if h >= 0.5 => (health_text(h), t.warn()),
            Some(h) => (health_text(h), t.dim()),
            None => (String::new(), t.dim()),
        };
        row.push((Cow::Owned(h), hs));
        let rul = match (&l.rul, l.rul_days) {
            (Some(r), _) => format::rul(r),
            (None, Some(d)) => format::days(d),
            (None, None) => String::new(),
        };
        row.push((Cow::Owned(rul), t.normal()));
    }
    row
}

/// Time in service as text: `7.6y`, `120d`, `5h`.
pub fn service_age(ms: i64) -> String {
    if ms >= 365 * 86_400_000 { format!("{:.1}y", ms as f64 / (365.25 * 86_400_000.0)) } else { format::age(ms) }
}

/// Age and last maintenance cells of an asset line (empty for groups and unknown assets);
/// an asset whose baseline is re-basing after maintenance is shown in the warning style.
fn life_cells<'a>(snapshot: &Snapshot, l: &TreeLine<'_>, t: Theme, wide: bool) -> [CellText<'a>; 2] {
    let row = if l.leaf { snapshot.life.iter().find(|r| r.asset == l.label) } else { None };
    let Some(row) = row else { return [(Cow::Borrowed(""), t.dim()), (Cow::Borrowed(""), t.dim())] };
    let age = row.commissioned_ms.map(|c| service_age(snapshot.now_ms.saturating_sub(c))).unwrap_or_default();
    let last = row
        .last_maintenance()
        .map(|e| {
            let what = if wide { e.short() } else { e.short().split(' ').next().unwrap_or_default().to_string() };
            format!("{} {}", format::age(snapshot.now_ms.saturating_sub(e.ts_ms)), sanitize(&what))
        })
        .unwrap_or_default();
    let style = if row.baseline.is_empty() { t.normal() } else { t.warn() };
    [(Cow::Owned(age), t.dim()), (Cow::Owned(last), style)]
}

const TREE_COLS: [Col; 5] = [
    Col::flex("Asset", 1),
    Col::right("Tags", 5),
    Col::right("Bad", 8),
    Col::fixed("State", 5),
    Col::fixed("Alarms", 11),
];
const MODEL_COLS: [Col; 2] = [Col::fixed("Health", 10), Col::right("RUL", 6)];
/// With a remaining life and its interval (`143h (120h–170h)`).
const MODEL_COLS_RUL: [Col; 2] = [Col::fixed("Health", 10), Col::right("RUL", 20)];

/// Renders the Overview body into `area`.
pub fn render(snapshot: &Snapshot, ui: &UiState, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let t = ui.theme;
    let (tags, bad, stale) = crate::state::tag_counts(snapshot);
    let down = snapshot.devices.iter().filter(|d| !d.connected).count();
    let a = format!(" {tags} tags  ");
    let b = format!("{bad} bad  {stale} stale  ");
    let c = format!("{} devices  {down} down  ", snapshot.devices.len());
    let (unack, _) = crate::state::unacked_alarms(snapshot);
    let active = snapshot.alarms.iter().filter(|a| crate::state::AlarmView::Active.contains(a)).count();
    let d = format!("{active} alarms  {unack} unacked");
    super::render_status(
        &[
            (&a, t.normal()),
            (&b, if bad > 0 { t.bad() } else { t.dim() }),
            (&c, if down > 0 { t.bad() } else { t.dim() }),
            (&d, if unack > 0 { t.bad() } else { t.dim() }),
        ],
        Rect::new(area.x, area.y, area.width, 1),
        buf,
    );
    let body = Rect::new(area.x, area.y + 1, area.width, area.height - 1);
    let (tree, devices, store) = if area.width >= 100 {
        let tw = body.width * 3 / 5;
        let right = Rect::new(body.x + tw, body.y, body.width - tw, body.height);
        let store_h = 7.min(right.height);
        (
            Rect::new(body.x, body.y, tw, body.height),
            Rect::new(right.x, right.y, right.width, right.height - store_h),
            Rect::new(right.x, right.bottom() - store_h, right.width, store_h),
        )
    } else {
        let bottom_h = 7.min(body.height / 2);
        let half = body.width / 2;
        let y = body.bottom() - bottom_h;
        (
            Rect::new(body.x, body.y, body.width, body.height - bottom_h),
            Rect::new(body.x, y, half, bottom_h),
            Rect::new(body.x + half, y, body.width - half, bottom_h),
        )
    };
    render_tree(snapshot, ui, tree, buf);
    render_devices(snapshot, t, devices, buf);
    render_store(snapshot, t, store, buf);
}

fn render_tree(snapshot: &Snapshot, ui: &UiState, area: Rect, buf: &mut Buffer) {
    let t = ui.theme;
    let block = Block::bordered().title(" Assets ").border_style(t.dim());
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 {
        return;
    }
    let lines = tree_lines(&snapshot.assets);
    if lines.is_empty() {
        put(buf, inner.x + 1, inner.y, inner.width.saturating_sub(1), "No assets configured.", t.dim(), false);
        return;
    }
    let rows_h = usize::from(inner.height - 1);
    let start = ui.overview_scroll.min(lines.len().saturating_sub(rows_h));
    // health and remaining life only when a model provides them
    let model = snapshot.assets.iter().any(|a| a.health.is_some() || a.rul_days.is_some() || a.rul.is_some());
    let mut cols = TREE_COLS.to_vec();
    if snapshot.assets.iter().any(|a| a.rul.is_some()) {
        cols.extend(MODEL_COLS_RUL);
    } else if model {
        cols.extend(MODEL_COLS);
    }
    // asset life (age since commissioning, last maintenance) when any is recorded
    let life = snapshot.life.iter().any(|l| l.commissioned_ms.is_some() || !l.events.is_empty());
    // narrow: only the last maintenance's age and kind; wide: time in service, and the part.
    // Asset names come first: the life columns only take room the names do not need.
    let names = lines.iter().map(|l| l.depth * 2 + 2 + crate::widgets::width(l.label)).max().unwrap_or(0);
    let need = names.min(24) as u16;
    let taken = |cols: &[Col]| cols.iter().filter(|c| c.flex == 0).map(|c| c.width + 1).sum::<u16>();
    let room = |extra: u16| inner.width.saturating_sub(taken(&cols) + extra + 1);
    let wide_cols = [Col::right("Age", 6), Col::fixed("Last maint.", 16)];
    let narrow_cols = [Col::fixed("Maint", 9)];
    let (life, wide) = if !life {
        (false, false)
    } else if room(taken(&wide_cols)) >= need {
        (true, true)
    } else if room(taken(&narrow_cols)) >= need {
        (true, false)
    } else {
        (false, false)
    };
    if life {
        cols.extend(if wide { &wide_cols[..] } else { &narrow_cols[..] });
    }
    let rows: Vec<_> = lines[start..]
        .iter()
        .take(rows_h)
        .map(|l| {
            let mut row = tree_row(l, t, model);
            if life {
                let [age, last] = life_cells(snapshot, l, t, wide);
                if wide {
                    row.push(age);
                }
                row.push(last);
            }
            row
        })
        .collect();
    draw_table(buf, inner, &cols, t.header(), &rows, None, t.selected());
    if lines.len() > rows_h {
        let more = format!(" {}-{} of {} ", start + 1, (start + rows_h).min(lines.len()), lines.len());
        let w = more.len() as u16;
        if area.width > w + 2 {
            put(buf, area.right() - w - 1, area.bottom() - 1, w, &more, t.dim(), false);
        }
    }
}

fn render_devices(snapshot: &Snapshot, t: Theme, area: Rect, buf: &mut Buffer) {
    let up = snapshot.devices.iter().filter(|d| d.connected).count();
    let title = format!(" Devices {up}/{} up ", snapshot.devices.len());
    let style = if up < snapshot.devices.len() { t.bad() } else { t.dim() };
    let block = Block::bordered().title(title.as_str()).border_style(style);
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 {
        return;
    }
    if snapshot.devices.is_empty() {
        put(buf, inner.x + 1, inner.y, inner.width.saturating_sub(1), "No devices configured.", t.dim(), false);
        return;
    }
    // down devices first: they are what the operator must see
    let mut devs: Vec<_> = snapshot.devices.iter().collect();
    devs.sort_by_key(|d| d.connected);
    let cols = [Col::fixed("St", 4), Col::name("Device", 1), Col::right("Poll", 5), Col::right("Bad", 9)];
    let rows: Vec<Vec<CellText>> = devs
        .iter()
        .take(usize::from(inner.height - 1))
        .map(|d| {
            let (st, s) = if d.connected { ("UP", t.good()) } else { ("DOWN", t.bad()) };
            vec![
                (Cow::Borrowed(st), s),
                (Cow::Borrowed(d.name.as_str()), t.normal()),
                (Cow::Owned(format::age_since(snapshot.now_ms, d.last_poll_ms)), t.dim()),
                (Cow::Owned(format!("{}/{}", d.bad_tags, d.tags)), if d.bad_tags > 0 { t.bad() } else { t.dim() }),
            ]
        })
        .collect();
    draw_table(buf, inner, &cols, t.header(), &rows, None, t.selected());
}

fn render_store(snapshot: &Snapshot, t: Theme, area: Rect, buf: &mut Buffer) {
    let st = &snapshot.store;
    let block = Block::bordered().title(" Historian ").border_style(if st.error.is_some() { t.bad() } else { t.dim() });
    let commit = match st.last_commit_ms {
        Some(ms) => format!("{} ago ({} UTC)", format::age(snapshot.now_ms.saturating_sub(ms)), format::clock(ms)),
        None => "never".into(),
    };
    let mut lines = vec![
        Line::styled(format!("Samples  {}", format::count(st.samples)), t.normal()),
        Line::styled(format!("Size     {}", format::bytes(st.bytes)), t.normal()),
        Line::styled(format!("Commit   {commit}"), t.normal()),
    ];
    lines.push(match &st.error {
        Some(e) => Line::styled(format!("ERROR    {}", sanitize(e)), t.bad()),
        None => Line::styled("Errors   none", t.dim()),
    });
    Paragraph::new(lines).block(block).wrap(Wrap { trim: false }).render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(p: &[&str], tags: usize, bad: usize) -> AssetRow {
        AssetRow { path: p.iter().map(|s| s.to_string()).collect(), tags, bad_tags: bad, ..Default::default() }
    }

    #[test]
    fn tree_groups_and_sums() {
        let assets = [
            asset(&["B", "U1", "X"], 2, 1),
            asset(&["A", "U1", "P1"], 3, 0),
            asset(&["A", "U1", "P2"], 4, 2),
            asset(&["A", "U2", "P3"], 1, 0),
        ];
        let lines = tree_lines(&assets);
        let view: Vec<_> = lines.iter().map(|l| (l.depth, l.label, l.tags, l.bad_tags, l.leaf)).collect();
        assert_eq!(
            view,
            vec![
                (0, "A", 8, 2, false),
                (1, "U1", 7, 2, false),
                (2, "P1", 3, 0, true),
                (2, "P2", 4, 2, true),
                (1, "U2", 1, 0, false),
                (2, "P3", 1, 0, true),
                (0, "B", 2, 1, false),
                (1, "U1", 2, 1, false),
                (2, "X", 2, 1, true),
            ]
        );
    }

    #[test]
    fn short_and_empty_paths() {
        let assets = [asset(&["Lone"], 1, 0), asset(&[], 0, 0)];
        let lines = tree_lines(&assets);
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.leaf && l.depth == 0));
    }
}
