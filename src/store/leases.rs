//! Generation leases: how concurrent generate runs on one workspace split
//! the work instead of each answering everything.
//!
//! Before a run generates an answer it leases the (item, model, setting)
//! triple. A claim takes, in one `BEGIN IMMEDIATE` transaction, up to N items
//! that have no answer and no live lease of another run. A lease lives
//! [`LEASE_TTL`] past its run's last renewal; the run renews its leases
//! whenever it claims a chunk and while it makes progress, and deletes them
//! when it ends (also on error, cancel or panic: [`GenerationLeases`]
//! releases on drop). A lease of a run that was killed is taken over once it
//! expires, or at once when its process is gone on this same host.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{OptionalExtension, Transaction, params};

use super::{SqlContext, Store, StoreError};
use crate::ids::{ItemId, ModelId};

/// How long a lease lasts without renewal. Long enough that a slow answer
/// between two renewals never loses its lease, short enough that the work
/// of a run killed on another host is taken over within minutes.
pub const LEASE_TTL: Duration = Duration::from_secs(5 * 60);

/// Distinguishes the runs of one process (the desktop app can run two jobs).
static RUNS: AtomicU64 = AtomicU64::new(0);

/// Who holds leases: one generation run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    /// Unique per run: host, process id, start time and a counter.
    pub run_id: String,
    /// The run's process.
    pub pid: u32,
    /// The run's host name, empty when unknown.
    pub host: String,
}

impl LeaseHolder {
    /// A new holder for a run of this process, never equal to another's.
    pub fn this_run() -> Self {
        let pid = std::process::id();
        let host = crate::process::host_name();
        let n = RUNS.fetch_add(1, Ordering::Relaxed);
        Self {
            run_id: format!("{host}:{pid}:{}:{n}", unix_ms(SystemTime::now())),
            pid,
            host,
        }
    }
}

/// What a claim found among the candidates it looked at (it stops looking
/// once it has claimed its limit).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LeaseClaim {
    /// Items now leased to this run, in the candidates' order.
    pub claimed: Vec<ItemId>,
    /// Items that have an answer already.
    pub answered: Vec<ItemId>,
    /// Items leased to another run that is still alive.
    pub held: Vec<ItemId>,
}

/// A stored lease, for status and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRecord {
    /// The item.
    pub item_id: ItemId,
    /// The model.
    pub model_id: ModelId,
    /// The sampling setting.
    pub params_hash: String,
    /// The holder's run id.
    pub holder: String,
    /// The holder's process.
    pub pid: u32,
    /// The holder's host.
    pub host: String,
    /// When it expires, in Unix milliseconds.
    pub expires_at_ms: i64,
}

/// The leases of one run on one model and setting. Dropping it releases
/// them, so a run that fails or is cancelled leaves nothing behind.
#[derive(Debug)]
pub struct GenerationLeases<'s> {
    store: &'s mut Store,
    holder: LeaseHolder,
    model_id: ModelId,
    params_hash: String,
    ttl: Duration,
    /// Whether this run ever claimed (else dropping writes nothing).
    claimed_any: bool,
}

impl Store {
    /// Starts leasing answers of `model_id` with the setting `params_hash`
    /// for `holder`; each lease lasts `ttl` past its last renewal.
    pub fn generation_leases(
        &mut self,
        holder: LeaseHolder,
        model_id: ModelId,
        params_hash: &str,
        ttl: Duration,
    ) -> GenerationLeases<'_> {
        GenerationLeases {
            store: self,
            holder,
            model_id,
            params_hash: params_hash.to_owned(),
            ttl,
            claimed_any: false,
        }
    }

    /// Every stored lease (expired ones included), by model, setting and item.
    pub fn leases(&self) -> Result<Vec<LeaseRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT item_id, model_id, params_hash, holder, pid, host, expires_at
                 FROM generation_leases ORDER BY model_id, params_hash, item_id",
            )
            .ctx("listing leases")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(LeaseRecord {
                    item_id: r.get(0)?,
                    model_id: r.get(1)?,
                    params_hash: r.get(2)?,
                    holder: r.get(3)?,
                    pid: r.get(4)?,
                    host: r.get(5)?,
                    expires_at_ms: r.get(6)?,
                })
            })
            .ctx("listing leases")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("listing leases")
    }
}

