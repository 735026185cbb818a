//! The demo plant as a Modbus TCP server, framed by the driver's own [`mbap`] functions:
//! one task per connection, one receive and one send buffer reused for every request,
//! requests answered in order (several may arrive in one read: they are answered in one
//! write). A header that cannot start a Modbus frame ends the connection, as it would on
//! a PLC.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::server::{Shared, SimHandle, SimService, start_plant};
use crate::modbus::Table;
use crate::modbus::mbap::{self, GATEWAY_TARGET_FAILED, ILLEGAL_DATA_ADDRESS, MAX_ADU, ServerRequest};

/// Start the simulator: `units` pump skids (unit ids 1..=units) on `bind`, stepping in
/// real time with wear accelerated by `wear_rate`. Must be called inside a tokio runtime.
pub async fn serve(bind: SocketAddr, units: u8, seed: u64, wear_rate: f64) -> std::io::Result<SimHandle> {
    let listener = TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let (shared, physics) = start_plant(units, seed, wear_rate, None);
    let server = tokio::spawn(accept(listener, shared.clone()));
    Ok(SimHandle::with_socket(addr, shared, vec![physics, server]))
}

/// Start the demo plant of `mimic demo`: one pump skid, settled, whose bearing wears out and
/// whose faults come and go as `plan` says (see [`super::demo`]). Must be called inside a
/// tokio runtime.
pub async fn serve_demo(bind: SocketAddr, plan: &super::demo::DemoPlan) -> std::io::Result<SimHandle> {
    let listener = TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let (shared, physics) = start_plant(1, plan.seed, 0.0, Some(plan));
    let server = tokio::spawn(accept(listener, shared.clone()));
    Ok(SimHandle::with_socket(addr, shared, vec![physics, server]))
}

/// Accepts connections until aborted; aborting it ends every connection too.
async fn accept(listener: TcpListener, shared: Arc<Mutex<Shared>>) {
    let service = SimService { shared };
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let service = service.clone();
                    connections.spawn(async move {
                        if let Err(e) = connection(stream, &service).await {
                            tracing::debug!("sim connection from {peer} ended: {e}");
                        }
                    });
                }
                Err(e) => {
                    // out of descriptors, or a connection reset before it was accepted
                    tracing::warn!("simulator cannot accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn connection(mut stream: TcpStream, service: &SimService) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut rx = vec![0u8; 8 * MAX_ADU];
    let mut filled = 0;
    let mut out = Vec::with_capacity(2 * MAX_ADU);
    loop {
        // after compaction at most one partial frame (< MAX_ADU) is left: there is room
        let n = stream.read(&mut rx[filled..]).await?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
        let mut at = 0;
        while let Some(len) = mbap::frame_len(&rx[at..filled]).map_err(std::io::Error::other)? {
            if filled - at < len {
                break;
            }
            service.answer(&rx[at..at + len], &mut out);
            at += len;
        }
        rx.copy_within(at..filled, 0);
        filled -= at;
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
    }
}

fn slice<T>(table: &[T], start: u16, count: u16) -> Result<&[T], u8> {
    let (a, n) = (usize::from(start), usize::from(count));
    table.get(a..a + n).ok_or(ILLEGAL_DATA_ADDRESS)
}

impl SimService {
    /// Appends the answer to one whole request `frame` to `out`.
    pub(super) fn answer(&self, frame: &[u8], out: &mut Vec<u8>) {
        let (tid, unit, pdu) = mbap::split(frame);
        let function = pdu.first().copied().unwrap_or(0);
        let mut g = self.lock();
        // Unit 0 (broadcast) and 255 (TCP "not used") address unit 1.
        let idx = match unit {
            0 | 255 => 0,
            n => usize::from(n) - 1,
        };
        let Some(u) = g.units.get_mut(idx) else {
            return mbap::encode_exception(out, tid, unit, function, GATEWAY_TARGET_FAILED);
        };
        let result =
            match mbap::parse_request(pdu) {
                Err(code) => Err(code),
                Ok(ServerRequest::Read { table, start, count }) => match table {
                    Table::HoldingRegister => slice(&u.holding, start, count)
                        .map(|words| mbap::encode_registers(out, tid, unit, function, words)),
                    Table::InputRegister => slice(&u.input, start, count)
                        .map(|words| mbap::encode_registers(out, tid, unit, function, words)),
                    Table::Coil => {
                        slice(&u.coils, start, count).map(|bits| mbap::encode_bits(out, tid, unit, function, bits))
                    }
                    Table::DiscreteInput => {
                        slice(&u.discrete, start, count).map(|bits| mbap::encode_bits(out, tid, unit, function, bits))
                    }
                },
                Ok(ServerRequest::WriteCoil { address, on }) => u
                    .write_coil(address, on)
                    .map(|()| mbap::encode_echo(out, tid, unit, function, address, if on { 0xff00 } else { 0 }))
                    .map_err(u8::from),
                Ok(ServerRequest::WriteRegister { address, value }) => u
                    .write_holding(address, value)
                    .map(|()| mbap::encode_echo(out, tid, unit, function, address, value))
                    .map_err(u8::from),
                Ok(ServerRequest::WriteRegisters { address, count, data }) => (0..count)
                    .try_for_each(|k| {
                        let at = address.checked_add(k).ok_or(ILLEGAL_DATA_ADDRESS)?;
                        u.write_holding(at, ServerRequest::register(data, usize::from(k))).map_err(u8::from)
                    })
                    .map(|()| mbap::encode_echo(out, tid, unit, function, address, count)),
                Ok(ServerRequest::WriteCoils { address, count, data }) => (0..count)
                    .try_for_each(|k| {
                        let at = address.checked_add(k).ok_or(ILLEGAL_DATA_ADDRESS)?;
                        u.write_coil(at, ServerRequest::bit(data, usize::from(k))).map_err(u8::from)
                    })
                    .map(|()| mbap::encode_echo(out, tid, unit, function, address, count)),
            };
        if let Err(code) = result {
            mbap::encode_exception(out, tid, unit, function, code);
        }
    }
}
