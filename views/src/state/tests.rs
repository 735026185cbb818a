use super::*;
use crate::model::{DeviceRow, QualityView, TagRow};

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
fn selection_moves_and_clamps_and_scroll_follows() {
    let s = snap();
    let mut ui = UiState { page_rows: 10, ..Default::default() };
    // keys pressed, then (selected, scroll)
    let steps: [(&[Key], (usize, usize)); 7] = [
        (&[Key::Up], (0, 0)),
        (&[Key::Down, Key::Down], (2, 0)),
        (&[Key::PageDown], (12, 3)),
        (&[Key::End], (49, 40)),
        (&[Key::Down, Key::PageDown], (49, 40)),
        (&[Key::PageUp], (39, 39)),
        (&[Key::Home], (0, 0)),
    ];
    for (keys, want) in steps {
        press(&mut ui, &s, keys);
        assert_eq!((ui.selected, ui.scroll), want, "after {keys:?}");
    }
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
    press(&mut ui, &s, &[Key::Down, Key::Char('/'), Key::Char('t'), Key::Char('0'), Key::Char('x'), Key::Backspace]);
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
fn alarms_filter_by_text() {
    let s = alarm_snap();
    let mut ui = UiState { screen: Screen::Alarms, ..Default::default() };
    let all = visible_alarms(&s, &ui).len();
    for k in [Key::Char('/'), Key::Char('a'), Key::Char('4'), Key::Enter] {
        assert_eq!(handle_key(&mut ui, &s, k), None, "typing a filter never acts");
    }
    assert_eq!(ui.filter, "a4");
    let shown: Vec<u64> = visible_alarms(&s, &ui).iter().map(|a| a.id).collect();
    assert_eq!(shown, vec![4]);
    handle_key(&mut ui, &s, Key::Esc);
    assert_eq!(visible_alarms(&s, &ui).len(), all);
}

fn alarm_snap() -> Snapshot {
    use crate::model::{AlarmPlace, AlarmRow, AlarmStateView as St, Priority as P, RecommendationRow};
    let a = |id: u64, p: P, st: St, since: i64| AlarmRow {
        id,
        place: AlarmPlace { tag: format!("A{id}"), ..Default::default() },
        priority: p,
        state: st,
        active_since_ms: Some(since),
        ..Default::default()
    };
    let mut alarms = vec![
        a(1, P::Low, St::AckActive, 10),
        a(2, P::High, St::UnackActive, 20),
        a(3, P::Critical, St::UnackActive, 5),
        a(4, P::High, St::UnackActive, 30),
        a(5, P::Critical, St::UnackRtn, 40),
        a(6, P::Medium, St::AckActive, 50),
        a(7, P::High, St::UnackActive, 60),
        a(8, P::Low, St::Normal, 70),
    ];
    alarms[6].shelved_until_ms = Some(1_000);
    alarms[7].out_of_service = true;
    let rec = |id: u64, status: &str, created: i64| RecommendationRow {
        id,
        tag: format!("R{id}"),
        status: status.into(),
        created_ms: created,
        proposed: 1.0,
        ..Default::default()
    };
    Snapshot {
        alarms,
        recommendations: vec![rec(1, "approved", 30), rec(2, "pending", 10), rec(3, "pending", 20)],
        ..snap()
    }
}

fn alarms_ui() -> UiState {
    UiState { screen: Screen::Alarms, ..Default::default() }
}

fn typed(ui: &mut UiState, s: &Snapshot, text: &str) {
    for c in text.chars() {
        assert_eq!(handle_key(ui, s, Key::Char(c)), None);
    }
}

#[test]
fn alarms_sort_unacked_then_priority_then_newest() {
    let s = alarm_snap();
    let mut ui = alarms_ui();
    let ids = |ui: &UiState| visible_alarms(&s, ui).iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(ids(&ui), vec![3, 4, 2, 5, 6, 1], "Active: shelved, OOS and normal hidden");
    press(&mut ui, &s, &[Key::Char('v')]);
    assert_eq!((ui.alarm_view, ids(&ui)), (AlarmView::Shelved, vec![7]));
    press(&mut ui, &s, &[Key::Char('v')]);
    assert_eq!((ui.alarm_view, ids(&ui)), (AlarmView::Flood, vec![]));
    press(&mut ui, &s, &[Key::Char('v')]);
    assert_eq!((ui.alarm_view, ids(&ui)), (AlarmView::OutOfService, vec![8]));
    press(&mut ui, &s, &[Key::Char('v')]);
    assert_eq!((ui.alarm_view, ids(&ui)), (AlarmView::All, vec![3, 7, 4, 2, 5, 6, 1, 8]));
    press(&mut ui, &s, &[Key::Char('v')]);
    assert_eq!(ui.alarm_view, AlarmView::Active);
    assert_eq!(unacked_alarms(&s), (4, Some(crate::model::Priority::Critical)));
}

#[test]
fn ack_confirm_then_enter() {
    let s = alarm_snap();
    let mut ui = alarms_ui();
    press(&mut ui, &s, &[Key::Down]);
    assert_eq!(handle_key(&mut ui, &s, Key::Char('a')), None, "a only opens the popup");
    assert!(ui.modal.is_some());
    assert_eq!(handle_key(&mut ui, &s, Key::Enter), Some(Action::AckAlarm { id: 4 }));
    assert!(ui.modal.is_none());
}

#[test]
fn ack_on_an_acked_alarm_says_why() {
    let s = alarm_snap();
    let mut ui = alarms_ui();
    press(&mut ui, &s, &[Key::End, Key::Char('a')]);
    assert!(ui.modal.is_none());
    assert!(ui.notice.as_deref().unwrap().contains("already"));
    press(&mut ui, &s, &[Key::Up]);
    assert_eq!(ui.notice, None, "the next key clears the notice");
    press(&mut ui, &s, &[Key::Char('u')]);
    assert!(ui.modal.is_none() && ui.notice.as_deref().unwrap().contains("not shelved"));
}

#[test]
fn ack_all_names_the_count_and_returns_the_ids() {
    let s = alarm_snap();
    let mut ui = alarms_ui();
    press(&mut ui, &s, &[Key::Char('A')]);
    let m = ui.modal.as_ref().unwrap();
    assert!(m.title.contains('4') && m.lines[0].contains("ALL 4"), "{m:?}");
    assert_eq!(handle_key(&mut ui, &s, Key::Enter), Some(Action::AckAllVisible { ids: vec![3, 4, 2, 5] }));
    // nothing unacked in the Out-of-service view: no popup
    let mut ui = UiState { alarm_view: AlarmView::OutOfService, ..alarms_ui() };
    press(&mut ui, &s, &[Key::Char('A')]);
    assert!(ui.modal.is_none() && ui.notice.is_some());
}

#[test]
fn shelve_needs_a_reason_and_cycles_the_duration() {
    let s = alarm_snap();
    let mut ui = alarms_ui();
    press(&mut ui, &s, &[Key::Char('h')]);
    assert_eq!(handle_key(&mut ui, &s, Key::Enter), None, "empty reason refused");
    assert!(ui.modal.as_ref().unwrap().error.as_deref().unwrap().contains("reason"));
    typed(&mut ui, &s, "   ");
    assert_eq!(handle_key(&mut ui, &s, Key::Enter), None, "blank reason refused");
    press(&mut ui, &s, &[Key::Backspace, Key::Backspace, Key::Backspace]);
    typed(&mut ui, &s, "q? 1/aAhuov");
    assert_eq!(ui.modal.as_ref().unwrap().error, None, "typing clears the error");
    press(&mut ui, &s, &[Key::Left]);
    assert_eq!(ui.modal.as_ref().unwrap().duration, Some(3), "← wraps to 24 h");
    press(&mut ui, &s, &[Key::Right, Key::Right, Key::Right]);
    assert_eq!(
        handle_key(&mut ui, &s, Key::Enter),
        Some(Action::ShelveAlarm { id: 3, reason: "q? 1/aAhuov".into(), minutes: 480 })
    );
    assert_eq!(ui.screen, Screen::Alarms, "typed digits did not switch screens");
}

#[test]
fn reason_length_is_capped() {
    let s = alarm_snap();
    let mut ui = alarms_ui();
    press(&mut ui, &s, &[Key::Char('o')]);
    typed(&mut ui, &s, &"x".repeat(MAX_REASON + 50));
    assert_eq!(ui.modal.as_ref().unwrap().reason.as_ref().unwrap().len(), MAX_REASON);
}

#[test]
fn out_of_service_toggles_with_a_reason() {
    let s = alarm_snap();
    let mut ui = alarms_ui();
    press(&mut ui, &s, &[Key::Char('o')]);
    assert_eq!(handle_key(&mut ui, &s, Key::Enter), None);
    typed(&mut ui, &s, " sensor replaced ");
    assert_eq!(
        handle_key(&mut ui, &s, Key::Enter),
        Some(Action::SetOutOfService { id: 3, on: true, reason: "sensor replaced".into() })
    );
    let mut ui = UiState { alarm_view: AlarmView::OutOfService, ..alarms_ui() };
    press(&mut ui, &s, &[Key::Char('o')]);
    typed(&mut ui, &s, "fixed");
    assert_eq!(
        handle_key(&mut ui, &s, Key::Enter),
        Some(Action::SetOutOfService { id: 8, on: false, reason: "fixed".into() })
    );
}

#[test]
fn unshelve_confirms() {
    let s = alarm_snap();
    let mut ui = UiState { alarm_view: AlarmView::Shelved, ..alarms_ui() };
    press(&mut ui, &s, &[Key::Char('u')]);
    assert_eq!(handle_key(&mut ui, &s, Key::Enter), Some(Action::UnshelveAlarm { id: 7 }));
}

#[test]
fn approve_and_reject_pending_recommendations() {
    let s = alarm_snap();
    let mut ui = UiState { screen: Screen::Recommendations, ..Default::default() };
    let ids: Vec<u64> = visible_recommendations(&s, &ui).iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![3, 2, 1], "pending first, newest first");
    press(&mut ui, &s, &[Key::Char('y')]);
    let m = ui.modal.as_ref().unwrap();
    assert!(m.lines.iter().any(|l| l.contains("secret")), "{m:?}");
    assert!(m.lines.iter().any(|l| l.contains("R3") && l.contains("Tag")), "{m:?}");
    assert_eq!(handle_key(&mut ui, &s, Key::Enter), Some(Action::Approve { id: 3 }));
    press(&mut ui, &s, &[Key::Down, Key::Char('n')]);
    assert_eq!(handle_key(&mut ui, &s, Key::Enter), None, "reject needs a reason");
    typed(&mut ui, &s, "too aggressive");
    assert_eq!(handle_key(&mut ui, &s, Key::Enter), Some(Action::Reject { id: 2, reason: "too aggressive".into() }));
    // not pending: no popup
    press(&mut ui, &s, &[Key::End, Key::Char('y')]);
    assert!(ui.modal.is_none() && ui.notice.as_deref().unwrap().contains("approved"));
}

