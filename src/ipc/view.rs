//! The view frames of `mimic tui`: what a terminal says it shows ([`ViewSpec`], checked
//! field by field) and what the daemon sends back once it has a view: binary [`Frame`]s,
//! each a [`ViewUpdate`] with only the visible rows that changed (or another reply as its
//! JSON line), in postcard behind a length and the protocol version ([`encode_frame`]).

use serde::{Deserialize, Serialize};

use super::{
    LiveAlarm, LiveAlarmSummary, LiveAsset, LiveAudit, LiveDevice, LiveLife, LiveLoop, LiveRequest, LiveStore, LiveTag,
    PROTO,
};

/// Most rows a view may ask for at once.
pub const MAX_VIEW_ROWS: u32 = 1000;
/// Longest filter of a view, in characters.
pub const MAX_FILTER: usize = 256;
/// Largest binary frame a terminal accepts.
pub const MAX_FRAME: usize = 64 << 20;

/// A view no terminal asks for, by field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    #[error("view.rows: {0} is more than {MAX_VIEW_ROWS}")]
    Rows(u32),
    #[error("view.filter: longer than {MAX_FILTER} characters")]
    FilterTooLong,
    #[error("view.filter: control characters are not allowed")]
    FilterControl,
    #[error("view.trend_tags: {0} tags, at most 4")]
    TrendTags(usize),
    #[error("view.trend_tags: a name longer than {MAX_FILTER} bytes")]
    TrendTagTooLong,
}

/// A frame a terminal cannot read, or the daemon cannot write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("cannot encode a frame: {0}")]
    Encode(String),
    #[error("frame too long: {0} bytes")]
    TooLong(usize),
    #[error("malformed frame: {0}")]
    Malformed(String),
    #[error("frame of protocol {0}, this terminal speaks {PROTO}")]
    Proto(u8),
    #[error("empty frame")]
    Empty,
}

/// The screens a terminal may show, and the sort of its Tags table: the screens' own
/// enums (same names on the wire), so a new screen needs no second list here.
pub use mimic_views::{Screen as ViewScreen, SortKey as TagSort};

/// What a terminal shows: the daemon sends it this and nothing more.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewSpec {
    pub screen: ViewScreen,
    /// Case-insensitive substring of a tag's name, asset or description (empty: all).
    pub filter: String,
    pub sort: TagSort,
    pub desc: bool,
    /// First row of the filtered, sorted Tags list wanted, and how many.
    pub first: u64,
    pub rows: u32,
    /// Tags on the trend (main first).
    pub trend_tags: Vec<String>,
    /// The selected alarm (Alarms screen).
    pub alarm: Option<u64>,
}

impl ViewSpec {
    /// Refuses what no terminal asks for, naming the field.
    pub fn check(&self) -> Result<(), ViewError> {
        if self.rows > MAX_VIEW_ROWS {
            return Err(ViewError::Rows(self.rows));
        }
        if self.filter.chars().count() > MAX_FILTER {
            return Err(ViewError::FilterTooLong);
        }
        if self.filter.chars().any(char::is_control) {
            return Err(ViewError::FilterControl);
        }
        if self.trend_tags.len() > 4 {
            return Err(ViewError::TrendTags(self.trend_tags.len()));
        }
        if self.trend_tags.iter().any(|t| t.len() > MAX_FILTER) {
            return Err(ViewError::TrendTagTooLong);
        }
        Ok(())
    }
}

/// What changed for one view since the daemon last sent to it. A part left `None` is
/// unchanged (after a new view, every part is sent).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ViewUpdate {
    pub now_ms: i64,
    pub version: u64,
    /// Where the window lies in the filtered, sorted list.
    pub page: LivePage,
    /// Tag counters of the whole site.
    pub counts: LiveCounts,
    /// Rows in the window now; `rows` replaces the ones that changed, by slot.
    pub len: u32,
    pub rows: Vec<(u32, LiveTag)>,
    pub alarms: Option<(Vec<LiveAlarm>, LiveAlarmSummary)>,
    pub requests: Option<Vec<LiveRequest>>,
    pub audit: Option<Vec<LiveAudit>>,
    pub life: Option<Vec<LiveLife>>,
    pub loops: Option<Vec<LiveLoop>>,
    /// Overview and Devices screens only (empty elsewhere).
    pub devices: Option<Vec<LiveDevice>>,
    /// Overview: every asset; Alarms: those with a diagnosis; elsewhere none.
    pub assets: Option<Vec<LiveAsset>>,
    pub store: Option<LiveStore>,
}

/// Where a view's window lies in its filtered, sorted tag list, and the tag counters of
/// the whole site: the screens' own (an integer travels alike as `usize` or `u64`).
pub use mimic_views::{TagCounts as LiveCounts, TagPage as LivePage};

/// What the daemon sends on a connection once it has a view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Frame {
    Update(Box<ViewUpdate>),
    /// Any other reply, as its JSON line (small, rare: acts, trends, history).
    Reply(String),
}

