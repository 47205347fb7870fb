//! The printers: tables and summaries written to standard output.

use anyhow::Result;

use llm4sweat::models::{FileState, ManifestModel};
use llm4sweat::review;
use llm4sweat::store::{ModelRecord, Store, Table};

/// What the workspace holds: counts, then per model its answers and a sample.
pub fn summary(store: &Store) -> Result<()> {
    println!("workspace: {}", store.path().display());
    match store.workspace_pack()? {
        Some(pack) => println!("domain pack: {} v{}", pack.id, pack.version),
        None => println!("domain pack: none (run `llm4sweat init`)"),
    }
    println!(
        "seed sources {} · seed facts {} · items {} · models {} · answers {}",
        store.count(Table::SeedSources)?,
        store.count(Table::SeedFacts)?,
        store.count(Table::Items)?,
        store.count(Table::Models)?,
        store.count(Table::Generations)?
    );
    for m in store.models()? {
        let gens = store.generations_for_model(m.id)?;
        if gens.is_empty() {
            continue;
        }
        let tokens: i64 = gens.iter().map(|g| g.generation.completion_tokens).sum();
        let ms: f64 = gens.iter().map(|g| g.generation.generation_ms).sum();
        let stopped = gens
            .iter()
            .filter(|g| g.generation.finish_reason == "stop")
            .count();
        println!(
            "  {}: {} answers, mean {:.0} tokens, {:.1} tok/s per sequence, {} ended naturally, {} hit max tokens",
            m.name,
            gens.len(),
            tokens as f64 / gens.len() as f64,
            tokens as f64 / (ms / 1000.0).max(1e-9),
            stopped,
            gens.len() - stopped
        );
        if let Some(first) = gens.first() {
            let preview: String = first.generation.text.chars().take(240).collect();
            println!("    e.g. {:?}…", preview);
        }
    }
    Ok(())
}

/// A study's results as a table, then preference strengths and agreement.
pub fn results(name: &str, r: &review::results::StudyResults) {
    let plural = |n: u32, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    println!(
        "{name}: {} from {} (means 1–5 with 95 % intervals)",
        plural(r.submitted_items, "submitted item"),
        plural(r.raters, "rater")
    );
    if r.submitted_items == 0 {
        println!("no submitted ratings yet");
        return;
    }
    let width = r
        .models
        .iter()
        .map(|m| m.model.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut head = format!("{:width$}", "model");
    for axis in review::results::AXES {
        head.push_str(&format!("  {axis:>15}"));
    }
    head.push_str("  preferred  ties  all-bad  lost  harm: none/mild/severe (likely)");
    println!("{head}");
    for m in &r.models {
        let mut line = format!("{:width$}", m.model);
        for a in &m.axes {
            let cell = match (a.mean, a.ci95) {
                (Some(mean), Some(ci)) => format!("{mean:.2} ± {ci:.2}"),
                (Some(mean), None) => format!("{mean:.2}"),
                _ => "–".to_owned(),
            };
            line.push_str(&format!("  {cell:>15}"));
        }
        let p = &m.preference;
        let h = &m.harm;
        line.push_str(&format!(
            "  {:>9}  {:>4}  {:>7}  {:>4}  {}/{}/{} ({})",
            p.wins, p.ties, p.both_bad, p.losses, h.none, h.mild_moderate, h.severe, h.likely
        ));
        println!("{line}");
    }
    for st in &r.strengths {
        if let (Some(share), Some(lo), Some(hi)) = (st.share, st.ci_low, st.ci_high) {
            println!(
                "preference strength of {} (Bradley–Terry share): {:.0} % (95 % CI {:.0}–{:.0} %) over {} comparisons",
                st.model,
                share * 100.0,
                lo * 100.0,
                hi * 100.0,
                st.comparisons
            );
        }
    }
    for a in &r.agreement {
        match a.alpha {
            Some(alpha) => println!(
                "agreement on {}: Krippendorff's α (ordinal) {alpha:.2} over {} answers scored by 2+ raters",
                a.axis, a.units
            ),
            None => println!(
                "agreement on {}: not computable ({} answers scored by 2+ raters, scores must vary)",
                a.axis, a.units
            ),
        }
    }
}

/// The CLI's label for a file state (problems in capitals, to stand out in the table).
fn file_state_label(state: FileState) -> &'static str {
    match state {
        FileState::Intact => "intact",
        FileState::Modified => "MODIFIED",
        FileState::Missing => "MISSING",
        FileState::Remote => "remote",
    }
}

