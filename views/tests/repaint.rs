//! Bytes written to a real (crossterm) terminal per refresh: ratatui diffs each frame
//! against the last and writes only the cells that changed. With 20 visible values
//! changing (and the header clock ticking), a refresh must cost at most 10 % of a
//! full repaint — SSH links to remote sites are slow.
//!
//! This counts bytes (deterministic), it does not time anything.

mod common;

use mimic_views::{App, Screen, Snapshot, TagRow, UiState};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

/// 1,000 plant-like tags.
fn plant(now_ms: i64) -> Snapshot {
    let mut s = common::normal();
    let proto = s.tags[0].clone();
    s.tags = (0..1000)
        .map(|i| TagRow {
            name: format!("A{:02}.P{:03}.{}", i / 100, i % 100, ["flow", "pressure", "temp", "speed"][i % 4]),
            asset: format!("Pump P-{:03}", i / 4),
            value: Some(40.0 + (i % 37) as f64 * 1.25),
            ts_ms: Some(now_ms - 500),
            ..proto.clone()
        })
        .collect();
    s.now_ms = now_ms;
    s
}

/// A terminal that only counts what it is sent.
#[derive(Clone, Default)]
struct Counter(Arc<AtomicUsize>);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(buf.len(), Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Bytes of the first frame (a full repaint) and of the next one after `change`.
fn bytes(screen: Screen, change: impl Fn(&mut Snapshot)) -> (usize, usize) {
    let area = Rect::new(0, 0, 160, 48);
    let counter = Counter::default();
    let backend = CrosstermBackend::new(counter.clone());
    let mut term = Terminal::with_options(backend, TerminalOptions { viewport: Viewport::Fixed(area) })
        .expect("terminal over a byte buffer");
    let ui = UiState { screen, ..Default::default() };
    let mut s = plant(common::NOW);
    term.draw(|f| f.render_widget(&App { snapshot: &s, trend: None, ui: &ui }, f.area())).expect("draw");
    let full = counter.0.load(Ordering::Relaxed);
    change(&mut s);
    term.draw(|f| f.render_widget(&App { snapshot: &s, trend: None, ui: &ui }, f.area())).expect("draw");
    (full, counter.0.load(Ordering::Relaxed) - full)
}

#[test]
fn twenty_changed_values_cost_at_most_a_tenth_of_a_full_repaint() {
    for screen in [Screen::Tags, Screen::Overview] {
        let (full, step) = bytes(screen, |s| {
            // one second later: every tag was polled again (same age), and the values
            // of the 20 first rows of the (name-sorted) table moved
            s.now_ms += 1000;
            for t in s.tags.iter_mut() {
                t.ts_ms = Some(s.now_ms - 500);
            }
            for t in s.tags.iter_mut().take(20) {
                t.value = t.value.map(|v| v + 0.37);
            }
        });
        println!("{screen:?}: full repaint {full} B, refresh with 20 changed values {step} B");
        assert!(full > 5_000, "{screen:?}: a full 160x48 repaint is several kB ({full})");
        assert!(step * 10 <= full, "{screen:?}: refresh {step} B > 10 % of the full repaint {full} B");
    }
}

#[test]
fn nothing_changed_writes_almost_nothing() {
    let (full, step) = bytes(Screen::Tags, |_| {});
    assert!(step < 64, "an unchanged frame wrote {step} B (full {full} B)");
}
