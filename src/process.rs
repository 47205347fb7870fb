//! What the core needs to know about processes: whether one still runs and
//! the name of this host, for cleaning up after (and taking over from)
//! processes that were killed.

use std::path::Path;

/// Whether process `pid` on this host still runs. A zombie (exited, not yet
/// reaped) does not. Without `/proc` every process counts as alive, so
/// callers fall back to their time limits.
pub(crate) fn alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if !proc.is_dir() {
        return true;
    }
    match std::fs::read_to_string(proc.join(pid.to_string()).join("stat")) {
        // The state follows the parenthesised command name, which may itself
        // hold spaces and parentheses.
        Ok(stat) => !stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| matches!(state, 'Z' | 'X' | 'x')),
        Err(_) => proc.join(pid.to_string()).exists(),
    }
}

/// This host's name where it is cheap to learn (`/proc`, then the
/// environment); empty when unknown.
pub(crate) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_not() {
        assert!(alive(std::process::id()));
        if !Path::new("/proc").is_dir() {
            return;
        }
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id();
        // Exited but not reaped: a zombie counts as gone.
        while std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            !s.rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
        }) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!alive(pid), "zombie {pid} counted as alive");
        child.wait().expect("reap");
        assert!(!alive(pid), "reaped {pid} counted as alive");
    }
}
