//! `bench`: throughput of a local model, measured like llama.cpp's own tools.

use std::path::PathBuf;

use anyhow::{Context, Result};

use llm4sweat::inference::local::EngineConfig;
use llm4sweat::inference::worker::WorkerEngine;
use llm4sweat::store::Store;

use crate::args::BenchArgs;

/// The median of `v` (the upper middle value for an even count; 0 when empty).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// `bench`: prompt-processing and generation throughput of a local model.
pub fn bench(args: BenchArgs, open: impl Fn() -> Result<Store>) -> Result<()> {
    let path = if std::path::Path::new(&args.model).is_file() {
        PathBuf::from(&args.model)
    } else {
        let store = open()?;
        PathBuf::from(
            store
                .model_by_name(&args.model)?
                .path
                .context("bench needs a local model")?,
        )
    };
    llm4sweat::gguf::read_header(&path)?;
    let max_par = args.parallel.iter().copied().max().unwrap_or(1);
    let per_seq = (args.pp.max(args.npp) + args.tg + 64).next_power_of_two();
    let cfg = EngineConfig {
        threads: args.threads,
        gpu_layers: 0,
        n_ctx_per_seq: per_seq,
        n_parallel: max_par,
        n_batch: 512,
    };
    let engine = WorkerEngine::load(&path, cfg)?;
    let mut engine_rss: Option<f64> = None;
    let reps = args.reps.max(1);
    let mut pp = Vec::new();
    let mut tg = Vec::new();
    for _ in 0..reps {
        let (r, rss) = engine.bench(args.pp, args.tg, 1)?;
        engine_rss = rss.or(engine_rss);
        pp.push(r.prompt_tps);
        tg.push(r.gen_tps);
    }
    let mut batched = Vec::new();
    for &n in &args.parallel {
        let mut v = Vec::new();
        for _ in 0..reps {
            let (r, rss) = engine.bench(args.npp, args.tg, n)?;
            engine_rss = rss.or(engine_rss);
            v.push(r.gen_tps);
        }
        batched.push((n, median(v)));
    }
    let (pp, tg) = (median(pp), median(tg));
    if args.json {
        let out = serde_json::json!({
            "model": path.display().to_string(), "threads": args.threads,
            "pp": args.pp, "tg": args.tg, "npp": args.npp, "reps": reps,
            "pp_tps": pp, "tg_tps": tg, "peak_rss_mb": engine_rss, "cli_peak_rss_mb": super::peak_rss_mb(),
            "batched": batched.iter().map(|(n, t)| serde_json::json!({"parallel": n, "gen_tps": t})).collect::<Vec<_>>(),
        });
        println!("{out}");
    } else {
        println!(
            "model {} · {} threads · median of {reps}",
            path.display(),
            args.threads
        );
        println!("pp{:<5} {:>8.1} t/s", args.pp, pp);
        println!("tg{:<5} {:>8.1} t/s", args.tg, tg);
        for (n, t) in batched {
            println!(
                "batched npp{} tg{} × {n:<2} {:>8.1} t/s aggregate",
                args.npp, args.tg, t
            );
        }
    }
    Ok(())
}
