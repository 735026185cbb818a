//! The Alarms screen's History and KPI panes: snapshots at 80x24 and 160x48 (a page, an
//! empty page, hostile text, the figures with their charts), and the keys that page the
//! journal and choose the period, each asking the daemon for exactly one page or report.

mod common;

use common::*;
use mimic_views::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn change(k: i64, alarm: &str, change: &str, priority: Priority) -> HistoryRow {
    HistoryRow {
        ts_ms: NOW - k * 97_000,
        place: AlarmPlace { tag: alarm.into(), asset: String::new(), area: "Pumping".into() },
        kind: "HI".into(),
        priority,
        change: change.into(),
        value: Some(81.25 - k as f64),
        user: if change == "acknowledged" { "alice".into() } else { String::new() },
        note: if change == "shelved" { "sensor being replaced".into() } else { String::new() },
    }
}

fn page() -> HistoryPage {
    let names = ["P101.motor_temp", "P102.discharge_pressure", "Area01.Unit07.Line3.FT0042.flow_rate"];
    let changes = ["raised", "acknowledged", "returned", "shelved"];
    let prios = [Priority::Low, Priority::Medium, Priority::High, Priority::Critical];
    let mut rows: Vec<HistoryRow> =
        (0..40).map(|k| change(k, names[k as usize % 3], changes[k as usize % 4], prios[k as usize % 4])).collect();
    // a low alarm held back by a flood, then released when it ended
    (rows[4].change, rows[4].note) = ("flood_held".into(), "held back: alarm flood at Pumping".into());
    (rows[0].change, rows[0].note) = ("flood_released".into(), "released: flood over, still active".into());
    HistoryPage { rows, next: Some((NOW - 40 * 97_000, 17)) }
}

fn kpi() -> KpiView {
    let fig = |name: &str, text: &str, target: &str, verdict: &str| KpiFigure {
        name: name.into(),
        text: text.into(),
        target: target.into(),
        verdict: verdict.into(),
    };
    let figures = vec![
        fig("alarms per 10 min", "2.17", "≤ 1 acceptable, ≤ 2 manageable", "over target"),
        fig("alarms per hour", "13.0", "≤ 6 acceptable, ≤ 12 manageable", "over target"),
        fig("alarms per day", "312", "≤ 150 acceptable, ≤ 300 manageable", "over target"),
        fig("peak alarms in 10 min", "24", "≤ 10", "over target"),
        fig("10-min periods > 10 alarms", "2.08 %", "< 1 %", "over target"),
        fig("time in flood", "1.39 % (2 floods, 20 min 0 s)", "< 1 %", "over target"),
        fig("top 10 alarms' share", "61.2 %", "≤ 5 %", "over target"),
        fig("chattering alarms", "1", "0", "over target"),
        fig("fleeting annunciations", "4", "-", ""),
        fig("standing alarms (> 24 h)", "1", "< 5", "acceptable"),
        fig("priority low/medium/high", "78/16/6 %", "~80/15/5 %", "acceptable"),
        fig("shelved", "2 (3 h 10 min)", "-", ""),
        fig("out of service", "0 (0 s)", "-", ""),
        fig("time to acknowledge", "median 42 s, 90th percentile 3 min 5 s", "-", ""),
    ];
    let pumping =
        KpiScope { name: "Pumping".into(), raised: 12, figures: figures[..3].to_vec(), by_priority: [9, 2, 1, 0] };
    KpiView {
        from_ms: NOW - 86_400_000,
        to_ms: NOW,
        scopes: vec![KpiScope { name: "site".into(), raised: 312, figures, by_priority: [243, 50, 15, 4] }, pumping],
        per_10min: (0..144).map(|k| [0, 1, 3, 0, 2, 24, 1][k % 7]).collect(),
        per_hour: (0..24).map(|k| [4, 9, 30, 2, 11, 0][k % 6]).collect(),
        top: vec![("P101.motor_temp HI".into(), 120), ("P102.discharge_pressure HIHI".into(), 41)],
    }
}

