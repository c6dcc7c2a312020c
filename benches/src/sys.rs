//! What the harnesses read about the machine while they run: CPU time from `/proc` (Linux) and
//! the load average, so that a figure can be judged against what else the machine was doing.

use std::time::Duration;

/// CPU time (user + system) in a `/proc/.../stat` line.
pub fn stat_cpu(stat: &str) -> Option<Duration> {
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // Clock ticks are 100 per second on Linux.
    Some(Duration::from_millis((utime + stime) * 10))
}

/// CPU time this process has used so far.
pub fn process_cpu() -> Option<Duration> {
    stat_cpu(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// CPU time the calling thread has used so far.
pub fn thread_cpu() -> Option<Duration> {
    stat_cpu(&std::fs::read_to_string("/proc/thread-self/stat").ok()?)
}

/// The process's threads: id, name and CPU time so far.
pub fn threads() -> Vec<(u64, String, Duration)> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .filter_map(|task| {
            let task = task.ok()?;
            let tid = task.file_name().to_str()?.parse().ok()?;
            let name = std::fs::read_to_string(task.path().join("comm")).ok()?;
            let cpu = stat_cpu(&std::fs::read_to_string(task.path().join("stat")).ok()?)?;
            Some((tid, name.trim().to_string(), cpu))
        })
        .collect()
}

/// The one-minute load average, to judge how much other work shared the machine.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// The number of file descriptors this process holds open.
pub fn open_fds(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// A numeric field of `/proc/<pid>/status` (`VmRSS`, `Threads`, ...): its first number.
fn status_field(pid: u32, name: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| {
        l.strip_prefix(name)
            .is_some_and(|rest| rest.starts_with(':'))
    })?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The resident set size of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_field(pid, "VmRSS")
}

/// The peak resident set size of a process since it started or since [`reset_peak_rss`], in
/// KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    status_field(pid, "VmHWM")
}

/// Resets this process's peak resident set size to its current one (Linux 4.0 and later), so
/// that [`peak_rss_kib`] measures a phase alone. Answers whether it could.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// How many threads a process has.
pub fn thread_count(pid: u32) -> Option<u64> {
    status_field(pid, "Threads")
}

/// CPU time per thread name between two readings of [`threads`] (threads that ended in between
/// are not in the second reading), largest first; names that used none are left out.
pub fn cpu_by_thread_name(
    before: &[(u64, String, Duration)],
    after: &[(u64, String, Duration)],
) -> Vec<(String, Duration)> {
    let mut totals: std::collections::HashMap<String, Duration> = Default::default();
    for (tid, name, cpu) in after {
        let earlier = before
            .iter()
            .find(|(t, _, _)| t == tid)
            .map(|(_, _, c)| *c)
            .unwrap_or_default();
        *totals.entry(name.clone()).or_default() += cpu.saturating_sub(earlier);
    }
    let mut totals: Vec<(String, Duration)> = totals.into_iter().collect();
    totals.sort_by_key(|(_, cpu)| std::cmp::Reverse(*cpu));
    totals.retain(|(_, cpu)| !cpu.is_zero());
    totals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_after_a_name_with_spaces_and_parentheses() {
        let line = "42 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 250 30 0 0";
        assert_eq!(stat_cpu(line), Some(Duration::from_millis(2_800)));
        assert_eq!(stat_cpu("42 (x) S 1 2"), None);
    }

    #[test]
    fn this_process_is_seen() {
        assert!(process_cpu().is_some());
        assert!(open_fds(std::process::id()).is_some_and(|n| n >= 3));
        assert!(rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
        assert!(thread_count(std::process::id()).is_some_and(|n| n >= 1));
    }
}
