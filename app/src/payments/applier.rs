//! The C2B applier: one background task that applies stored paybill confirmations in batches.
//!
//! A webhook stores its confirmation, nudges the applier and answers Daraja at once: stored is
//! safe (a replay is recognised, a crash loses nothing). The applier takes every confirmation
//! waiting for an ISP, oldest first, up to `BATCH` per transaction: while it commits one batch
//! the next deliveries pile up and go into the next one, so under load a transaction carries
//! dozens of confirmations in the same fifteen statements one would take. That is what lets a
//! 2-core machine keep up with a paybill's busiest minutes (see the C2B benchmark). Every
//! `TICK` it also looks across ISPs for anything left waiting (a restart between storing and
//! applying, an error that passed).

use std::{
    collections::HashSet,
    fmt,
    sync::{Arc, OnceLock},
    time::Duration,
};

use tokio::sync::mpsc;

use crate::{db::TenantId, payments::c2b, state::AppState};

/// The most confirmations one transaction applies.
pub const BATCH: i64 = 500;

/// How often the applier looks across ISPs for confirmations left waiting.
pub const TICK: Duration = Duration::from_secs(2);

/// A handle on the applier task. Cheap to clone; the task starts with the server (or with the
/// first confirmation, in tests).
#[derive(Clone, Default)]
pub struct C2bApplier {
    nudges: Arc<OnceLock<mpsc::UnboundedSender<TenantId>>>,
}

impl fmt::Debug for C2bApplier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("C2bApplier")
            .field("started", &self.nudges.get().is_some())
            .finish()
    }
}

impl C2bApplier {
    /// Starts the task if it is not running yet.
    pub fn start(&self, state: &AppState) {
        self.sender(state);
    }

    /// Tells the applier `tenant` has a confirmation waiting.
    pub fn nudge(&self, state: &AppState, tenant: TenantId) {
        // Only fails if the task is gone (the runtime is shutting down); the stored
        // confirmation is applied after the restart.
        let _ = self.sender(state).send(tenant);
    }

    fn sender(&self, state: &AppState) -> &mpsc::UnboundedSender<TenantId> {
        self.nudges.get_or_init(|| {
            let (nudges, waiting) = mpsc::unbounded_channel();
            tokio::spawn(run(state.clone(), waiting));
            nudges
        })
    }
}

/// Applies whatever ISPs were nudged, then waits for the next nudge or tick.
async fn run(state: AppState, mut nudges: mpsc::UnboundedReceiver<TenantId>) {
    let mut tick = tokio::time::interval(TICK);
    // After a long batch, one look across ISPs is enough, not one per tick missed.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut nudged = Vec::new();
    loop {
        tokio::select! {
            count = nudges.recv_many(&mut nudged, 1_000) => {
                if count == 0 {
                    return;
                }
                let tenants: HashSet<TenantId> = nudged.drain(..).collect();
                for tenant in tenants {
                    let now = state.clock.now();
                    if let Err(err) = c2b::apply_waiting(&state, tenant, now, BATCH).await {
                        tracing::error!(%tenant, error = %err, "applying C2B confirmations");
                    }
                }
            }
            _ = tick.tick() => {
                if let Err(err) = c2b::sweep(&state, state.clock.now(), BATCH).await {
                    tracing::error!(error = %err, "applying C2B confirmations left waiting");
                }
            }
        }
    }
}
