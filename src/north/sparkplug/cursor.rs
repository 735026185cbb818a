//! What the edge node keeps across restarts, in `<data dir>/sparkplug.json`: the next
//! bdSeq, and per tag the timestamp of the newest sample the broker is known to have
//! received (the store-and-forward cursor). Written atomically (temp file + rename).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const FILE_NAME: &str = "sparkplug.json";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    /// bdSeq of the next MQTT session.
    pub next_bd_seq: u8,
    /// Tag name → newest confirmed sample time (ms).
    pub cursor: BTreeMap<String, i64>,
}

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// The saved state; a missing or unreadable file is a fresh start (logged).
pub fn load(path: &Path) -> Saved {
    match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Saved::default(),
        Err(e) => {
            tracing::warn!("sparkplug state {}: {e}; starting afresh", path.display());
            Saved::default()
        }
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!("sparkplug state {} is damaged ({e}); starting afresh", path.display());
            Saved::default()
        }),
    }
}

pub fn save(path: &Path, saved: &Saved) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_vec(saved).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_and_loads_and_survives_damage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = path(dir.path());
        assert_eq!(load(&p), Saved::default());
        let s = Saved { next_bd_seq: 3, cursor: [("a".to_string(), 5)].into() };
        save(&p, &s).expect("save");
        assert_eq!(load(&p), s);
        std::fs::write(&p, b"{garbage").expect("write");
        assert_eq!(load(&p), Saved::default());
    }
}