fn ui_with(pane: AlarmPane) -> UiState {
    let mut ui = UiState { screen: Screen::Alarms, ..Default::default() };
    ui.alarm_log.pane = pane;
    ui
}

fn draw_at(ui: &UiState, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut ui = ui.clone();
    ui.resize(w, h);
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    term.draw(|f| draw(f, &normal(), None, &ui)).expect("draw");
    term
}

#[test]
fn history_pages_render_at_both_sizes() {
    let mut ui = ui_with(AlarmPane::History);
    ui.alarm_log.search = "prio:high since:30d motor".into();
    ui.alarm_log.starts = vec![None, Some((NOW, 3))];
    ui.alarm_log.selected = 3;
    ui.alarm_log.show_page(page());
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("history_page_{w}x{h}"), draw_at(&ui, w, h).backend());
    }
    ui.alarm_log.show_page(HistoryPage::default());
    ui.alarm_log.editing = true;
    insta::assert_snapshot!("history_empty_editing_80x24", draw_at(&ui, 80, 24).backend());
    ui.alarm_log.page = None;
    ui.alarm_log.editing = false;
    ui.alarm_log.error = Some("alarm_history.limit: 100000 is more than 5000".into());
    insta::assert_snapshot!("history_refused_80x24", draw_at(&ui, 80, 24).backend());
}

#[test]
fn hostile_history_text_never_reaches_the_terminal() {
    let mut ui = ui_with(AlarmPane::History);
    let mut p = page();
    for r in &mut p.rows {
        r.place.tag = "\u{1b}[2J\u{1b}]0;pwned\u{7}tag".into();
        r.note = "note\r\n\u{9b}31m".into();
        r.user = "\u{1b}[31mmallory".into();
    }
    ui.alarm_log.show_page(p);
    for (w, h) in SIZES {
        let term = draw_at(&ui, w, h);
        for cell in term.backend().buffer().content() {
            assert!(!cell.symbol().chars().any(char::is_control), "control character in a cell at {w}x{h}");
        }
        insta::assert_snapshot!(format!("history_hostile_{w}x{h}"), term.backend());
    }
}

#[test]
fn kpi_figures_render_beside_their_targets_with_charts() {
    let mut ui = ui_with(AlarmPane::Kpi);
    ui.alarm_log.show_kpi(kpi());
    for (w, h) in SIZES {
        let term = draw_at(&ui, w, h);
        let text: String = term.backend().buffer().content().iter().map(|c| c.symbol()).collect();
        assert!(text.contains("over target") && text.contains("Priority mix"), "{w}x{h}");
        insta::assert_snapshot!(format!("kpi_{w}x{h}"), term.backend());
    }
    // one operator position's figures (↓), the site's rates beside them
    handle_key(&mut ui, &normal(), Key::Down);
    assert_eq!(ui.alarm_log.scope().map(|s| s.name.as_str()), Some("Pumping"));
    insta::assert_snapshot!("kpi_position_80x24", draw_at(&ui, 80, 24).backend());
    handle_key(&mut ui, &normal(), Key::Down);
    assert_eq!(ui.alarm_log.kpi_scope, 1, "the last position stays chosen");
    ui.alarm_log.kpi = None;
    insta::assert_snapshot!("kpi_waiting_80x24", draw_at(&ui, 80, 24).backend());
}

