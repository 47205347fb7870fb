//! The request for one synthetic item: which seed facts it offers (a seeded
//! sample of those that fit the stratum) and the pack's template filled in.

use std::collections::BTreeMap;

use crate::augment::quota::Cell;
use crate::augment::spec::AugmentSpec;
use crate::domain::SeedFact;
use crate::stats::rng::splitmix64;

/// Placeholders a template may use besides the strata axes.
const FIXED_PLACEHOLDERS: [&str; 3] = ["category", "intent", "facts"];

/// The `{name}` placeholders of a template, in order of appearance (names
/// of lowercase letters, digits and `_`; other braces are text).
fn placeholders(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close)
                if close > 0
                    && after[..close]
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') =>
            {
                out.push(&after[..close]);
                rest = &after[close + 1..];
            }
            _ => rest = after,
        }
    }
    out
}

/// Refuses a template that does not offer the facts or that names a
/// placeholder which is neither a strata axis nor `category`, `intent`,
/// `facts`.
pub(crate) fn check_template(
    template: &str,
    strata: &BTreeMap<String, Vec<String>>,
) -> Result<(), String> {
    let names = placeholders(template);
    if !names.contains(&"facts") {
        return Err("the template must offer the facts with {facts}".into());
    }
    if let Some(bad) = names
        .iter()
        .find(|n| !FIXED_PLACEHOLDERS.contains(n) && !strata.contains_key(**n))
    {
        return Err(format!(
            "{{{bad}}} is neither a strata axis nor one of {{category}}, {{intent}}, {{facts}}"
        ));
    }
    Ok(())
}

/// The template filled in for one cell: `{axis}` by the cell's value (with
/// `_` shown as a space), `{facts}` by one line per offered fact,
/// `[id] statement`.
pub fn render(template: &str, cell: &Cell, facts: &[&SeedFact]) -> String {
    let mut out = template.to_owned();
    for (axis, value) in cell {
        out = out.replace(&format!("{{{axis}}}"), &value.replace('_', " "));
    }
    let lines: Vec<String> = facts
        .iter()
        .map(|f| format!("[{}] {}", f.id, f.statement))
        .collect();
    out.replace("{facts}", &lines.join("\n"))
}

/// Whether `text` (lowercase) contains `term` at the start of a word.
fn mentions(text: &str, term: &str) -> bool {
    text.match_indices(term).any(|(i, _)| {
        text[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric())
    })
}

/// The facts offered to the request for `cell`, a seeded sample of
/// [`AugmentSpec::facts_per_request`]:
///
/// 1. the facts whose topic fits the cell's category or its intent
///    ([`AugmentSpec::category_topics`], [`AugmentSpec::intent_topics`];
///    all facts when neither lists it);
/// 2. among them, those that mention one of the cell's site words come
///    first, then the others, each group in a seeded shuffle;
/// 3. the first `facts_per_request`, returned in pack order.
pub fn offered_facts<'a>(
    spec: &AugmentSpec,
    facts: &'a [SeedFact],
    cell: &Cell,
    seed: u64,
) -> Vec<&'a SeedFact> {
    let topics: Option<Vec<&String>> = {
        let keys = [
            cell.get("category")
                .and_then(|c| spec.category_topics.get(c)),
            cell.get("intent").and_then(|i| spec.intent_topics.get(i)),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>();
        (!keys.is_empty()).then(|| keys.into_iter().flatten().collect())
    };
    let fitting: Vec<usize> = (0..facts.len())
        .filter(|&i| topics.as_ref().is_none_or(|t| t.contains(&&facts[i].topic)))
        .collect();
    let site_terms: &[String] = spec
        .site_axis
        .as_ref()
        .and_then(|axis| cell.get(axis))
        .and_then(|site| spec.site_terms.get(site))
        .map_or(&[], Vec::as_slice);
    let (mut near, mut rest): (Vec<usize>, Vec<usize>) = fitting.into_iter().partition(|&i| {
        let statement = facts[i].statement.to_lowercase();
        site_terms.iter().any(|t| mentions(&statement, t))
    });
    let mut state = seed;
    for group in [&mut near, &mut rest] {
        // Fisher–Yates on the splitmix64 stream.
        for i in (1..group.len()).rev() {
            let j = (splitmix64(&mut state) % (i as u64 + 1)) as usize;
            group.swap(i, j);
        }
    }
    let mut chosen: Vec<usize> = near
        .into_iter()
        .chain(rest)
        .take(spec.facts_per_request)
        .collect();
    chosen.sort_unstable();
    chosen.into_iter().map(|i| &facts[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DomainPack;

    fn cell(pairs: &[(&str, &str)]) -> Cell {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn placeholders_are_found_and_checked() {
        let strata = BTreeMap::from([("site".to_owned(), vec!["palmar".to_owned()])]);
        assert_eq!(
            placeholders("a {site} b {facts} {not a placeholder} {x"),
            vec!["site", "facts"]
        );
        assert!(check_template("{site} {facts} {intent}", &strata).is_ok());
        assert!(
            check_template("{site}", &strata)
                .unwrap_err()
                .contains("{facts}")
        );
        assert!(
            check_template("{facts} {mood}", &strata)
                .unwrap_err()
                .contains("{mood}")
        );
    }

    #[test]
    fn offered_facts_fit_the_topic_prefer_the_site_and_follow_the_seed() {
        let pack = DomainPack::embedded_default().expect("pack");
        let spec = pack.manifest.augment.as_ref().expect("augment spec");
        let c = cell(&[
            ("category", "treatment"),
            ("intent", "side_effects"),
            ("site", "palmar"),
        ]);
        let a = offered_facts(spec, &pack.facts, &c, 7);
        assert_eq!(a.len(), spec.facts_per_request);
        assert!(
            a.iter()
                .all(|f| ["treatment", "severity"].contains(&f.topic.as_str()))
        );
        let palm = a
            .iter()
            .filter(|f| {
                mentions(&f.statement.to_lowercase(), "palm")
                    || mentions(&f.statement.to_lowercase(), "hand")
            })
            .count();
        assert!(palm >= 3, "site facts come first: {palm}");
        assert_eq!(a, offered_facts(spec, &pack.facts, &c, 7));
        assert_ne!(a, offered_facts(spec, &pack.facts, &c, 8));
    }

    #[test]
    fn render_fills_axes_and_facts() {
        let pack = DomainPack::embedded_default().expect("pack");
        let facts: Vec<&SeedFact> = pack.facts.iter().take(2).collect();
        let out = render(
            "{category}/{intent}/{site}\n{facts}",
            &cell(&[
                ("category", "daily_life"),
                ("intent", "daily_coping"),
                ("site", "palmar"),
            ]),
            &facts,
        );
        assert!(out.starts_with("daily life/daily coping/palmar\n["));
        assert!(out.contains(&format!("[{}] {}", facts[1].id, facts[1].statement)));
    }
}
