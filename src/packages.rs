//! Offline study packages: a coordinator hands each rater a package of
//! their blinded items, the rater rates in their own workspace and returns
//! a ratings file, and the coordinator merges the returned files.
//!
//! **File format.** Both files are zip archives of exactly two entries,
//! `manifest.json` and `content.json`. A zip, not a SQLite file: a SQLite
//! file from another machine would hand its schema (triggers, views) and
//! SQLite's parser to whoever made it, and a zip of canonical JSON is easy
//! to check byte for byte and to read with standard tools. The manifest
//! names the format (`llm4sweat.package/1`), the kind (`study` or
//! `ratings`), the study's and the rater's UUIDs, counts, and the sha256
//! and size of `content.json`; the reader refuses anything that does not
//! match, before writing anything. A study package carries no model
//! identity: answers travel by random UUID (v4, not time-ordered) under
//! the letters of the rater's stored order.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::export::ExportError;
use crate::generate::params_hash;
use crate::ids::{RaterId, StudyId};
use crate::inference::SamplingParams;
use crate::review::ReviewError;
use crate::store::{
    Actor, ImportAnswer, ImportAssignment, MergeSummary, RaterWork, Store, StoreError, StudyImport,
    StudyImportSummary, TravellingItem, TravellingRater, TravellingStudy,
};
use crate::vocab::AnswerLabel;

/// The package format this build writes and reads.
pub const PACKAGE_FORMAT: &str = "llm4sweat.package/1";

/// The largest `content.json` accepted (declared or actual): 256 MiB.
pub const MAX_CONTENT_BYTES: u64 = 256 << 20;

/// The largest `manifest.json` accepted: 64 KiB.
pub const MAX_MANIFEST_BYTES: u64 = 64 << 10;

/// The largest package file accepted: 512 MiB.
pub const MAX_FILE_BYTES: u64 = 512 << 20;

const MANIFEST: &str = "manifest.json";
const CONTENT: &str = "content.json";

/// What a package file holds.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageKind {
    /// Coordinator → rater: one rater's blinded items.
    Study,
    /// Rater → coordinator: that rater's ratings.
    Ratings,
}

impl PackageKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Study => "study",
            Self::Ratings => "ratings",
        }
    }
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`PACKAGE_FORMAT`].
    pub format: String,
    /// Study package or ratings file.
    pub kind: PackageKind,
    /// The program that wrote it.
    pub generator: String,
    /// When it was written (RFC 3339).
    pub created_at: String,
    /// The study's UUID.
    pub study: String,
    /// The study's name.
    pub study_name: String,
    /// The rater's UUID.
    pub rater: String,
    /// Assignments in the content.
    pub assignments: u64,
    /// Ratings in the content.
    pub ratings: u64,
    /// Size of `content.json` in bytes.
    pub content_bytes: u64,
    /// sha256 of `content.json` (lowercase hex).
    pub content_sha256: String,
}

/// One answer in a study package, under its letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageAnswer {
    /// The letter the rater sees it under.
    pub label: AnswerLabel,
    /// Its UUID.
    pub uuid: String,
    /// Its text.
    pub text: String,
}

/// One assignment in a study package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageAssignment {
    /// Its UUID.
    pub uuid: String,
    /// The item's UUID.
    pub item: String,
    /// The seed of the rater's answer order.
    pub order_seed: i64,
    /// Pending, draft or submitted.
    pub status: crate::vocab::AssignmentStatus,
    /// When it was submitted.
    pub submitted_at: Option<String>,
    /// The answers, A first.
    pub answers: Vec<PackageAnswer>,
}

/// `content.json` of a study package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyContent {
    /// The study.
    pub study: TravellingStudy,
    /// The rater.
    pub rater: TravellingRater,
    /// The rater's items.
    pub items: Vec<TravellingItem>,
    /// The rater's assignments.
    pub assignments: Vec<PackageAssignment>,
    /// The rater's work so far (when a package is issued again).
    pub work: RaterWork,
}

/// `content.json` of a ratings file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingsContent {
    /// The study's UUID.
    pub study: String,
    /// The rater's UUID.
    pub rater: String,
    /// The rater's work.
    pub work: RaterWork,
}

