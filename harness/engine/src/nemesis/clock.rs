//! Clock skew on one container: its processes see the wall clock moved ahead or behind
//! (monotonic clocks are left alone, so timers and timeouts still work), as on a machine
//! whose NTP went wrong. Works on any container started with libfaketime preloaded
//! ([`crate::topology::faketime`]): [`skew`] writes the offset into the container's
//! timestamp file through the Docker API (no shell needed in the container), every
//! process re-reads it on each clock read, and the heal sets it back to `+0`. The step
//! is `steps::clock`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use testcontainers::bollard::query_parameters::{
    InspectContainerOptions, UploadToContainerOptions,
};

use super::{NemesisError, container};
use crate::clients::exec;
use crate::context::RunContext;
use crate::topology::faketime;
use crate::wait;

/// How far the clock a container reports may be from the one asked for (seconds): the
/// check runs `date` in the container, a process start and a round trip on a loaded
/// machine.
const TOLERANCE_SECS: i64 = 15;

/// The container's timestamp file, from its environment: a container started without
/// libfaketime preloaded cannot have its clock skewed, and says so.
async fn timestamp_file(ctx: &RunContext, component: &str) -> Result<String, NemesisError> {
    let id = container(ctx, component)?;
    let info = ctx
        .docker
        .inspect_container(&id, None::<InspectContainerOptions>)
        .await
        .map_err(|cause| NemesisError::InspectFor {
            component: component.to_string(),
            cause,
        })?;
    let env = info.config.and_then(|c| c.env).unwrap_or_default();
    faketime::timestamp_file(&env).ok_or_else(|| NemesisError::NoFaketime {
        component: component.to_string(),
    })
}

