//! The maintenance form: `m` on the Overview opens it (asset, kind, part, note), keys edit
//! it while it is open, Enter confirms (with the part named where the kind needs one).

use super::*;

/// Opens the maintenance form on the Overview, the first asset whose tree line is at the
/// top of the view chosen (←/→ choose another).
pub(super) fn open(ui: &mut UiState, snapshot: &Snapshot) {
    let lines = crate::screens::overview::tree_lines(&snapshot.assets);
    let mut assets: Vec<String> = lines.iter().filter(|l| l.leaf).map(|l| l.label.to_string()).collect();
    assets.dedup();
    if assets.is_empty() {
        ui.notice = Some("No asset to record maintenance on.".into());
        return;
    }
    let top = lines.iter().skip(ui.overview_scroll).find(|l| l.leaf).map(|l| l.label);
    let asset = top.and_then(|t| assets.iter().position(|a| a == t)).unwrap_or(0);
    let form = MaintenanceForm { assets, asset, ..Default::default() };
    ui.modal = Some(Modal {
        form: Some(form),
        ..Modal::confirm(
            "Record maintenance",
            vec![
                "Record work done on an asset: who and when are added, and it is audited.".into(),
                "A replaced part or recalibrated sensor re-bases the asset's healthy baseline and remaining life."
                    .into(),
                "Tab / ↑↓ next field.".into(),
            ],
            Action::RecordMaintenance {
                asset: String::new(),
                kind: MaintenanceKind::default(),
                part: String::new(),
                note: String::new(),
            },
        )
    });
}

/// A key while the form is open; `false` when the key is not the form's (Enter, Esc).
pub(super) fn key(f: &mut MaintenanceForm, key: Key) -> bool {
    let cycle = |i: &mut usize, n: usize, right: bool| {
        if n > 0 {
            *i = if right { (*i + 1) % n } else { (*i + n - 1) % n };
        }
    };
    match key {
        Key::Tab | Key::Down => f.field = (f.field + 1) % MaintenanceForm::FIELDS,
        Key::BackTab | Key::Up => f.field = (f.field + MaintenanceForm::FIELDS - 1) % MaintenanceForm::FIELDS,
        Key::Left | Key::Right => {
            let right = key == Key::Right;
            match f.field {
                0 => cycle(&mut f.asset, f.assets.len(), right),
                1 => cycle(&mut f.kind, MAINTENANCE_KINDS.len(), right),
                _ => {}
            }
        }
        Key::Char(c) if !crate::sanitize::is_unsafe(c) => match f.field {
            2 if f.part.chars().count() < MAX_PART => f.part.push(c),
            3 if f.note.chars().count() < MAX_REASON => f.note.push(c),
            _ => {}
        },
        Key::Backspace => {
            match f.field {
                2 => f.part.pop(),
                3 => f.note.pop(),
                _ => None,
            };
        }
        _ => return false,
    }
    true
}