/// Why a package or ratings file was refused or could not be made. Nothing
/// is written to the workspace when reading fails.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The workspace refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The review rules refused (e.g. answers not generated yet).
    #[error(transparent)]
    Review(#[from] ReviewError),
    /// Writing the file failed.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// Reading the file failed.
    #[error("could not read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Not a readable package (not a zip, or a damaged or truncated one).
    #[error("{path} is not an llm4sweat package: {why}")]
    NotAPackage {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// An entry's name or type is not allowed.
    #[error("refused: the package holds an unsafe entry {name:?} ({why})")]
    UnsafeEntry {
        /// The entry's name as stored.
        name: String,
        /// Why it is refused.
        why: &'static str,
    },
    /// An entry is bigger than allowed.
    #[error("refused: entry {name:?} declares {declared} bytes, more than the {limit} allowed")]
    TooLarge {
        /// The entry.
        name: String,
        /// Its declared uncompressed size.
        declared: u64,
        /// The limit.
        limit: u64,
    },
    /// The package was made by a newer version.
    #[error(
        "this package is format {found:?}; this version of llm4sweat reads {PACKAGE_FORMAT:?}; update llm4sweat to open it"
    )]
    NewerFormat {
        /// The format it names.
        found: String,
    },
    /// The manifest and the content disagree, or the content was changed.
    #[error("refused: the package was changed or damaged after it was written: {0}")]
    Tampered(String),
    /// The JSON does not have the expected shape or values.
    #[error("refused: {entry} is not valid: {why}")]
    Malformed {
        /// The entry.
        entry: &'static str,
        /// What is wrong.
        why: String,
    },
    /// The file is of the other kind.
    #[error("this file is a {found} file; expected a {expected} file")]
    WrongKind {
        /// What it is.
        found: &'static str,
        /// What was expected.
        expected: &'static str,
    },
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Writes `content` with its manifest as a package file at `path`
/// (atomically). Returns the content's sha256.
fn write_package(
    path: &Path,
    kind: PackageKind,
    study: &TravellingStudyRef<'_>,
    rater: &str,
    counts: (u64, u64),
    content: &[u8],
) -> Result<String, PackageError> {
    let sha = sha256_hex(content);
    let manifest = Manifest {
        format: PACKAGE_FORMAT.to_owned(),
        kind,
        generator: format!("llm4sweat {}", env!("CARGO_PKG_VERSION")),
        created_at: crate::store::now_utc(),
        study: study.uuid.to_owned(),
        study_name: study.name.to_owned(),
        rater: rater.to_owned(),
        assignments: counts.0,
        ratings: counts.1,
        content_bytes: content.len() as u64,
        content_sha256: sha.clone(),
    };
    let manifest = serde_json::to_vec_pretty(&manifest).map_err(|e| PackageError::Malformed {
        entry: MANIFEST,
        why: e.to_string(),
    })?;
    let zip_err = |e: zip::result::ZipError| {
        PackageError::Export(ExportError::Write {
            path: path.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })
    };
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for (name, bytes) in [(MANIFEST, manifest.as_slice()), (CONTENT, content)] {
        w.start_file(name, options).map_err(zip_err)?;
        w.write_all(bytes).map_err(|source| ExportError::Write {
            path: path.to_path_buf(),
            source,
        })?;
    }
    let bytes = w.finish().map_err(zip_err)?.into_inner();
    crate::export::write_atomically(path, &bytes)?;
    Ok(sha)
}

struct TravellingStudyRef<'a> {
    uuid: &'a str,
    name: &'a str,
}

/// A package file, checked: the manifest, the content's bytes and sha256.
#[derive(Debug, Clone)]
pub struct OpenedPackage {
    /// The manifest.
    pub manifest: Manifest,
    /// `content.json`.
    pub content: Vec<u8>,
    /// Its sha256.
    pub sha256: String,
}