/// A tar archive holding one regular file `name` with `content` (ustar, mode 0644).
fn tar_one(name: &str, content: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    header[..name.len()].copy_from_slice(name.as_bytes());
    let octal = |field: &mut [u8], value: u64| {
        let text = format!("{value:0width$o}\0", width = field.len() - 1);
        field.copy_from_slice(text.as_bytes());
    };
    octal(&mut header[100..108], 0o644);
    octal(&mut header[108..116], 0);
    octal(&mut header[116..124], 0);
    octal(&mut header[124..136], content.len() as u64);
    let mtime = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    octal(&mut header[136..148], mtime);
    header[156] = b'0';
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    // The checksum is computed with its own field as spaces.
    header[148..156].copy_from_slice(b"        ");
    let sum: u64 = header.iter().map(|&b| u64::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut tar = header.to_vec();
    tar.extend_from_slice(content);
    tar.resize(tar.len().div_ceil(512) * 512, 0);
    // Two zero blocks end the archive.
    tar.resize(tar.len() + 1024, 0);
    tar
}

/// The wall clock inside `component`'s container `id` (seconds since the epoch), read by
/// running `date +%s` there: a new process, which sees the timestamp file as it is now.
async fn clock_in(ctx: &RunContext, id: &str, component: &str) -> Result<i64, NemesisError> {
    let docker = ctx.docker.clone();
    let cmd = ["date".to_string(), "+%s".into()];
    let run = exec::run(&docker, id, component, &cmd)
        .await
        .map_err(|e| NemesisError::Exec(Box::new(e)))?;
    // libfaketime may warn before date prints (on stderr); the time is stdout's last line.
    run.stdout
        .lines()
        .filter_map(|l| l.trim().parse::<i64>().ok())
        .next_back()
        .ok_or_else(|| NemesisError::ClockUnreadable {
            command: exec::shown(&cmd),
            component: component.to_string(),
            stdout: run.stdout.clone(),
            exit_code: run.exit_code,
            stderr: run.stderr.clone(),
        })
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Sets the container's clock offset to `offset_secs` and waits until a process in it
/// sees it.
pub async fn skew(ctx: &RunContext, component: &str, offset_secs: i64) -> Result<(), NemesisError> {
    let file = timestamp_file(ctx, component).await?;
    let (dir, name) = file
        .rsplit_once('/')
        .filter(|(_, n)| !n.is_empty())
        .ok_or_else(|| NemesisError::NotAbsolute { file: file.clone() })?;
    let dir = if dir.is_empty() { "/" } else { dir };
    let id = container(ctx, component)?;
    let docker = ctx.docker.clone();
    let tar = tar_one(name, faketime::offset_text(offset_secs).as_bytes());
    docker
        .upload_to_container(
            &id,
            Some(UploadToContainerOptions {
                path: dir.to_string(),
                ..Default::default()
            }),
            testcontainers::bollard::body_full(tar.into()),
        )
        .await
        .map_err(|cause| NemesisError::Upload {
            file: file.clone(),
            component: component.to_string(),
            cause,
        })?;
    wait::until(Duration::from_secs(10), || {
        let id = id.clone();
        async move {
            let seen = clock_in(ctx, &id, component).await? - now_secs();
            if (seen - offset_secs).abs() <= TOLERANCE_SECS {
                Ok(Some(()))
            } else {
                Err(NemesisError::ClockOff(seen))
            }
        }
    })
    .await
    .map_err(|waited| NemesisError::ClockDidNotMove {
        component: component.to_string(),
        offset: offset_secs,
        waited,
    })
}

/// The largest clock skew a step applies, in seconds: about 100 years, far inside what
/// the arithmetic and libfaketime can hold.
pub(crate) const MAX_SKEW_SECONDS: u64 = 100 * 366 * 24 * 3600;

/// The offset in seconds of a clock `amount` `unit`s `direction` (`ahead` or `behind`),
/// or why it cannot be applied (beyond `MAX_SKEW_SECONDS`).
pub fn skew_seconds(amount: i64, unit: &str, direction: &str) -> Result<i64, NemesisError> {
    let unit_secs: i64 = match unit.trim_end_matches('s') {
        "second" => 1,
        "minute" => 60,
        _ => 3600,
    };
    let sign = if direction == "ahead" { 1 } else { -1 };
    amount
        .checked_mul(unit_secs)
        .and_then(|o| o.checked_mul(sign))
        .filter(|o| o.unsigned_abs() <= MAX_SKEW_SECONDS)
        .ok_or_else(|| NemesisError::TooFar {
            amount,
            unit: unit.to_string(),
            direction: direction.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_holds_one_file_with_a_valid_header() {
        let tar = tar_one("qalens-faketime", b"+600\n");
        assert_eq!(tar.len(), 512 + 512 + 1024);
        assert_eq!(&tar[..15], b"qalens-faketime");
        assert_eq!(&tar[124..136], b"00000000005\0");
        assert_eq!(&tar[257..263], b"ustar\0");
        assert_eq!(&tar[512..517], b"+600\n");
        // The checksum: the header's bytes with the checksum field as spaces.
        let mut blank = tar[..512].to_vec();
        blank[148..156].copy_from_slice(b"        ");
        let sum: u64 = blank.iter().map(|&b| u64::from(b)).sum();
        let field = std::str::from_utf8(&tar[148..154]).unwrap();
        assert_eq!(u64::from_str_radix(field, 8).unwrap(), sum);
        assert!(tar[1024..].iter().all(|&b| b == 0));
    }

    #[test]
    fn a_huge_skew_is_an_error_not_an_overflow() {
        assert_eq!(skew_seconds(2, "hours", "behind").unwrap(), -7200);
        assert_eq!(skew_seconds(90, "seconds", "ahead").unwrap(), 90);
        let e = skew_seconds(i64::MAX, "hours", "ahead").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "a clock {} hours ahead is too far: at most {MAX_SKEW_SECONDS} seconds (about 100 \
                 years) either way",
                i64::MAX
            )
        );
        assert!(skew_seconds(1_000_000, "hours", "behind").is_err());
    }
}