/// Every popup: Esc cancels, keys never leak to the screen below, Ctrl-C quits.
#[test]
fn every_popup_is_modal() {
    let s = alarm_snap();
    let openers: [(Screen, AlarmView, char); 7] = [
        (Screen::Alarms, AlarmView::Active, 'a'),
        (Screen::Alarms, AlarmView::Active, 'A'),
        (Screen::Alarms, AlarmView::Active, 'h'),
        (Screen::Alarms, AlarmView::Shelved, 'u'),
        (Screen::Alarms, AlarmView::Active, 'o'),
        (Screen::Recommendations, AlarmView::Active, 'y'),
        (Screen::Recommendations, AlarmView::Active, 'n'),
    ];
    let leak = [
        Key::Char('q'),
        Key::Char('?'),
        Key::Char('2'),
        Key::Char('v'),
        Key::Char('/'),
        Key::Char('a'),
        Key::Char('y'),
        Key::Tab,
        Key::BackTab,
        Key::Down,
        Key::Up,
        Key::PageDown,
        Key::End,
        Key::Home,
        Key::Backspace,
        Key::Left,
        Key::Right,
    ];
    for (screen, view, c) in openers {
        let mut ui = UiState { screen, alarm_view: view, ..Default::default() };
        press(&mut ui, &s, &[Key::Char(c)]);
        assert!(ui.modal.is_some(), "{c} opens a popup");
        let before = UiState { modal: None, ..ui.clone() };
        for k in leak {
            assert_eq!(handle_key(&mut ui, &s, k), None, "{c}: {k:?} returns nothing");
            assert!(ui.modal.is_some(), "{c}: {k:?} keeps the popup open");
        }
        let after = UiState { modal: None, ..ui.clone() };
        assert_eq!(after, before, "{c}: no key reached the screen below");
        assert!(!ui.show_help && !ui.filter_editing);
        assert_eq!(handle_key(&mut ui.clone(), &s, Key::CtrlC), Some(Action::Quit), "{c}: Ctrl-C quits");
        assert_eq!(handle_key(&mut ui, &s, Key::Esc), None);
        assert!(ui.modal.is_none(), "{c}: Esc cancels");
        assert_eq!(ui.screen, screen);
    }
}