/// The header of the models table.
pub fn models_header() {
    println!(
        "{:<28} {:<10} {:<9} {:<8} {:>10} {:<10} FILE",
        "NAME", "ROLE", "KIND", "QUANT", "PARAMS", "STATE"
    );
}

/// One registered model's row of the models table.
pub fn registered_model_row(m: &ModelRecord, state: FileState) {
    println!(
        "{:<28} {:<10} {:<9} {:<8} {:>10} {:<10} {}",
        m.name,
        m.role,
        m.kind,
        m.quantization.as_deref().unwrap_or("-"),
        m.parameter_count
            .map_or("-".into(), |p| format!("{:.1}M", p as f64 / 1e6)),
        match (state, &m.load_failure) {
            (FileState::Intact, Some(_)) => "LOAD FAILS",
            _ => file_state_label(state),
        },
        m.path
            .as_deref()
            .or(m.endpoint_url.as_deref())
            .unwrap_or("-")
    );
    if let Some(f) = &m.load_failure {
        println!("    failed to load ({}): {}", f.at, f.reason);
    }
}

/// One row of the models table for a manifest model that is not registered;
/// `present` says whether its file is already in the models folder.
pub fn manifest_model_row(k: &ManifestModel, present: bool) {
    println!(
        "{:<28} {:<10} {:<9} {:<8} {:>10} {:<10} `llm4sweat models fetch {}` ({:.0} MB, {})",
        k.name,
        k.role,
        "manifest",
        "-",
        "-",
        if present {
            "unregistered"
        } else {
            "not fetched"
        },
        k.name,
        k.size as f64 / 1e6,
        k.license
    );
}

/// What `study create` made.
pub fn study_created(o: &llm4sweat::review::StudyOverview) {
    println!(
        "created study {:?}: {} items, models {}, {} rater{} per item, seed {}",
        o.study.name,
        o.items,
        o.models.join(" vs "),
        o.study.overlap,
        if o.study.overlap == 1 { "" } else { "s" },
        o.study.seed
    );
    if o.missing_answers > 0 {
        println!(
            "{} answers to generate: `llm4sweat study generate {:?}`",
            o.missing_answers, o.study.name
        );
    }
}

/// Submitted and assigned items over all raters of a study.
fn study_totals(o: &llm4sweat::review::StudyOverview) -> (i64, i64) {
    o.progress
        .iter()
        .fold((0, 0), |(s, t), p| (s + p.submitted, t + p.total))
}

/// The `study list` table.
pub fn studies(list: &[llm4sweat::review::StudyOverview]) {
    if list.is_empty() {
        println!("no study yet: `llm4sweat study create NAME --model A --model B`");
        return;
    }
    println!(
        "{:<28} {:<7} {:>6} {:>8} {:>7} {:>10}  MODELS",
        "NAME", "STATUS", "ITEMS", "MISSING", "RATERS", "SUBMITTED"
    );
    for o in list {
        let (submitted, total) = study_totals(o);
        println!(
            "{:<28} {:<7} {:>6} {:>8} {:>7} {:>10}  {}",
            o.study.name,
            o.study.status,
            o.items,
            o.missing_answers,
            o.progress.len(),
            format!("{submitted}/{total}"),
            o.models.join(", ")
        );
    }
}

/// The `study show` page.
pub fn study(o: &llm4sweat::review::StudyOverview) {
    let s = &o.study;
    let (submitted, total) = study_totals(o);
    println!(
        "study {:?} ({}), created {}",
        s.name, s.status, s.created_at
    );
    println!("  models:        {}", o.models.join(", "));
    println!(
        "  items:         {} ({} answers still to generate)",
        o.items, o.missing_answers
    );
    println!("  raters/item:   {}", s.overlap);
    println!("  seed:          {}", s.seed);
    println!(
        "  sampling:      temperature {}, top-p {}, top-k {}, max {} tokens, seed {} (params {})",
        s.params.temperature,
        s.params.top_p,
        s.params.top_k,
        s.params.max_tokens,
        s.params.seed,
        &s.params_hash[..12.min(s.params_hash.len())]
    );
    println!("  ratings:       {submitted} of {total} assigned items submitted");
    for p in &o.progress {
        println!("    {:<40} {:>4}/{:<4}", p.rater, p.submitted, p.total);
    }
}

/// Writes `text` to standard output as it is; a reader that went away
/// (`| head`) is not an error.
pub fn stdout(text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
