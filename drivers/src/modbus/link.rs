//! One Modbus TCP connection of the client: the byte stream, one request buffer and one
//! answer buffer reused by every transaction, and the transaction id.
//!
//! [`Link::transact`] has one request outstanding. A poll may also pipeline reads
//! ([`Link::queue`], [`Link::flush`], [`Link::next_answer`]): several requests go out in one
//! write and their answers are matched by transaction id, in whatever order they come.
//! An answer must carry the transaction id and unit of a request in flight; anything else
//! means the stream is no longer in step with our requests (a late answer must never be
//! taken for the next request's), so the caller drops the connection on every
//! [`LinkError`] except [`LinkError::Mismatch`], which is a complete, well-framed answer
//! whose content does not fit the request.

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

/// Receive buffer: room for a whole frame after any partial one, and for a burst of
/// pipelined answers in one read.
const RX: usize = 8 * MAX_ADU;

pub struct Link {
    io: Box<dyn Stream>,
    unit: u8,
    tid: u16,
    tx: Vec<u8>,
    rx: Box<[u8; RX]>,
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
        Link { io, unit, tid: 0, tx: Vec::with_capacity(MAX_ADU), rx: Box::new([0; RX]), filled: 0, values: Vec::new() }
    }

    /// Values of the last read answer (registers, or 0/1 per bit).
    pub fn values(&self) -> &[u16] {
        &self.values
    }

    /// Sends `req` and waits at most `timeout` for its answer.
    pub async fn transact(&mut self, req: &Request<'_>, timeout: Duration) -> Result<Answer, LinkError> {
        self.tx.clear();
        let tid = self.queue(req);
        match tokio::time::timeout(timeout, self.exchange(tid, req)).await {
            Ok(r) => r,
            Err(_) => Err(LinkError::Timeout(timeout)),
        }
    }

    async fn exchange(&mut self, tid: u16, req: &Request<'_>) -> Result<Answer, LinkError> {
        let sent = self.io.write_all(&self.tx).await;
        self.tx.clear();
        sent?;
        let len = self.whole_frame().await?;
        self.decode(len, tid, req)
    }

    /// Encodes `req` behind any request queued before it, to go out with the next
    /// [`Link::flush`]; returns its transaction id.
    pub fn queue(&mut self, req: &Request<'_>) -> u16 {
        self.tid = self.tid.wrapping_add(1);
        mbap::encode_request(&mut self.tx, self.tid, self.unit, req);
        self.tid
    }

    /// Sends every queued request in one write, within `timeout` (a device that stops
    /// reading fills the socket's buffer).
    pub async fn flush(&mut self, timeout: Duration) -> Result<(), LinkError> {
        let sent = tokio::time::timeout(timeout, self.io.write_all(&self.tx)).await;
        self.tx.clear();
        match sent {
            Ok(r) => Ok(r?),
            Err(_) => Err(LinkError::Timeout(timeout)),
        }
    }

    /// Whether a whole answer is already received (no read needed to take it).
    pub fn answer_ready(&self) -> Result<bool, LinkError> {
        Ok(mbap::frame_len(&self.rx[..self.filled]).map_err(LinkError::Frame)?.is_some_and(|n| self.filled >= n))
    }

    /// Waits at most `timeout` for the next whole answer and returns its transaction id;
    /// [`Link::take_answer`] then decodes it.
    pub async fn next_answer(&mut self, timeout: Duration) -> Result<u16, LinkError> {
        let len = match tokio::time::timeout(timeout, self.whole_frame()).await {
            Ok(r) => r?,
            Err(_) => return Err(LinkError::Timeout(timeout)),
        };
        Ok(mbap::split(&self.rx[..len]).0)
    }

    /// Decodes the answer [`Link::next_answer`] announced as the answer to `req`, sent as
    /// `tid`, and consumes it.
    pub fn take_answer(&mut self, tid: u16, req: &Request<'_>) -> Result<Answer, LinkError> {
        let len = mbap::frame_len(&self.rx[..self.filled]).map_err(LinkError::Frame)?.unwrap_or(0);
        if len == 0 || self.filled < len {
            // only after next_answer announced a whole frame: a caller's mistake
            return Err(LinkError::Io(std::io::Error::other("no whole answer received to take")));
        }
        self.decode(len, tid, req)
    }

    /// Reads until a whole frame is at the start of the buffer; returns its length.
    async fn whole_frame(&mut self) -> Result<usize, LinkError> {
        loop {
            if let Some(n) = mbap::frame_len(&self.rx[..self.filled]).map_err(LinkError::Frame)?
                && self.filled >= n
            {
                return Ok(n);
            }
            // a frame is at most MAX_ADU long and the buffer holds several: there is room
            let n = self.io.read(&mut self.rx[self.filled..]).await?;
            if n == 0 {
                return Err(LinkError::Closed);
            }
            self.filled += n;
        }
    }

    fn decode(&mut self, len: usize, tid: u16, req: &Request<'_>) -> Result<Answer, LinkError> {
        let answer = mbap::decode_response(&self.rx[..len], tid, self.unit, req, &mut self.values);
        // anything after the frame stays: another pipelined answer, or out of step, which
        // the next request's transaction id check finds
        self.rx.copy_within(len..self.filled, 0);
        self.filled -= len;
        match answer {
            Ok(a) => Ok(a),
            Err(e @ MbapError::Count { .. }) => Err(LinkError::Mismatch(e)),
            Err(e) => Err(LinkError::Frame(e)),
        }
    }
}
