//! What Linux says about the server process and the machine (`/proc`):
//! the server's resident memory and CPU time, and the machine's load. The
//! soak runs on a shared machine, so its latencies only mean something
//! beside how busy the server and the machine were.

/// Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`: 100 on
/// every Linux this runs on).
pub const TICKS_PER_SEC: f64 = 100.0;

/// The server's resident memory in KiB, from `/proc/<pid>/status`.
pub fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time the server has used (user + system), in clock ticks, from
/// `/proc/<pid>/stat`.
pub fn cpu_ticks(pid: Option<u32>) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    parse_cpu_ticks(&stat)
}

fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    // The name (field 2) may hold spaces: count from its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15; `rest` starts at field 3.
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(user + system)
}

/// The machine's load average over the last minute.
pub fn load1() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_user_plus_system() {
        let stat =
            "1792 (parley backend) S 1 1792 1792 0 -1 4194560 2960 0 0 0 175 43 0 0 20 0 3 0";
        assert_eq!(parse_cpu_ticks(stat), Some(175 + 43));
        assert_eq!(parse_cpu_ticks("garbage"), None);
    }

    #[test]
    fn this_process_can_be_read() {
        let me = Some(std::process::id());
        assert!(rss_kib(me).unwrap() > 0);
        assert!(cpu_ticks(me).is_some());
        assert!(load1().is_some());
    }
}
