//! The shift report's Devices section: each device's down time and data quality over the
//! shift ([`crate::historian::devices`]), in one request to the daemon serving the store
//! (which reads its tags where the store is), or from the store file.

use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::Context;

use crate::config::Site;
use crate::historian::devices::{self, DeviceSummary};
use crate::historian::{Historian, HistorianOptions};
use crate::ipc::{Reply, Request};

/// Every device of `site` over `[from_ms, to_ms)`, from the daemon on `stream`, or else
/// from the store file in `dir`.
pub fn gather(
    stream: Option<&UnixStream>,
    dir: &Path,
    site: &Site,
    from_ms: i64,
    to_ms: i64,
) -> anyhow::Result<Vec<DeviceSummary>> {
    if let Some(s) = stream {
        return super::store::ask(s, &Request::DeviceSummary { from_ms, to_ms }, |r| match r {
            Reply::DeviceSummary { devices } => Some(devices),
            _ => None,
        });
    }
    let path = dir.join(crate::daemon::STORE_NAME);
    let h =
        Historian::open(&path, HistorianOptions::default()).with_context(|| format!("opening {}", path.display()))?;
    devices::of_store(&h, site, from_ms, to_ms).context("reading the devices' samples")
}
