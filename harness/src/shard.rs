//! `qalens run --shard K/N`: a deterministic share of the scenarios, so N CI runners, each
//! with its own topology, together run exactly the suite.
//!
//! Every scenario has a key, `path:line` (the feature file's path relative to the
//! working directory, the scenario's line; an outline's examples each have their own
//! line). Without durations the keys are sorted and dealt round-robin, so shard sizes
//! differ by at most one. With a JUnit report of an earlier run (`--shard-durations`),
//! the longest scenarios are placed first, each on the shard with the least time so far
//! (ties to the lowest shard); scenarios the report does not know count as its median.
//! The same scenarios and the same report give the same split on every machine.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Shard `index` (1-based) of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub(crate) index: usize,
    pub(crate) total: usize,
}

/// A `--shard` value that is not `K/N` with 1 <= K <= N.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--shard {0:?} must be K/N with 1 <= K <= N, e.g. 2/4")]
pub struct BadShard(String);

impl std::str::FromStr for Shard {
    type Err = BadShard;

    fn from_str(s: &str) -> Result<Self, BadShard> {
        let bad = || BadShard(s.to_string());
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let total: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || total == 0 || index > total {
            return Err(bad());
        }
        Ok(Self { index, total })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

/// A scenario's key: `path:line`, the path relative to the working directory.
pub(crate) fn key(path: Option<&Path>, line: usize) -> String {
    let path = path.map(relative).unwrap_or_default();
    format!("{path}:{line}")
}

fn relative(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    let rel = cwd
        .as_deref()
        .and_then(|c| path.strip_prefix(c).ok())
        .unwrap_or(path);
    rel.to_string_lossy().replace('\\', "/")
}

/// The key of every scenario under `paths` that `tags` selects (files that do not parse
/// are left out: the run reports them anyway).
pub(crate) fn scenario_keys(
    paths: &[std::path::PathBuf],
    tags: Option<&cucumber::gherkin::tagexpr::TagOperation>,
) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for feature in qalens_model::features::parse_all(paths)
        .into_iter()
        .flatten()
    {
        let rules = feature
            .rules
            .iter()
            .flat_map(|r| r.scenarios.iter().map(move |s| (Some(r), s)));
        for (rule, scenario) in feature.scenarios.iter().map(|s| (None, s)).chain(rules) {
            if qalens_model::features::matches_tags(tags, &feature, rule, scenario) {
                all.insert(key(feature.path.as_deref(), scenario.position.line));
            }
        }
    }
    all
}

/// Splits `keys` into `total` shards; returns the keys of each, shard 1 first.
pub(crate) fn plan(
    keys: &BTreeSet<String>,
    total: usize,
    durations: &BTreeMap<String, f64>,
) -> Vec<BTreeSet<String>> {
    let total = total.max(1);
    let mut shards = vec![BTreeSet::new(); total];
    let known: Vec<f64> = keys
        .iter()
        .filter_map(|k| durations.get(k))
        .copied()
        .collect();
    if known.is_empty() {
        for (i, k) in keys.iter().enumerate() {
            shards[i % total].insert(k.clone());
        }
        return shards;
    }
    let median = {
        let mut sorted = known;
        sorted.sort_by(f64::total_cmp);
        sorted[sorted.len() / 2]
    };
    let mut weighted: Vec<(f64, &String)> = keys
        .iter()
        .map(|k| (durations.get(k).copied().unwrap_or(median), k))
        .collect();
    // Longest first; equal durations in key order, so the plan is the same everywhere.
    weighted.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let mut load = vec![0.0_f64; total];
    for (d, k) in weighted {
        let lightest = (0..total)
            .min_by(|a, b| load[*a].total_cmp(&load[*b]).then(a.cmp(b)))
            .unwrap_or(0);
        load[lightest] += d;
        shards[lightest].insert(k.clone());
    }
    shards
}

/// Scenario durations in seconds by key, from a JUnit report cucumber wrote (test case
/// names end in `path:line:column`).
pub(crate) fn durations_from_junit(xml: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for case in xml.split("<testcase").skip(1) {
        let head = case.split('>').next().unwrap_or_default();
        let (Some(name), Some(time)) = (attribute(head, "name"), attribute(head, "time")) else {
            continue;
        };
        let Ok(seconds) = time.parse::<f64>() else {
            continue;
        };
        // `...: path:line:col`: drop the column, keep `path:line` after the last ": ".
        let Some((rest, _col)) = name.rsplit_once(':') else {
            continue;
        };
        let location = rest.rsplit_once(": ").map_or(rest, |(_, l)| l);
        out.insert(location.to_string(), seconds);
    }
    out
}

/// The unescaped value of `name="..."` in a tag's attributes.
fn attribute(head: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = head.find(&needle)? + needle.len();
    let end = start + head[start..].find('"')?;
    Some(
        head[start..end]
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize) -> BTreeSet<String> {
        (1..=n)
            .map(|i| format!("features/f{}.feature:{i}", i % 4))
            .collect()
    }

    fn union_is_exactly(shards: &[BTreeSet<String>], all: &BTreeSet<String>) {
        let mut seen = BTreeSet::new();
        for s in shards {
            for k in s {
                assert!(seen.insert(k.clone()), "{k} is in two shards");
            }
        }
        assert_eq!(&seen, all);
    }

    #[test]
    fn shards_parse_and_bad_ones_are_refused() {
        assert_eq!("2/4".parse(), Ok(Shard { index: 2, total: 4 }));
        assert_eq!("1/1".parse::<Shard>().unwrap().to_string(), "1/1");
        for bad in ["0/3", "4/3", "1/0", "3", "a/b", "", "1/2/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn by_count_the_shards_partition_the_suite_and_differ_by_at_most_one() {
        let all = keys(49);
        for total in 1..=7 {
            let shards = plan(&all, total, &BTreeMap::new());
            assert_eq!(shards.len(), total);
            union_is_exactly(&shards, &all);
            let sizes: Vec<usize> = shards.iter().map(BTreeSet::len).collect();
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(max - min <= 1, "{sizes:?}");
            assert!(*min > 0 || total > all.len(), "{sizes:?}");
        }
    }

    #[test]
    fn by_duration_the_long_scenarios_are_spread_and_the_plan_is_stable() {
        let all = keys(10);
        let mut durations = BTreeMap::new();
        let long: Vec<&String> = all.iter().take(2).collect();
        for k in &all {
            durations.insert(k.clone(), 1.0);
        }
        durations.insert(long[0].clone(), 20.0);
        durations.insert(long[1].clone(), 19.0);
        // One scenario the report does not know: it counts as the median (1 s).
        durations.remove(all.iter().last().unwrap());
        let shards = plan(&all, 2, &durations);
        union_is_exactly(&shards, &all);
        assert!(shards[0].contains(long[0]) != shards[0].contains(long[1]));
        let load = |s: &BTreeSet<String>| -> f64 {
            s.iter()
                .map(|k| durations.get(k).copied().unwrap_or(1.0))
                .sum()
        };
        assert!((load(&shards[0]) - load(&shards[1])).abs() <= 1.0 + f64::EPSILON);
        assert_eq!(plan(&all, 2, &durations), shards);
    }

    #[test]
    fn junit_durations_are_read_by_location() {
        let xml = r#"<testsuites><testsuite name="x">
<testcase name="Scenario: A &quot;quoted&quot; one: features/a.feature:12:5" time="1.25"></testcase>
<testcase name="Rule: r: Scenario: B: c: features/b.feature:40:3" time="0.5"/>
<testcase name="no location" time="3"/>
</testsuite></testsuites>"#;
        let d = durations_from_junit(xml);
        assert_eq!(d.get("features/a.feature:12"), Some(&1.25));
        assert_eq!(d.get("features/b.feature:40"), Some(&0.5));
        assert_eq!(d.len(), 2, "{d:?}");
    }
}
