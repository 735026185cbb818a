//! When the daemon signs an audit checkpoint on its own: every `[site] checkpoint_every`
//! (one hour unless the site says otherwise; `"0s"` turns it off), the first one period
//! after start. The shell signs and copies it ([`super::Job::Checkpoint`]).

use super::{Effect, Job, State};

/// The checkpoint job, when one is due at `now_ms`.
pub fn due(state: &mut State, now_ms: i64) -> Option<Effect> {
    let every = state.site.checkpoint_every.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))?;
    if every <= 0 {
        return None;
    }
    let next = *state.next_checkpoint_ms.get_or_insert(now_ms.saturating_add(every));
    if now_ms < next {
        return None;
    }
    state.next_checkpoint_ms = Some(now_ms.saturating_add(every));
    Some(Effect::Job(Job::Checkpoint { by: None }))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    fn state(every: Option<Duration>) -> State {
        let mut site =
            crate::config::Site::parse(std::path::Path::new("/t.toml"), "[site]\nname = \"t\"\n").expect("site");
        site.checkpoint_every = every;
        State::new(Arc::new(site))
    }

    #[test]
    fn a_checkpoint_is_due_once_per_period_from_the_first_tick() {
        let mut s = state(Some(Duration::from_secs(3600)));
        let t0 = 1_790_000_000_000;
        assert_eq!(due(&mut s, t0), None);
        assert_eq!(due(&mut s, t0 + 3_599_999), None);
        assert_eq!(due(&mut s, t0 + 3_600_000), Some(Effect::Job(Job::Checkpoint { by: None })));
        assert_eq!(due(&mut s, t0 + 3_600_001), None);
        assert!(due(&mut s, t0 + 7_200_000).is_some());
    }

    #[test]
    fn none_when_the_site_turns_them_off() {
        for every in [None, Some(Duration::ZERO)] {
            let mut s = state(every);
            assert!((0..5).all(|h| due(&mut s, h * 3_600_000).is_none()));
        }
    }
}
