//! UI state, keys and actions: everything the views remember between frames,
//! changed only by [`handle_key`] (a pure function, no I/O).

use std::cmp::Ordering;

use crate::model::{DeviceRow, QualityView, Snapshot, TagRow};
use crate::theme::Theme;

/// The four screens, numbered 1..4 in the tab bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Screen {
    Overview,
    #[default]
    Tags,
    Trend,
    Devices,
}

impl Screen {
    /// All screens in tab order.
    pub const ALL: [Screen; 4] = [Screen::Overview, Screen::Tags, Screen::Trend, Screen::Devices];

    /// Tab title.
    pub fn title(self) -> &'static str {
        match self {
            Screen::Overview => "Overview",
            Screen::Tags => "Tags",
            Screen::Trend => "Trend",
            Screen::Devices => "Devices",
        }
    }

    fn index(self) -> usize {
        Screen::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// Sort key of the Tags table, cycled with `s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Name,
    Value,
    /// Worst first: Bad, Uncertain, stale, Good.
    Quality,
    /// Most recently received first.
    Age,
}

impl SortKey {
    /// Label shown in the status line.
    pub fn label(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Value => "value",
            SortKey::Quality => "quality",
            SortKey::Age => "age",
        }
    }
    fn next(self) -> SortKey {
        match self {
            SortKey::Name => SortKey::Value,
            SortKey::Value => SortKey::Quality,
            SortKey::Quality => SortKey::Age,
            SortKey::Age => SortKey::Name,
        }
    }
}

/// View state kept by the terminal session between frames.
#[derive(Debug, Clone, PartialEq)]
pub struct UiState {
    pub screen: Screen,
    /// Selected row of the Tags table (index into [`visible_tags`]).
    pub selected: usize,
    /// First shown row of the Tags table (a hint: rendering keeps the selection visible).
    pub scroll: usize,
    /// Case-insensitive substring filter (tags: name/asset/description; devices: name/protocol/endpoint).
    pub filter: String,
    /// `true` while the filter is being typed.
    pub filter_editing: bool,
    pub sort: SortKey,
    pub sort_desc: bool,
    /// Help popup open (modal).
    pub show_help: bool,
    pub theme: Theme,
    /// Selected row of the Devices table (index into [`visible_devices`]).
    pub dev_selected: usize,
    /// First shown row of the Devices table (a hint).
    pub dev_scroll: usize,
    /// First shown line of the Overview asset tree.
    pub overview_scroll: usize,
    /// Tag whose trend was last opened (set on Enter in Tags).
    pub trend_tag: Option<String>,
    /// Rows per page used by PgUp/PgDn; set it with [`UiState::resize`].
    pub page_rows: usize,
}

impl Default for UiState {
    fn default() -> Self {
        UiState {
            screen: Screen::default(),
            selected: 0,
            scroll: 0,
            filter: String::new(),
            filter_editing: false,
            sort: SortKey::default(),
            sort_desc: false,
            show_help: false,
            theme: Theme::default(),
            dev_selected: 0,
            dev_scroll: 0,
            overview_scroll: 0,
            trend_tag: None,
            page_rows: 16,
        }
    }
}

impl UiState {
    /// Tells the state the terminal size so PgUp/PgDn move by one table page.
    pub fn resize(&mut self, _width: u16, height: u16) {
        // header, tab bar, status line, table header, footer (+ banner / detail)
        self.page_rows = usize::from(height).saturating_sub(8).max(1);
    }
}

/// Keys understood by the views (own enum: no crossterm dependency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    Left,
    Right,
    Backspace,
    CtrlC,
}

/// What the caller must do after a key; pure UI changes return `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Leave the terminal session.
    Quit,
    /// Load the trend of `tag` (the UI already switched to the Trend screen).
    OpenTrend { tag: String },
    /// Halve (`in_: true`) or double the trend time span.
    TrendZoom { in_: bool },
    /// Move the trend window by `steps` tenths of its span (negative = back in time).
    TrendPan { steps: i32 },
}

