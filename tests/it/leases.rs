//! Concurrent `generate` runs on one workspace split the work through leases
//! (issue 11, part 6), with the real CLI binary and the real model.

use std::collections::BTreeSet;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use llm4sweat::Store;
use llm4sweat::store::{ItemFilter, LeaseHolder, Table};

use crate::util::Workspace;

/// `generate` on `limit` items: short answers, one thread per run.
fn generate_args(limit: &'static str) -> [&'static str; 11] {
    crate::util::generate_args(limit, "16", "1")
}

/// The counts of a `generate` summary line: (selected, already answered,
/// answered now, failed, left to another run).
fn counts(stdout: &str) -> [u64; 5] {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("smol: "))
        .unwrap_or_else(|| panic!("no summary line in {stdout:?}"));
    let numbers = |label: &str| -> u64 {
        let before = line
            .split_once(&format!(" {label}"))
            .unwrap_or_else(|| panic!("no {label:?} in {line:?}"))
            .0;
        let word = before.rsplit([' ', ',']).next().unwrap_or_default();
        word.parse()
            .unwrap_or_else(|_| panic!("{word:?} before {label:?} in {line:?}"))
    };
    [
        numbers("selected"),
        numbers("already answered"),
        numbers("answered now"),
        numbers("failed"),
        numbers("left to another run"),
    ]
}

fn spawn(ws: &Workspace, args: &[&str]) -> Child {
    ws.cmd()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn llm4sweat")
}

/// Two runs started together answer every item once between them: neither
/// generates an item the other stored, the answers each reports add up to
/// the rows stored (each used to report every answer as its own), and every
/// run seen holding a lease did work.
#[test]
fn two_generate_runs_on_one_workspace_split_the_work() {
    let ws = Workspace::new().with_model();
    // At -v a run logs each answer it generated in vain (another run had
    // stored it first): there must be none.
    let args: Vec<&str> = std::iter::once("-v").chain(generate_args("10")).collect();
    let mut runs = [spawn(&ws, &args), spawn(&ws, &args)];
    let pids: Vec<u32> = runs.iter().map(Child::id).collect();

    // Watch the leases: a run seen holding one has claimed items, and a run
    // answers every item it claims (nothing fails or is cancelled here).
    let watcher = Store::open(&ws.db()).expect("open");
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut exited = [false, false];
    while exited.contains(&false) {
        assert!(Instant::now() < deadline, "runs took over 300 s");
        seen.extend(watcher.leases().expect("leases").iter().map(|l| l.pid));
        for (run, done) in runs.iter_mut().zip(exited.iter_mut()) {
            *done = *done || run.try_wait().expect("wait").is_some();
        }
        std::thread::sleep(Duration::from_millis(10));
    }

    let outputs = runs.map(|r| r.wait_with_output().expect("output"));
    let mut generated = Vec::new();
    for out in &outputs {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
        let [selected, skipped, now, failed, others] = counts(&stdout);
        assert_eq!((selected, failed), (10, 0), "{stdout}");
        assert_eq!(
            skipped + now + others,
            10,
            "every item accounted for: {stdout}"
        );
        assert!(
            !stderr.contains("another run stored this answer first"),
            "an item was generated twice: {stderr}"
        );
        generated.push(now);
    }
    let rows = ws.count(Table::Generations);
    assert_eq!(rows, 10);
    assert_eq!(
        generated.iter().sum::<u64>(),
        10,
        "each answer is claimed by exactly one run: {generated:?}"
    );
    for (pid, now) in pids.iter().zip(&generated) {
        if seen.contains(pid) {
            assert!(*now > 0, "run {pid} held leases but answered nothing");
        }
    }
    eprintln!(
        "answers per run: {generated:?}; runs seen holding leases: {} of 2",
        pids.iter().filter(|p| seen.contains(p)).count()
    );
    assert_eq!(ws.count(Table::GenerationLeases), 0, "both released");
}

/// Items leased to a live run elsewhere are left to it and reported; the
/// expired leases of a run that stopped renewing are taken over.
#[test]
fn live_leases_are_left_and_expired_ones_taken_over() {
    let ws = Workspace::new().with_model();
    // One answer first, to learn the setting's hash as the CLI computes it.
    ws.ok(&generate_args("1"));
    let mut store = Store::open(&ws.db()).expect("open");
    let model = store.model_by_name("smol").expect("model");
    let hash = store.generations_for_model(model.id).expect("answers")[0]
        .generation
        .params_hash
        .clone();
    let items: Vec<_> = store
        .items(&ItemFilter {
            limit: Some(5),
            ..ItemFilter::default()
        })
        .expect("items")
        .into_iter()
        .map(|i| i.id)
        .collect();
    let elsewhere = |run: &str| LeaseHolder {
        run_id: run.into(),
        pid: 1,
        host: "another-host".into(),
    };
    for (run, ttl, claimed) in [
        ("live", Duration::from_secs(3600), &items[1..3]),
        ("expired", Duration::ZERO, &items[3..5]),
    ] {
        let mut leases = store.generation_leases(elsewhere(run), model.id, &hash, ttl);
        assert_eq!(leases.claim(claimed, 10).expect("claim").claimed, claimed);
        // Kept, as by a run that is still going (or was killed).
        std::mem::forget(leases);
    }
    std::thread::sleep(Duration::from_millis(5));

    let out = ws.ok(&generate_args("5"));
    assert_eq!(counts(&out), [5, 1, 2, 0, 2], "{out}");
    let answered = store.answered_items(model.id, &hash).expect("answered");
    assert!(answered.contains(&items[3]) && answered.contains(&items[4]));
    assert!(!answered.contains(&items[1]) && !answered.contains(&items[2]));
    let left: Vec<_> = store
        .leases()
        .expect("leases")
        .into_iter()
        .map(|l| (l.item_id, l.holder))
        .collect();
    assert_eq!(
        left,
        [(items[1], "live".to_owned()), (items[2], "live".to_owned())],
        "only the live run's leases remain"
    );
}