/// Reads and checks a package file without touching any workspace: a zip
/// of exactly `manifest.json` and `content.json` (no other, duplicate,
/// directory, link, absolute or `..` entry), within the size limits
/// (declared and actual), of a known format, whose content matches the
/// manifest's size and sha256.
pub fn open_package(path: &Path) -> Result<OpenedPackage, PackageError> {
    let shown = path.display().to_string();
    let read = |source| PackageError::Read {
        path: shown.clone(),
        source,
    };
    let meta = std::fs::symlink_metadata(path).map_err(read)?;
    if !meta.is_file() {
        return Err(PackageError::NotAPackage {
            path: shown,
            why: "it is not a regular file".into(),
        });
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(PackageError::TooLarge {
            name: shown,
            declared: meta.len(),
            limit: MAX_FILE_BYTES,
        });
    }
    let bytes = std::fs::read(path).map_err(read)?;
    let not = |why: String| PackageError::NotAPackage {
        path: shown.clone(),
        why,
    };
    let declared = declared_entries(&bytes);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| not(format!("not a readable zip ({e})")))?;
    // The zip reader keeps one entry per name; a central directory that
    // lists more entries than it kept has names twice.
    if declared.is_some_and(|n| n as usize > archive.len()) {
        return Err(PackageError::UnsafeEntry {
            name: "(central directory)".into(),
            why: "a second entry of the same name",
        });
    }
    let mut seen = HashSet::new();
    let mut manifest = None;
    let mut content = None;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| not(format!("entry {i} cannot be read ({e})")))?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let unsafe_entry = |why| PackageError::UnsafeEntry {
            name: name.clone(),
            why,
        };
        if name.starts_with('/') || name.starts_with('\\') || name.get(1..2) == Some(":") {
            return Err(unsafe_entry("an absolute path"));
        }
        if name.split(['/', '\\']).any(|part| part == "..") {
            return Err(unsafe_entry("a path that climbs out with .."));
        }
        if entry.is_symlink() {
            return Err(unsafe_entry("a symbolic link"));
        }
        if entry.is_dir() {
            return Err(unsafe_entry("a directory"));
        }
        if !seen.insert(name.clone()) {
            return Err(unsafe_entry("a second entry of the same name"));
        }
        let limit = match name.as_str() {
            MANIFEST => MAX_MANIFEST_BYTES,
            CONTENT => MAX_CONTENT_BYTES,
            _ => return Err(unsafe_entry("not part of the package format")),
        };
        if entry.size() > limit {
            return Err(PackageError::TooLarge {
                name,
                declared: entry.size(),
                limit,
            });
        }
        let mut bytes = Vec::new();
        (&mut entry)
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| not(format!("entry {name:?} is damaged ({e})")))?;
        if bytes.len() as u64 > limit {
            return Err(PackageError::TooLarge {
                name,
                declared: bytes.len() as u64,
                limit,
            });
        }
        if bytes.len() as u64 != entry.size() {
            return Err(PackageError::Tampered(format!(
                "entry {name:?} holds {} bytes but declares {}",
                bytes.len(),
                entry.size()
            )));
        }
        if name == MANIFEST {
            manifest = Some(bytes);
        } else {
            content = Some(bytes);
        }
    }
    let (Some(manifest), Some(content)) = (manifest, content) else {
        return Err(not(format!(
            "it needs {MANIFEST} and {CONTENT}; it holds {}",
            if seen.is_empty() {
                "nothing".to_owned()
            } else {
                seen.into_iter().collect::<Vec<_>>().join(", ")
            }
        )));
    };
    // The format first, so that a newer manifest is named as such.
    let value: serde_json::Value =
        serde_json::from_slice(&manifest).map_err(|e| PackageError::Malformed {
            entry: MANIFEST,
            why: e.to_string(),
        })?;
    let format = value.get("format").and_then(|f| f.as_str()).unwrap_or("");
    if format != PACKAGE_FORMAT {
        if format.starts_with("llm4sweat.package/") {
            return Err(PackageError::NewerFormat {
                found: format.to_owned(),
            });
        }
        return Err(not(format!("its manifest names format {format:?}")));
    }
    let manifest: Manifest =
        serde_json::from_value(value).map_err(|e| PackageError::Malformed {
            entry: MANIFEST,
            why: e.to_string(),
        })?;
    if manifest.content_bytes != content.len() as u64 {
        return Err(PackageError::Tampered(format!(
            "the manifest says {CONTENT} has {} bytes; it has {}",
            manifest.content_bytes,
            content.len()
        )));
    }
    let sha256 = sha256_hex(&content);
    if manifest.content_sha256 != sha256 {
        return Err(PackageError::Tampered(format!(
            "{CONTENT} does not match the sha256 in the manifest"
        )));
    }
    Ok(OpenedPackage {
        manifest,
        content,
        sha256,
    })
}

/// The number of entries the end-of-central-directory record of `zip`
/// declares, if it has one.
fn declared_entries(zip: &[u8]) -> Option<u16> {
    const EOCD: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    // The record is 22 bytes plus a comment of at most 65 535.
    let from = zip.len().saturating_sub(22 + 65_535);
    let at = (from..zip.len().checked_sub(21)?)
        .rev()
        .find(|&i| zip[i..i + 4] == EOCD)?;
    Some(u16::from_le_bytes([zip[at + 10], zip[at + 11]]))
}

