//! Bit-level primitives of the chunk codec: zigzag, LEB128 varints, and an
//! MSB-first bit writer with two readers (general and fast unaligned).

/// Why bytes (a chunk, a block, a journal row) could not be decoded. Defined here, at
/// the bottom of the codec, so the readers below need nothing from above them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(pub &'static str);

#[inline]
pub(super) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
pub(super) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

#[inline]
pub(super) fn put_var(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(super) struct Reader<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Reader<'a> {
    #[inline]
    pub(super) fn var(&mut self) -> Result<u64, CodecError> {
        let mut v = 0u64;
        let mut shift = 0u32;
        loop {
            let b = *self.buf.get(self.pos).ok_or(CodecError("truncated varint"))?;
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err(CodecError("varint overflow"));
            }
            v |= u64::from(b & 0x7F) << shift;
            if b < 0x80 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err(CodecError("varint too long"));
            }
        }
    }
    pub(super) fn u8(&mut self) -> Result<u8, CodecError> {
        let b = *self.buf.get(self.pos).ok_or(CodecError("truncated"))?;
        self.pos += 1;
        Ok(b)
    }
    pub(super) fn f64(&mut self) -> Result<f64, CodecError> {
        let bytes = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(bytes);
        Ok(f64::from_le_bytes(a))
    }
    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let end =
            self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or(CodecError("section exceeds chunk"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
}

pub(super) struct BitWriter<'a> {
    pub(super) out: &'a mut Vec<u8>,
    pub(super) acc: u64,
    pub(super) nbits: u32,
}

impl BitWriter<'_> {
    /// Appends the low `bits` (<= 32) bits of `v`, most significant first.
    #[inline]
    pub(super) fn put32(&mut self, v: u64, bits: u32) {
        debug_assert!(bits <= 32);
        if bits == 0 {
            return;
        }
        self.acc = (self.acc << bits) | (v & ((1u64 << bits) - 1));
        self.nbits += bits;
        while self.nbits >= 8 {
            self.nbits -= 8;
            self.out.push((self.acc >> self.nbits) as u8);
        }
    }
    #[inline]
    pub(super) fn put(&mut self, v: u64, bits: u32) {
        if bits > 32 {
            self.put32(v >> 32, bits - 32);
            self.put32(v, 32);
        } else {
            self.put32(v, bits);
        }
    }
    pub(super) fn finish(self) {
        if self.nbits > 0 {
            self.out.push((self.acc << (8 - self.nbits)) as u8);
        }
    }
}

pub(super) struct BitReader<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
    pub(super) acc: u64,
    pub(super) nbits: u32,
}

impl BitReader<'_> {
    #[inline]
    pub(super) fn get32(&mut self, bits: u32) -> Result<u64, CodecError> {
        if bits == 0 {
            return Ok(0);
        }
        while self.nbits < bits {
            let b = *self.buf.get(self.pos).ok_or(CodecError("truncated bit stream"))?;
            self.pos += 1;
            self.acc = (self.acc << 8) | u64::from(b);
            self.nbits += 8;
        }
        self.nbits -= bits;
        Ok((self.acc >> self.nbits) & ((1u64 << bits) - 1))
    }
    #[inline]
    pub(super) fn get(&mut self, bits: u32) -> Result<u64, CodecError> {
        if bits > 32 {
            let hi = self.get32(bits - 32)?;
            Ok((hi << 32) | self.get32(32)?)
        } else {
            self.get32(bits)
        }
    }
}

/// Fast reader of MSB-first bit-packed fields (the BitWriter format): one
/// unaligned 8-byte load per field away from the end of the buffer.
pub(super) struct Unpacker<'a> {
    pub(super) buf: &'a [u8],
    pub(super) bit: usize,
}

impl Unpacker<'_> {
    #[inline]
    pub(super) fn get(&mut self, bits: u32) -> Result<u64, CodecError> {
        if bits == 0 {
            return Ok(0);
        }
        let byte = self.bit >> 3;
        let shift = (self.bit & 7) as u32;
        if bits <= 56
            && let Some(w) = self.buf.get(byte..byte + 8)
        {
            let mut a = [0u8; 8];
            a.copy_from_slice(w);
            self.bit += bits as usize;
            return Ok((u64::from_be_bytes(a) << shift) >> (64 - bits));
        }
        // Slow path near the end of the buffer or for very wide fields.
        let mut v = 0u64;
        for _ in 0..bits {
            let b = *self.buf.get(self.bit >> 3).ok_or(CodecError("truncated bit stream"))?;
            v = (v << 1) | u64::from((b >> (7 - (self.bit & 7))) & 1);
            self.bit += 1;
        }
        Ok(v)
    }

    #[inline]
    pub(super) fn width(&mut self) -> Result<u32, CodecError> {
        let w = self.get(7)? as u32;
        if w > 64 {
            return Err(CodecError("bad packed width"));
        }
        Ok(w)
    }
}