#[test]
fn seven_screens_by_number_and_tab() {
    let s = snap();
    let mut ui = UiState::default();
    for (i, sc) in Screen::ALL.iter().enumerate() {
        handle_key(&mut ui, &s, Key::Char(char::from(b'1' + i as u8)));
        assert_eq!(ui.screen, *sc);
    }
    handle_key(&mut ui, &s, Key::Tab);
    assert_eq!(ui.screen, Screen::Overview);
    handle_key(&mut ui, &s, Key::BackTab);
    assert_eq!(ui.screen, Screen::Audit);
    assert_eq!(handle_key(&mut ui, &s, Key::Char('8')), None);
    assert_eq!(ui.screen, Screen::Audit);
}

#[test]
fn audit_is_newest_first_and_filterable() {
    use crate::model::AuditRow;
    let e = |seq: u64, user: &str, action: &str, target: &str, detail: &str| AuditRow {
        seq,
        user: user.into(),
        action: action.into(),
        target: target.into(),
        detail: detail.into(),
        ..Default::default()
    };
    let s = Snapshot {
        audit: vec![
            e(1, "jane", "login", "console", ""),
            e(2, "sam", "ack", "alarm 3", ""),
            e(3, "jane", "shelve", "alarm 4", "Transmitter recalibration"),
        ],
        ..Default::default()
    };
    let mut ui = UiState { screen: Screen::Audit, ..Default::default() };
    let seqs = |ui: &UiState| visible_audit(&s, ui).iter().map(|r| r.seq).collect::<Vec<_>>();
    assert_eq!(seqs(&ui), vec![3, 2, 1]);
    press(&mut ui, &s, &[Key::Char('/'), Key::Char('J'), Key::Char('A')]);
    assert_eq!(seqs(&ui), vec![3, 1]);
    press(&mut ui, &s, &[Key::Esc, Key::Char('/')]);
    typed(&mut ui, &s, "RECALIB");
    assert_eq!(seqs(&ui), vec![3], "detail is searched");
    press(&mut ui, &s, &[Key::Enter, Key::Esc]);
    assert_eq!(seqs(&ui), vec![3, 2, 1]);
}

