//! The real terminal: raw mode and the alternate screen, restored on every way out
//! (drop, panic, SIGTERM/SIGHUP), and input read on its own thread.

use std::io::{BufWriter, Stdout, Write};
use std::time::Duration;

use crossterm::event::{self, Event as CtEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};
use mimic_views::{Key, Snapshot, TrendData, UiState};
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc;

use super::Event;

type Backend = CrosstermBackend<BufWriter<Stdout>>;

pub struct Terminal {
    inner: ratatui::Terminal<Backend>,
}

fn restore() {
    let _ = disable_raw_mode();
    let mut out = std::io::stdout();
    let _ = crossterm::execute!(out, LeaveAlternateScreen, crossterm::cursor::Show);
    let _ = out.flush();
}

impl Terminal {
    pub fn enter() -> std::io::Result<Terminal> {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        enable_raw_mode()?;
        let mut out = BufWriter::with_capacity(64 * 1024, std::io::stdout());
        crossterm::execute!(out, EnterAlternateScreen, crossterm::cursor::Hide)?;
        let inner = ratatui::Terminal::new(CrosstermBackend::new(out))?;
        Ok(Terminal { inner })
    }

    pub fn size(&self) -> (u16, u16) {
        self.inner.size().map(|s| (s.width, s.height)).unwrap_or((80, 24))
    }

    /// Draw the screen; `prompt` is a secret being typed (for what, characters typed
    /// so far), shown as a modal on top.
    pub fn draw(
        &mut self,
        snap: &Snapshot,
        trend: Option<&TrendData>,
        ui: &UiState,
        prompt: Option<(Prompt, usize)>,
    ) -> std::io::Result<()> {
        self.inner.draw(|f| {
            mimic_views::draw(f, snap, trend, ui);
            if let Some((what, typed)) = prompt {
                signature_prompt(f, what, typed);
            }
        })?;
        Ok(())
    }
}

/// What a typed secret is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// An electronic signature on this request.
    Approve(u64),
    /// Unlocking the idle-locked terminal.
    Unlock,
}

/// The secret prompt: the secret is never shown, only its length.
fn signature_prompt(f: &mut ratatui::Frame, what: Prompt, typed: usize) {
    use ratatui::layout::Rect;
    use ratatui::style::{Modifier, Style};
    use ratatui::text::Line;
    use ratatui::widgets::{Block, Borders, Clear, Paragraph};
    let area = f.area();
    let w = area.width.min(60);
    let h = 6.min(area.height);
    let r = Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h);
    let (title, first, enter) = match what {
        Prompt::Approve(id) => {
            (" Electronic signature ", format!("Sign request {id}: approved setpoint change"), "Enter sign")
        }
        Prompt::Unlock => (" Unlock terminal ", "Re-enter your secret to unlock".to_string(), "Enter unlock"),
    };
    let lines = vec![
        Line::from(first),
        Line::from(format!("Your secret: {}", "*".repeat(typed.min(32)))),
        Line::from(format!("{enter}   Esc cancel")),
    ];
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default().borders(Borders::ALL).title(title).style(Style::new().add_modifier(Modifier::BOLD)),
        ),
        r,
    );
}

impl Drop for Terminal {
    fn drop(&mut self) {
        restore();
    }
}

fn key(k: KeyEvent) -> Option<Key> {
    if k.kind == KeyEventKind::Release {
        return None;
    }
    Some(match k.code {
        KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => Key::CtrlC,
        KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::Left if k.modifiers.contains(KeyModifiers::SHIFT) => Key::ShiftLeft,
        KeyCode::Right if k.modifiers.contains(KeyModifiers::SHIFT) => Key::ShiftRight,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::Backspace => Key::Backspace,
        _ => return None,
    })
}

/// Read keys on a plain thread (crossterm's reads block) and forward them.
pub fn spawn_input(tx: mpsc::UnboundedSender<Event>) {
    std::thread::spawn(move || {
        loop {
            match event::poll(Duration::from_millis(250)) {
                Ok(true) => {}
                Ok(false) => {
                    if tx.is_closed() {
                        return;
                    }
                    continue;
                }
                Err(_) => return,
            }
            let ev = match event::read() {
                Ok(CtEvent::Key(k)) => key(k).map(Event::Key),
                Ok(CtEvent::Resize(..)) => Some(Event::Resize),
                Ok(_) => None,
                Err(_) => return,
            };
            if let Some(ev) = ev
                && tx.send(ev).is_err()
            {
                return;
            }
        }
    });
}

/// A dropped SSH link (SIGHUP) or a service stop (SIGTERM) ends the session cleanly.
pub fn spawn_signals(tx: mpsc::UnboundedSender<Event>) {
    use tokio::signal::unix::{SignalKind, signal};
    tokio::spawn(async move {
        let (Ok(mut term), Ok(mut hup)) = (signal(SignalKind::terminate()), signal(SignalKind::hangup())) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {},
            _ = hup.recv() => {},
        }
        let _ = tx.send(Event::Stop);
    });
}
