//! Builds the image of a service with `build:` through the Docker engine's build API
//! (the classic builder, which uses a `FROM` image the engine has and pulls only one it
//! lacks), from the context the model walked ([`qalens_model::system::build`]). The image
//! is tagged by the digest of that context, so a second run finds it and builds nothing.
//!
//! A failed build is a [`SystemError`] at the service's `build` key, naming the
//! Dockerfile's line of the instruction that failed and the engine's last output.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use futures::StreamExt as _;
use testcontainers::bollard::Docker;
use testcontainers::bollard::query_parameters::BuildImageOptionsBuilder;

use qalens_model::system::build::{Build, EntryKind};
use qalens_model::system::{ErrorKind, Service, System, SystemError};

/// How long one build may take.
const BUILD_DEADLINE: Duration = Duration::from_secs(600);
/// How many of the build's last output lines a failure quotes.
const QUOTED_LINES: usize = 6;

/// Builds `service`'s image (`service.build` must be set) and tags it `service.image`.
pub(super) async fn build(
    docker: &Docker,
    system: &System,
    service: &Service,
    build: &Build,
) -> Result<(), SystemError> {
    let image = service.image.to_string();
    let failed = |why: String| {
        let err = SystemError::new(
            &system.file,
            ErrorKind::BuildFailed {
                image: image.clone(),
                why,
            },
        )
        .service(&service.name)
        .key("build");
        match qalens_model::input::read_text(&system.file, qalens_model::input::MAX_TEXT_BYTES) {
            Ok(text) => err.locate_in(&text),
            Err(_) => err,
        }
    };
    let archive = archive(build).await.map_err(&failed)?;
    let args: HashMap<String, String> = build.args.clone().into_iter().collect();
    let options = BuildImageOptionsBuilder::new()
        .dockerfile(&build.dockerfile)
        .t(&image)
        .buildargs(&args)
        .rm(true)
        .forcerm(true)
        .build();
    let mut output: Vec<String> = vec![];
    let run = async {
        let mut stream = docker.build_image(
            options,
            None,
            Some(testcontainers::bollard::body_full(archive.into())),
        );
        while let Some(step) = stream.next().await {
            match step {
                Ok(info) => {
                    if let Some(text) = info.stream {
                        output.extend(text.lines().map(str::to_string));
                    }
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    };
    let outcome = tokio::time::timeout(BUILD_DEADLINE, run).await;
    let dockerfile = build.context.join(&build.dockerfile);
    let why = match outcome {
        Ok(Ok(())) if docker.inspect_image(&image).await.is_ok() => return Ok(()),
        Ok(Ok(())) => "the build finished without the image".to_string(),
        Ok(Err(e)) => e,
        Err(_) => format!("the build took over {BUILD_DEADLINE:?}"),
    };
    Err(failed(explain(&dockerfile, &output, &why)))
}

/// The failure as a reader wants it: the Dockerfile's line of the step that failed (the
/// last `Step N/M` the engine printed), the engine's error, the last lines of output, and
/// a hint when the base image is missing (no registry is reached).
fn explain(dockerfile: &Path, output: &[String], why: &str) -> String {
    let text = std::fs::read_to_string(dockerfile).unwrap_or_default();
    let step = output.iter().rev().find_map(|l| {
        let rest = l.trim().strip_prefix("Step ")?;
        let (n, rest) = rest.split_once('/')?;
        let (_, instruction) = rest.split_once(" : ")?;
        Some((n.parse::<usize>().ok()?, instruction.to_string()))
    });
    let why = why.strip_prefix("Docker stream error: ").unwrap_or(why);
    let mut out =
        match step.and_then(|(n, i)| Some((instruction_lines(&text).get(n - 1)?.to_owned(), i))) {
            Some((line, instruction)) => {
                format!("{}:{line}: {instruction}: {why}", dockerfile.display())
            }
            None => format!("{}: {why}", dockerfile.display()),
        };
    let last: Vec<String> = output
        .iter()
        .map(|l| without_colours(l).trim().to_string())
        .filter(|l| {
            !l.is_empty()
                && ![
                    "---> ",
                    "Step ",
                    "Removing intermediate container",
                    "Running in ",
                ]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    let tail = &last[last.len().saturating_sub(QUOTED_LINES)..];
    if !tail.is_empty() {
        out.push_str(&format!(" (last output: {})", tail.join(" | ")));
    }
    if why.contains("pull access denied")
        || why.contains("manifest unknown")
        || why.contains("repository does not exist")
        || why.contains("no such host")
    {
        out.push_str(
            "; the FROM image must be one this Docker engine already has: qalens reaches no \
             registry (pass it as a build argument, as the examples do with \
             ${QALENS_RUNTIME_IMAGE})",
        );
    }
    out
}

/// `line` without the terminal colour codes (`ESC [ ... m`) the engine wraps a step's
/// stderr in.
fn without_colours(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The 1-based line on which each instruction of a Dockerfile starts, in order: blank
/// lines, comments and continuation lines (after a trailing `\`) start none.
fn instruction_lines(text: &str) -> Vec<usize> {
    let mut lines = vec![];
    let mut continued = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        // Inside a continuation, comments and blank lines are dropped and it goes on.
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if !continued {
            lines.push(i + 1);
        }
        continued = trimmed.ends_with('\\');
    }
    lines
}

/// The build context as the tar archive the engine's build API takes: every entry the
/// model walked, with its mode, owned by root and dated 0 so the archive depends on the
/// content alone.
async fn archive(build: &Build) -> Result<Vec<u8>, String> {
    use tokio_tar::{EntryType, Header};
    let entries = build.entries()?;
    let mut tar = tokio_tar::Builder::new(Vec::new());
    let broken = |e: std::io::Error| format!("the build context could not be archived: {e}");
    for entry in entries {
        let mut header = Header::new_gnu();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        match &entry.kind {
            EntryKind::Dir => {
                header.set_entry_type(EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                tar.append_data(&mut header, &entry.path, &[][..])
                    .await
                    .map_err(broken)?;
            }
            EntryKind::Symlink { target } => {
                header.set_entry_type(EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                header.set_link_name(target).map_err(broken)?;
                tar.append_data(&mut header, &entry.path, &[][..])
                    .await
                    .map_err(broken)?;
            }
            EntryKind::File { mode, .. } => {
                let content = tokio::fs::read(build.context.join(&entry.path))
                    .await
                    .map_err(|e| format!("{} cannot be read: {e}", entry.path))?;
                header.set_entry_type(EntryType::Regular);
                header.set_mode(*mode);
                header.set_size(content.len() as u64);
                tar.append_data(&mut header, &entry.path, &content[..])
                    .await
                    .map_err(broken)?;
            }
        }
    }
    tar.into_inner().await.map_err(broken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_instruction_is_found_on_its_first_line() {
        let dockerfile = "# syntax=docker/dockerfile:1\n\
                          ARG BASE\n\
                          FROM ${BASE}\n\
                          \n\
                          # modules\n\
                          RUN a2enmod proxy \\\n\
                          \x20   # a comment inside\n\
                          \x20   headers\n\
                          COPY conf /etc/apache2\n";
        assert_eq!(instruction_lines(dockerfile), [2, 3, 6, 9]);
    }

    #[test]
    fn a_failed_step_is_named_at_its_dockerfile_line_with_the_last_output() {
        let dir = std::env::temp_dir().join(format!("qalens-explain-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dockerfile = dir.join("Dockerfile");
        std::fs::write(
            &dockerfile,
            "ARG BASE\nFROM ${BASE}\n\nRUN a2enmod nothing\n",
        )
        .unwrap();
        let output: Vec<String> = [
            "Step 1/3 : ARG BASE",
            "Step 2/3 : FROM qalens-base:1",
            " ---> 1234",
            "Step 3/3 : RUN a2enmod nothing",
            " ---> Running in 5678",
            "\u{1b}[91mERROR: Module nothing does not exist!",
            "\u{1b}[0m",
            "Removing intermediate container 5678",
        ]
        .map(str::to_string)
        .to_vec();
        let why = "The command '/bin/sh -c a2enmod nothing' returned a non-zero code: 1";
        assert_eq!(
            explain(&dockerfile, &output, &format!("Docker stream error: {why}")),
            format!(
                "{}:4: RUN a2enmod nothing: {why} (last output: ERROR: Module nothing does \
                 not exist!)",
                dockerfile.display()
            )
        );
        let missing = explain(
            &dockerfile,
            &output[..2],
            "pull access denied for nowhere, repository does not exist",
        );
        assert!(missing.starts_with(&format!("{}:2: FROM qalens-base:1", dockerfile.display())));
        assert!(missing.contains("the FROM image must be one this Docker engine already has"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
