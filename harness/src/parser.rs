//! Reading feature files: every `*.feature` under the given paths, in path order.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cucumber::feature::Ext as _;
use cucumber::gherkin::{self, GherkinEnv};
use futures::stream;

/// A cucumber parser over several files or directories.
#[derive(Debug, Clone, Copy, Default)]
pub struct FeatureFiles;

/// Every `*.feature` file under `paths` (files are taken as given), sorted, deduplicated.
pub fn feature_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, gherkin::ParseFileError> {
    let mut out = vec![];
    for p in paths {
        if p.is_file() {
            out.push(p.clone());
        } else if p.is_dir() {
            collect(p, &mut out).map_err(|source| gherkin::ParseFileError::Reading {
                path: p.clone(),
                source,
            })?;
        } else {
            return Err(gherkin::ParseFileError::Reading {
                path: p.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such file or directory",
                ),
            });
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("feature"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Parses one file and expands its scenario outlines.
pub fn parse_file(path: &Path) -> cucumber::parser::Result<gherkin::Feature> {
    let feature = gherkin::Feature::parse_path(path, GherkinEnv::default())
        .map_err(|e| cucumber::parser::Error::Parsing(Arc::new(e)))?;
    feature
        .expand_examples()
        .map_err(|e| cucumber::parser::Error::ExampleExpansion(Arc::new(e)))
}

/// Parses every feature under `paths`.
pub fn parse_all(paths: &[PathBuf]) -> Vec<cucumber::parser::Result<gherkin::Feature>> {
    match feature_paths(paths) {
        Ok(files) => files.iter().map(|f| parse_file(f)).collect(),
        Err(e) => vec![Err(cucumber::parser::Error::Parsing(Arc::new(e)))],
    }
}

impl cucumber::Parser<Vec<PathBuf>> for FeatureFiles {
    type Cli = cucumber::cli::Empty;
    type Output = stream::Iter<std::vec::IntoIter<cucumber::parser::Result<gherkin::Feature>>>;

    fn parse(self, input: Vec<PathBuf>, _: Self::Cli) -> Self::Output {
        stream::iter(parse_all(&input))
    }
}

/// A parse error with its whole cause chain (the line and column are in the causes).
pub fn describe_error(e: &cucumber::parser::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}