#[test]
fn history_keys_ask_for_one_page_at_a_time_and_go_back() {
    let snap = normal();
    let mut ui = UiState { screen: Screen::Alarms, ..Default::default() };
    ui.resize(80, 24);
    let rows = 16;
    let ask = |after, search: &str| Some(Action::AlarmHistory { search: search.into(), after, rows });
    assert_eq!(handle_key(&mut ui, &snap, Key::Char('H')), ask(None, ""));
    assert_eq!(ui.alarm_log.pane, AlarmPane::History);
    // no page yet: nothing to go forward to
    assert_eq!(handle_key(&mut ui, &snap, Key::PageDown), None);
    assert_eq!(ui.alarm_log.error.as_deref(), Some("This is the last page."));
    ui.alarm_log.show_page(page());
    let second = Some((NOW - 40 * 97_000, 17));
    assert_eq!(handle_key(&mut ui, &snap, Key::PageDown), ask(second, ""));
    assert_eq!(ui.alarm_log.page_no(), 2);
    ui.alarm_log.show_page(HistoryPage { rows: page().rows, next: Some((NOW - 80 * 97_000, 9)) });
    assert_eq!(handle_key(&mut ui, &snap, Key::Char('n')), ask(Some((NOW - 80 * 97_000, 9)), ""));
    assert_eq!(handle_key(&mut ui, &snap, Key::PageUp), ask(second, ""));
    assert_eq!(handle_key(&mut ui, &snap, Key::Char('p')), ask(None, ""));
    assert_eq!(handle_key(&mut ui, &snap, Key::PageUp), None, "already on the first page");
    // the search is typed (q is text, not quit), Enter asks for its first page
    assert_eq!(handle_key(&mut ui, &snap, Key::Char('/')), None);
    for c in "tag:P101 q".chars() {
        assert_eq!(handle_key(&mut ui, &snap, Key::Char(c)), None);
    }
    assert_eq!(handle_key(&mut ui, &snap, Key::Char('\u{1b}')), None, "no escape in a search");
    assert_eq!(handle_key(&mut ui, &snap, Key::Enter), ask(None, "tag:P101 q"));
    // acts do not apply to the past; v goes back to the live alarms
    assert_eq!(handle_key(&mut ui, &snap, Key::Char('a')), None);
    assert!(ui.modal.is_none());
    assert_eq!(handle_key(&mut ui, &snap, Key::Char('v')), None);
    assert_eq!(ui.alarm_log.pane, AlarmPane::Live);
    assert_eq!(ui.alarm_view, AlarmView::Active, "v back to the live alarms does not cycle their view");
    // screen keys still work from the history
    handle_key(&mut ui, &snap, Key::Char('H'));
    assert_eq!(handle_key(&mut ui, &snap, Key::Char('q')), Some(Action::Quit));
    assert_eq!(handle_key(&mut ui, &snap, Key::Char('1')), None);
    assert_eq!(ui.screen, Screen::Overview);
}

#[test]
fn kpi_keys_choose_the_period() {
    let snap = normal();
    let mut ui = UiState { screen: Screen::Alarms, ..Default::default() };
    let day = Some(Action::AlarmKpis { span_ms: 86_400_000 });
    assert_eq!(handle_key(&mut ui, &snap, Key::Char('K')), day);
    assert_eq!(handle_key(&mut ui, &snap, Key::Right), Some(Action::AlarmKpis { span_ms: 7 * 86_400_000 }));
    assert_eq!(handle_key(&mut ui, &snap, Key::Right), Some(Action::AlarmKpis { span_ms: 30 * 86_400_000 }));
    assert_eq!(handle_key(&mut ui, &snap, Key::Right), Some(Action::AlarmKpis { span_ms: 30 * 86_400_000 }));
    assert_eq!(handle_key(&mut ui, &snap, Key::Char('[')), Some(Action::AlarmKpis { span_ms: 7 * 86_400_000 }));
    assert_eq!(handle_key(&mut ui, &snap, Key::Char('r')), Some(Action::AlarmKpis { span_ms: 7 * 86_400_000 }));
    assert_eq!(handle_key(&mut ui, &snap, Key::Char('a')), None);
    assert!(ui.modal.is_none(), "no act from the figures");
    assert_eq!(handle_key(&mut ui, &snap, Key::Esc), None);
    assert_eq!(ui.alarm_log.pane, AlarmPane::Live);
}
