//! Offline study packages end to end through the `llm4sweat` binary: three
//! raters rate on three separate workspaces, the coordinator merges their
//! returned files in any order, and the results equal the same ratings
//! entered in one workspace; the packages carry no model identity; hostile
//! files are refused and leave the workspace unchanged.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use llm4sweat::DomainPack;
use llm4sweat::inference::SamplingParams;
use llm4sweat::review::{self, StudySpec};
use llm4sweat::store::{Actor, RatingRow, Store, Table};
use llm4sweat::testkit::{self, FakeModels};
use llm4sweat::vocab::{AssignmentStatus, ModelRole, Preference, Specialty};
use serde_json::Value;

use crate::util::Workspace;

/// Model names that appear nowhere else (so that finding one in a package
/// means it leaked).
const MODELS: [(&str, ModelRole); 3] = [
    ("zeta-tuned-q4", ModelRole::Candidate),
    ("omega-baseline-x", ModelRole::Baseline),
    ("kappa-third-m", ModelRole::Candidate),
];

const RATERS: [(&str, Specialty); 3] = [
    ("Dr. Ames", Specialty::Dermatology),
    ("Dr. Baum", Specialty::Dermatology),
    ("Dr. Cole", Specialty::Psychology),
];

/// The coordinator's workspace: 8 items answered by the three models (the
/// answer text carries a quality level and a token, never the model), the
/// three raters, and one study with every rater on every item.
fn coordinator(ws: &Workspace) {
    let pack = DomainPack::embedded_default().expect("pack");
    let (mut store, models) = testkit::workspace_with_answers(
        &ws.db(),
        &pack,
        FakeModels::Remote,
        &MODELS,
        Some(8),
        &|m, item| {
            let quality = 4 - models_rank(&m.name);
            format!(
                "Answer q{quality} t{}x{} — drink water, see a doctor if it spreads.",
                item.0 * 7919 % 1000,
                m.id.0 * 31 % 97
            )
        },
    )
    .expect("fixture");
    drop(models);
    let raters: Vec<_> = RATERS
        .iter()
        .map(|(n, s)| review::create_rater(&mut store, n, *s, &Actor::Cli).expect("rater"))
        .collect();
    review::create_study(
        &mut store,
        &StudySpec {
            name: "Offline pilot".into(),
            category: None,
            limit: Some(8),
            item_ids: None,
            models: MODELS.iter().map(|(m, _)| (*m).to_owned()).collect(),
            rater_ids: raters.iter().map(|r| r.id).collect(),
            overlap: 3,
            seed: 5,
            params: SamplingParams::default(),
            system_prompt: pack.manifest.system_prompt.clone(),
        },
        &pack.manifest.rubric,
        &Actor::Cli,
    )
    .expect("study");
}

fn models_rank(name: &str) -> i64 {
    MODELS.iter().position(|(m, _)| *m == name).expect("model") as i64
}

/// The score rater `k` gives an answer: its quality, moved by the token.
fn score(k: usize, text: &str, axis: i64) -> i64 {
    let quality: i64 = text[8..9].parse().expect("quality digit");
    let token: i64 = text.bytes().map(i64::from).sum();
    (quality + (token + axis + k as i64) % 3 - 1).clamp(1, 5)
}