impl GenerationLeases<'_> {
    /// The store, for the run's other reads and writes.
    pub fn store(&mut self) -> &mut Store {
        self.store
    }

    /// Who holds these leases.
    pub fn holder(&self) -> &LeaseHolder {
        &self.holder
    }

    /// Leases up to `limit` of `candidates` (in order) that have no answer
    /// and no live lease of another run, and renews this run's other leases,
    /// in one write transaction. First it clears expired leases and those of
    /// runs whose process is gone on this host, which frees their items.
    pub fn claim(&mut self, candidates: &[ItemId], limit: usize) -> Result<LeaseClaim, StoreError> {
        self.claimed_any = true;
        let now = unix_ms(SystemTime::now());
        let expires = now.saturating_add(ttl_ms(self.ttl));
        let (holder, model_id, hash) = (&self.holder, self.model_id, self.params_hash.as_str());
        self.store.write("claiming answers to generate", |tx| {
            tx.execute(
                "DELETE FROM generation_leases WHERE expires_at <= ?1 AND holder <> ?2",
                params![now, holder.run_id],
            )
            .ctx("clearing expired leases")?;
            clear_dead_runs(tx, holder)?;
            let mut claim = LeaseClaim::default();
            for &item in candidates {
                if claim.claimed.len() >= limit {
                    break;
                }
                if answered(tx, item, model_id, hash)? {
                    claim.answered.push(item);
                    continue;
                }
                if lease_holder(tx, item, model_id, hash)?
                    .is_some_and(|other| other != holder.run_id)
                {
                    claim.held.push(item);
                    continue;
                }
                tx.execute(
                    "INSERT OR REPLACE INTO generation_leases
                        (item_id, model_id, params_hash, holder, pid, host, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        item,
                        model_id,
                        hash,
                        holder.run_id,
                        holder.pid,
                        holder.host,
                        expires
                    ],
                )
                .ctx("leasing an answer")?;
                claim.claimed.push(item);
            }
            renew(tx, &holder.run_id, expires)?;
            Ok(claim)
        })
    }

    /// Extends every lease of this run by the lease time from now. Returns
    /// how many it holds.
    pub fn renew(&mut self) -> Result<u64, StoreError> {
        let expires = unix_ms(SystemTime::now()).saturating_add(ttl_ms(self.ttl));
        let run_id = &self.holder.run_id;
        self.store
            .write("renewing leases", |tx| renew(tx, run_id, expires))
    }

    /// Deletes every lease of this run. Returns how many there were.
    pub fn release(&mut self) -> Result<u64, StoreError> {
        let run_id = &self.holder.run_id;
        self.store.write("releasing leases", |tx| {
            let n = tx
                .execute("DELETE FROM generation_leases WHERE holder = ?1", [run_id])
                .ctx("releasing leases")?;
            Ok(n as u64)
        })
    }
}

impl Drop for GenerationLeases<'_> {
    fn drop(&mut self) {
        if !self.claimed_any {
            return;
        }
        // Leases left behind expire on their own; this only frees them sooner.
        if let Err(e) = self.release() {
            tracing::warn!(holder = %self.holder.run_id, error = %e, "could not release leases; they expire on their own");
        }
    }
}

fn renew(tx: &Transaction<'_>, run_id: &str, expires: i64) -> Result<u64, StoreError> {
    let n = tx
        .execute(
            "UPDATE generation_leases SET expires_at = ?2 WHERE holder = ?1",
            params![run_id, expires],
        )
        .ctx("renewing leases")?;
    Ok(n as u64)
}

fn answered(
    tx: &Transaction<'_>,
    item: ItemId,
    model_id: ModelId,
    hash: &str,
) -> Result<bool, StoreError> {
    tx.prepare_cached(
        "SELECT 1 FROM generations WHERE item_id = ?1 AND model_id = ?2 AND params_hash = ?3",
    )
    .and_then(|mut s| s.exists(params![item, model_id, hash]))
    .ctx("checking for an answer")
}

fn lease_holder(
    tx: &Transaction<'_>,
    item: ItemId,
    model_id: ModelId,
    hash: &str,
) -> Result<Option<String>, StoreError> {
    tx.prepare_cached(
        "SELECT holder FROM generation_leases
         WHERE item_id = ?1 AND model_id = ?2 AND params_hash = ?3",
    )
    .and_then(|mut s| {
        s.query_row(params![item, model_id, hash], |r| r.get(0))
            .optional()
    })
    .ctx("reading a lease")
}