fn quality_rank(t: &TagRow) -> u8 {
    match (&t.quality, t.stale) {
        (QualityView::Bad(_), _) => 0,
        (QualityView::Uncertain(_), _) => 1,
        (QualityView::Good, true) => 2,
        (QualityView::Good, false) => 3,
    }
}

/// A comparison of two tag rows, for sorting.
type TagOrder = dyn Fn(&&TagRow, &&TagRow) -> Ordering;

/// Case-insensitive substring test; `needle` must already be lowercase.
fn contains_ci(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        return n.len() <= h.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(needle)
}

/// Tags matching the filter, in display order (sort key, then name). The
/// Tags selection `ui.selected` indexes this list.
pub fn visible_tags<'a>(snapshot: &'a Snapshot, ui: &UiState) -> Vec<&'a TagRow> {
    let needle = ui.filter.trim().to_lowercase();
    let mut v: Vec<&TagRow> = if needle.is_empty() {
        snapshot.tags.iter().collect()
    } else {
        snapshot
            .tags
            .iter()
            .filter(|t| {
                contains_ci(&t.name, &needle) || contains_ci(&t.asset, &needle) || contains_ci(&t.description, &needle)
            })
            .collect()
    };
    let by_name = |a: &&TagRow, b: &&TagRow| a.name.cmp(&b.name);
    let cmp: Box<TagOrder> = match ui.sort {
        SortKey::Name => Box::new(by_name),
        // missing/NaN values sort after all numbers
        SortKey::Value => Box::new(move |a, b| {
            let key = |t: &TagRow| t.value.filter(|v| !v.is_nan());
            match (key(a), key(b)) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            }
            .then_with(|| by_name(a, b))
        }),
        SortKey::Quality => Box::new(move |a, b| quality_rank(a).cmp(&quality_rank(b)).then_with(|| by_name(a, b))),
        // newest first; never-received last
        SortKey::Age => Box::new(move |a, b| {
            match (a.ts_ms, b.ts_ms) {
                (Some(x), Some(y)) => y.cmp(&x),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            }
            .then_with(|| by_name(a, b))
        }),
    };
    if ui.sort == SortKey::Name && !ui.sort_desc && v.is_sorted_by(|a, b| a.name <= b.name) {
        // the daemon usually sends tags sorted by name: nothing to do
    } else if ui.sort_desc {
        v.sort_by(|a, b| cmp(b, a));
    } else {
        v.sort_by(|a, b| cmp(a, b));
    }
    v
}

/// Devices matching the filter (name, protocol or endpoint), in snapshot
/// order. The Devices selection `ui.dev_selected` indexes this list.
pub fn visible_devices<'a>(snapshot: &'a Snapshot, ui: &UiState) -> Vec<&'a DeviceRow> {
    let needle = ui.filter.trim().to_lowercase();
    snapshot
        .devices
        .iter()
        .filter(|d| {
            needle.is_empty()
                || contains_ci(&d.name, &needle)
                || contains_ci(&d.protocol, &needle)
                || contains_ci(&d.endpoint, &needle)
        })
        .collect()
}

/// First row to show so that `selected` is visible in `rows` rows, starting
/// from the `scroll` hint. Used by both key handling and rendering.
pub fn window_start(len: usize, selected: usize, scroll: usize, rows: usize) -> usize {
    let rows = rows.max(1);
    let selected = selected.min(len.saturating_sub(1));
    let mut start = scroll.min(len.saturating_sub(rows));
    if selected < start {
        start = selected;
    } else if selected >= start + rows {
        start = selected + 1 - rows;
    }
    start
}

fn move_selection(selected: &mut usize, scroll: &mut usize, len: usize, page: usize, key: Key) -> bool {
    let last = len.saturating_sub(1);
    let page = page.max(1);
    let new = match key {
        Key::Up => selected.saturating_sub(1),
        Key::Down => (*selected + 1).min(last),
        Key::PageUp => selected.saturating_sub(page),
        Key::PageDown => (*selected + page).min(last),
        Key::Home => 0,
        Key::End => last,
        _ => return false,
    };
    *selected = new.min(last);
    *scroll = window_start(len, *selected, *scroll, page);
    true
}