/// Rates every open assignment of `rater` in `store` as rater `k` would,
/// through the same calls as the app; leaves the last one a draft when
/// `leave_last` (and returns its assignment).
fn rate(store: &mut Store, k: usize, leave_last: bool) -> Option<llm4sweat::ids::AssignmentId> {
    let rater = store
        .raters()
        .expect("raters")
        .into_iter()
        .find(|r| r.name == RATERS[k].0)
        .expect("the rater is here");
    let queue: Vec<_> = review::queue(store, rater.id)
        .expect("queue")
        .into_iter()
        .filter(|e| e.status != AssignmentStatus::Submitted)
        .collect();
    let mut last = None;
    for (n, entry) in queue.iter().enumerate() {
        let item = review::blinded_item(store, rater.id, entry.assignment_id).expect("item");
        let mut best = (i64::MIN, None);
        for a in &item.answers {
            let s = |axis| score(k, &a.text, axis);
            let rating = RatingRow {
                accuracy: Some(s(0)),
                appropriateness: Some(s(1)),
                empathy: Some(s(2)),
                harm: Some(llm4sweat::vocab::HarmLevel::None),
                comment: (n == 0).then(|| format!("{}: \"clear\", naïve; ok\n汗", RATERS[k].0)),
                ..Default::default()
            };
            review::save_rating(store, rater.id, entry.assignment_id, a.label, &rating)
                .expect("rate");
            if s(0) > best.0 {
                best = (s(0), Some(a.label));
            }
        }
        review::save_preference(
            store,
            rater.id,
            entry.assignment_id,
            Preference::better(best.1.expect("answer")),
        )
        .expect("preference");
        if leave_last && n + 1 == queue.len() {
            last = Some(entry.assignment_id);
        } else {
            review::submit(store, rater.id, entry.assignment_id).expect("submit");
        }
    }
    last
}

/// The report JSON without what differs between two workspaces built at
/// different times.
fn report(ws: &Workspace) -> Value {
    let mut r: Value =
        serde_json::from_str(&ws.ok(&["report", "--study", "Offline pilot", "--format", "json"]))
            .expect("report JSON");
    r["study"]["created_at"] = Value::Null;
    r
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Every byte of a package file, and every entry decompressed.
fn package_bytes(file: &Path) -> Vec<Vec<u8>> {
    let raw = std::fs::read(file).expect("package");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(raw.clone())).expect("zip");
    let mut out = vec![raw];
    for i in 0..archive.len() {
        let mut e = archive.by_index(i).expect("entry");
        let mut b = Vec::new();
        e.read_to_end(&mut b).expect("read");
        out.push(b);
    }
    out
}

