//! The key handling of the views: one key in, the UI state changed and at most one
//! [`Action`] out for the caller. Pure; see [`handle_key`] for the rules.

use super::*;
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
    let n = tag_list(snapshot, ui).len;
    ui.selected = ui.selected.min(n.saturating_sub(1));
    ui.scroll = window_start(n, ui.selected, ui.scroll, ui.page_rows);
    let n = visible_devices(snapshot, ui).len();
    ui.dev_selected = ui.dev_selected.min(n.saturating_sub(1));
    ui.dev_scroll = window_start(n, ui.dev_selected, ui.dev_scroll, ui.page_rows);
    let n = visible_audit(snapshot, ui).len();
    ui.audit_selected = ui.audit_selected.min(n.saturating_sub(1));
    ui.audit_scroll = window_start(n, ui.audit_selected, ui.audit_scroll, ui.page_rows);
}

fn reset_filtered(ui: &mut UiState) {
    ui.selected = 0;
    ui.scroll = 0;
    ui.dev_selected = 0;
    ui.dev_scroll = 0;
    ui.audit_selected = 0;
    ui.audit_scroll = 0;
}

/// Keys while a [`Modal`] is open: text and ←/→ edit it, Enter confirms
/// (only with valid input), Esc cancels, everything else is swallowed.
fn modal_key(ui: &mut UiState, key: Key) -> Option<Action> {
    let m = ui.modal.as_mut()?;
    if let Some(f) = m.form.as_mut()
        && super::maintenance::key(f, key)
    {
        m.error = None;
        return None;
    }
    match key {
        Key::Esc => {
            ui.modal = None;
            ui.notice = Some("Cancelled: nothing was changed.".into());
        }
        Key::Enter => match m.result() {
            Ok(action) => {
                ui.modal = None;
                return Some(action);
            }
            Err(e) => m.error = Some(e.to_string()),
        },
        Key::Char(c) if !crate::sanitize::is_unsafe(c) => {
            if let Some(r) = m.reason.as_mut()
                && r.chars().count() < MAX_REASON
            {
                r.push(c);
                m.error = None;
            }
        }
        Key::Backspace => {
            if let Some(r) = m.reason.as_mut() {
                r.pop();
            }
        }
        Key::Left | Key::Right => {
            if let Some(d) = m.duration.as_mut() {
                let n = SHELVE_MINUTES.len();
                *d = if key == Key::Right { (*d + 1) % n } else { (*d + n - 1) % n };
            }
        }
        _ => {}
    }
    None
}

fn alarm_title(a: &AlarmRow) -> String {
    format!("{} {} {} {}", a.priority.label(), a.state.label(), a.place.tag, a.kind)
}

