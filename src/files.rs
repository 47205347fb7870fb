//! Input files a user names (pack files, model files, imports): only regular
//! files are read, never a FIFO (which would hang), a device (`/dev/zero`
//! reads forever) or a directory; a symlink is followed only to a regular
//! file; text files are read under a size cap. Errors name the path and the
//! problem, never the file's content.

use std::io::Read;
use std::path::Path;

/// Why an input file was not read.
#[derive(Debug, thiserror::Error)]
pub enum InputFileError {
    /// The path (or what a symlink points to) is not a regular file.
    #[error("it is a {0}, not a regular file")]
    NotRegular(&'static str),
    /// The file is larger than this kind of file may be.
    #[error("it is larger than the {} MiB allowed for this kind of file", .limit / (1024 * 1024))]
    TooLarge {
        /// The cap in bytes.
        limit: u64,
    },
    /// The file is not UTF-8 text.
    #[error("it is not UTF-8 text")]
    NotText,
    /// Opening or reading failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// What kind of non-regular file `path` is, following symlinks; `None` for
/// a regular file.
pub fn non_regular_kind(path: &Path) -> std::io::Result<Option<&'static str>> {
    Ok(kind_of(&std::fs::metadata(path)?.file_type()))
}

/// A file type's name for messages, `None` for a regular file.
pub fn kind_of(t: &std::fs::FileType) -> Option<&'static str> {
    if t.is_file() {
        None
    } else if t.is_symlink() {
        Some("symbolic link")
    } else if t.is_dir() {
        Some("directory")
    } else {
        Some(special_kind(t))
    }
}

#[cfg(unix)]
fn special_kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        "FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "device"
    } else if t.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "special file"
}

/// Refuses a path that is not a regular file (following symlinks).
pub fn ensure_regular(path: &Path) -> Result<(), InputFileError> {
    match non_regular_kind(path)? {
        None => Ok(()),
        Some(kind) => Err(InputFileError::NotRegular(kind)),
    }
}

/// Reads a regular text file of at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, InputFileError> {
    ensure_regular(path)?;
    let file = std::fs::File::open(path)?;
    // The opened file is checked again: the path may have changed since.
    if !file.metadata()?.is_file() {
        return Err(InputFileError::NotRegular("special file"));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(InputFileError::TooLarge { limit });
    }
    String::from_utf8(bytes).map_err(|_| InputFileError::NotText)
}

/// Makes a FIFO at `path`, for the tests of refusals.
#[cfg(test)]
pub(crate) fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(made.success(), "mkfifo {}", path.display());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bounded_regular_files_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = dir.path().join("ok.txt");
        std::fs::write(&ok, "fine").expect("write");
        let big = dir.path().join("big.txt");
        std::fs::write(&big, "x".repeat(2 * 1024 * 1024 + 1)).expect("write");
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&ok, &link).expect("symlink");
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        let binary = dir.path().join("bin");
        std::fs::write(&binary, [0xff, 0xfe, 0x00]).expect("write");
        assert_eq!(read_text(&ok, 1024).expect("ok"), "fine");
        assert_eq!(read_text(&link, 1024).expect("a link to a file"), "fine");
        let limit = 2 * 1024 * 1024;
        let label = |r: Result<String, InputFileError>| match r {
            Ok(_) => "ok".to_owned(),
            Err(InputFileError::NotRegular(k)) => k.to_owned(),
            Err(InputFileError::TooLarge { .. }) => "too large".to_owned(),
            Err(InputFileError::NotText) => "not text".to_owned(),
            Err(InputFileError::Io(e)) => format!("io {:?}", e.kind()),
        };
        let cases = [
            (fifo.as_path(), "FIFO"),
            (Path::new("/dev/zero"), "device"),
            (dir.path(), "directory"),
            (big.as_path(), "too large"),
            (binary.as_path(), "not text"),
            (Path::new("/nonexistent-llm4sweat"), "io NotFound"),
        ];
        for (path, expected) in cases {
            assert_eq!(
                label(read_text(path, limit)),
                expected,
                "{}",
                path.display()
            );
        }
        assert_eq!(
            InputFileError::TooLarge { limit }.to_string(),
            "it is larger than the 2 MiB allowed for this kind of file"
        );
    }
}