#[test]
fn trend_cursor_toggles_moves_and_clamps() {
    let s = snap();
    let mut ui = UiState { screen: Screen::Trend, ..Default::default() };
    ui.resize(80, 24);
    let last = ui.trend_cols - 1;
    assert_eq!(press(&mut ui, &s, &[Key::Char('c')]), vec![]);
    assert_eq!(ui.trend_cursor, Some(last), "starts on the newest column");
    assert_eq!(press(&mut ui, &s, &[Key::Right, Key::Right]), vec![], "arrows move the cursor, no pan");
    assert_eq!(ui.trend_cursor, Some(last), "clamped at the right edge");
    press(&mut ui, &s, &[Key::Left, Key::Left]);
    assert_eq!(ui.trend_cursor, Some(last - 2));
    press(&mut ui, &s, &[Key::Home, Key::Left]);
    assert_eq!(ui.trend_cursor, Some(0), "clamped at the left edge");
    press(&mut ui, &s, &[Key::End]);
    assert_eq!(ui.trend_cursor, Some(last));
    // a cursor left over from a wider terminal moves from the right edge
    ui.trend_cursor = Some(500);
    press(&mut ui, &s, &[Key::Left]);
    assert_eq!(ui.trend_cursor, Some(last - 1));
    assert_eq!(
        press(&mut ui, &s, &[Key::ShiftLeft, Key::ShiftRight, Key::PageUp, Key::PageDown]),
        vec![
            Action::TrendPan { steps: -1 },
            Action::TrendPan { steps: 1 },
            Action::TrendPan { steps: -10 },
            Action::TrendPan { steps: 10 },
        ],
        "Shift-arrows and PgUp/PgDn still pan"
    );
    assert_eq!(ui.trend_cursor, Some(last - 1), "panning keeps the cursor column");
    press(&mut ui, &s, &[Key::Char('c')]);
    assert_eq!(ui.trend_cursor, None);
    assert_eq!(
        press(&mut ui, &s, &[Key::Left, Key::ShiftRight]),
        vec![Action::TrendPan { steps: -1 }, Action::TrendPan { steps: 1 }]
    );
    // c means nothing on other screens
    let mut ui = UiState::default();
    press(&mut ui, &s, &[Key::Char('c')]);
    assert_eq!(ui.trend_cursor, None);
    ui.resize(160, 48);
    assert!(ui.trend_cols > 100);
}

