//! The demo plant on a serial line: the same pump skids as the TCP simulator, served as
//! Modbus RTU slaves (tokio-modbus's RTU server over tokio-serial), one per unit id.
//!
//! A multi-drop line has nobody behind an unknown unit id, so such requests get no answer
//! at all (the TCP simulator answers exception 11 instead); broadcasts (unit 0) are carried
//! out and never answered.

use std::future;

use tokio_modbus::server::Service;
use tokio_modbus::{ExceptionCode, Response, SlaveRequest};

use super::server::{SimHandle, SimService, start_plant};
use crate::serial::SerialSettings;

#[derive(Clone)]
struct RtuService {
    inner: SimService,
    units: u8,
}

impl Service for RtuService {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = future::Ready<Result<Option<Response>, ExceptionCode>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        let unit = req.slave;
        if unit > self.units {
            return future::ready(Ok(None));
        }
        let answer = self.inner.handle(req);
        future::ready(if unit == 0 { Ok(None) } else { answer.map(Some) })
    }
}

/// Serve `units` pump skids (unit ids 1..=units) on the serial port `serial`. Must be
/// called inside a tokio runtime.
pub fn serve_rtu(
    serial: &SerialSettings,
    units: u8,
    seed: u64,
    wear_rate: f64,
) -> Result<SimHandle, crate::serial::OpenError> {
    let port = serial.open()?;
    let (shared, physics) = start_plant(units, seed, wear_rate, None);
    let service = RtuService { inner: SimService { shared: shared.clone() }, units: units.max(1) };
    let server = tokio::spawn(async move {
        if let Err(e) = tokio_modbus::server::rtu::Server::new(port).serve_forever(service).await {
            tracing::error!("RTU simulator stopped: {e}");
        }
    });
    Ok(SimHandle::without_socket(shared, vec![physics, server]))
}
