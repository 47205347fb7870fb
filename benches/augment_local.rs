//! Grammar-constrained decoding in the local llama.cpp engine: the same 8
//! augmentation prompts (the hyperhidrosis pack's question-and-answer
//! template, a patient profile and 6 seed facts each) through `LocalEngine`
//! twice with the same sampling parameters and seeds, once constrained by the
//! item schema's grammar (`OutputFormat::JsonSchema`) and once free
//! (`format: None`). Both are run one sequence at a time (the pure decode
//! rate) and with 4 parallel sequences (the engine's default, how augmentation
//! runs), the two outputs alternated (ABBA) so that machine noise hits both
//! alike.
//!
//! Run with `scripts/bench-augment-local.sh`. The model is `LLM4SWEAT_MODEL`,
//! else `LLM4SWEAT_TEST_MODEL` (set by `scripts/env.sh`), else the fetched
//! SmolLM2-135M-Instruct in `~/.cache/llm4sweat/models`. `THREADS` (default:
//! one per core), `REPS` (default 2: each output runs `REPS` times per
//! configuration) and `PARALLEL` (default `1,4`: the sequence counts) change
//! the run.

use std::path::PathBuf;
use std::time::Instant;

use llm4sweat::augment::schema::{item_schema, parse_item, schema_name};
use llm4sweat::inference::local::{EngineConfig, LocalEngine};
use llm4sweat::inference::{
    Backend, ChatMessage, FinishReason, GenerationOutput, GenerationRequest, InferenceError,
    OutputFormat, Role, SamplingParams,
};
use llm4sweat::progress::CancelToken;
use llm4sweat::vocab::ItemKind;

const MAX_TOKENS: u32 = 384;
const FACTS_PER_PROMPT: usize = 6;

/// Seed facts from `data/hyperhidrosis/seed_facts.json`, copied so that the
/// workload stays fixed while the pack evolves.
const FACTS: [(&str, &str); 12] = [
    (
        "tx-alcl-01",
        "Stronger aluminium chloride antiperspirants are a usual first-line treatment, especially for the underarms; they are less effective on the thicker skin of the palms and soles.",
    ),
    (
        "tx-alcl-03",
        "The main side effect of aluminium chloride is skin irritation — stinging, itching or burning; applying it only to fully dry skin and avoiding freshly shaved or broken skin reduces irritation.",
    ),
    (
        "tx-ionto-01",
        "Tap-water iontophoresis passes a mild electric current through water in which the hands or feet are placed; it is a well-established option for palmar and plantar hyperhidrosis, with frequent sessions at first.",
    ),
    (
        "tx-ionto-02",
        "Iontophoresis side effects are usually mild: tingling, skin dryness, redness or irritation, and occasionally small blisters; cuts should be protected because current concentrates there.",
    ),
    (
        "tx-btx-01",
        "Botulinum toxin injections into the underarm skin substantially reduce sweating for most patients with severe axillary hyperhidrosis; the effect typically lasts about 4–9 months and the treatment is repeated.",
    ),
    (
        "tx-btx-02",
        "Side effects of underarm botulinum toxin are usually minor, such as injection discomfort and bruising.",
    ),
    (
        "tx-oral-03",
        "Because oral anticholinergics reduce sweating everywhere, they can cause heat intolerance and a risk of overheating during exercise or hot weather.",
    ),
    (
        "sec-02",
        "Night sweats, unintentional weight loss, fever, or new generalized sweating starting in adulthood are warning signs that need prompt evaluation by a clinician rather than self-treatment.",
    ),
    (
        "psy-02",
        "Anxiety and depression are significantly more common in people with hyperhidrosis than in people without it.",
    ),
    (
        "psy-03",
        "People with hyperhidrosis often describe embarrassment, self-consciousness and social anxiety, and may avoid handshakes, physical contact, dating or public speaking.",
    ),
    (
        "psy-05",
        "Many people cope by hiding their sweating — choosing dark or layered clothing, carrying spare shirts or towels, changing clothes several times a day — which costs time and money and adds to stress.",
    ),
    (
        "tx-expect-01",
        "Primary hyperhidrosis is a long-term condition; treatments control symptoms rather than cure it, many need ongoing or repeated use, and combining treatments is common.",
    ),
];

/// `(category, site, age group, HDSS severity, sex, intent)` of each prompt.
const PROFILES: [[&str; 6]; 8] = [
    [
        "treatment",
        "palmar",
        "adult",
        "3",
        "female",
        "treatment_options",
    ],
    [
        "treatment",
        "axillary",
        "adult",
        "4",
        "male",
        "side_effects",
    ],
    [
        "psychosocial",
        "palmar",
        "adolescent",
        "3",
        "male",
        "psychological_support",
    ],
    [
        "daily_life",
        "plantar",
        "adult",
        "2",
        "female",
        "daily_coping",
    ],
    [
        "diagnosis",
        "generalized",
        "older_adult",
        "3",
        "male",
        "diagnosis",
    ],
    [
        "treatment",
        "plantar",
        "adult",
        "3",
        "female",
        "treatment_options",
    ],
    [
        "psychosocial",
        "axillary",
        "adult",
        "4",
        "female",
        "psychological_support",
    ],
    [
        "daily_life",
        "palmar",
        "adolescent",
        "2",
        "female",
        "daily_coping",
    ],
];