/// Deletes the leases of runs on this host (named the same) whose process
/// is gone, so that a killed run's work is taken over at once rather than
/// when its leases expire. Runs of this process are alive by definition.
fn clear_dead_runs(tx: &Transaction<'_>, us: &LeaseHolder) -> Result<(), StoreError> {
    if us.host.is_empty() {
        return Ok(());
    }
    let runs: Vec<(String, u32)> = tx
        .prepare_cached(
            "SELECT DISTINCT holder, pid FROM generation_leases WHERE host = ?1 AND pid <> ?2",
        )
        .and_then(|mut s| {
            s.query_map(params![us.host, us.pid], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .ctx("finding the leases of finished processes")?;
    for (run, pid) in runs {
        if crate::process::alive(pid) {
            continue;
        }
        tracing::info!(holder = %run, pid, "taking over the leases of a run whose process is gone");
        tx.execute("DELETE FROM generation_leases WHERE holder = ?1", [&run])
            .ctx("clearing the leases of a finished process")?;
    }
    Ok(())
}

fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DomainPack;
    use crate::inference::SamplingParams;
    use crate::store::{Actor, ItemFilter, NewGeneration, NewRemoteModel};
    use crate::vocab::ModelRole;

    const HASH: &str = "the-setting";
    const HOUR: Duration = Duration::from_secs(3600);

    /// Two stores on one workspace file (two runs), a model and six items.
    fn two_runs() -> (tempfile::TempDir, Store, Store, ModelId, Vec<ItemId>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ws.sqlite3");
        let mut a = Store::open(&path).expect("open");
        let pack = DomainPack::embedded_default().expect("pack");
        a.load_pack(&pack, &Actor::Cli).expect("load");
        let model = a
            .register_remote_model(
                &NewRemoteModel {
                    name: "m".into(),
                    role: ModelRole::Candidate,
                    endpoint_url: "http://127.0.0.1:9/v1".into(),
                    remote_model: "m".into(),
                    api_key_env: None,
                },
                &Actor::Cli,
            )
            .expect("model");
        let items = a
            .items(&ItemFilter {
                limit: Some(6),
                ..ItemFilter::default()
            })
            .expect("items")
            .into_iter()
            .map(|i| i.id)
            .collect();
        let b = Store::open(&path).expect("second connection");
        (dir, a, b, model, items)
    }

    fn holder(run_id: &str, pid: u32, host: &str) -> LeaseHolder {
        LeaseHolder {
            run_id: run_id.to_owned(),
            pid,
            host: host.to_owned(),
        }
    }

    fn answer(store: &mut Store, model: ModelId, item: ItemId) -> bool {
        store
            .insert_generation(&NewGeneration {
                item_id: item,
                model_id: model,
                params_hash: HASH.into(),
                params: SamplingParams::default(),
                seed: 0,
                system_prompt: String::new(),
                text: "an answer".into(),
                prompt_tokens: 1,
                completion_tokens: 1,
                prompt_ms: 1.0,
                generation_ms: 1.0,
                finish_reason: "stop".into(),
                template_hash: "t".into(),
                n_parallel: 1,
                engine: "test".into(),
            })
            .expect("store an answer")
    }

    fn holders(store: &Store) -> Vec<(ItemId, String)> {
        store
            .leases()
            .expect("leases")
            .into_iter()
            .map(|l| (l.item_id, l.holder))
            .collect()
    }

    /// A process id that no longer runs: a child that exited and was reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id();
        child.wait().expect("reap");
        pid
    }

    #[test]
    fn runs_split_the_pending_items_and_skip_answered_and_held_ones() {
        let (_dir, mut a, mut b, model, items) = two_runs();
        let host = crate::process::host_name();
        let me = std::process::id();
        let mut run_a = a.generation_leases(holder("a", me, &host), model, HASH, HOUR);
        let mut run_b = b.generation_leases(holder("b", me, &host), model, HASH, HOUR);

        let first = run_a.claim(&items, 3).expect("claim");
        assert_eq!(first.claimed, items[..3]);
        let second = run_b.claim(&items, 10).expect("claim");
        assert_eq!(second.claimed, items[3..]);
        assert_eq!(second.held, items[..3], "a's leases are live");

        // b answers one of its items; a finds nothing left to claim.
        assert!(answer(run_b.store(), model, items[3]));
        let third = run_a.claim(&items[3..], 10).expect("claim");
        assert_eq!(third.claimed, []);
        assert_eq!(third.answered, [items[3]]);
        assert_eq!(third.held, items[4..]);
    }

    #[test]
    fn released_leases_are_free_and_dropping_releases() {
        let (_dir, mut a, mut b, model, items) = two_runs();
        let host = crate::process::host_name();
        let me = std::process::id();
        {
            let mut run_a = a.generation_leases(holder("a", me, &host), model, HASH, HOUR);
            run_a.claim(&items, 4).expect("claim");
            assert_eq!(run_a.release().expect("release"), 4);
            assert_eq!(run_a.release().expect("release again"), 0);
            run_a.claim(&items, 2).expect("claim again");
            // Dropped here, as when a run returns early with an error.
        }
        assert_eq!(holders(&a), []);
        let mut run_b = b.generation_leases(holder("b", me, &host), model, HASH, HOUR);
        assert_eq!(run_b.claim(&items, 10).expect("claim").claimed, items);
    }

    #[test]
    fn renewing_extends_only_the_runs_own_leases() {
        let (_dir, mut a, mut b, model, items) = two_runs();
        let host = crate::process::host_name();
        let me = std::process::id();
        let mut run_a = a.generation_leases(holder("a", me, &host), model, HASH, HOUR);
        let mut run_b = b.generation_leases(holder("b", me, &host), model, HASH, HOUR);
        run_a.claim(&items[..2], 10).expect("claim");
        run_b.claim(&items[2..3], 10).expect("claim");
        let before = run_a.store().leases().expect("leases");
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(run_a.renew().expect("renew"), 2);
        let after = run_a.store().leases().expect("leases");
        for (old, new) in before.iter().zip(&after) {
            if new.holder == "a" {
                assert!(new.expires_at_ms > old.expires_at_ms, "{new:?}");
            } else {
                assert_eq!(new, old, "another run's lease changed");
            }
        }
    }

    #[test]
    fn an_expired_lease_is_taken_over_and_cleared() {
        let (_dir, mut a, mut b, model, items) = two_runs();
        // A run on another host that stopped renewing: its leases expired.
        let mut gone = a.generation_leases(
            holder("elsewhere", 1, "other-host"),
            model,
            HASH,
            Duration::ZERO,
        );
        gone.claim(&items, 3).expect("claim");
        std::mem::forget(gone); // as if killed: nothing released
        std::thread::sleep(Duration::from_millis(2));
        let mut run_b = b.generation_leases(
            holder("b", std::process::id(), &crate::process::host_name()),
            model,
            HASH,
            HOUR,
        );
        let claim = run_b.claim(&items[..2], 10).expect("claim");
        assert_eq!(claim.claimed, items[..2], "expired leases are free");
        assert_eq!(
            holders(run_b.store()),
            [(items[0], "b".to_owned()), (items[1], "b".to_owned())],
            "the third expired lease is cleared too"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_live_lease_is_taken_over_at_once_only_when_its_process_is_gone_here() {
        let (_dir, mut a, mut b, model, items) = two_runs();
        let host = crate::process::host_name();
        assert!(!host.is_empty(), "Linux names its host in /proc");
        let dead = dead_pid();
        let me = std::process::id();
        let live = [
            // Another job of this very process (the desktop app runs two).
            holder("same-process", me, &host),
            // The same pid on another host says nothing about that host.
            holder("other-host", dead, "other-host"),
        ];
        for (k, h) in live.into_iter().enumerate() {
            let mut run = a.generation_leases(h, model, HASH, HOUR);
            run.claim(&items[k..=k], 1).expect("claim");
            std::mem::forget(run);
        }
        let mut killed = a.generation_leases(holder("killed", dead, &host), model, HASH, HOUR);
        killed.claim(&items[2..4], 2).expect("claim");
        std::mem::forget(killed);

        let mut run_b = b.generation_leases(holder("b", me, &host), model, HASH, HOUR);
        let claim = run_b.claim(&items[..3], 10).expect("claim");
        assert_eq!(claim.claimed, [items[2]], "only the dead process's lease");
        assert_eq!(claim.held, items[..2]);
        assert!(
            !holders(run_b.store()).iter().any(|(_, h)| h == "killed"),
            "all of the dead run's leases are cleared"
        );
    }

    #[test]
    fn holders_are_unique_per_run() {
        let (x, y) = (LeaseHolder::this_run(), LeaseHolder::this_run());
        assert_ne!(x.run_id, y.run_id);
        assert_eq!((x.pid, &x.host), (y.pid, &y.host));
    }
}