#[test]
fn three_raters_offline_merge_into_the_same_results_as_one_workspace() {
    let coord = Workspace::new();
    coordinator(&coord);
    let files = Workspace::new();
    let pkg = |k: usize| files.path(&format!("package-{k}.zip"));
    for (k, (name, _)) in RATERS.iter().enumerate() {
        let out = coord.ok(&[
            "package",
            "export",
            "--study",
            "Offline pilot",
            "--rater",
            name,
            "--out",
            path(&pkg(k)),
        ]);
        assert!(out.contains("wrote the package of"), "{out}");
    }
    // --all writes one package per rater into a folder.
    let all = files.path("all");
    let out = coord.ok(&[
        "package",
        "export",
        "--study",
        "Offline pilot",
        "--all",
        "--out",
        path(&all),
    ]);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert_eq!(std::fs::read_dir(&all).expect("folder").count(), 3);

    // The coordinator's workspace before any merge, for the history check.
    let before_merge = Workspace::new();
    std::fs::copy(coord.db(), before_merge.db()).expect("copy");

    // No model identity anywhere in a package: not in the zip's bytes, not
    // in its decompressed entries.
    let store = Store::open(&coord.db()).expect("store");
    let mut identifying: Vec<String> = Vec::new();
    for m in store.models().expect("models") {
        identifying.push(m.name.clone());
        identifying.extend(m.endpoint_url.clone());
        identifying.extend(m.remote_model.clone());
        identifying.push(format!("\"model_id\":{}", m.id.0));
    }
    for word in [
        "model",
        "params",
        "prompt_ms",
        "generation_ms",
        "completion_tokens",
        "prompt_tokens",
        "template_hash",
        "engine",
        "parameter_count",
        "size_bytes",
        "sha256\":\"",
        "system_prompt",
    ] {
        identifying.push(word.to_owned());
    }
    drop(store);
    for k in 0..3 {
        for (i, bytes) in package_bytes(&pkg(k)).iter().enumerate() {
            for needle in &identifying {
                let found = bytes
                    .windows(needle.len())
                    .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()));
                // The manifest names the content's sha256 (of the package itself, not of a model).
                let allowed = i == 1 && needle == "sha256\":\"";
                assert!(!found || allowed, "package {k}, part {i}: {needle:?} found");
            }
        }
    }

    // Each rater opens their package in their own workspace and rates
    // offline; rater 0 leaves one item a draft, returns, then finishes it
    // with a changed score and returns again.
    let raters: Vec<Workspace> = (0..3).map(|_| Workspace::new()).collect();
    let ret = |k: usize, v: &str| files.path(&format!("ratings-{k}-{v}.zip"));
    for (k, ws) in raters.iter().enumerate() {
        let out = ws.ok(&["package", "import", path(&pkg(k))]);
        assert!(out.contains("8 assignments added"), "{out}");
        let again = ws.ok(&["package", "import", path(&pkg(k))]);
        assert!(again.contains("imported before; nothing added"), "{again}");
        let mut store = Store::open(&ws.db()).expect("rater store");
        // The rater sees the letters of the package, in the package's order.
        let rater = store.raters().expect("raters").remove(0);
        let queue = review::queue(&store, rater.id).expect("queue");
        assert_eq!(queue.len(), 8);
        let left = rate(&mut store, k, k == 0);
        drop(store);
        ws.ok(&["package", "return", "--out", path(&ret(k, "a"))]);
        if let Some(assignment) = left {
            let mut store = Store::open(&ws.db()).expect("rater store");
            let rater = store.raters().expect("raters").remove(0);
            let item = review::blinded_item(&store, rater.id, assignment).expect("item");
            let a = &item.answers[0];
            let changed = RatingRow {
                accuracy: Some(if score(k, &a.text, 0) == 5 { 1 } else { 5 }),
                appropriateness: Some(score(k, &a.text, 1)),
                empathy: Some(score(k, &a.text, 2)),
                harm: Some(llm4sweat::vocab::HarmLevel::None),
                ..Default::default()
            };
            std::thread::sleep(std::time::Duration::from_millis(5));
            review::save_rating(&mut store, rater.id, assignment, a.label, &changed)
                .expect("change");
            review::submit(&mut store, rater.id, assignment).expect("submit");
            drop(store);
            ws.ok(&["package", "return", "--out", path(&ret(k, "b"))]);
        }
    }

    // The coordinator merges in an order that puts the later file of rater
    // 0 before its earlier one.
    let out = coord.ok(&[
        "package",
        "merge",
        path(&ret(2, "a")),
        path(&ret(0, "b")),
        path(&ret(1, "a")),
        path(&ret(0, "a")),
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].contains("\"Dr. Cole\"") && lines[0].contains("32 added"),
        "24 ratings and 8 preferences: {out}"
    );
    assert!(
        out.contains("1 older kept") && out.contains("is kept over the file's"),
        "the earlier file's draft loses, and it is reported: {out}"
    );
    let again = coord.ok(&["package", "merge", path(&ret(1, "a"))]);
    assert!(again.contains("merged before; nothing added"), "{again}");
    assert_eq!(
        coord.count(Table::Ratings),
        72,
        "8 items × 3 models × 3 raters"
    );

    // The same ratings entered in one workspace give the same report.
    let control = Workspace::new();
    coordinator(&control);
    let mut store = Store::open(&control.db()).expect("control store");
    for (k, (name, _)) in RATERS.iter().enumerate() {
        let left = rate(&mut store, k, k == 0);
        if let Some(assignment) = left {
            let rater = store
                .raters()
                .expect("raters")
                .into_iter()
                .find(|r| r.name == *name)
                .expect("rater");
            let item = review::blinded_item(&store, rater.id, assignment).expect("item");
            let a = &item.answers[0];
            let changed = RatingRow {
                accuracy: Some(if score(k, &a.text, 0) == 5 { 1 } else { 5 }),
                appropriateness: Some(score(k, &a.text, 1)),
                empathy: Some(score(k, &a.text, 2)),
                harm: Some(llm4sweat::vocab::HarmLevel::None),
                ..Default::default()
            };
            review::save_rating(&mut store, rater.id, assignment, a.label, &changed)
                .expect("change");
            review::submit(&mut store, rater.id, assignment).expect("submit");
        }
    }
    drop(store);
    let merged = report(&coord);
    assert_eq!(merged["overall"]["ratings"], 72);
    assert_eq!(
        merged,
        report(&control),
        "merged offline ratings give the results of one workspace"
    );

    // A rating changed after an earlier return: the later version counts,
    // the earlier one is in the audit log.
    let other = Workspace::new();
    std::fs::copy(before_merge.db(), other.db()).expect("copy");
    other.ok(&["package", "merge", path(&ret(0, "a"))]);
    let out = other.ok(&["package", "merge", path(&ret(0, "b"))]);
    assert!(
        out.contains("1 updated") && out.contains("replaced the one here"),
        "{out}"
    );
    let conn = rusqlite::Connection::open(other.db()).expect("db");
    let replaced: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'rating_replaced_by_merge'",
            [],
            |r| r.get(0),
        )
        .expect("audit");
    assert_eq!(replaced, 1);
}