#[test]
fn t_adds_tags_to_the_trend_and_capital_t_clears() {
    let s = snap();
    let mut ui = UiState::default();
    // no trend yet: the first added tag becomes the main one
    assert_eq!(press(&mut ui, &s, &[Key::Char('t')]), vec![Action::AddToTrend { tag: "T00".into() }]);
    assert_eq!(ui.trend_tags, vec!["T00"]);
    assert_eq!(ui.trend_tag.as_deref(), Some("T00"));
    assert_eq!(press(&mut ui, &s, &[Key::Char('t')]), vec![], "no duplicates");
    assert!(ui.notice.as_deref().unwrap().contains("already"));
    assert_eq!(ui.trend_tags.len(), 1);
    let acts = press(&mut ui, &s, &[Key::Down, Key::Char('t'), Key::Down, Key::Char('t'), Key::Down, Key::Char('t')]);
    assert_eq!(acts.len(), 3);
    assert_eq!(ui.trend_tags, vec!["T00", "T01", "T02", "T03"]);
    assert_eq!(press(&mut ui, &s, &[Key::Down, Key::Char('t')]), vec![], "at most 4");
    assert!(ui.notice.as_deref().unwrap().contains('4'));
    assert_eq!(ui.trend_tags.len(), MAX_TREND_TAGS);
    // Enter on another tag makes it the main one and keeps the extras
    press(&mut ui, &s, &[Key::Home]);
    ui.selected = 1;
    assert_eq!(press(&mut ui, &s, &[Key::Enter]), vec![Action::OpenTrend { tag: "T01".into() }]);
    assert_eq!(ui.trend_tags, vec!["T01", "T02", "T03"], "the new main tag is not also an extra");
    ui.screen = Screen::Tags;
    ui.selected = 9;
    press(&mut ui, &s, &[Key::Enter]);
    assert_eq!(ui.trend_tags, vec!["T09", "T02", "T03"]);
    ui.screen = Screen::Tags;
    assert_eq!(press(&mut ui, &s, &[Key::Char('T')]), vec![Action::ClearTrendExtras]);
    assert_eq!(ui.trend_tags, vec!["T09"]);
    // with an open trend and an empty set, t keeps the open tag as main
    let mut ui = UiState { trend_tag: Some("T05".into()), selected: 7, ..Default::default() };
    assert_eq!(press(&mut ui, &s, &[Key::Char('t')]), vec![Action::AddToTrend { tag: "T07".into() }]);
    assert_eq!(ui.trend_tags, vec!["T05", "T07"]);
    // t and T mean nothing on the Trend screen
    ui.screen = Screen::Trend;
    assert_eq!(press(&mut ui, &s, &[Key::Char('t'), Key::Char('T')]), vec![]);
    assert_eq!(ui.trend_tags, vec!["T05", "T07"]);
}

#[test]
fn window_start_keeps_selection_visible() {
    assert_eq!(window_start(100, 50, 0, 10), 41);
    assert_eq!(window_start(100, 5, 20, 10), 5);
    assert_eq!(window_start(100, 25, 20, 10), 20);
    assert_eq!(window_start(5, 3, 9, 10), 0);
    assert_eq!(window_start(0, 0, 0, 10), 0);
}

/// A daemon's window: rows 100..120 of 100,000 tags matching the filter.
fn windowed() -> Snapshot {
    let tags = (100..120).map(|i| tag(&format!("W{i:06}"), "A", Some(f64::from(i)), QualityView::Good, 1)).collect();
    Snapshot {
        tags,
        tag_page: Some(crate::model::TagPage { offset: 100, total: 100_000, bad: 7, stale: 3 }),
        tag_counts: Some(crate::model::TagCounts { tags: 200_000, bad: 9, stale: 4 }),
        ..Default::default()
    }
}

#[test]
fn a_window_of_the_daemon_is_indexed_by_list_position() {
    let s = windowed();
    let mut ui = UiState { selected: 105, scroll: 100, page_rows: 10, ..Default::default() };
    let list = tag_list(&s, &ui);
    assert_eq!((list.len, list.offset, list.bad, list.stale), (100_000, 100, 7, 3));
    assert_eq!(list.selected(&ui).map(|t| t.name.as_str()), Some("W000105"));
    assert_eq!(tag_counts(&s), (200_000, 9, 4));
    // Enter opens the trend of the selected row of the window
    assert_eq!(handle_key(&mut ui.clone(), &s, Key::Enter), Some(Action::OpenTrend { tag: "W000105".into() }));
    // the keys move over the whole list, not the window
    press(&mut ui, &s, &[Key::PageDown]);
    assert_eq!(ui.selected, 115);
    press(&mut ui, &s, &[Key::End]);
    assert_eq!((ui.selected, ui.scroll), (99_999, 99_990));
    // the row is not at hand yet (the daemon's answer is on its way): nothing to open
    assert_eq!(handle_key(&mut ui, &s, Key::Enter), None);
    assert_eq!(ui.screen, Screen::Tags);
}
