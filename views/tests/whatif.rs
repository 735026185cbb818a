//! The what-if on the Tags screen: `w` on a loop's setpoint opens a value form; Enter with a
//! number asks the twin (an action for the caller); the answer popup shows the predicted KPI
//! and, on Enter, asks for the write (a request still to be approved). Snapshots at 80x24
//! and 160x48; hostile text never reaches the buffer.

mod common;

use common::*;
use mimic_views::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn render(s: &Snapshot, ui: &UiState, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| draw(f, s, None, ui)).unwrap();
    term
}

/// The normal plant with a loop on the pump speed, and the row of the speed on the Tags screen.
fn plant() -> (Snapshot, String, usize) {
    let mut s = normal();
    let ui = UiState { screen: Screen::Tags, ..Default::default() };
    let sp = "P101.Speed".to_string();
    let row = visible_tags(&s, &ui).iter().position(|t| t.name == sp).expect("the speed tag");
    s.loops.push(LoopRow {
        name: "P-101 flow".into(),
        manipulated: sp.clone(),
        kpi: "FT101.Flow".into(),
        low: 62.0,
        high: 78.0,
        r2: Some(1.0),
        gain: Some(0.921),
        tau_s: Some(3.0),
        dead_s: Some(0.0),
        status: "inside its band".into(),
        ..Default::default()
    });
    (s, sp, row)
}

fn answer(tag: &str) -> WhatIfView {
    let trajectory: Vec<(f64, f64)> =
        (0..=60).map(|k| (f64::from(k), 69.7 + 4.6 * (1.0 - (-f64::from(k) / 3.0).exp()))).collect();
    WhatIfView {
        loop_name: "P-101 flow".into(),
        tag: tag.into(),
        units: "rpm".into(),
        from: 1475.3,
        value: 1550.0,
        kpi: "FT101.Flow".into(),
        kpi_units: "m3/h".into(),
        kpi_now: 69.7,
        low: 62.0,
        high: 78.0,
        steady_state: trajectory[60].1,
        trajectory,
        confidence: 0.93,
        model: "model: gain 0.921 m3/h per %, time constant 3 s, dead time 0 s, R² 1.00".into(),
        note: None,
    }
}

#[test]
fn w_on_a_loop_setpoint_asks_the_twin_and_enter_on_the_answer_asks_for_the_write() {
    use Key::*;
    let (s, sp, row) = plant();
    let mut ui = UiState { screen: Screen::Tags, selected: row, ..Default::default() };
    assert_eq!(handle_key(&mut ui, &s, Char('w')), None);
    assert!(ui.modal.is_some(), "the value form opens");
    for (w, h) in [(80, 24), (160, 48)] {
        insta::assert_snapshot!(format!("whatif_form_{w}x{h}"), render(&s, &ui, w, h).backend());
    }
    // Enter without a number is refused in the form
    assert_eq!(handle_key(&mut ui, &s, Enter), None);
    assert!(ui.modal.as_ref().and_then(|m| m.error.as_deref()).is_some_and(|e| e.contains("value to try")));
    for c in "1550x".chars() {
        handle_key(&mut ui, &s, Char(c));
    }
    assert_eq!(handle_key(&mut ui, &s, Enter), None);
    assert!(ui.modal.as_ref().and_then(|m| m.error.as_deref()).is_some_and(|e| e.contains("not a number")));
    handle_key(&mut ui, &s, Backspace);
    assert_eq!(handle_key(&mut ui, &s, Enter), Some(Action::WhatIf { tag: sp.clone(), value: 1550.0 }));
    assert!(ui.modal.is_none());

    // the caller shows the answer; it swallows keys but Enter and Esc
    ui.what_if = Some(answer(&sp));
    for (w, h) in [(80, 24), (160, 48)] {
        insta::assert_snapshot!(format!("whatif_answer_{w}x{h}"), render(&s, &ui, w, h).backend());
    }
    let text = render(&s, &ui, 160, 48).backend().to_string();
    assert!(text.contains("FT101.Flow now 69.7 → 74.3 m3/h at steady state"), "{text}");
    assert!(
        text.contains("inside its band") && text.contains("93") && text.contains('▁') && text.contains('█'),
        "{text}"
    );
    assert_eq!(handle_key(&mut ui, &s, Char('q')), None, "q does not quit under the popup");
    assert!(ui.what_if.is_some());
    assert_eq!(handle_key(&mut ui, &s, Enter), Some(Action::RequestWrite { tag: sp.clone(), value: 1550.0 }));
    assert!(ui.what_if.is_none());
    ui.what_if = Some(answer(&sp));
    assert_eq!(handle_key(&mut ui, &s, Esc), None);
    assert!(ui.what_if.is_none() && ui.notice.as_deref().is_some_and(|n| n.contains("nothing was changed")));

    // a tag that is no loop's setpoint has no what-if
    let mut ui = UiState { screen: Screen::Tags, selected: row + 1, ..Default::default() };
    assert_eq!(handle_key(&mut ui, &s, Char('w')), None);
    assert!(ui.modal.is_none() && ui.notice.as_deref().is_some_and(|n| n.contains("not the setpoint")));
}

#[test]
fn hostile_what_if_text_never_reaches_the_buffer() {
    let (s, sp, _) = plant();
    let evil = "\u{1b}[2J\u{7}evil\r\n";
    let mut w = answer(&sp);
    w.loop_name = evil.into();
    w.kpi = evil.into();
    w.units = evil.into();
    w.model = evil.into();
    w.note = Some(evil.into());
    w.trajectory.push((60.0, f64::NAN));
    let ui = UiState { screen: Screen::Tags, what_if: Some(w), ..Default::default() };
    for (wd, h) in [(80, 24), (160, 48), (40, 10), (20, 4), (10, 3), (1, 1)] {
        let term = render(&s, &ui, wd, h);
        for cell in term.backend().buffer().content.iter() {
            assert!(!cell.symbol().chars().any(is_unsafe), "{wd}x{h}: {:?}", cell.symbol());
        }
    }
}
