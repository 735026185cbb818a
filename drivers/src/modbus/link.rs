//! One Modbus TCP connection of the client: the byte stream, one request buffer and one
//! answer buffer reused by every transaction, and the transaction id.
//!
//! One request is outstanding at a time. An answer must carry the transaction id and unit
//! of its request; anything else means the stream is no longer in step with our requests
//! (a late answer must never be taken for the next request's), so the caller drops the
//! connection on every [`LinkError`] except [`LinkError::Mismatch`], which is a complete,
//! well-framed answer whose content does not fit the request.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::mbap::{self, Answer, MAX_ADU, MbapError, Request};

/// A byte stream a link can run over (a TCP socket; an in-memory pipe in tests and fuzzing).
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + std::fmt::Debug> Stream for T {}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("connection closed by the device")]
    Closed,
    #[error("answer out of step: {0}")]
    Frame(MbapError),
    /// A well-framed answer that does not fit its request; the stream is still in step.
    #[error("answer does not fit the request: {0}")]
    Mismatch(MbapError),
}

pub struct Link {
    io: Box<dyn Stream>,
    unit: u8,
    tid: u16,
    tx: Vec<u8>,
    rx: Box<[u8; 2 * MAX_ADU]>,
    /// Bytes received and not yet consumed, at the start of `rx`.
    filled: usize,
    /// Values of the last read answer.
    values: Vec<u16>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link").field("io", &self.io).field("unit", &self.unit).field("tid", &self.tid).finish()
    }
}

impl Link {
    pub fn new(io: Box<dyn Stream>, unit: u8) -> Self {
        Link {
            io,
            unit,
            tid: 0,
            tx: Vec::with_capacity(MAX_ADU),
            rx: Box::new([0; 2 * MAX_ADU]),
            filled: 0,
            values: Vec::new(),
        }
    }

    /// Values of the last read answer (registers, or 0/1 per bit).
    pub fn values(&self) -> &[u16] {
        &self.values
    }

    /// Sends `req` and waits at most `timeout` for its answer.
    pub async fn transact(&mut self, req: &Request<'_>, timeout: Duration) -> Result<Answer, LinkError> {
        match tokio::time::timeout(timeout, self.exchange(req)).await {
            Ok(r) => r,
            Err(_) => Err(LinkError::Timeout(timeout)),
        }
    }

    async fn exchange(&mut self, req: &Request<'_>) -> Result<Answer, LinkError> {
        self.tid = self.tid.wrapping_add(1);
        self.tx.clear();
        mbap::encode_request(&mut self.tx, self.tid, self.unit, req);
        self.io.write_all(&self.tx).await?;
        let len = loop {
            if let Some(n) = mbap::frame_len(&self.rx[..self.filled]).map_err(LinkError::Frame)?
                && self.filled >= n
            {
                break n;
            }
            // a frame is at most MAX_ADU long and the buffer holds two: there is room
            let n = self.io.read(&mut self.rx[self.filled..]).await?;
            if n == 0 {
                return Err(LinkError::Closed);
            }
            self.filled += n;
        };
        let answer = mbap::decode_response(&self.rx[..len], self.tid, self.unit, req, &mut self.values);
        // anything after the frame stays: it can only be out of step, and the next
        // request's transaction id check finds it
        self.rx.copy_within(len..self.filled, 0);
        self.filled -= len;
        match answer {
            Ok(a) => Ok(a),
            Err(e @ MbapError::Count { .. }) => Err(LinkError::Mismatch(e)),
            Err(e) => Err(LinkError::Frame(e)),
        }
    }
}