fn clamp_selection(ui: &mut UiState, snapshot: &Snapshot) {
    let n = visible_tags(snapshot, ui).len();
    ui.selected = ui.selected.min(n.saturating_sub(1));
    ui.scroll = window_start(n, ui.selected, ui.scroll, ui.page_rows);
    let n = visible_devices(snapshot, ui).len();
    ui.dev_selected = ui.dev_selected.min(n.saturating_sub(1));
    ui.dev_scroll = window_start(n, ui.dev_selected, ui.dev_scroll, ui.page_rows);
}

/// Applies one key to the UI state and returns what the caller must do.
///
/// Rules: the help popup is modal (any key closes it; only Ctrl-C still
/// quits); while typing a filter, printable keys are text (so `q` does not
/// quit) but Ctrl-C always quits.
pub fn handle_key(ui: &mut UiState, snapshot: &Snapshot, key: Key) -> Option<Action> {
    if key == Key::CtrlC {
        return Some(Action::Quit);
    }
    if ui.show_help {
        ui.show_help = false;
        return None;
    }
    if ui.filter_editing {
        match key {
            Key::Char(c) if !c.is_control() => ui.filter.push(c),
            Key::Backspace => {
                ui.filter.pop();
            }
            Key::Enter => ui.filter_editing = false,
            Key::Esc => {
                ui.filter.clear();
                ui.filter_editing = false;
            }
            // navigation still works while typing
            Key::Up | Key::Down | Key::PageUp | Key::PageDown | Key::Home | Key::End => {
                clamp_selection(ui, snapshot);
                return navigate(ui, snapshot, key);
            }
            _ => {}
        }
        ui.selected = 0;
        ui.scroll = 0;
        ui.dev_selected = 0;
        ui.dev_scroll = 0;
        return None;
    }
    match key {
        Key::Char('q') => return Some(Action::Quit),
        Key::Char('?') => ui.show_help = true,
        Key::Char(c @ '1'..='4') => ui.screen = Screen::ALL[usize::from(c as u8 - b'1')],
        Key::Tab => ui.screen = Screen::ALL[(ui.screen.index() + 1) % 4],
        Key::BackTab => ui.screen = Screen::ALL[(ui.screen.index() + 3) % 4],
        Key::Char('/') if matches!(ui.screen, Screen::Tags | Screen::Devices) => ui.filter_editing = true,
        Key::Esc if ui.screen == Screen::Trend => ui.screen = Screen::Tags,
        Key::Esc if !ui.filter.is_empty() => {
            ui.filter.clear();
            ui.selected = 0;
            ui.scroll = 0;
            ui.dev_selected = 0;
            ui.dev_scroll = 0;
        }
        Key::Char('s') if ui.screen == Screen::Tags => {
            ui.sort = ui.sort.next();
            ui.selected = 0;
            ui.scroll = 0;
        }
        Key::Char('S') if ui.screen == Screen::Tags => {
            ui.sort_desc = !ui.sort_desc;
            ui.selected = 0;
            ui.scroll = 0;
        }
        Key::Enter if ui.screen == Screen::Tags => {
            let tags = visible_tags(snapshot, ui);
            let tag = tags.get(ui.selected.min(tags.len().saturating_sub(1)))?;
            let tag = tag.name.clone();
            ui.trend_tag = Some(tag.clone());
            ui.screen = Screen::Trend;
            return Some(Action::OpenTrend { tag });
        }
        Key::Char('+') | Key::Char('=') if ui.screen == Screen::Trend => return Some(Action::TrendZoom { in_: true }),
        Key::Char('-') if ui.screen == Screen::Trend => return Some(Action::TrendZoom { in_: false }),
        Key::Left if ui.screen == Screen::Trend => return Some(Action::TrendPan { steps: -1 }),
        Key::Right if ui.screen == Screen::Trend => return Some(Action::TrendPan { steps: 1 }),
        Key::PageUp if ui.screen == Screen::Trend => return Some(Action::TrendPan { steps: -10 }),
        Key::PageDown if ui.screen == Screen::Trend => return Some(Action::TrendPan { steps: 10 }),
        _ => return navigate(ui, snapshot, key),
    }
    None
}

