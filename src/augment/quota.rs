//! Strata quotas for an augmentation run.
//!
//! A run asks for `n` items over several axes (from the pack: site, age
//! group, severity, sex; plus the item category and the patient's intent).
//! The full grid is far larger than a run (6 × 5 × 5 × 3 × 4 × 5 = 9 000
//! cells for hyperhidrosis), so balance is sought on each axis's marginal
//! counts: **least-filled value per axis**. For each new item and each axis,
//! the value with the fewest items so far (counting the pool the run starts
//! from, so a resumed or follow-up run fills what is missing) is chosen;
//! ties are broken by a seeded shuffle, drawn per item and axis, so that
//! combinations vary and the same seed always gives the same plan. Starting
//! from an empty pool, each axis's counts then differ by at most one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::stats::rng::splitmix64;

/// One axis of the strata: its name and its values, in pack order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaAxis {
    /// The axis, e.g. `site`.
    pub name: String,
    /// Its values, e.g. `axillary`, `palmar`, ….
    pub values: Vec<String>,
}

/// The stratum of one item: a value for each axis.
pub type Cell = BTreeMap<String, String>;

/// Counts per value of each axis over `cells`; values a cell does not
/// name, or that are not in the axis, are not counted.
fn counts(axes: &[QuotaAxis], cells: &[Cell]) -> Vec<Vec<u64>> {
    axes.iter()
        .map(|a| {
            a.values
                .iter()
                .map(|v| cells.iter().filter(|c| c.get(&a.name) == Some(v)).count() as u64)
                .collect()
        })
        .collect()
}

/// The strata of the next `n` items of a run over `axes`, given the cells
/// already in the pool (`existing`), by the least-filled rule described in
/// the module documentation. Axes without values are left out of the cells.
pub fn plan(axes: &[QuotaAxis], existing: &[Cell], n: usize, seed: u64) -> Vec<Cell> {
    let mut filled = counts(axes, existing);
    let mut state = seed;
    (0..n)
        .map(|_| {
            let mut cell = Cell::new();
            for (a, counts) in axes.iter().zip(filled.iter_mut()) {
                let Some(&least) = counts.iter().min() else {
                    continue;
                };
                let tied: Vec<usize> = (0..counts.len()).filter(|&i| counts[i] == least).collect();
                let pick = tied[(splitmix64(&mut state) % tied.len() as u64) as usize];
                counts[pick] += 1;
                cell.insert(a.name.clone(), a.values[pick].clone());
            }
            cell
        })
        .collect()
}

/// The counts of one axis and how balanced they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AxisBalance {
    /// The axis.
    pub axis: String,
    /// Items per value, in pack order (values with none included).
    pub counts: Vec<(String, u64)>,
    /// Largest count over smallest; `None` when a value has no item (the
    /// ratio is unbounded) or there are no items.
    pub ratio: Option<f64>,
}

/// Counts per value of every axis over `cells`, with each axis's
/// largest-to-smallest ratio.
pub fn balance(axes: &[QuotaAxis], cells: &[Cell]) -> Vec<AxisBalance> {
    axes.iter()
        .zip(counts(axes, cells))
        .map(|(a, c)| {
            let (min, max) = (c.iter().min().copied(), c.iter().max().copied());
            AxisBalance {
                axis: a.name.clone(),
                counts: a.values.iter().cloned().zip(c).collect(),
                ratio: match (min, max) {
                    (Some(min), Some(max)) if min > 0 => Some(max as f64 / min as f64),
                    _ => None,
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axes() -> Vec<QuotaAxis> {
        let axis = |name: &str, values: &[&str]| QuotaAxis {
            name: name.into(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        };
        vec![
            axis(
                "site",
                &[
                    "axillary",
                    "palmar",
                    "plantar",
                    "craniofacial",
                    "generalized",
                    "multiple",
                ],
            ),
            axis(
                "age_group",
                &["child", "adolescent", "young_adult", "adult", "older_adult"],
            ),
            axis("severity", &["hdss1", "hdss2", "hdss3", "hdss4", "unknown"]),
            axis("sex", &["female", "male", "unspecified"]),
            axis(
                "intent",
                &[
                    "diagnosis",
                    "treatment_options",
                    "side_effects",
                    "daily_coping",
                    "psychological_support",
                ],
            ),
        ]
    }

    #[test]
    fn every_axis_is_balanced_to_within_one() {
        for n in [1, 7, 30, 97, 500] {
            let cells = plan(&axes(), &[], n, 42);
            assert_eq!(cells.len(), n);
            for b in balance(&axes(), &cells) {
                let c: Vec<u64> = b.counts.iter().map(|(_, k)| *k).collect();
                let (min, max) = (c.iter().min().unwrap(), c.iter().max().unwrap());
                assert!(max - min <= 1, "n = {n}, {}: {c:?}", b.axis);
                assert_eq!(c.iter().sum::<u64>(), n as u64);
            }
        }
        // 30 items over 6 sites: 5 each, ratio exactly 1.
        let b = balance(&axes(), &plan(&axes(), &[], 30, 1));
        assert_eq!(b[0].ratio, Some(1.0));
        assert!(b[0].counts.iter().all(|(_, k)| *k == 5));
    }

    #[test]
    fn plans_are_seeded_and_combinations_vary() {
        let a = plan(&axes(), &[], 60, 7);
        assert_eq!(a, plan(&axes(), &[], 60, 7));
        assert_ne!(a, plan(&axes(), &[], 60, 8));
        let distinct: std::collections::BTreeSet<&Cell> = a.iter().collect();
        assert!(
            distinct.len() > 50,
            "{} distinct cells of 60",
            distinct.len()
        );
    }

    #[test]
    fn a_follow_up_run_fills_what_the_pool_lacks() {
        // A pool of 10 items, all axillary and female.
        let pool: Vec<Cell> = (0..10)
            .map(|_| {
                [("site", "axillary"), ("sex", "female")]
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect()
            })
            .collect();
        let next = plan(&axes(), &pool, 20, 3);
        let sites = &balance(&axes(), &next)[0];
        let axillary = sites
            .counts
            .iter()
            .find(|(v, _)| v == "axillary")
            .unwrap()
            .1;
        assert_eq!(
            axillary, 0,
            "the other five sites catch up first: {:?}",
            sites.counts
        );
        let both: Vec<Cell> = pool.iter().chain(&next).cloned().collect();
        let sex = &balance(&axes(), &both)[3];
        assert_eq!(
            sex.counts,
            vec![
                ("female".into(), 10),
                ("male".into(), 10),
                ("unspecified".into(), 10)
            ]
        );
        assert_eq!(sex.ratio, Some(1.0));
    }

    #[test]
    fn the_ratio_is_unbounded_while_a_value_is_missing() {
        let cells = plan(&axes(), &[], 4, 0);
        let sites = &balance(&axes(), &cells)[0];
        assert_eq!(sites.ratio, None, "6 sites, 4 items");
        assert!(balance(&axes(), &[]).iter().all(|b| b.ratio.is_none()));
        // An axis without values is left out of the cells.
        let empty = [QuotaAxis {
            name: "none".into(),
            values: Vec::new(),
        }];
        assert_eq!(plan(&empty, &[], 2, 0), vec![Cell::new(), Cell::new()]);
    }
}
