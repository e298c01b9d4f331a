//! Reading feature files: every `*.feature` under the given paths, in path order or, with
//! a seed, in a shuffled order (features, rules and scenarios) that the seed repeats.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cucumber::feature::Ext as _;
use cucumber::gherkin::{self, GherkinEnv};
use cucumber::tag::Ext as _;
use futures::stream;

/// A cucumber parser over several files or directories.
#[derive(Debug, Clone, Copy, Default)]
pub struct FeatureFiles {
    /// Shuffle the features, rules and scenarios with this seed; `None` keeps path and
    /// file order.
    pub shuffle: Option<u64>,
}

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

/// Whether a scenario's tags (its own, its rule's and its feature's) match `tags`.
pub fn matches_tags(
    tags: Option<&cucumber::gherkin::tagexpr::TagOperation>,
    feature: &gherkin::Feature,
    rule: Option<&gherkin::Rule>,
    scenario: &gherkin::Scenario,
) -> bool {
    tags.is_none_or(|t| {
        t.eval(
            feature
                .tags
                .iter()
                .chain(rule.iter().flat_map(|r| &r.tags))
                .chain(scenario.tags.iter()),
        )
    })
}

/// SplitMix64: a small, well-mixed generator, enough to shuffle reproducibly.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Fisher-Yates.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Shuffles the order of `features`, and of the rules and scenarios inside each, as
/// `seed` decides: the same seed gives the same order.
pub fn shuffle(features: &mut [cucumber::parser::Result<gherkin::Feature>], seed: u64) {
    let mut rng = SplitMix64(seed);
    rng.shuffle(features);
    for feature in features.iter_mut().flatten() {
        rng.shuffle(&mut feature.scenarios);
        rng.shuffle(&mut feature.rules);
        for rule in &mut feature.rules {
            rng.shuffle(&mut rule.scenarios);
        }
    }
}

impl cucumber::Parser<Vec<PathBuf>> for FeatureFiles {
    type Cli = cucumber::cli::Empty;
    type Output = stream::Iter<std::vec::IntoIter<cucumber::parser::Result<gherkin::Feature>>>;

    fn parse(self, input: Vec<PathBuf>, _: Self::Cli) -> Self::Output {
        let mut features = parse_all(&input);
        if let Some(seed) = self.shuffle {
            shuffle(&mut features, seed);
        }
        stream::iter(features)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn names(features: &[cucumber::parser::Result<gherkin::Feature>]) -> Vec<String> {
        features
            .iter()
            .flatten()
            .flat_map(|f| {
                f.scenarios
                    .iter()
                    .map(move |s| format!("{} / {}", f.name, s.name))
            })
            .collect()
    }

    #[test]
    fn a_seed_repeats_its_order_and_every_scenario_stays() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../features");
        let path_order = names(&parse_all(std::slice::from_ref(&dir)));
        let shuffled = |seed| {
            let mut f = parse_all(std::slice::from_ref(&dir));
            shuffle(&mut f, seed);
            names(&f)
        };
        assert_eq!(shuffled(7), shuffled(7), "a seed repeats its order");
        assert_ne!(shuffled(7), shuffled(8), "another seed, another order");
        assert_ne!(shuffled(7), path_order, "the order is shuffled");
        let (mut a, mut b) = (shuffled(7), path_order.clone());
        a.sort();
        b.sort();
        assert_eq!(a, b, "shuffling loses and repeats nothing");
    }
}
