//! Time to render each screen at 160x48 into a `Buffer` with the huge
//! fixture: 1,000 tags, 1,000 alarms, 1,000 audit rows, 300 recommendations,
//! 200 assets, 60 devices, a 5,000-column trend. Also the confirm popup.
//!
//! `cargo bench -p mimic-views --bench render`

use criterion::{Criterion, criterion_group, criterion_main};
use mimic_views::{App, Key, Screen, TagCounts, TagPage, UiState, handle_key};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

#[path = "../tests/common/mod.rs"]
mod common;

fn bench(c: &mut Criterion) {
    let s = common::huge();
    let trend = common::trend_huge();
    let mut buf = Buffer::empty(Rect::new(0, 0, 160, 48));
    let mut g = c.benchmark_group("render_160x48");
    for screen in Screen::ALL {
        let ui = UiState {
            screen,
            selected: 500,
            alarm_selected: 500,
            audit_selected: 500,
            rec_selected: 150,
            dev_selected: 30,
            ..Default::default()
        };
        let app = App { snapshot: &s, trend: Some(&trend), ui: &ui };
        g.bench_function(screen.title(), |b| {
            b.iter(|| {
                buf.reset();
                (&app).render(buf.area, &mut buf);
            })
        });
    }
    // 100,000 tags: the daemon sends the window on screen (and a page either side)
    let mut big = s.clone();
    let end = 100_000 - 80;
    big.tags = s.tags.iter().cycle().take(80).cloned().collect();
    big.tag_page = Some(TagPage { offset: end, total: 100_000, bad: 1_234, stale: 56 });
    big.tag_counts = Some(TagCounts { tags: 100_000, bad: 1_234, stale: 56 });
    for (screen, name) in [(Screen::Tags, "Tags, 100k tags at the end"), (Screen::Overview, "Overview, 100k tags")] {
        let ui = UiState { screen, selected: 99_990, scroll: 99_960, ..Default::default() };
        let app = App { snapshot: &big, trend: None, ui: &ui };
        g.bench_function(name, |b| {
            b.iter(|| {
                buf.reset();
                (&app).render(buf.area, &mut buf);
            })
        });
    }
    g.bench_function("key PgDn at 100k tags", |b| {
        b.iter(|| {
            let mut ui = UiState { selected: 99_900, scroll: 99_880, ..Default::default() };
            handle_key(&mut ui, &big, Key::PageDown)
        })
    });
    let mut ui = UiState { screen: Screen::Alarms, ..Default::default() };
    handle_key(&mut ui, &s, Key::Char('A'));
    let app = App { snapshot: &s, trend: None, ui: &ui };
    g.bench_function("Alarms + ack-all popup", |b| {
        b.iter(|| {
            buf.reset();
            (&app).render(buf.area, &mut buf);
        })
    });
    g.bench_function("key A (ack all visible: sort + popup)", |b| {
        b.iter(|| {
            let mut ui = UiState { screen: Screen::Alarms, ..Default::default() };
            handle_key(&mut ui, &s, Key::Char('A'))
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1))
        .sample_size(20);
    targets = bench
}
criterion_main!(benches);