/// Checks that the manifest tells the truth about the content.
fn check_manifest(
    m: &Manifest,
    study: &str,
    rater: &str,
    assignments: u64,
    ratings: u64,
) -> Result<(), PackageError> {
    let lie = |what: String| Err(PackageError::Tampered(format!("the manifest {what}")));
    if m.study != study {
        return lie(format!(
            "names study {} but the content is for study {study}",
            m.study
        ));
    }
    if m.rater != rater {
        return lie(format!(
            "names rater {} but the content is for rater {rater}",
            m.rater
        ));
    }
    if m.assignments != assignments {
        return lie(format!(
            "counts {} assignments; the content has {assignments}",
            m.assignments
        ));
    }
    if m.ratings != ratings {
        return lie(format!(
            "counts {} ratings; the content has {ratings}",
            m.ratings
        ));
    }
    Ok(())
}

/// Checks the values of a rater's work: UUIDs, scores 1–5, text lengths,
/// RFC 3339 times, a preferred answer exactly with `better`, no rating or
/// preference twice.
fn check_work(work: &RaterWork) -> Result<(), PackageError> {
    let bad = |why: String| PackageError::Malformed {
        entry: CONTENT,
        why,
    };
    let time = |t: &str, what: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .map(|_| ())
            .map_err(|_| bad(format!("{what} has time {t:?}, not an RFC 3339 time")))
    };
    let mut keys = HashSet::new();
    for r in &work.ratings {
        for id in [&r.uuid, &r.assignment, &r.answer] {
            if !uuid_like(id) {
                return Err(bad(format!("{id:?} is not a UUID")));
            }
        }
        for (axis, v) in [
            ("accuracy", r.accuracy),
            ("appropriateness", r.appropriateness),
            ("empathy", r.empathy),
        ] {
            if let Some(v) = v
                && !(1..=5).contains(&v)
            {
                return Err(bad(format!(
                    "rating {} has {axis} {v}, outside 1–5",
                    r.uuid
                )));
            }
        }
        for (field, text) in [
            ("comment", &r.comment),
            ("corrected answer", &r.corrected_answer),
        ] {
            if let Some(t) = text
                && t.chars().count() > crate::review::MAX_TEXT
            {
                return Err(bad(format!(
                    "rating {} has a {field} over {} characters",
                    r.uuid,
                    crate::review::MAX_TEXT
                )));
            }
        }
        time(&r.updated_at, "a rating")?;
        if !keys.insert((r.assignment.as_str(), r.answer.as_str())) {
            return Err(bad(format!(
                "answer {} of assignment {} is rated twice",
                r.answer, r.assignment
            )));
        }
    }
    let mut prefs = HashSet::new();
    for p in &work.preferences {
        if !uuid_like(&p.uuid) || !uuid_like(&p.assignment) {
            return Err(bad(format!(
                "preference {:?} has an id that is not a UUID",
                p.uuid
            )));
        }
        time(&p.updated_at, "a preference")?;
        if !prefs.insert(p.assignment.as_str()) {
            return Err(bad(format!(
                "assignment {} has two preferences",
                p.assignment
            )));
        }
    }
    for s in &work.submissions {
        if !uuid_like(&s.assignment) {
            return Err(bad(format!("{:?} is not a UUID", s.assignment)));
        }
        if let Some(t) = &s.submitted_at {
            time(t, "a submission")?;
        }
    }
    Ok(())
}

