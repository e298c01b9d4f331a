//! libfaketime preloaded into a container, so that a step can skew its wall clock at run
//! time ([`crate::nemesis::clock`]). A system file gives a service this [`environment`]
//! (the reference file does, through its `x-faketime` anchor; a test keeps the two equal).
//!
//! The container's image must have Debian's `libfaketime` (the offline image does; on an
//! image without it the dynamic loader says it cannot preload the library and the
//! processes run on the real clock, and the clock step fails saying so). The offset is
//! read from `TIMESTAMP_FILE` on every clock read (`FAKETIME_NO_CACHE`), so writing the
//! file moves the clock of every process in the container at once; while the file is
//! missing the clock is the real one. Monotonic clocks are not faked
//! (`FAKETIME_DONT_FAKE_MONOTONIC`): timers and timeouts keep working, only the wall
//! clock is wrong, as on a machine whose time synchronisation failed.

/// The multi-threaded variant of the library (the services are multi-threaded), where
/// Debian's `libfaketime` puts it on x86-64.
pub(crate) const LIBRARY: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
/// Where the offset is read from inside the container.
pub(crate) const TIMESTAMP_FILE: &str = "/tmp/qalens-faketime";

/// The environment that preloads libfaketime with its offset in `TIMESTAMP_FILE`.
pub fn environment() -> [(&'static str, &'static str); 4] {
    [
        ("LD_PRELOAD", LIBRARY),
        ("FAKETIME_TIMESTAMP_FILE", TIMESTAMP_FILE),
        ("FAKETIME_NO_CACHE", "1"),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
    ]
}

/// What a user does so that a service's clock can be skewed: one line for messages.
pub fn how_to_enable() -> String {
    let env: Vec<String> = environment()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!(
        "install Debian's libfaketime in its image (apt-get install libfaketime) and give \
         the service, in the system file, the environment {} (docs/system-file.md, \
         \"Clock skew on your own image\")",
        env.join(" ")
    )
}

/// The timestamp file named in a container's environment (`KEY=value` entries, as
/// `docker inspect` shows them, or a system file's service environment), if
/// libfaketime is preloaded in it.
pub fn timestamp_file(env: &[String]) -> Option<String> {
    let var = |name: &str| {
        env.iter()
            .find_map(|e| e.strip_prefix(name)?.strip_prefix('='))
    };
    var("LD_PRELOAD").filter(|p| p.contains("libfaketime"))?;
    var("FAKETIME_TIMESTAMP_FILE")
        .filter(|f| f.starts_with('/'))
        .map(str::to_string)
}

/// The file's content for an offset of `secs` seconds from the real clock: libfaketime's
/// relative form, `+600` or `-600`.
pub(crate) fn offset_text(secs: i64) -> String {
    format!("{secs:+}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timestamp_file_needs_the_preload() {
        let env: Vec<String> = environment()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(timestamp_file(&env).as_deref(), Some(TIMESTAMP_FILE));
        let without: Vec<String> = env
            .iter()
            .filter(|e| !e.starts_with("LD_PRELOAD="))
            .cloned()
            .collect();
        assert_eq!(timestamp_file(&without), None);
        assert_eq!(timestamp_file(&["FAKETIME_TIMESTAMP_FILE=/t".into()]), None);
    }

    #[test]
    fn offsets_are_signed_seconds() {
        assert_eq!(offset_text(600), "+600\n");
        assert_eq!(offset_text(-600), "-600\n");
        assert_eq!(offset_text(0), "+0\n");
    }
}
