//! The training loop, run inside an engine process (see [`super::train`]).

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::ffi::{self, FileType, TrainModel, Trainer};
use super::windows::{epoch_order, pack};
use super::{OutputType, TrainError, TrainEvent, TrainJob, TrainOutcome};
use crate::inference::ChatMessage;
use crate::progress::CancelToken;

fn io(path: &Path) -> impl Fn(std::io::Error) -> TrainError + '_ {
    move |e| TrainError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// A temporary name beside `path` that a crash leaves behind harmlessly.
fn partial(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// Writes a file with `write` under a temporary name, then renames it into
/// place, so that a final name never holds a half-written file.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), TrainError>,
) -> Result<(), TrainError> {
    let tmp = partial(path);
    let _ = std::fs::remove_file(&tmp);
    if let Err(e) = write(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(io(path))
}

fn threads(requested: u32) -> u32 {
    if requested > 0 {
        requested
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
    }
}

/// Renders and tokenizes conversations, then packs them.
fn windows_of(
    model: &TrainModel,
    template: &str,
    chats: &[Vec<ChatMessage>],
    context: u32,
    split: &str,
) -> Result<Vec<Vec<i32>>, TrainError> {
    let mut tokens = Vec::with_capacity(chats.len());
    for chat in chats {
        tokens.push(model.tokenize(&model.render(template, chat)?)?);
    }
    let windows = pack(&tokens, context as usize);
    if windows.is_empty() {
        return Err(TrainError::EmptySplit {
            split: split.into(),
            tokens: tokens.iter().map(Vec::len).sum(),
            context,
        });
    }
    Ok(windows)
}

/// Runs `job` to the end (or to a cancel), reporting through `emit`.
pub(crate) fn run(
    job: &TrainJob,
    cancel: &CancelToken,
    emit: &mut dyn FnMut(TrainEvent),
) -> Result<TrainOutcome, TrainError> {
    let p = &job.params;
    let threads = threads(p.threads);
    // Initialises llama.cpp once and routes its log into `tracing`.
    crate::inference::local::backend().map_err(|e| TrainError::Llama(e.to_string()))?;
    std::fs::create_dir_all(&job.work_dir).map_err(io(&job.work_dir))?;
    let (start_path, epochs_done) = match &job.resume {
        Some(r) => (r.checkpoint.clone(), r.epochs_done),
        None => {
            let f32_path = job.work_dir.join("base-f32.gguf");
            if !f32_path.is_file() {
                write_atomically(&f32_path, |tmp| {
                    ffi::quantize(&job.base_model, tmp, FileType::AllF32, threads)
                })?;
            }
            emit(TrainEvent::Converted {
                path: f32_path.clone(),
            });
            (f32_path, 0)
        }
    };
    let mut model = TrainModel::load(&start_path)?;
    let train = windows_of(&model, &job.chat_template, &job.train, p.context, "train")?;
    let val = windows_of(
        &model,
        &job.chat_template,
        &job.validation,
        p.context,
        "validation",
    )?;
    emit(TrainEvent::Prepared {
        train_windows: train.len() as u32,
        val_windows: val.len() as u32,
        context: p.context,
    });
    let mut trainer = Trainer::new(&mut model, p.context, threads, p.learning_rate)?;
    let val_loss_before = match &job.resume {
        Some(r) => r.val_loss_before,
        None => trainer.evaluate(&val)?,
    };
    emit(TrainEvent::Baseline {
        val_loss: val_loss_before,
    });
    let checkpoint = job.work_dir.join("checkpoint-f32.gguf");
    let mut val_loss_after = val_loss_before;
    // Time spent in optimizer steps only (validation and checkpoints excluded,
    // as llama-finetune's own timing excludes them).
    let (mut tokens, mut step_secs) = (0usize, 0.0f64);
    let steps = train.len() as u32;
    for epoch in epochs_done + 1..=p.epochs {
        let epoch_start = Instant::now();
        let mut sum = 0.0;
        for (i, w) in epoch_order(train.len(), p.seed, epoch)
            .into_iter()
            .enumerate()
        {
            if cancel.is_cancelled() {
                return Err(TrainError::Cancelled {
                    epochs_done: epoch - 1,
                });
            }
            let started = Instant::now();
            let loss = trainer.step(&train[w]);
            step_secs += started.elapsed().as_secs_f64();
            sum += loss;
            tokens += p.context as usize;
            let secs = epoch_start.elapsed().as_secs_f64().max(1e-9);
            emit(TrainEvent::Step {
                epoch,
                step: i as u32 + 1,
                steps,
                loss,
                tokens_per_s: (i + 1) as f64 * f64::from(p.context) / secs,
            });
        }
        val_loss_after = trainer.evaluate(&val)?;
        write_atomically(&checkpoint, |tmp| trainer.save(tmp))?;
        emit(TrainEvent::Epoch {
            epoch,
            train_loss: sum / f64::from(steps.max(1)),
            val_loss: val_loss_after,
            checkpoint: checkpoint.clone(),
        });
    }
    drop(trainer);
    drop(model);
    let tokens_per_s = tokens as f64 / step_secs.max(1e-9);
    let improved = val_loss_after < val_loss_before;
    let mut outcome = TrainOutcome {
        val_loss_before,
        val_loss_after,
        improved,
        output: None,
        restored_keys: Vec::new(),
        llama_system: ffi::system_info(),
        tokens_per_s,
        peak_rss_mb: crate::inference::worker::peak_rss_mb(),
    };
    if !improved {
        return Ok(outcome);
    }
    emit(TrainEvent::Saving);
    let quantized = job.work_dir.join("quantized-no-meta.gguf");
    let file_type = match p.output_type {
        OutputType::Q4KM => FileType::Q4KM,
        OutputType::Q8_0 => FileType::Q8_0,
        OutputType::F16 => FileType::F16,
    };
    write_atomically(&quantized, |tmp| {
        ffi::quantize(&checkpoint, tmp, file_type, threads)
    })?;
    if let Some(dir) = job.output.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    write_atomically(&job.output, |tmp| {
        outcome.restored_keys = ffi::restore_metadata(&job.base_model, &quantized, tmp)?;
        Ok(())
    })?;
    let _ = std::fs::remove_file(&quantized);
    outcome.output = Some(job.output.clone());
    outcome.peak_rss_mb = crate::inference::worker::peak_rss_mb();
    Ok(outcome)
}