/// Opens the popup for an Alarms key, or sets a notice saying why not.
fn alarm_key(ui: &mut UiState, snapshot: &Snapshot, c: char) {
    let alarms = visible_alarms(snapshot, ui);
    if c == 'A' {
        let ids: Vec<u64> = alarms.iter().filter(|a| a.state.unacked()).map(|a| a.id).collect();
        if ids.is_empty() {
            ui.notice = Some(format!("No unacknowledged alarm in the {} view.", ui.alarm_view.label()));
            return;
        }
        let n = ids.len();
        let mut lines = vec![format!(
            "Acknowledge ALL {n} unacknowledged alarm{} of the {} view?",
            plural(n),
            ui.alarm_view.label()
        )];
        lines.extend(alarms.iter().filter(|a| a.state.unacked()).take(5).map(|a| format!("  {}", alarm_title(a))));
        if n > 5 {
            lines.push(format!("  … and {} more", n - 5));
        }
        ui.modal =
            Some(Modal::confirm(&format!("Acknowledge {n} alarm{}", plural(n)), lines, Action::AckAllVisible { ids }));
        return;
    }
    let Some(a) = alarms.get(ui.alarm_selected.min(alarms.len().saturating_sub(1))) else {
        ui.notice = Some("No alarm selected.".into());
        return;
    };
    let head = vec![alarm_title(a), a.message.clone()];
    let with = |mut v: Vec<String>, more: &[String]| {
        v.extend_from_slice(more);
        v
    };
    ui.modal = match c {
        'a' if !a.state.unacked() => {
            ui.notice = Some("This alarm is already acknowledged.".into());
            None
        }
        'a' => Some(Modal::confirm(
            "Acknowledge alarm",
            with(head, &["Acknowledge this alarm?".into()]),
            Action::AckAlarm { id: a.id },
        )),
        'h' => Some(Modal {
            duration: Some(0),
            ..Modal::confirm(
                "Shelve alarm",
                with(head, &["Shelve this alarm: it is hidden from the Active view until the time runs out.".into()]),
                Action::ShelveAlarm { id: a.id, reason: String::new(), minutes: SHELVE_MINUTES[0] },
            )
            .with_reason()
        }),
        'u' if !a.shelved() => {
            ui.notice = Some("This alarm is not shelved.".into());
            None
        }
        'u' => Some(Modal::confirm(
            "Unshelve alarm",
            with(
                head,
                &[
                    format!("Shelved for: {}", a.shelve_reason.as_deref().unwrap_or("-")),
                    "Return it to the Active view now?".into(),
                ],
            ),
            Action::UnshelveAlarm { id: a.id },
        )),
        'o' => {
            let on = !a.out_of_service;
            let (title, what) = if on {
                ("Take alarm out of service", "Take this alarm OUT OF SERVICE: it will not annunciate until returned.")
            } else {
                ("Return alarm to service", "Return this alarm to service: it annunciates again.")
            };
            Some(
                Modal::confirm(
                    title,
                    with(head, &[what.into()]),
                    Action::SetOutOfService { id: a.id, on, reason: String::new() },
                )
                .with_reason(),
            )
        }
        _ => None,
    };
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Opens the approve / reject popup for the selected recommendation.
fn recommendation_key(ui: &mut UiState, snapshot: &Snapshot, c: char) {
    let recs = visible_recommendations(snapshot, ui);
    let Some(r) = recs.get(ui.rec_selected.min(recs.len().saturating_sub(1))) else {
        ui.notice = Some("No recommendation selected.".into());
        return;
    };
    if c == 'r' {
        if !r.revertable {
            ui.notice = Some("Only a written change whose effect was off offers a revert.".into());
            return;
        }
        let lines = vec![
            format!("Request {}: {} was set to {}", r.id, r.tag, crate::format::value(Some(r.proposed), 3, 12).trim()),
            format!("Status: {}", r.status),
            format!(
                "Revert: {} {} → {} {}",
                crate::format::value(r.current, 3, 12).trim(),
                r.units,
                crate::format::value(r.previous, 3, 12).trim(),
                r.units
            ),
            "Ask for a revert? It is a new request, approved and audited like any write.".into(),
        ];
        ui.modal = Some(Modal::confirm("Revert change", lines, Action::Revert { id: r.id }));
        return;
    }
    if r.status != "pending" {
        ui.notice =
            Some(format!("Only a pending recommendation can be approved or rejected (this one is {}).", r.status));
        return;
    }
    let change = format!(
        "Change: {} {} → {} {}",
        crate::format::value(r.current, 3, 12),
        r.units,
        crate::format::value(Some(r.proposed), 3, 12),
        r.units
    );
    let mut lines = vec![r.title.clone(), format!("Tag: {}   Asset: {}", r.tag, r.asset), change];
    ui.modal = Some(if c == 'y' {
        lines.push(format!("Predicted effect: {}", r.predicted_effect));
        lines.push(format!("Confidence: {}", crate::format::percent(r.confidence)));
        if r.needs_second_approver {
            lines.push(format!(
                "Needs a second approver ({} signature{} so far).",
                r.approvals.len(),
                plural(r.approvals.len())
            ));
        }
        lines.push("Approve? You will be asked for your secret to sign.".into());
        Modal::confirm("Approve recommendation", lines, Action::Approve { id: r.id })
    } else {
        lines.push("Reject this recommendation?".into());
        Modal::confirm("Reject recommendation", lines, Action::Reject { id: r.id, reason: String::new() }).with_reason()
    });
}

/// Opens the what-if value form for the selected tag, when it is the setpoint of a loop.
fn what_if_open(ui: &mut UiState, snapshot: &Snapshot) {
    let Some(t) = tag_list(snapshot, ui).selected(ui) else {
        ui.notice = Some("No tag selected.".into());
        return;
    };
    let Some(l) = snapshot.loops.iter().find(|l| l.manipulated == t.name) else {
        ui.notice = Some(format!("{} is not the setpoint of a control loop: no what-if.", t.name));
        return;
    };
    let lines = vec![
        format!("Loop {}: {} → {} (band {}..{})", l.name, l.manipulated, l.kpi, l.low, l.high),
        format!("Now: {} {}", crate::format::value(t.value, t.decimals, 12).trim(), t.units),
        format!("Model: {}", Some(l.model()).filter(|m| !m.is_empty()).as_deref().unwrap_or("not identified yet")),
        format!("Type a value to try: the twin predicts {}. Nothing is written.", l.kpi),
    ];
    ui.modal =
        Some(Modal::confirm("What-if", lines, Action::WhatIf { tag: t.name.clone(), value: f64::NAN }).with_reason());
}

/// Keys while a what-if answer is shown: Enter asks for the write, Esc closes.
fn what_if_key(ui: &mut UiState, key: Key) -> Option<Action> {
    match key {
        Key::Esc => {
            ui.what_if = None;
            ui.notice = Some("What-if closed: nothing was changed.".into());
            None
        }
        Key::Enter => {
            let w = ui.what_if.take()?;
            Some(Action::RequestWrite { tag: w.tag, value: w.value })
        }
        _ => None,
    }
}

/// Keys while the filter is typed: text edits it (so `q` does not quit), Enter keeps it,
/// Esc clears it; navigation still works.
fn filter_key(ui: &mut UiState, snapshot: &Snapshot, key: Key) -> Option<Action> {
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
    reset_filtered(ui);
    None
}

/// `t` on Tags: the selected tag joins the trend (at most [`MAX_TREND_TAGS`]).
fn add_to_trend(ui: &mut UiState, snapshot: &Snapshot) -> Option<Action> {
    let tag = tag_list(snapshot, ui).selected(ui)?.name.clone();
    if ui.trend_tags.contains(&tag) {
        ui.notice = Some(format!("{tag} is already on the trend."));
    } else if ui.trend_tags.len() >= MAX_TREND_TAGS {
        ui.notice = Some(format!("A trend shows at most {MAX_TREND_TAGS} tags: T clears the extras."));
    } else {
        if ui.trend_tags.is_empty()
            && let Some(main) = &ui.trend_tag
            && *main != tag
        {
            ui.trend_tags.push(main.clone());
        }
        ui.trend_tags.push(tag.clone());
        if ui.trend_tag.is_none() {
            ui.trend_tag = Some(tag.clone());
        }
        ui.notice = Some(format!("{tag} added to the trend ({}/{MAX_TREND_TAGS}).", ui.trend_tags.len()));
        return Some(Action::AddToTrend { tag });
    }
    None
}

/// Keys of the Trend screen: the time cursor, zoom and pan (`None`: not one of them).
fn trend_key(ui: &mut UiState, key: Key) -> Option<Option<Action>> {
    let last = ui.trend_cols.saturating_sub(1);
    let (cur, cursor) = (ui.trend_cursor, ui.trend_cursor.is_some());
    let mut at = |c: Option<usize>| {
        ui.trend_cursor = c;
        None
    };
    Some(match key {
        Key::Char('c') => at(if cursor { None } else { Some(last) }),
        Key::Left if cursor => at(cur.map(|c| c.min(last).saturating_sub(1))),
        Key::Right if cursor => at(cur.map(|c| (c + 1).min(last))),
        Key::Home if cursor => at(Some(0)),
        Key::End if cursor => at(Some(last)),
        Key::Char('+' | '=') => Some(Action::TrendZoom { in_: true }),
        Key::Char('-') => Some(Action::TrendZoom { in_: false }),
        Key::Left | Key::ShiftLeft => Some(Action::TrendPan { steps: -1 }),
        Key::Right | Key::ShiftRight => Some(Action::TrendPan { steps: 1 }),
        Key::PageUp => Some(Action::TrendPan { steps: -10 }),
        Key::PageDown => Some(Action::TrendPan { steps: 10 }),
        _ => return None,
    })
}

/// Applies one key to the UI state and returns what the caller must do.
///
/// Rules: Ctrl-C always quits. A confirm popup ([`UiState::modal`]) swallows
/// every other key: only Enter with valid input returns its action, Esc
/// cancels. The help popup is modal too (any key closes it). While typing a
/// filter, printable keys are text (so `q` does not quit).
pub fn handle_key(ui: &mut UiState, snapshot: &Snapshot, key: Key) -> Option<Action> {
    if key == Key::CtrlC {
        return Some(Action::Quit);
    }
    if ui.locked {
        // a locked terminal answers only to unlock and quit
        return match key {
            Key::Enter => Some(Action::Unlock),
            Key::Char('q') => Some(Action::Quit),
            _ => None,
        };
    }
    if ui.modal.is_some() {
        return modal_key(ui, key);
    }
    if ui.what_if.is_some() {
        return what_if_key(ui, key);
    }
    ui.notice = None;
    if ui.show_help {
        ui.show_help = false;
        return None;
    }
    if ui.filter_editing {
        return filter_key(ui, snapshot, key);
    }
    if ui.screen == Screen::Alarms
        && let Some(done) = super::alarm_log::key(ui, key)
    {
        return done;
    }
    if ui.screen == Screen::Trend
        && let Some(done) = trend_key(ui, key)
    {
        return done;
    }
    let n = Screen::ALL.len();
    match key {
        Key::Char('q') => return Some(Action::Quit),
        Key::Char('?') => ui.show_help = true,
        Key::Char(c @ '1'..='7') => ui.screen = Screen::ALL[usize::from(c as u8 - b'1')],
        Key::Tab => ui.screen = Screen::ALL[(ui.screen.index() + 1) % n],
        Key::BackTab => ui.screen = Screen::ALL[(ui.screen.index() + n - 1) % n],
        Key::Char('/') if matches!(ui.screen, Screen::Tags | Screen::Devices | Screen::Audit | Screen::Alarms) => {
            ui.filter_editing = true
        }
        Key::Esc if ui.screen == Screen::Trend => ui.screen = Screen::Tags,
        Key::Esc if !ui.filter.is_empty() => {
            ui.filter.clear();
            reset_filtered(ui);
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
            let tag = tag_list(snapshot, ui).selected(ui)?.name.clone();
            ui.trend_tag = Some(tag.clone());
            // the selected tag becomes the main one; the extras are kept
            let extras: Vec<String> = ui.trend_tags.iter().skip(1).filter(|t| **t != tag).cloned().collect();
            ui.trend_tags = std::iter::once(tag.clone()).chain(extras).take(MAX_TREND_TAGS).collect();
            ui.screen = Screen::Trend;
            return Some(Action::OpenTrend { tag });
        }
        Key::Char('t') if ui.screen == Screen::Tags => return add_to_trend(ui, snapshot),
        Key::Char('T') if ui.screen == Screen::Tags => {
            ui.trend_tags.truncate(1);
            ui.notice = Some("Extra trend tags cleared.".into());
            return Some(Action::ClearTrendExtras);
        }
        Key::Char('v') if ui.screen == Screen::Alarms => {
            ui.alarm_view = ui.alarm_view.next();
            ui.alarm_selected = 0;
            ui.alarm_scroll = 0;
        }
        Key::Char(c @ ('a' | 'A' | 'h' | 'u' | 'o')) if ui.screen == Screen::Alarms => alarm_key(ui, snapshot, c),
        Key::Char(c @ ('y' | 'n' | 'r')) if ui.screen == Screen::Recommendations => recommendation_key(ui, snapshot, c),
        Key::Char('m') if ui.screen == Screen::Overview => super::maintenance::open(ui, snapshot),
        Key::Char('w') if ui.screen == Screen::Tags => what_if_open(ui, snapshot),
        _ => return navigate(ui, snapshot, key),
    }
    None
}

fn navigate(ui: &mut UiState, snapshot: &Snapshot, key: Key) -> Option<Action> {
    let page = ui.page_rows;
    match ui.screen {
        Screen::Tags => {
            let n = tag_list(snapshot, ui).len;
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
        Screen::Alarms => {
            let n = visible_alarms(snapshot, ui).len();
            move_selection(&mut ui.alarm_selected, &mut ui.alarm_scroll, n, page, key);
        }
        Screen::Recommendations => {
            let n = visible_recommendations(snapshot, ui).len();
            move_selection(&mut ui.rec_selected, &mut ui.rec_scroll, n, page, key);
        }
        Screen::Audit => {
            let n = visible_audit(snapshot, ui).len();
            move_selection(&mut ui.audit_selected, &mut ui.audit_scroll, n, page, key);
        }
        Screen::Trend => {}
    }
    None
}