/// A binary frame: its length (u32, little-endian, the version byte included), the
/// version [`PROTO`], then the frame in postcard.
pub fn encode_frame(frame: &Frame) -> Result<Vec<u8>, FrameError> {
    let mut out = vec![0u8; 5];
    out[4] = PROTO;
    let out = postcard::to_extend(frame, out).map_err(|e| FrameError::Encode(e.to_string()))?;
    let len = u32::try_from(out.len() - 4).map_err(|_| FrameError::TooLong(out.len() - 4))?;
    let mut out = out;
    out[..4].copy_from_slice(&len.to_le_bytes());
    Ok(out)
}

/// Reads a frame's body (after its length): the version, then the frame.
pub fn decode_frame(body: &[u8]) -> Result<Frame, FrameError> {
    match body.split_first() {
        Some((&PROTO, rest)) => postcard::from_bytes(rest).map_err(|e| FrameError::Malformed(e.to_string())),
        Some((v, _)) => Err(FrameError::Proto(*v)),
        None => Err(FrameError::Empty),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipc::{Request, TagQuality, parse_request};

    #[test]
    fn view_frames_are_compact_and_versioned() {
        let row = |k: u32| {
            let tag = LiveTag {
                name: format!("Area01.Unit{k:02}.PT{k:03}.pressure"),
                asset: "P-101".into(),
                description: "Discharge pressure".into(),
                units: "bar".into(),
                decimals: 2,
                value: Some(4.25 + f64::from(k) / 7.0),
                quality: TagQuality::Good,
                reason: None,
                recv_ms: Some(1_765_000_000_000 + i64::from(k)),
                stale: false,
                writable: false,
                low: Some(0.0),
                high: Some(10.0),
                recent: (0..60).map(|i| 4.0 + i as f32 / 7.0).collect(),
            };
            (k, tag)
        };
        let up =
            ViewUpdate { now_ms: 1_765_000_000_000, len: 48, rows: (0..48).map(row).collect(), ..Default::default() };
        let frame = encode_frame(&Frame::Update(Box::new(up.clone()))).expect("encodes");
        let json = serde_json::to_vec(&up).expect("json");
        eprintln!("48 rows: postcard frame {} bytes, JSON {} bytes", frame.len(), json.len());
        assert!(frame.len() * 2 < json.len(), "postcard {} vs JSON {}", frame.len(), json.len());
        assert_eq!(u32::from_le_bytes(frame[..4].try_into().expect("4 bytes")) as usize, frame.len() - 4);
        assert_eq!(decode_frame(&frame[4..]), Ok(Frame::Update(Box::new(up))));
        let mut other = frame[4..].to_vec();
        other[0] = 1;
        assert!(decode_frame(&other).expect_err("version").to_string().contains("frame of protocol 1"));
        assert!(
            decode_frame(&frame[4..frame.len() - 3]).expect_err("truncated").to_string().contains("malformed frame")
        );
        assert!(decode_frame(&[]).is_err());
    }

    #[test]
    fn views_out_of_range_are_refused_by_field() {
        let line = |fields: &str| format!(r#"{{"req":"view","proto":{PROTO},"view":{{{fields}}}}}"#);
        let ok = r#""screen":"tags","filter":"","sort":"value","desc":true,"first":10,"rows":40,"trend_tags":[],"alarm":null"#;
        let view = parse_request(line(ok).as_bytes()).expect("a valid view");
        assert!(matches!(view, Request::View { view: ViewSpec { sort: TagSort::Value, first: 10, rows: 40, .. }, .. }));
        let refused = |fields: &str, says: &str| {
            let e = parse_request(line(fields).as_bytes()).expect_err(fields).to_string();
            assert!(e.contains(says), "{fields}: {e}");
        };
        refused(&ok.replace("\"first\":10", "\"first\":-1"), "invalid value: integer `-1`");
        refused(&ok.replace("\"rows\":40", "\"rows\":1001"), "view.rows: 1001 is more than 1000");
        refused(&ok.replace("\"tags\"", "\"nope\""), "unknown variant `nope`");
        refused(&ok.replace("\"filter\":\"\"", &format!("\"filter\":\"{}\"", "é".repeat(257))), "view.filter: longer");
        refused(&ok.replace("\"filter\":\"\"", "\"filter\":\"a\\u001b[2J\""), "control characters");
        refused(&ok.replace("\"trend_tags\":[]", "\"trend_tags\":[\"a\",\"b\",\"c\",\"d\",\"e\"]"), "at most 4");
        refused(&format!("{ok},\"evil\":1"), "unknown field `evil`");
        let e = parse_request(line(ok).replace(&format!("\"proto\":{PROTO}"), "\"proto\":2").as_bytes())
            .expect_err("proto")
            .to_string();
        assert!(e.contains("protocol 2 is not spoken here"), "{e}");
    }
}