/// The pack's `[prompts] qa` template (`data/hyperhidrosis/pack.toml`).
const QA_TEMPLATE: &str = r#"You are helping build evaluation and training data for a patient-facing hyperhidrosis assistant.

Write ONE realistic question-and-answer pair in the category "{category}" for this patient profile:
- sweating site: {site}
- age group: {age_group}
- HDSS severity: {severity}
- sex: {sex}
- what the patient wants: {intent}

Ground the answer ONLY in the facts listed below. Do not add medical claims, numbers, drug names or doses that are not in these facts. If a fact does not fit the profile, leave it out.

Facts:
{facts}

Requirements:
- The question is written in the first person by the patient (or by a parent for a child), 1 to 4 sentences, in a natural voice that fits the profile.
- The answer is 3 to 8 sentences, accurate, empathetic and concise, never gives a definitive diagnosis, gives no drug doses, and advises seeing a clinician if any warning sign of secondary hyperhidrosis appears.

Return a single JSON object and nothing else, with exactly these keys: "question" (string), "answer" (string), "used_facts" (array of the fact ids you relied on)."#;

/// The offered fact ids and the prompt of request `i`.
fn prompt(i: usize) -> (Vec<String>, String) {
    let offered: Vec<(&str, &str)> = (0..FACTS_PER_PROMPT)
        .map(|k| FACTS[(i * 3 + k) % FACTS.len()])
        .collect();
    let facts: Vec<String> = offered
        .iter()
        .map(|(id, statement)| format!("- [{id}] {statement}"))
        .collect();
    let [category, site, age_group, severity, sex, intent] = PROFILES[i];
    let text = QA_TEMPLATE
        .replace("{category}", category)
        .replace("{site}", site)
        .replace("{age_group}", age_group)
        .replace("{severity}", severity)
        .replace("{sex}", sex)
        .replace("{intent}", intent)
        .replace("{facts}", &facts.join("\n"));
    (
        offered.iter().map(|(id, _)| (*id).to_owned()).collect(),
        text,
    )
}

/// The 8 requests, constrained by the item schema or free.
fn requests(constrained: bool) -> Vec<GenerationRequest> {
    (0..PROFILES.len())
        .map(|i| {
            let (offered, text) = prompt(i);
            GenerationRequest {
                messages: vec![ChatMessage::new(Role::User, text)],
                params: SamplingParams {
                    temperature: 0.8,
                    max_tokens: MAX_TOKENS,
                    seed: 1000 + i as u32,
                    ..SamplingParams::default()
                },
                format: constrained.then(|| OutputFormat::JsonSchema {
                    name: schema_name(ItemKind::Question).into(),
                    schema: item_schema(ItemKind::Question, &offered),
                }),
            }
        })
        .collect()
}

/// What the runs of one output mode added up to.
#[derive(Default)]
struct Totals {
    requests: usize,
    completion_tokens: u64,
    /// Σ wall time of the batches, s.
    wall_s: f64,
    /// Σ wall time of the same batches cut to one token each (the prompts'
    /// processing), s.
    prefill_s: f64,
    stopped: usize,
    /// Answers that parse as an item citing only offered facts.
    items: usize,
    errors: usize,
    sample: Option<String>,
}

impl Totals {
    fn generation_tps(&self) -> f64 {
        self.completion_tokens as f64 / (self.wall_s - self.prefill_s)
    }

    fn end_to_end_tps(&self) -> f64 {
        self.completion_tokens as f64 / self.wall_s
    }

    fn items_per_min(&self) -> f64 {
        self.items as f64 / (self.wall_s / 60.0)
    }
}

fn run(engine: &LocalEngine, requests: &[GenerationRequest], totals: &mut Totals) {
    let mut results: Vec<Option<Result<GenerationOutput, InferenceError>>> =
        vec![None; requests.len()];
    let start = Instant::now();
    engine.generate_batch(
        requests,
        &mut |_, _| {},
        &mut |i, r| results[i] = Some(r),
        &CancelToken::new(),
    );
    totals.wall_s += start.elapsed().as_secs_f64();
    for (i, result) in results.into_iter().enumerate() {
        totals.requests += 1;
        let out = match result {
            Some(Ok(out)) => out,
            Some(Err(e)) => {
                eprintln!("request {i} failed: {e}");
                totals.errors += 1;
                continue;
            }
            None => {
                totals.errors += 1;
                continue;
            }
        };
        totals.completion_tokens += u64::from(out.completion_tokens);
        totals.stopped += usize::from(out.finish_reason == FinishReason::Stop);
        let offered = prompt(i).0;
        if let Ok(item) = parse_item(ItemKind::Question, &out.text)
            && !item.used_facts.is_empty()
            && item.used_facts.iter().all(|id| offered.contains(id))
        {
            totals.items += 1;
        }
        totals.sample.get_or_insert(out.text);
    }
}

