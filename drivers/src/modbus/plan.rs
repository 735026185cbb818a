//! Read planning: coalesce neighbouring points into as few requests as the protocol allows.
//!
//! A [`ReadBlock`] is valid by construction: 1..=125 registers or 1..=2000 bits, never
//! running past address 65535. Points are grouped per table, sorted by address, and a
//! block grows while the next point fits inside the protocol limit and the hole before it
//! is at most `max_gap` unused addresses (reading a hole is cheap on most PLCs but some
//! answer "illegal data address" for it; the TCP driver then falls back to one read per
//! point for that block).

use super::{ModbusPoint, Table};

/// Protocol limit of one register read (FC3/FC4).
pub const MAX_REGISTERS: u16 = 125;
/// Protocol limit of one bit read (FC1/FC2).
pub const MAX_BITS: u16 = 2000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadBlock {
    table: Table,
    start: u16,
    count: u16,
    /// Indices of the points this block serves (into the device's point list).
    points: Vec<usize>,
}

impl ReadBlock {
    /// `None` when the range is empty, too long for the table, or runs past 65535.
    pub fn new(table: Table, start: u16, count: u16, points: Vec<usize>) -> Option<Self> {
        let max = if table.is_bits() { MAX_BITS } else { MAX_REGISTERS };
        if count == 0 || count > max || u32::from(start) + u32::from(count) > 65536 {
            return None;
        }
        Some(ReadBlock { table, start, count, points })
    }

    pub fn table(&self) -> Table {
        self.table
    }
    pub fn start(&self) -> u16 {
        self.start
    }
    pub fn count(&self) -> u16 {
        self.count
    }
    pub fn points(&self) -> &[usize] {
        &self.points
    }
}

/// Plan the reads for `wanted` (indices into `points`). Points whose span is invalid are
/// skipped (the site loader refuses such points before they get here).
pub fn plan_reads(points: &[ModbusPoint], wanted: &[usize], max_gap: u16) -> Vec<ReadBlock> {
    let mut sorted: Vec<usize> =
        wanted.iter().copied().filter(|&i| points.get(i).is_some_and(|p| p.last_address().is_some())).collect();
    sorted.sort_by_key(|&i| (points[i].table, points[i].address, i));

    let mut blocks = Vec::new();
    let mut cur: Option<(Table, u16, u16, Vec<usize>)> = None; // table, start, end (inclusive)
    for i in sorted {
        let p = &points[i];
        let (first, last) = (p.address, p.address + (p.width() - 1));
        let max = if p.table.is_bits() { MAX_BITS } else { MAX_REGISTERS };
        if let Some((table, start, end, members)) = cur.as_mut() {
            let fits = *table == p.table
                && u32::from(first) <= u32::from(*end) + 1 + u32::from(max_gap)
                && u32::from(last.max(*end)) - u32::from(*start) < u32::from(max);
            if fits {
                *end = (*end).max(last);
                members.push(i);
                continue;
            }
            let (t, s, e, m) = cur.take().expect("current block present");
            blocks.extend(ReadBlock::new(t, s, e - s + 1, m));
        }
        cur = Some((p.table, first, last, vec![i]));
    }
    if let Some((t, s, e, m)) = cur {
        blocks.extend(ReadBlock::new(t, s, e - s + 1, m));
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modbus::{ByteOrder, DataType};

    fn pt(table: Table, address: u16, dtype: DataType) -> ModbusPoint {
        ModbusPoint { table, address, dtype, order: ByteOrder::Abcd, bit: None, scale: 1.0, offset: 0.0 }
    }

    #[test]
    fn neighbours_coalesce_and_gaps_split() {
        let pts = vec![
            pt(Table::HoldingRegister, 0, DataType::U16),
            pt(Table::HoldingRegister, 1, DataType::F32),
            pt(Table::HoldingRegister, 6, DataType::U16), // gap of 3 after 1..=2
            pt(Table::HoldingRegister, 100, DataType::U16),
            pt(Table::InputRegister, 0, DataType::U16),
        ];
        let all: Vec<usize> = (0..pts.len()).collect();
        let blocks = plan_reads(&pts, &all, 4);
        let got: Vec<_> = blocks.iter().map(|b| (b.table(), b.start(), b.count(), b.points().to_vec())).collect();
        assert_eq!(
            got,
            vec![
                (Table::InputRegister, 0, 1, vec![4]),
                (Table::HoldingRegister, 0, 7, vec![0, 1, 2]),
                (Table::HoldingRegister, 100, 1, vec![3]),
            ]
        );
        let strict = plan_reads(&pts, &all, 0);
        assert_eq!(strict.len(), 4);
    }

    #[test]
    fn blocks_never_exceed_protocol_limits() {
        let regs: Vec<ModbusPoint> = (0..300).map(|a| pt(Table::HoldingRegister, a * 2, DataType::F32)).collect();
        let all: Vec<usize> = (0..regs.len()).collect();
        let blocks = plan_reads(&regs, &all, 0);
        assert!(blocks.iter().all(|b| b.count() <= MAX_REGISTERS));
        assert_eq!(blocks.iter().map(|b| b.points().len()).sum::<usize>(), 300);
        // a 2-register value is never split across blocks
        for b in &blocks {
            assert_eq!(b.count() % 2, 0);
        }

        let bits: Vec<ModbusPoint> = (0..4500).map(|a| pt(Table::Coil, a, DataType::Bool)).collect();
        let all: Vec<usize> = (0..bits.len()).collect();
        let blocks = plan_reads(&bits, &all, 0);
        assert_eq!(blocks.iter().map(|b| b.count()).collect::<Vec<_>>(), vec![2000, 2000, 500]);
    }

    #[test]
    fn read_block_rejects_invalid_ranges() {
        assert!(ReadBlock::new(Table::HoldingRegister, 0, 0, vec![]).is_none());
        assert!(ReadBlock::new(Table::HoldingRegister, 0, 126, vec![]).is_none());
        assert!(ReadBlock::new(Table::HoldingRegister, 65535, 2, vec![]).is_none());
        assert!(ReadBlock::new(Table::HoldingRegister, 65535, 1, vec![]).is_some());
        assert!(ReadBlock::new(Table::Coil, 0, 2000, vec![]).is_some());
    }

    #[test]
    fn points_past_the_address_space_are_skipped() {
        let pts = vec![pt(Table::HoldingRegister, 65535, DataType::F32)];
        assert!(plan_reads(&pts, &[0], 0).is_empty());
    }
}