/// A zip of `entries` (name, bytes), stored or deflated.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        if name.ends_with('/') {
            w.add_directory(*name, options).expect("dir");
        } else {
            w.start_file(*name, options).expect("entry");
            w.write_all(bytes).expect("write");
        }
    }
    w.finish().expect("zip").into_inner()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    use std::fmt::Write as _;
    let digest = sha2::Sha256::digest(bytes);
    digest.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The entries of a package file.
fn entries_of(file: &Path) -> (Value, Vec<u8>) {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(file).expect("file")).expect("zip");
    let mut read = |name: &str| {
        let mut b = Vec::new();
        archive
            .by_name(name)
            .expect(name)
            .read_to_end(&mut b)
            .expect("read");
        b
    };
    let manifest = serde_json::from_slice(&read("manifest.json")).expect("manifest");
    (manifest, read("content.json"))
}

/// A package with `content` and a manifest made to match it, then changed
/// by `edit`.
fn repackaged(manifest: &Value, content: &[u8], edit: impl Fn(&mut Value)) -> Vec<u8> {
    let mut m = manifest.clone();
    m["content_bytes"] = content.len().into();
    m["content_sha256"] = sha256_hex(content).into();
    edit(&mut m);
    zip_of(&[
        ("manifest.json", &serde_json::to_vec(&m).expect("json")),
        ("content.json", content),
    ])
}

/// Sets the declared uncompressed size of `name` in the central directory.
fn declare_size(zip: &mut [u8], name: &str, size: u32) {
    let sig = [0x50, 0x4b, 0x01, 0x02];
    let at = (0..zip.len() - 46)
        .find(|&i| zip[i..i + 4] == sig && zip[i + 46..].starts_with(name.as_bytes()))
        .expect("central directory entry");
    zip[at + 24..at + 28].copy_from_slice(&size.to_le_bytes());
}

fn counts(ws: &Workspace) -> Vec<i64> {
    [
        Table::Studies,
        Table::Raters,
        Table::Items,
        Table::Generations,
        Table::Assignments,
        Table::Ratings,
        Table::Preferences,
        Table::PackageImports,
        Table::AuditLog,
        Table::Models,
    ]
    .iter()
    .map(|t| ws.count(*t))
    .collect()
}