/// The study package of one rater: their assigned items with the answers
/// under the letters of their stored order, the rubric, the study's seed,
/// the assignments and their work so far. Every answer must be generated.
pub fn study_package(
    store: &Store,
    study_id: StudyId,
    rater_id: RaterId,
) -> Result<StudyContent, PackageError> {
    let src = store.package_source(study_id, rater_id)?;
    let mut assignments = Vec::with_capacity(src.assignments.len());
    for a in &src.assignments {
        let answers = crate::review::blinding::ordered_answers(store, a.id, rater_id)?;
        let answers = answers
            .into_iter()
            .map(|o| {
                let uuid = src
                    .answer_uuids
                    .get(&o.generation_id.0)
                    .cloned()
                    .ok_or_else(|| {
                        StoreError::Conflict(format!("answer {} has no UUID", o.generation_id))
                    })?;
                Ok(PackageAnswer {
                    label: o.label,
                    uuid,
                    text: o.text,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        assignments.push(PackageAssignment {
            uuid: a.uuid.clone(),
            item: a.item.clone(),
            order_seed: a.order_seed,
            status: a.status,
            submitted_at: a.submitted_at.clone(),
            answers,
        });
    }
    Ok(StudyContent {
        study: src.study,
        rater: src.rater,
        items: src.items,
        assignments,
        work: src.work,
    })
}

/// Writes the study package of `rater_id` to `path`. Returns the content's
/// sha256.
pub fn export_study_package(
    store: &Store,
    study_id: StudyId,
    rater_id: RaterId,
    path: &Path,
) -> Result<String, PackageError> {
    let content = study_package(store, study_id, rater_id)?;
    let bytes = serde_json::to_vec(&content).map_err(|e| PackageError::Malformed {
        entry: CONTENT,
        why: e.to_string(),
    })?;
    write_package(
        path,
        PackageKind::Study,
        &TravellingStudyRef {
            uuid: &content.study.uuid,
            name: &content.study.name,
        },
        &content.rater.uuid,
        (
            content.assignments.len() as u64,
            content.work.ratings.len() as u64,
        ),
        &bytes,
    )
}

/// A file name part for `text`: letters, digits, `-` and `_` kept, any
/// other character `_`.
pub fn file_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes the package of every rater of `study_id` into the folder `dir`
/// (created if needed), named `STUDY-RATER.llm4sweat-package.zip`.
/// Returns the files written, in rater order.
pub fn export_all_packages(
    store: &Store,
    study_id: StudyId,
    dir: &Path,
) -> Result<Vec<std::path::PathBuf>, PackageError> {
    let study = store.study(study_id)?;
    let raters = store.study_rater_ids(study_id)?;
    if raters.is_empty() {
        return Err(PackageError::Store(StoreError::Conflict(format!(
            "study {:?} has no rater yet; add raters before exporting packages",
            study.name
        ))));
    }
    std::fs::create_dir_all(dir).map_err(|source| ExportError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files = Vec::with_capacity(raters.len());
    for id in raters {
        let rater = store.rater(id)?;
        let path = dir.join(format!(
            "{}-{}.llm4sweat-package.zip",
            file_part(&study.name),
            file_part(&rater.name)
        ));
        export_study_package(store, study_id, id, &path)?;
        files.push(path);
    }
    Ok(files)
}

/// Opens a study package into this (the rater's) workspace; see
/// [`Store::import_study_package`].
pub fn import_study_package(
    store: &mut Store,
    path: &Path,
    actor: &Actor,
) -> Result<StudyImportSummary, PackageError> {
    let p = open_package(path)?;
    if p.manifest.kind != PackageKind::Study {
        return Err(PackageError::WrongKind {
            found: p.manifest.kind.as_str(),
            expected: "study package",
        });
    }
    let c: StudyContent =
        serde_json::from_slice(&p.content).map_err(|e| PackageError::Malformed {
            entry: CONTENT,
            why: e.to_string(),
        })?;
    check_manifest(
        &p.manifest,
        &c.study.uuid,
        &c.rater.uuid,
        c.assignments.len() as u64,
        c.work.ratings.len() as u64,
    )?;
    check_work(&c.work)?;
    let bad = |why: String| PackageError::Malformed {
        entry: CONTENT,
        why,
    };
    crate::review::check_name("study", &c.study.name)?;
    crate::review::check_name("rater", &c.rater.name)?;
    for id in [&c.study.uuid, &c.rater.uuid] {
        if !uuid_like(id) {
            return Err(bad(format!("{id:?} is not a UUID")));
        }
    }
    let items: HashSet<&str> = c.items.iter().map(|i| i.uuid.as_str()).collect();
    if items.len() != c.items.len() {
        return Err(bad("an item is listed twice".into()));
    }
    let mut slots = 0;
    let mut seen = HashSet::new();
    let mut assignments = Vec::with_capacity(c.assignments.len());
    for a in &c.assignments {
        if !uuid_like(&a.uuid) || !seen.insert(a.uuid.as_str()) {
            return Err(bad(format!(
                "assignment {:?} is not a UUID or is listed twice",
                a.uuid
            )));
        }
        if !items.contains(a.item.as_str()) {
            return Err(bad(format!(
                "assignment {} names an item the package does not hold",
                a.uuid
            )));
        }
        let n = a.answers.len();
        if !(2..=AnswerLabel::ALL.len()).contains(&n) {
            return Err(bad(format!(
                "assignment {} has {n} answers; a study compares 2 to 4",
                a.uuid
            )));
        }
        for (answer, want) in a.answers.iter().zip(AnswerLabel::ALL) {
            if answer.label != *want || !uuid_like(&answer.uuid) {
                return Err(bad(format!(
                    "assignment {}'s answers are not lettered A, B, … in order, or an answer id is not a UUID",
                    a.uuid
                )));
            }
            if answer.text.chars().count() > 4 * crate::review::MAX_TEXT {
                return Err(bad(format!("answer {} is too long", answer.uuid)));
            }
        }
        slots = slots.max(n);
        // Store answer k under the slot the stored order shows as letter k.
        let order = crate::review::blinding::permutation(n, a.order_seed);
        assignments.push(ImportAssignment {
            uuid: a.uuid.clone(),
            item: a.item.clone(),
            order_seed: a.order_seed,
            status: a.status,
            submitted_at: a.submitted_at.clone(),
            answers: a
                .answers
                .iter()
                .zip(&order)
                .map(|(answer, &slot)| ImportAnswer {
                    uuid: answer.uuid.clone(),
                    text: answer.text.clone(),
                    slot,
                })
                .collect(),
        });
    }
    let params = SamplingParams::default();
    let params_json = serde_json::to_string(&params).map_err(|e| bad(e.to_string()))?;
    Ok(store.import_study_package(
        &StudyImport {
            sha256: p.sha256,
            study: c.study,
            rater: c.rater,
            items: c.items,
            assignments,
            slots,
            work: c.work,
            params_hash: params_hash(&params, ""),
            params_json,
        },
        actor,
    )?)
}

/// Writes the ratings file of `rater_id` in `study_id` (their every rating,
/// preference and assignment status) to `path`. Returns the content's
/// sha256.
pub fn return_ratings(
    store: &Store,
    study_id: StudyId,
    rater_id: RaterId,
    path: &Path,
) -> Result<String, PackageError> {
    let (study_uuid, rater_uuid) = store.study_and_rater_uuids(study_id, rater_id)?;
    let study = store.study(study_id)?;
    let work = store.rater_work(study_id, rater_id)?;
    let counts = (work.submissions.len() as u64, work.ratings.len() as u64);
    let content = RatingsContent {
        study: study_uuid.clone(),
        rater: rater_uuid.clone(),
        work,
    };
    let bytes = serde_json::to_vec(&content).map_err(|e| PackageError::Malformed {
        entry: CONTENT,
        why: e.to_string(),
    })?;
    write_package(
        path,
        PackageKind::Ratings,
        &TravellingStudyRef {
            uuid: &study_uuid,
            name: &study.name,
        },
        &rater_uuid,
        counts,
        &bytes,
    )
}

/// Merges a returned ratings file into this (the coordinator's) workspace;
/// see [`Store::merge_rater_work`].
pub fn merge_ratings(
    store: &mut Store,
    path: &Path,
    actor: &Actor,
) -> Result<MergeSummary, PackageError> {
    let p = open_package(path)?;
    if p.manifest.kind != PackageKind::Ratings {
        return Err(PackageError::WrongKind {
            found: p.manifest.kind.as_str(),
            expected: "ratings",
        });
    }
    let c: RatingsContent =
        serde_json::from_slice(&p.content).map_err(|e| PackageError::Malformed {
            entry: CONTENT,
            why: e.to_string(),
        })?;
    check_manifest(
        &p.manifest,
        &c.study,
        &c.rater,
        c.work.submissions.len() as u64,
        c.work.ratings.len() as u64,
    )?;
    check_work(&c.work)?;
    Ok(store.merge_rater_work(&p.sha256, &c.study, &c.rater, &c.work, actor)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_recognised() {
        assert!(uuid_like("0f8fad5b-d9cb-469f-a165-70867728950e"));
        assert!(!uuid_like("0f8fad5b-d9cb-469f-a165-70867728950"));
        assert!(!uuid_like("0f8fad5bxd9cb-469f-a165-70867728950e"));
        assert!(!uuid_like("../../../../../../../../etc/passwd0000"));
    }
}
