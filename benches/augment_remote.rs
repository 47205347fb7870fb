//! Augmentation through the remote backend against an instantly answering
//! loopback server (`testkit::generator::FakeGenerator`): items per second
//! at 1, 4 and 8 requests in flight. Every item goes the whole way — the
//! HTTP exchange, parsing, every check (the near-duplicate screen against a
//! growing pool included) and its own committed transaction in a real
//! SQLite file — so the figure is the client's ceiling, not the server's.
//! Target: at least 200 items/s at concurrency 8.
//!
//! Run with `cargo bench -p llm4sweat --features testkit --bench augment_remote`.

use std::time::Instant;

use llm4sweat::DomainPack;
use llm4sweat::augment::run::{AugmentOptions, default_params, run};
use llm4sweat::generate::{engine_config, open_backend};
use llm4sweat::models::{RemoteSpec, register_remote};
use llm4sweat::progress::{CancelToken, NoProgress};
use llm4sweat::store::{Actor, Store};
use llm4sweat::testkit::generator::FakeGenerator;
use llm4sweat::vocab::ModelRole;

const ITEMS: u64 = 400;

fn main() {
    let server = FakeGenerator::start().expect("start the loopback server");
    println!("| requests in flight | items | seconds | items/s |");
    println!("|---:|---:|---:|---:|");
    for concurrency in [1u32, 4, 8] {
        // A fresh workspace per setting, so each run checks against the
        // same pool size.
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("bench.sqlite3")).expect("open");
        let pack = DomainPack::embedded_default().expect("pack");
        store.load_pack(&pack, &Actor::Cli).expect("load");
        let model = register_remote(
            &mut store,
            &RemoteSpec {
                name: "gen",
                url: &server.base_url(),
                remote_model: "fake",
                api_key_env: None,
                role: ModelRole::Generator,
            },
            &Actor::Cli,
        )
        .expect("register");
        let backend = open_backend(&model, engine_config(&model, None, None, Some(concurrency)))
            .expect("backend");
        let started = Instant::now();
        let summary = run(
            &mut store,
            &pack,
            backend.as_ref(),
            &model,
            &AugmentOptions {
                count: ITEMS,
                seed: 7,
                params: default_params(),
                max_attempts: None,
                new_run: true,
            },
            &NoProgress,
            &CancelToken::new(),
        )
        .expect("run");
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(summary.run.accepted, ITEMS, "{:?}", summary.rejections);
        println!(
            "| {concurrency} | {} | {secs:.2} | {:.0} |",
            summary.run.accepted,
            summary.run.accepted as f64 / secs
        );
    }
}
