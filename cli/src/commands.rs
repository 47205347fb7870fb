//! The commands, one module per group. Each takes its parsed arguments, calls
//! the core library, and prints through [`crate::print`].

pub mod bench;
pub mod chat;
pub mod export;
pub mod generate;
pub mod models;
pub mod results;
pub mod workspace;

/// Peak resident memory of this process in MB (Linux; None elsewhere).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
