//! "Now", injected: production reads the system clock, tests set and move a manual one, so
//! expiry, trial and session-timeout rules are tested by moving time instead of sleeping.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    manual: Option<Arc<Mutex<DateTime<Utc>>>>,
    /// A running clock moved by this much (tests that measure real latencies at a moved time).
    shift: Option<Arc<Mutex<Duration>>>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// The system clock, running, moved by whatever [`Clock::advance`] adds.
    pub fn shifted() -> Self {
        Self {
            manual: None,
            shift: Some(Arc::new(Mutex::new(Duration::zero()))),
        }
    }

    /// A clock that stands still at `start` until moved with [`Clock::advance`].
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self {
            manual: Some(Arc::new(Mutex::new(start))),
            shift: None,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match (&self.manual, &self.shift) {
            (Some(at), _) => *at.lock().unwrap_or_else(PoisonError::into_inner),
            (None, Some(by)) => Utc::now() + *by.lock().unwrap_or_else(PoisonError::into_inner),
            (None, None) => Utc::now(),
        }
    }

    /// Moves a manual or shifted clock forward; the system clock cannot be moved and ignores this.
    pub fn advance(&self, by: Duration) {
        if let Some(at) = &self.manual {
            let mut at = at.lock().unwrap_or_else(PoisonError::into_inner);
            *at += by;
        }
        if let Some(shift) = &self.shift {
            let mut shift = shift.lock().unwrap_or_else(PoisonError::into_inner);
            *shift += by;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_clones_share_it() {
        let start = DateTime::<Utc>::UNIX_EPOCH;
        let clock = Clock::manual(start);
        let shared = clock.clone();
        assert_eq!(clock.now(), start);
        shared.advance(Duration::hours(8));
        assert_eq!(clock.now(), start + Duration::hours(8));
    }
}