#[test]
fn hostile_packages_and_ratings_files_are_refused_and_change_nothing() {
    let coord = Workspace::new();
    coordinator(&coord);
    let files = Workspace::new();
    let pkg = files.path("package.zip");
    coord.ok(&[
        "package",
        "export",
        "--study",
        "Offline pilot",
        "--rater",
        "Dr. Ames",
        "--out",
        path(&pkg),
    ]);
    let rater = Workspace::new();
    rater.ok(&["package", "import", path(&pkg)]);
    let mut store = Store::open(&rater.db()).expect("store");
    rate(&mut store, 0, false);
    drop(store);
    let ret = files.path("ratings.zip");
    rater.ok(&["package", "return", "--out", path(&ret)]);
    let (manifest, content) = entries_of(&ret);
    let good_zip = std::fs::read(&ret).expect("ratings file");

    // A ratings file of another study: a second coordinator study's rater.
    let elsewhere = Workspace::new();
    coordinator(&elsewhere);
    let other_pkg = files.path("other-package.zip");
    elsewhere.ok(&[
        "package",
        "export",
        "--study",
        "Offline pilot",
        "--rater",
        "Dr. Ames",
        "--out",
        path(&other_pkg),
    ]);
    let other_rater = Workspace::new();
    other_rater.ok(&["package", "import", path(&other_pkg)]);
    let other_ret = files.path("other-ratings.zip");
    other_rater.ok(&["package", "return", "--out", path(&other_ret)]);

    let mut content_value: Value = serde_json::from_slice(&content).expect("content");
    let mut bad_score = content_value.clone();
    bad_score["work"]["ratings"][0]["accuracy"] = 9.into();
    let mut foreign_answer = content_value.clone();
    foreign_answer["work"]["ratings"][0]["answer"] = "0f8fad5b-d9cb-469f-a165-70867728950e".into();
    content_value["work"]["ratings"][0]["accuracy"] = 1.into();
    let tampered_content = serde_json::to_vec(&content_value).expect("json");
    let mut newer = manifest.clone();
    newer["format"] = "llm4sweat.package/2".into();
    let mut bomb = zip_of(&[
        (
            "manifest.json",
            &serde_json::to_vec(&manifest).expect("json"),
        ),
        ("content.json", &content),
    ]);
    declare_size(&mut bomb, "content.json", 4_000_000_000);
    let mut duplicate = zip_of(&[
        (
            "manifest.json",
            &serde_json::to_vec(&manifest).expect("json"),
        ),
        ("manifesX.json", b"{}"),
        ("content.json", &content),
    ]);
    for i in 0..duplicate.len() - 8 {
        if &duplicate[i..i + 8] == b"manifesX" {
            duplicate[i..i + 8].copy_from_slice(b"manifest");
        }
    }
    let m = serde_json::to_vec(&manifest).expect("json");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "not a zip",
            b"hello, this is not a package".to_vec(),
            "not an llm4sweat package",
        ),
        ("empty file", Vec::new(), "not an llm4sweat package"),
        (
            "truncated",
            good_zip[..good_zip.len() / 2].to_vec(),
            "not an llm4sweat package",
        ),
        (
            "content changed, manifest kept",
            zip_of(&[("manifest.json", &m), ("content.json", &tampered_content)]),
            "changed or damaged",
        ),
        (
            "manifest lies about the counts",
            repackaged(&manifest, &content, |m| m["ratings"] = 999.into()),
            "manifest counts",
        ),
        (
            "manifest lies about the study",
            repackaged(&manifest, &content, |m| {
                m["study"] = "0f8fad5b-d9cb-469f-a165-70867728950e".into()
            }),
            "manifest names study",
        ),
        (
            "newer format",
            zip_of(&[
                ("manifest.json", &serde_json::to_vec(&newer).expect("json")),
                ("content.json", &content),
            ]),
            "update llm4sweat",
        ),
        (
            "a score of 9",
            repackaged(
                &manifest,
                &serde_json::to_vec(&bad_score).expect("json"),
                |_| {},
            ),
            "outside 1–5",
        ),
        (
            "an answer of another study",
            repackaged(
                &manifest,
                &serde_json::to_vec(&foreign_answer).expect("json"),
                |_| {},
            ),
            "not one of this study's answers",
        ),
        (
            "../ path",
            zip_of(&[("manifest.json", &m), ("../content.json", &content)]),
            "climbs out",
        ),
        (
            "absolute path",
            zip_of(&[("manifest.json", &m), ("/tmp/content.json", &content)]),
            "absolute path",
        ),
        (
            "a directory",
            zip_of(&[
                ("manifest.json", &m),
                ("content.json", &content),
                ("extra/", b""),
            ]),
            "a directory",
        ),
        (
            "an extra file",
            zip_of(&[
                ("manifest.json", &m),
                ("content.json", &content),
                ("run.sh", b"rm -rf ~"),
            ]),
            "not part of the package format",
        ),
        (
            "duplicate entries",
            duplicate,
            "second entry of the same name",
        ),
        ("declared 4 GB", bomb, "declares 4000000000 bytes"),
        (
            "missing content",
            zip_of(&[("manifest.json", &m)]),
            "needs manifest.json and content.json",
        ),
        (
            "a study package, not ratings",
            std::fs::read(&pkg).expect("package"),
            "expected a ratings file",
        ),
        (
            "another study's ratings",
            std::fs::read(&other_ret).expect("other"),
            "for a study this workspace does not have",
        ),
    ];
    let before = counts(&coord);
    for (what, bytes, says) in &cases {
        let file = files.path("hostile.zip");
        std::fs::write(&file, bytes).expect("write");
        let out = coord.run(&["package", "merge", path(&file)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: accepted");
        assert!(
            stderr.contains(says),
            "{what}: expected {says:?} in {stderr}"
        );
        assert_eq!(counts(&coord), before, "{what}: the workspace changed");
    }
    // A symbolic link in place of the file, and a link inside the zip.
    #[cfg(unix)]
    {
        let link = files.path("link.zip");
        std::os::unix::fs::symlink(&ret, &link).expect("symlink");
        let out = coord.run(&["package", "merge", path(&link)]);
        assert!(String::from_utf8_lossy(&out.stderr).contains("not a regular file"));
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default();
        w.start_file("manifest.json", o).expect("entry");
        w.write_all(&m).expect("write");
        w.add_symlink("content.json", "/etc/passwd", o)
            .expect("symlink");
        let bytes = w.finish().expect("zip").into_inner();
        let file = files.path("symlink.zip");
        std::fs::write(&file, bytes).expect("write");
        let out = coord.run(&["package", "merge", path(&file)]);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("symbolic link"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(counts(&coord), before);
    }
    // A package opened in the coordinator's own workspace is refused.
    let out = coord.run(&["package", "import", path(&pkg)]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("coordinator's own copy"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(counts(&coord), before);
    // The good file still merges; a hostile study package is refused on the
    // rater's side too, and leaves that workspace unchanged.
    let out = coord.ok(&["package", "merge", path(&ret)]);
    assert!(out.contains("added"), "{out}");
    let fresh = Workspace::new();
    fresh.ok(&["init"]);
    let before = counts(&fresh);
    let (pm, pc) = entries_of(&pkg);
    let mut pv: Value = serde_json::from_slice(&pc).expect("content");
    pv["assignments"][0]["answers"][1]["label"] = "A".into();
    let bad_letters = repackaged(&pm, &serde_json::to_vec(&pv).expect("json"), |_| {});
    for (what, bytes, says) in [
        (
            "ratings, not a study package",
            std::fs::read(&ret).expect("ratings"),
            "expected a study package",
        ),
        ("letters out of order", bad_letters, "lettered A, B"),
    ] {
        let file: PathBuf = files.path("hostile-package.zip");
        std::fs::write(&file, bytes).expect("write");
        let out = fresh.run(&["package", "import", path(&file)]);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(counts(&fresh), before, "{what}: the workspace changed");
    }
}
