//! The maintenance form: `m` on the Overview opens it (asset, kind, part, note), keys edit
//! it while it is open, Enter confirms (with the part named where the kind needs one).

use super::*;

/// Kinds of maintenance event a crew records (cycled with ←/→ in the form).
pub const MAINTENANCE_KINDS: [MaintenanceKind; 4] = MaintenanceKind::ALL;

/// A kind of maintenance event (the daemon's `lifecycle::EventKind` without commissioning).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaintenanceKind {
    #[default]
    PartReplaced,
    SensorRecalibrated,
    Inspection,
    Other,
}

impl MaintenanceKind {
    pub const ALL: [MaintenanceKind; 4] = [
        MaintenanceKind::PartReplaced,
        MaintenanceKind::SensorRecalibrated,
        MaintenanceKind::Inspection,
        MaintenanceKind::Other,
    ];

    /// The name on the wire and in the form: `part-replaced`, `sensor-recalibrated`, …
    pub fn name(self) -> &'static str {
        match self {
            MaintenanceKind::PartReplaced => "part-replaced",
            MaintenanceKind::SensorRecalibrated => "sensor-recalibrated",
            MaintenanceKind::Inspection => "inspection",
            MaintenanceKind::Other => "other",
        }
    }

    /// The event names a part or a tag.
    pub fn names_part(self) -> bool {
        matches!(self, MaintenanceKind::PartReplaced | MaintenanceKind::SensorRecalibrated)
    }
}
/// Longest part/tag name in the maintenance form, in characters.
pub const MAX_PART: usize = 64;

/// The fields of the maintenance popup. Tab / ↑↓ move between fields, ←/→ choose the asset
/// and kind, text goes into the part and the note.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MaintenanceForm {
    /// Assets to choose from (names), and the chosen one.
    pub assets: Vec<String>,
    pub asset: usize,
    /// Index into [`MAINTENANCE_KINDS`].
    pub kind: usize,
    pub part: String,
    pub note: String,
    /// 0 asset, 1 kind, 2 part, 3 note.
    pub field: usize,
}

impl MaintenanceForm {
    pub const FIELDS: usize = 4;

    pub fn kind(&self) -> MaintenanceKind {
        MAINTENANCE_KINDS[self.kind.min(MAINTENANCE_KINDS.len() - 1)]
    }

    pub fn kind_name(&self) -> &'static str {
        self.kind().name()
    }

    pub(super) fn result(&self) -> Result<Action, Incomplete> {
        let asset = self.assets.get(self.asset).cloned().ok_or(Incomplete::NoAsset)?;
        let kind = self.kind();
        let part = self.part.trim().to_string();
        if part.is_empty() && kind.names_part() {
            return Err(Incomplete::NoPart(kind.name()));
        }
        Ok(Action::RecordMaintenance { asset, kind, part, note: self.note.trim().to_string() })
    }
}

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
