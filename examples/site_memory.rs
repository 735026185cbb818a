//! Heap bytes a loaded site holds, per tag (issue 15: the daemon's memory at 100k tags).
//!
//!   cargo run --example site_memory -- SITE.toml
//!
//! A site file of any size, e.g. the scale rig's (`mimic sim --port 0 --units 1000
//! --emit-site site.toml`). Counts the bytes in use on the heap (requested sizes, not
//! the allocator's rounding) before and after `Site::load`, once the file's text and the
//! loader's scratch are freed.

use std::sync::atomic::Ordering;

use mimic::config::{Site, Tag};

#[path = "../benches/support/counting.rs"]
mod counting;
use counting::{BLOCKS, Counting, HEAP};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: site_memory SITE.toml");
        std::process::exit(2);
    };
    let (heap0, blocks0) = (HEAP.load(Ordering::Relaxed), BLOCKS.load(Ordering::Relaxed));
    let started = std::time::Instant::now();
    let site = match Site::load(std::path::Path::new(&path)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let took = started.elapsed();
    let heap = HEAP.load(Ordering::Relaxed) - heap0;
    let blocks = BLOCKS.load(Ordering::Relaxed) - blocks0;
    let n = site.tags.len().max(1) as f64;
    println!(
        "{} tags: site heap {:.1} MB ({:.0} B a tag, {:.2} allocations a tag); size_of::<Tag>() {} B; loaded in {} ms",
        site.tags.len(),
        heap as f64 / 1e6,
        heap as f64 / n,
        blocks as f64 / n,
        std::mem::size_of::<Tag>(),
        took.as_millis()
    );
}
