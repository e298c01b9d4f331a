//! What a failed count over a batch of requests shows: how the batch split over the
//! gateway replicas (a count each replica keeps on its own shows as each replica granting
//! up to the limit), and which exchange of it is worth reading (the first one past the
//! limit, or the first refusal), not an arbitrary one.

use crate::world::Exchange;

/// The gateway replica (1-based) `e` went to straight, by its URL; `None` for the front
/// door. `replicas` are the replicas' base URLs, replica 1 first.
pub(crate) fn replica_of(replicas: &[String], e: &Exchange) -> Option<usize> {
    replicas
        .iter()
        .position(|base| {
            e.url
                .strip_prefix(base.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
        })
        .map(|i| i + 1)
}

/// How many requests went to each gateway replica and how many of those `matched`, in
/// replica order; `None` unless every exchange of `batch` went straight to a replica.
/// `replicas` are the replicas' base URLs (`http://host:port`), replica 1 first.
pub(crate) fn per_replica(
    replicas: &[String],
    batch: &[Exchange],
    matched: impl Fn(&Exchange) -> bool,
) -> Option<Vec<(usize, usize)>> {
    if replicas.is_empty() || batch.is_empty() {
        return None;
    }
    let mut split = vec![(0, 0); replicas.len()];
    for e in batch {
        let k = replica_of(replicas, e)? - 1;
        split[k].0 += 1;
        if matched(e) {
            split[k].1 += 1;
        }
    }
    Some(split)
}

/// `4/4/4 per replica (of 4/4/4 sent)`, and, when `limit` is given and the replicas
/// together let more through than it although none did on its own, what that points at.
pub(crate) fn describe_split(split: &[(usize, usize)], limit: Option<usize>) -> String {
    let join = |f: fn(&(usize, usize)) -> usize| {
        split
            .iter()
            .map(f)
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join("/")
    };
    let mut out = format!("{} per replica (of {} sent)", join(|s| s.1), join(|s| s.0));
    let total: usize = split.iter().map(|s| s.1).sum();
    if let Some(limit) = limit
        && split.len() > 1
        && total > limit
        && split.iter().all(|s| s.1 <= limit)
        && split.iter().filter(|s| s.1 > 0).count() > 1
    {
        out.push_str(&format!(
            "; no replica let more than {limit} through on its own, together they let \
             {total}: each replica keeps a count of its own (a per-instance counter), not one \
             count shared by all"
        ));
    }
    out
}

/// The exchange of `batch` worth showing when exactly `n` should have `matched`: with
/// more, the `n + 1`-th that did (the first one past the limit); with fewer, the first
/// that did not (the first refusal).
pub(crate) fn sample(
    batch: &[Exchange],
    n: usize,
    matched: impl Fn(&Exchange) -> bool,
) -> Option<&Exchange> {
    let seen = batch.iter().filter(|e| matched(e)).count();
    if seen > n {
        batch.iter().filter(|e| matched(e)).nth(n)
    } else {
        batch.iter().find(|e| !matched(e)).or(batch.last())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(base: &str, status: u16) -> Exchange {
        Exchange {
            headers: vec![("x-n".into(), status.to_string())],
            ..Exchange::get_answered(format!("{base}/limited/x"), status)
        }
    }

    const R: [&str; 3] = ["http://h:1", "http://h:2", "http://h:3"];

    fn replicas() -> Vec<String> {
        R.iter().map(|s| s.to_string()).collect()
    }

    /// 12 round-robin requests, all granted: 4/4/4, which points at per-instance counts.
    #[test]
    fn a_round_robin_batch_splits_per_replica_and_names_per_instance_counts() {
        let batch: Vec<Exchange> = (0..12).map(|i| answer(R[i % 3], 200)).collect();
        let split = per_replica(&replicas(), &batch, |e| e.status == 200).unwrap();
        assert_eq!(split, [(4, 4), (4, 4), (4, 4)]);
        let shown = describe_split(&split, Some(5));
        assert!(shown.starts_with("4/4/4 per replica (of 4/4/4 sent); no replica let more than 5 through on its own, together they let 12: each replica keeps a count of its own"), "{shown}");
        // One replica granting more than the limit on its own is not that.
        assert_eq!(
            describe_split(&[(12, 12), (0, 0), (0, 0)], Some(5)),
            "12/0/0 per replica (of 12/0/0 sent)"
        );
    }

    /// A burst of 30: 5 granted per replica, and the sample is the sixth grant.
    #[test]
    fn a_burst_shows_the_first_grant_past_the_limit_or_the_first_refusal() {
        let mut batch = vec![];
        for i in 0..30 {
            let granted = i / 3 < 5;
            batch.push(answer(R[i % 3], if granted { 200 } else { 429 }));
        }
        let split = per_replica(&replicas(), &batch, |e| e.status == 200).unwrap();
        assert_eq!(split, [(10, 5), (10, 5), (10, 5)]);
        assert!(
            describe_split(&split, Some(5)).starts_with("5/5/5 per replica (of 10/10/10 sent); ")
        );
        let ok = |e: &Exchange| e.status == 200;
        let sixth = sample(&batch, 5, ok).unwrap();
        assert!(std::ptr::eq(sixth, &batch[5]), "the sixth grant, not a 429");
        // Fewer than expected: the first refusal.
        let first_refusal = sample(&batch, 20, ok).unwrap();
        assert!(std::ptr::eq(first_refusal, &batch[15]));
        // Not all to replicas (the front door): no split.
        let mut mixed = batch.clone();
        mixed[0].url = "http://front:9/limited/x".into();
        assert_eq!(per_replica(&replicas(), &mixed, ok), None);
    }
}
