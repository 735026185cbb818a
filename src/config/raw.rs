//! The site file as written: strict serde structs close to the TOML, with spans kept on
//! every field that a later semantic check may need to point at. Field doc comments are
//! the user documentation of the site file.

use serde::Deserialize;
use serde_spanned::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSite {
    pub site: RawSiteHeader,
    #[serde(default)]
    pub asset: Vec<RawAsset>,
    #[serde(default)]
    pub device: Vec<RawDevice>,
    #[serde(default)]
    pub tag: Vec<RawTag>,
    #[serde(default)]
    pub alarm: Vec<RawAlarm>,
    /// Optional Sparkplug B edge node over MQTT.
    pub mqtt: Option<RawMqtt>,
    /// Optional OPC UA server (`[opcua_server]`).
    pub opcua_server: Option<RawOpcUaServer>,
    /// Control loops the twin may advise on (`[[loop]]`).
    #[serde(default, rename = "loop")]
    pub loops: Vec<super::loops::RawLoop>,
    /// Tag templates (`[[template]]`), stamped onto devices by `[[instance]]`.
    #[serde(default)]
    pub template: Vec<RawTemplate>,
    #[serde(default)]
    pub instance: Vec<RawInstance>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSiteHeader {
    /// Site name shown in the terminal header.
    pub name: Spanned<String>,
    /// Store directory, relative to the site file (default `mimic-data`).
    pub data_dir: Option<Spanned<String>>,
    /// How long samples are kept, e.g. `"400d"` (default: forever).
    pub retention: Option<Spanned<String>>,
    /// After a replaced part or recalibrated sensor, how long an asset's anomaly model rests
    /// while the plant settles (default `"15m"`).
    pub rebase_settle: Option<Spanned<String>>,
    /// Then how much healthy history its baseline is refitted on (default `"30m"`).
    pub rebase_window: Option<Spanned<String>>,
    /// How often the daemon signs an audit checkpoint (default `"1h"`; `"0s"`: never).
    pub checkpoint_every: Option<Spanned<String>>,
    /// Where the daemon copies its signed checkpoints (e.g. removable media), relative to
    /// the site file; a system alarm says when it cannot.
    pub checkpoint_dir: Option<Spanned<String>>,
    /// `[site.flood]`: alarm floods per operator position and what is held back in one.
    pub flood: Option<super::flood::RawFlood>,
}

/// One asset of the ISA-95 hierarchy: site → area → unit → asset.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAsset {
    pub name: Spanned<String>,
    pub area: Spanned<String>,
    pub unit: Spanned<String>,
    #[serde(default)]
    pub description: String,
    /// When the asset was put into service: a TOML date (`2019-04-01`) or the same as a string.
    pub commissioned: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDevice {
    pub name: Spanned<String>,
    /// `modbus-tcp`, `modbus-rtu`, `ascii` or `opcua`
    pub protocol: Spanned<String>,
    /// `host:port` of the device (modbus-tcp); for `opcua`, `opc.tcp://host:port/path`.
    pub endpoint: Option<Spanned<String>>,
    /// Modbus unit id (default 1; modbus-rtu: 1..=247).
    pub unit: Option<Spanned<i64>>,
    /// Serial devices: the port, e.g. `/dev/ttyUSB0`. Modbus RTU devices naming the same
    /// port share one line (and must agree on its settings).
    pub port: Option<Spanned<String>>,
    /// Serial devices: baud rate (default 19200 for modbus-rtu, 9600 for ascii).
    pub baud: Option<Spanned<i64>>,
    /// Serial devices: 7 or 8 (default 8).
    pub data_bits: Option<Spanned<i64>>,
    /// Serial devices: `N`, `E` or `O` (default `E` for modbus-rtu, `N` for ascii).
    pub parity: Option<Spanned<String>>,
    /// Serial devices: 1 or 2 (default 1).
    pub stop_bits: Option<Spanned<i64>>,
    /// modbus-rtu: silence before each request (default: 3.5 characters, 1.75 ms above
    /// 19200 baud; a shorter one than that is refused).
    pub frame_gap: Option<Spanned<String>>,
    /// ascii: the instrument profile, a path relative to the site file.
    pub profile: Option<Spanned<String>>,
    /// Per-request timeout (default `"1s"`).
    pub timeout: Option<Spanned<String>>,
    /// Default poll period of the device's tags (default `"1s"`).
    pub poll: Option<Spanned<String>>,
    /// Largest hole of unused registers one coalesced read may span (default 4).
    pub max_gap: Option<Spanned<i64>>,
    /// modbus-tcp: read requests a poll sends before their answers come back, told apart by
    /// transaction id (1..=16, default 1: one at a time, which every device accepts).
    pub max_in_flight: Option<Spanned<i64>>,
    /// OPC UA: `none` (default), `basic256sha256-sign`, `basic256sha256-sign-encrypt`.
    pub security: Option<Spanned<String>>,
    /// OPC UA: PKI folder with the client's certificate (created on first use) and the
    /// `trusted/` and `rejected/` server certificates (default `pki`, next to the site file).
    pub pki: Option<Spanned<String>>,
    /// OPC UA: user name (default: anonymous); the password comes from `password_file`
    /// or `password_env`, never from the site file.
    pub user: Option<Spanned<String>>,
    /// OPC UA: file holding the user's password (relative to the site file).
    pub password_file: Option<Spanned<String>>,
    /// OPC UA: environment variable holding the user's password.
    pub password_env: Option<Spanned<String>>,
}

/// Declares `RawTag` and `RawTemplateTag` from one list of the fields they share, so a new
/// tag field is written once and a template's tag carries it too ([`RawTemplateTag::stamp`]).
macro_rules! tag_structs {
    ($($(#[$meta:meta])* pub $field:ident: $ty:ty,)*) => {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct RawTag {
            /// Unique tag name, e.g. `P101.flow`.
            pub name: Spanned<String>,
            /// Name of the device the tag is read from.
            pub device: Spanned<String>,
            /// Name of the asset the tag belongs to.
            pub asset: Option<Spanned<String>>,
            /// `table:address`, tables `hr` (holding), `ir` (input), `coil`, `di`; 0-based
            /// address. OPC UA: the node id, e.g. `ns=2;s=Pump.Speed` or `ns=2;i=1001`.
            pub address: Spanned<String>,
            $($(#[$meta])* pub $field: $ty,)*
        }

        /// A template's tag: the fields of `[[tag]]` but `device` and `asset`.
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct RawTemplateTag {
            pub name: Spanned<String>,
            /// As in `[[tag]]`; a Modbus address is relative to the instance's `offset`.
            pub address: Spanned<String>,
            $($(#[$meta])* pub $field: $ty,)*
        }

        impl RawTemplateTag {
            /// This tag as a site `[[tag]]` with the given name, device, asset and address,
            /// and the rest of its fields (spans included) as written in the template.
            pub fn stamp(
                &self,
                name: Spanned<String>,
                device: Spanned<String>,
                asset: Option<Spanned<String>>,
                address: Spanned<String>,
            ) -> RawTag {
                RawTag { name, device, asset, address, $($field: self.$field.clone(),)* }
            }
        }
    };
}

tag_structs! {
    /// `u16` `i16` `u32` `i32` `f32` `f64` `bool` (default `u16`; `bool` for coil/di).
    #[serde(rename = "type")]
    pub dtype: Option<Spanned<String>>,
    /// Byte/word order: `ABCD` (default), `CDAB`, `BADC`, `DCBA`; 16-bit: `AB`, `BA`.
    pub order: Option<Spanned<String>>,
    /// For `bool` in a register: bit 0..=15 (0 = least significant).
    pub bit: Option<Spanned<i64>>,
    /// engineering = raw * scale + offset (defaults 1 and 0).
    pub scale: Option<Spanned<f64>>,
    pub offset: Option<Spanned<f64>>,
    #[serde(default)]
    pub units: String,
    #[serde(default)]
    pub description: String,
    /// Poll period (default: the device's).
    pub poll: Option<Spanned<String>>,
    /// OPC UA: sampling interval of the monitored item (default: the poll period).
    pub sampling: Option<Spanned<String>>,
    /// Store a new sample only when the value moved more than this (default 0: every sample).
    /// OPC UA: also the monitored item's absolute deadband.
    pub deadband: Option<Spanned<f64>>,
    /// Engineering range; a value outside is marked out of range and never written.
    pub low: Option<Spanned<f64>>,
    pub high: Option<Spanned<f64>>,
    /// May an approved change be written to this tag (default false).
    pub writable: Option<Spanned<bool>>,
    /// Decimals shown in the terminal (default 2).
    pub decimals: Option<Spanned<i64>>,
    /// A value older than this is Stale (default: three poll periods).
    pub stale_after: Option<Spanned<String>>,
    /// Writes: largest change one approved write may make (default: no limit).
    pub max_step: Option<Spanned<f64>>,
    /// Writes: shortest time between two writes to this tag (default 0).
    pub min_interval: Option<Spanned<String>>,
    /// Writes: a change needs two signatures by two different users (default false).
    #[serde(default)]
    pub critical: bool,
    /// Writes: read-back tolerance (default: half a raw step, i.e. `scale / 2`).
    pub tolerance: Option<Spanned<f64>>,
    /// Writes: how long to watch the plant's response after a confirmed write (default 60s).
    pub settle: Option<Spanned<String>>,
}

/// One alarm on a tag (ISA-18.2): a limit, rate or bad-quality condition with a priority.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlarm {
    /// Name of the tag the alarm watches.
    pub tag: Spanned<String>,
    /// `hihi` `hi` `lo` `lolo` `rate` `bad_quality`
    pub kind: Spanned<String>,
    /// Limit in engineering units (limit kinds), or units per second (`rate`).
    pub limit: Option<Spanned<f64>>,
    /// `low` `medium` `high` `critical`
    pub priority: Spanned<String>,
    /// Returns to normal only once back inside limit ∓ deadband (default 0).
    pub deadband: Option<Spanned<f64>>,
    /// The condition must hold this long before the alarm activates (default `"0s"`).
    pub on_delay: Option<Spanned<String>>,
    /// The condition must be gone this long before the alarm clears (default `"0s"`).
    pub off_delay: Option<Spanned<String>>,
    /// `rate` only: the window the change is measured over (default `"10s"`).
    pub window: Option<Spanned<String>>,
    /// Text shown to the operator (default: generated from tag, kind and limit).
    pub message: Option<Spanned<String>>,
}

/// `[mqtt]`: publish the site as a Sparkplug B edge node.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMqtt {
    /// `host:port` of the MQTT broker (server), e.g. `"broker.plant:1883"`.
    pub broker: Spanned<String>,
    /// Sparkplug group id.
    pub group_id: Spanned<String>,
    /// Sparkplug edge node id (this mimic).
    pub edge_node_id: Spanned<String>,
    /// Host application whose `STATE` gates the births (default: none, birth at once).
    pub primary_host_id: Option<Spanned<String>>,
    /// MQTT client id (default `mimic-<group_id>-<edge_node_id>`).
    pub client_id: Option<Spanned<String>>,
    /// MQTT keep-alive, whole seconds (default `"30s"`).
    pub keepalive: Option<Spanned<String>>,
    /// Broker credentials (both or neither).
    pub username: Option<Spanned<String>>,
    pub password: Option<Spanned<String>>,
}

/// `[opcua_server]`: serve the site to OPC UA clients (see `super::opcua_server`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOpcUaServer {
    /// `ip:port` to listen on, e.g. `"127.0.0.1:4855"`.
    pub bind: Spanned<String>,
    /// Endpoint security modes (default: only `basic256sha256-sign-encrypt`).
    pub security: Option<Spanned<Vec<Spanned<String>>>>,
    /// `"viewer"`: anonymous sessions allowed, read only (absent: refused).
    pub anonymous: Option<Spanned<String>>,
    pub max_sessions: Option<Spanned<i64>>,
    /// Per subscription.
    pub max_monitored_items: Option<Spanned<i64>>,
}

/// `[[template]]`: the tags of one kind of device or asset, their alarms and loops.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTemplate {
    /// Name the instances use, e.g. `pump-skid`.
    pub name: Spanned<String>,
    /// `[[template.tag]]`: as `[[tag]]` without `device` and `asset` (the instance gives
    /// them); `name` is appended to the instance's `prefix`; a Modbus `address` is
    /// relative: the instance's `offset` is added to it.
    #[serde(default)]
    pub tag: Vec<RawTemplateTag>,
    /// `[[template.alarm]]`: as `[[alarm]]`; `tag` names a tag of the template.
    #[serde(default)]
    pub alarm: Vec<RawAlarm>,
    /// `[[template.loop]]`: as `[[loop]]`; `manipulated` and `kpi` name tags of the template
    /// and `name`, when given, gets the instance's prefix too.
    #[serde(default, rename = "loop")]
    pub loops: Vec<super::loops::RawLoop>,
}

/// `[[instance]]`: one use of a template.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInstance {
    /// Name of the `[[template]]`.
    pub template: Spanned<String>,
    /// Put before every tag name of the template: `P101.` + `flow` is `P101.flow`.
    pub prefix: Spanned<String>,
    /// The device the tags are read from.
    pub device: Spanned<String>,
    /// The asset the tags belong to (default: none).
    pub asset: Option<Spanned<String>>,
    /// Added to every Modbus address of the template (`hr:3` with offset 100 is `hr:103`;
    /// default 0).
    pub offset: Option<Spanned<i64>>,
}