fn navigate(ui: &mut UiState, snapshot: &Snapshot, key: Key) -> Option<Action> {
    let page = ui.page_rows;
    match ui.screen {
        Screen::Tags => {
            let n = visible_tags(snapshot, ui).len();
            move_selection(&mut ui.selected, &mut ui.scroll, n, page, key);
        }
        Screen::Devices => {
            let n = visible_devices(snapshot, ui).len();
            move_selection(&mut ui.dev_selected, &mut ui.dev_scroll, n, page, key);
        }
        Screen::Overview => {
            let n = crate::screens::overview::tree_lines(&snapshot.assets).len();
            let mut sel = ui.overview_scroll;
            let mut scroll = 0;
            // the Overview has no selection: the keys scroll the asset tree
            move_selection(&mut sel, &mut scroll, n, page, key);
            ui.overview_scroll = if key == Key::End { n.saturating_sub(page) } else { sel.min(n.saturating_sub(page)) };
        }
        Screen::Trend => {}
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(name: &str, asset: &str, value: Option<f64>, quality: QualityView, ts: i64) -> TagRow {
        TagRow {
            name: name.into(),
            asset: asset.into(),
            description: format!("{name} description"),
            value,
            quality,
            ts_ms: Some(ts),
            ..Default::default()
        }
    }

    fn snap() -> Snapshot {
        let mut tags: Vec<TagRow> = (0..50)
            .map(|i| tag(&format!("T{i:02}"), "Pump P-101", Some(f64::from(i)), QualityView::Good, 1000 + i64::from(i)))
            .collect();
        tags[10].quality = QualityView::Bad("timeout".into());
        tags[20].quality = QualityView::Uncertain("out of range".into());
        tags[30].stale = true;
        tags[40].value = None;
        tags[41].value = Some(f64::NAN);
        tags[5].asset = "Tank T-201".into();
        tags[6].description = "Level of the TANK".into();
        let devices = (0..3)
            .map(|i| DeviceRow { name: format!("plc-{i}"), endpoint: format!("10.0.0.{i}:502"), ..Default::default() })
            .collect();
        Snapshot { tags, devices, ..Default::default() }
    }

    fn press(ui: &mut UiState, s: &Snapshot, keys: &[Key]) -> Vec<Action> {
        keys.iter().filter_map(|k| handle_key(ui, s, *k)).collect()
    }

    #[test]
    fn q_and_ctrl_c_quit() {
        let s = snap();
        assert_eq!(handle_key(&mut UiState::default(), &s, Key::Char('q')), Some(Action::Quit));
        assert_eq!(handle_key(&mut UiState::default(), &s, Key::CtrlC), Some(Action::Quit));
    }

    #[test]
    fn q_is_text_while_typing_a_filter() {
        let s = snap();
        let mut ui = UiState::default();
        assert_eq!(press(&mut ui, &s, &[Key::Char('/'), Key::Char('q'), Key::Char('Q')]), vec![]);
        assert_eq!(ui.filter, "qQ");
        assert!(ui.filter_editing);
        // Ctrl-C is the escape hatch even while typing
        assert_eq!(handle_key(&mut ui, &s, Key::CtrlC), Some(Action::Quit));
    }

    #[test]
    fn number_keys_and_tab_switch_screens() {
        let s = snap();
        let mut ui = UiState::default();
        for (k, sc) in [('1', Screen::Overview), ('2', Screen::Tags), ('3', Screen::Trend), ('4', Screen::Devices)] {
            handle_key(&mut ui, &s, Key::Char(k));
            assert_eq!(ui.screen, sc);
        }
        handle_key(&mut ui, &s, Key::Tab);
        assert_eq!(ui.screen, Screen::Overview);
        handle_key(&mut ui, &s, Key::BackTab);
        assert_eq!(ui.screen, Screen::Devices);
        handle_key(&mut ui, &s, Key::BackTab);
        assert_eq!(ui.screen, Screen::Trend);
    }

    #[test]
    fn selection_moves_and_clamps_and_scroll_follows() {
        let s = snap();
        let mut ui = UiState { page_rows: 10, ..Default::default() };
        press(&mut ui, &s, &[Key::Up]);
        assert_eq!((ui.selected, ui.scroll), (0, 0));
        press(&mut ui, &s, &[Key::Down, Key::Down]);
        assert_eq!(ui.selected, 2);
        press(&mut ui, &s, &[Key::PageDown]);
        assert_eq!((ui.selected, ui.scroll), (12, 3));
        press(&mut ui, &s, &[Key::End]);
        assert_eq!((ui.selected, ui.scroll), (49, 40));
        press(&mut ui, &s, &[Key::Down, Key::PageDown]);
        assert_eq!(ui.selected, 49);
        press(&mut ui, &s, &[Key::PageUp]);
        assert_eq!((ui.selected, ui.scroll), (39, 39));
        press(&mut ui, &s, &[Key::Home]);
        assert_eq!((ui.selected, ui.scroll), (0, 0));
    }

    #[test]
    fn selection_on_empty_list_stays_zero() {
        let s = Snapshot::default();
        let mut ui = UiState::default();
        press(&mut ui, &s, &[Key::Down, Key::End, Key::PageDown, Key::Up]);
        assert_eq!((ui.selected, ui.scroll), (0, 0));
        assert_eq!(handle_key(&mut ui, &s, Key::Enter), None);
        assert_eq!(ui.screen, Screen::Tags);
    }

    #[test]
    fn devices_have_their_own_selection() {
        let s = snap();
        let mut ui = UiState { screen: Screen::Devices, ..Default::default() };
        press(&mut ui, &s, &[Key::Down, Key::Down, Key::Down, Key::Down]);
        assert_eq!(ui.dev_selected, 2);
        assert_eq!(ui.selected, 0);
    }

    #[test]
    fn filter_typing_backspace_enter_esc() {
        let s = snap();
        let mut ui = UiState::default();
        press(
            &mut ui,
            &s,
            &[Key::Down, Key::Char('/'), Key::Char('t'), Key::Char('0'), Key::Char('x'), Key::Backspace],
        );
        assert_eq!(ui.filter, "t0");
        assert_eq!(ui.selected, 0, "typing resets the selection");
        assert_eq!(visible_tags(&s, &ui).len(), 10);
        press(&mut ui, &s, &[Key::Enter]);
        assert!(!ui.filter_editing);
        assert_eq!(ui.filter, "t0", "Enter keeps the filter");
        press(&mut ui, &s, &[Key::Char('/'), Key::Char('1'), Key::Esc]);
        assert!(!ui.filter_editing);
        assert_eq!(ui.filter, "", "Esc clears the filter");
    }

    #[test]
    fn esc_clears_a_kept_filter() {
        let s = snap();
        let mut ui = UiState { filter: "tank".into(), ..Default::default() };
        press(&mut ui, &s, &[Key::Esc]);
        assert_eq!(ui.filter, "");
    }

    #[test]
    fn filter_is_case_insensitive_over_name_asset_description() {
        let s = snap();
        let ui = UiState { filter: "TANK".into(), ..Default::default() };
        let names: Vec<_> = visible_tags(&s, &ui).iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["T05", "T06"]);
        let ui = UiState { filter: "t4".into(), ..Default::default() };
        assert_eq!(visible_tags(&s, &ui).len(), 10);
        let ui = UiState { filter: "plc-1".into(), ..Default::default() };
        assert_eq!(visible_devices(&s, &ui).len(), 1);
    }

    #[test]
    fn sort_cycles_and_reverses() {
        let s = snap();
        let mut ui = UiState::default();
        let first = |ui: &UiState| visible_tags(&s, ui)[0].name.clone();
        let last = |ui: &UiState| visible_tags(&s, ui).last().unwrap().name.clone();
        assert_eq!(first(&ui), "T00");
        press(&mut ui, &s, &[Key::Char('s')]);
        assert_eq!(ui.sort, SortKey::Value);
        assert_eq!(first(&ui), "T00");
        assert!(["T40", "T41"].contains(&last(&ui).as_str()), "missing and NaN values last");
        press(&mut ui, &s, &[Key::Char('s')]);
        assert_eq!(ui.sort, SortKey::Quality);
        let v = visible_tags(&s, &ui);
        assert_eq!((v[0].name.as_str(), v[1].name.as_str(), v[2].name.as_str()), ("T10", "T20", "T30"));
        press(&mut ui, &s, &[Key::Char('s')]);
        assert_eq!(ui.sort, SortKey::Age);
        assert_eq!(first(&ui), "T49", "newest first");
        press(&mut ui, &s, &[Key::Char('S')]);
        assert!(ui.sort_desc);
        assert_eq!(first(&ui), "T00");
        press(&mut ui, &s, &[Key::Char('s')]);
        assert_eq!(ui.sort, SortKey::Name);
        assert_eq!(first(&ui), "T49");
    }

    #[test]
    fn help_is_modal() {
        let s = snap();
        let mut ui = UiState::default();
        press(&mut ui, &s, &[Key::Char('?')]);
        assert!(ui.show_help);
        // q only closes the help, it does not quit
        assert_eq!(handle_key(&mut ui, &s, Key::Char('q')), None);
        assert!(!ui.show_help);
        press(&mut ui, &s, &[Key::Char('?'), Key::Char('4')]);
        assert_eq!(ui.screen, Screen::Tags, "keys do not act while help is open");
        assert!(!ui.show_help);
        press(&mut ui, &s, &[Key::Char('?'), Key::Char('?')]);
        assert!(!ui.show_help);
    }

    #[test]
    fn enter_opens_the_selected_tags_trend() {
        let s = snap();
        let mut ui = UiState { filter: "t1".into(), ..Default::default() };
        press(&mut ui, &s, &[Key::Down, Key::Down]);
        assert_eq!(press(&mut ui, &s, &[Key::Enter]), vec![Action::OpenTrend { tag: "T12".into() }]);
        assert_eq!(ui.screen, Screen::Trend);
        assert_eq!(ui.trend_tag.as_deref(), Some("T12"));
    }

    #[test]
    fn trend_keys_return_actions() {
        let s = snap();
        let mut ui = UiState { screen: Screen::Trend, ..Default::default() };
        assert_eq!(
            press(&mut ui, &s, &[Key::Char('+'), Key::Char('-'), Key::Left, Key::Right, Key::PageUp, Key::PageDown]),
            vec![
                Action::TrendZoom { in_: true },
                Action::TrendZoom { in_: false },
                Action::TrendPan { steps: -1 },
                Action::TrendPan { steps: 1 },
                Action::TrendPan { steps: -10 },
                Action::TrendPan { steps: 10 },
            ]
        );
        press(&mut ui, &s, &[Key::Esc]);
        assert_eq!(ui.screen, Screen::Tags);
        // zoom keys mean nothing elsewhere
        assert_eq!(press(&mut ui, &s, &[Key::Char('+'), Key::Left]), vec![]);
    }

    #[test]
    fn overview_keys_scroll_the_asset_tree() {
        let mut s = snap();
        s.assets = (0..30)
            .map(|i| crate::model::AssetRow {
                path: vec!["A".into(), "U".into(), format!("P{i:02}")],
                ..Default::default()
            })
            .collect();
        let mut ui = UiState { screen: Screen::Overview, page_rows: 10, ..Default::default() };
        press(&mut ui, &s, &[Key::Down, Key::Down]);
        assert_eq!(ui.overview_scroll, 2);
        press(&mut ui, &s, &[Key::End]);
        assert_eq!(ui.overview_scroll, 22, "32 lines, 10 shown");
        press(&mut ui, &s, &[Key::Down, Key::PageDown]);
        assert_eq!(ui.overview_scroll, 22);
        press(&mut ui, &s, &[Key::Up]);
        assert_eq!(ui.overview_scroll, 21);
        press(&mut ui, &s, &[Key::Home]);
        assert_eq!(ui.overview_scroll, 0);
    }

    #[test]
    fn window_start_keeps_selection_visible() {
        assert_eq!(window_start(100, 50, 0, 10), 41);
        assert_eq!(window_start(100, 5, 20, 10), 5);
        assert_eq!(window_start(100, 25, 20, 10), 20);
        assert_eq!(window_start(5, 3, 9, 10), 0);
        assert_eq!(window_start(0, 0, 0, 10), 0);
    }
}
