//! The built-in trainer on the real SmolLM2: a short run in an engine process.

use std::path::Path;

use llm4sweat::domain::DomainPack;
use llm4sweat::generate::chat_for;
use llm4sweat::inference::worker::{Launcher, set_launcher};
use llm4sweat::inference::{ChatMessage, Role};
use llm4sweat::progress::CancelToken;
use llm4sweat::train::{self, OutputType, Resume, TrainError, TrainEvent, TrainJob, TrainParams};

use crate::util::smollm2;

fn use_cli_engine() {
    assert!(
        set_launcher(Launcher::program(env!("CARGO_BIN_EXE_llm4sweat"))),
        "another launcher was set first"
    );
}

fn chats(pack: &DomainPack, range: std::ops::Range<usize>) -> Vec<Vec<ChatMessage>> {
    pack.train_pairs[range]
        .iter()
        .map(|p| {
            let mut chat = chat_for(&p.question, &pack.manifest.system_prompt);
            chat.push(ChatMessage::new(Role::Assistant, p.answer.clone()));
            chat
        })
        .collect()
}

/// A few steps on a handful of the pack's pairs: small enough for the suite.
pub fn short_job(work: &Path) -> TrainJob {
    let pack = DomainPack::embedded_default().expect("the embedded pack loads");
    let base = smollm2();
    let header = llm4sweat::gguf::read_header(&base).expect("the base model reads");
    TrainJob {
        base_model: base,
        chat_template: header.chat_template.expect("SmolLM2 has a chat template"),
        work_dir: work.join("work"),
        output: work.join("models").join("tuned.gguf"),
        train: chats(&pack, 0..6),
        validation: chats(&pack, 6..9),
        params: TrainParams {
            epochs: 1,
            learning_rate: 1e-4,
            context: 256,
            threads: 2,
            seed: 7,
            output_type: OutputType::Q4KM,
        },
        resume: None,
    }
}

#[test]
fn a_short_run_lowers_the_validation_loss_and_keeps_the_base_metadata() {
    use_cli_engine();
    let dir = tempfile::tempdir().expect("temp dir");
    let job = short_job(dir.path());
    let mut events = Vec::new();
    let outcome = train::train(&job, &CancelToken::new(), &mut |e| events.push(e.clone()))
        .expect("training finishes");
    eprintln!("{outcome:?}");
    let steps: Vec<f64> = events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Step { loss, .. } => Some(*loss),
            _ => None,
        })
        .collect();
    assert!(steps.len() >= 4, "a step event per window: {events:?}");
    assert!(steps.iter().all(|l| l.is_finite() && *l > 0.0));
    assert!(
        outcome.val_loss_after < outcome.val_loss_before,
        "validation loss {} → {}",
        outcome.val_loss_before,
        outcome.val_loss_after
    );
    assert!(outcome.improved);
    let out = outcome.output.expect("an improved run writes its model");
    let base = llm4sweat::gguf::read_header(&job.base_model).expect("base");
    let tuned = llm4sweat::gguf::read_header(&out).expect("the fine-tuned GGUF reads");
    assert_eq!(tuned.chat_template, base.chat_template);
    assert_eq!(tuned.context_length, base.context_length);
    assert_eq!(tuned.quantization, "Q4_K_M");
    assert_eq!(tuned.architecture, base.architecture);
    assert!(!dir.path().join("models/tuned.gguf.partial").exists());
}

#[test]
fn bad_hyperparameters_and_empty_splits_are_refused_before_any_process_starts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut job = short_job(dir.path());
    job.validation.clear();
    let err = train::train(&job, &CancelToken::new(), &mut |_| {}).expect_err("refused");
    assert!(matches!(err, TrainError::EmptySplit { .. }), "{err}");
    let mut job = short_job(dir.path());
    job.params.learning_rate = f32::NAN;
    let err = train::train(&job, &CancelToken::new(), &mut |_| {}).expect_err("refused");
    assert!(err.to_string().contains("learning rate"), "{err}");
    let _ = Resume {
        checkpoint: dir.path().into(),
        epochs_done: 0,
        val_loss_before: 0.0,
    };
}