fn model_path() -> PathBuf {
    ["LLM4SWEAT_MODEL", "LLM4SWEAT_TEST_MODEL"]
        .iter()
        .find_map(std::env::var_os)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").map(PathBuf::from);
            home.unwrap_or_default()
                .join(".cache/llm4sweat/models/SmolLM2-135M-Instruct.Q4_1.gguf")
        })
}

fn env_u32(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &flat[..at]),
        None => flat,
    }
}

/// `/proc/loadavg`'s 1-, 5- and 15-minute figures: a busy machine shows here.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() {
    let load_start = load_average();
    let model = model_path();
    assert!(
        model.is_file(),
        "model missing at {}; run scripts/fetch-test-models.sh or set LLM4SWEAT_MODEL",
        model.display()
    );
    let threads = env_u32("THREADS", 0);
    let reps = env_u32("REPS", 2).max(1);
    let parallel: Vec<u32> = std::env::var("PARALLEL")
        .unwrap_or_else(|_| "1,4".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .filter(|&n| n > 0)
        .collect();
    let constrained = requests(true);
    let free = requests(false);

    // The conversion the engine caches per schema.
    let Some(OutputFormat::JsonSchema { schema, .. }) = &constrained[0].format else {
        unreachable!("constrained requests carry a schema");
    };
    let start = Instant::now();
    let gbnf = llama_cpp_2::json_schema_to_grammar(&schema.to_string()).expect("schema converts");
    let convert_us = start.elapsed().as_secs_f64() * 1e6;

    let mut rows = Vec::new();
    for n_parallel in parallel {
        let config = EngineConfig {
            threads,
            n_parallel,
            n_ctx_per_seq: 1536,
            ..EngineConfig::default()
        };
        let engine = LocalEngine::load(&model, config).expect("load model");
        // Warm-up: both paths once, briefly.
        let mut warm = vec![constrained[0].clone(), free[0].clone()];
        for w in &mut warm {
            w.params.max_tokens = 8;
        }
        run(&engine, &warm, &mut Totals::default());
        let (mut with, mut without) = (Totals::default(), Totals::default());
        let prefill: Vec<_> = free
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.params.max_tokens = 1;
                r
            })
            .collect();
        for rep in 0..reps {
            let mut p = Totals::default();
            run(&engine, &prefill, &mut p);
            with.prefill_s += p.wall_s;
            without.prefill_s += p.wall_s;
            if rep % 2 == 0 {
                run(&engine, &constrained, &mut with);
                run(&engine, &free, &mut without);
            } else {
                run(&engine, &free, &mut without);
                run(&engine, &constrained, &mut with);
            }
        }
        rows.push((n_parallel, with, without));
    }

    let prompt_chars: usize = (0..PROFILES.len()).map(|i| prompt(i).1.len()).sum();
    println!(
        "model: {} · threads: {} · {} prompts (avg {} chars) × {reps} runs per output · temperature 0.8 · max_tokens {MAX_TOKENS}",
        model.file_name().unwrap_or_default().to_string_lossy(),
        if threads == 0 {
            "one per core".to_owned()
        } else {
            threads.to_string()
        },
        PROFILES.len(),
        prompt_chars / PROFILES.len(),
    );
    println!(
        "schema → GBNF: {convert_us:.0} µs, {} bytes of grammar (converted once per schema and cached)",
        gbnf.len()
    );
    println!();
    println!(
        "| sequences | output | answers | ended (stop) | parsed items | completion tokens | generation t/s | end-to-end t/s | items/min |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for (n_parallel, with, without) in &rows {
        for (name, t) in [("grammar", with), ("free", without)] {
            println!(
                "| {n_parallel} | {name} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} |",
                t.requests - t.errors,
                t.stopped,
                t.items,
                t.completion_tokens,
                t.generation_tps(),
                t.end_to_end_tps(),
                t.items_per_min(),
            );
        }
    }
    println!();
    for (n_parallel, with, without) in &rows {
        println!(
            "{n_parallel} sequence(s): grammar / free generation t/s = {:.0}% (end-to-end {:.0}%); {:.1} items/min with the grammar, {:.1} without",
            100.0 * with.generation_tps() / without.generation_tps(),
            100.0 * with.end_to_end_tps() / without.end_to_end_tps(),
            with.items_per_min(),
            without.items_per_min(),
        );
    }
    if let Some(peak) = llm4sweat::inference::worker::peak_rss_mb() {
        println!("peak resident memory: {peak:.0} MB");
    }
    println!();
    println!(
        "generation t/s: completion tokens / (wall time − wall time of the same prompts cut to 1 token), as llama-batched-bench counts."
    );
    println!("end-to-end t/s and items/min: over the batches' wall time (prompts included).");
    println!(
        "load average at start: {load_start} · at end: {}",
        load_average()
    );
    if let Some((_, with, without)) = rows.last() {
        println!();
        for (name, t) in [("grammar", with), ("free", without)] {
            if let Some(sample) = &t.sample {
                println!("first {name} answer: {}", one_line(sample, 400));
            }
        }
    }
}
