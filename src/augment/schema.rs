//! The JSON a generator returns for one synthetic item, its JSON Schema
//! (sent to a remote server as `response_format`, turned into a grammar for
//! the local engine) and the strict parse of an answer against it.

use serde::{Deserialize, Serialize};

use crate::vocab::ItemKind;

/// The fields one kind of item is written in: a vignette's `text` and
/// `reference_answer`, a question's `question` and `answer` (the names the
/// pack's templates ask for).
pub fn field_names(kind: ItemKind) -> (&'static str, &'static str) {
    match kind {
        ItemKind::Vignette => ("text", "reference_answer"),
        ItemKind::Question => ("question", "answer"),
    }
}

/// The schema's name, as the chat-completions API asks (`[A-Za-z0-9_-]`).
pub fn schema_name(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Vignette => "synthetic_vignette",
        ItemKind::Question => "synthetic_question",
    }
}

/// The JSON Schema of one item of `kind` whose generator was offered the
/// facts `offered`: an object with exactly the two text fields and
/// `used_facts`, an array of at least one offered fact id (each id an enum
/// value, so that a grammar built from the schema can only cite offered
/// facts). Lengths are not in the schema (a grammar with counted repetitions
/// is large and slow); they are checked after parsing.
pub fn item_schema(kind: ItemKind, offered: &[String]) -> serde_json::Value {
    let (text, answer) = field_names(kind);
    serde_json::json!({
        "type": "object",
        "properties": {
            text: { "type": "string" },
            answer: { "type": "string" },
            "used_facts": {
                "type": "array",
                "items": { "type": "string", "enum": offered },
                "minItems": 1,
            },
        },
        "required": [text, answer, "used_facts"],
        "additionalProperties": false,
    })
}

/// One parsed item, whatever its kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedItem {
    /// The vignette or the question.
    pub text: String,
    /// The reference answer.
    pub answer: String,
    /// The fact ids the generator says it used, in its order, without repeats.
    pub used_facts: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VignetteWire {
    text: String,
    reference_answer: String,
    used_facts: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionWire {
    question: String,
    answer: String,
    used_facts: Vec<String>,
}

/// Why an answer is not an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseFailure {
    /// Not JSON at all (or not one JSON value).
    InvalidJson(String),
    /// JSON, but not the schema (a missing, extra or mistyped field).
    Schema(String),
}

/// The JSON text inside `raw`: trimmed, and without a Markdown code fence
/// around it (servers in `json_object` mode sometimes add one).
fn unfenced(raw: &str) -> &str {
    let t = raw.trim();
    let Some(rest) = t.strip_prefix("```") else {
        return t;
    };
    let rest = rest.strip_prefix("json").unwrap_or(rest);
    rest.strip_suffix("```").unwrap_or(rest).trim()
}

/// Parses a generator's answer as an item of `kind`, strictly: one JSON
/// object with exactly the schema's fields.
pub fn parse_item(kind: ItemKind, raw: &str) -> Result<ParsedItem, ParseFailure> {
    let value: serde_json::Value = serde_json::from_str(unfenced(raw))
        .map_err(|e| ParseFailure::InvalidJson(e.to_string()))?;
    if !value.is_object() {
        return Err(ParseFailure::Schema(format!(
            "expected a JSON object, got {}",
            match value {
                serde_json::Value::Array(_) => "an array",
                serde_json::Value::String(_) => "a string",
                serde_json::Value::Number(_) => "a number",
                serde_json::Value::Bool(_) => "a boolean",
                _ => "null",
            }
        )));
    }
    let schema = |e: serde_json::Error| ParseFailure::Schema(e.to_string());
    let (text, answer, facts) = match kind {
        ItemKind::Vignette => {
            let w: VignetteWire = serde_json::from_value(value).map_err(schema)?;
            (w.text, w.reference_answer, w.used_facts)
        }
        ItemKind::Question => {
            let w: QuestionWire = serde_json::from_value(value).map_err(schema)?;
            (w.question, w.answer, w.used_facts)
        }
    };
    let mut used_facts: Vec<String> = Vec::with_capacity(facts.len());
    for f in facts {
        if !used_facts.contains(&f) {
            used_facts.push(f);
        }
    }
    Ok(ParsedItem {
        text,
        answer,
        used_facts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_parses_with_and_without_a_fence() {
        let raw = r#"{"question":"Q?","answer":"A.","used_facts":["f1","f2","f1"]}"#;
        let item = parse_item(ItemKind::Question, raw).expect("parses");
        assert_eq!(item.used_facts, vec!["f1", "f2"]);
        let fenced = format!("```json\n{raw}\n```");
        assert_eq!(parse_item(ItemKind::Question, &fenced), Ok(item));
    }

    #[test]
    fn schema_violations_and_bad_json_are_told_apart() {
        assert!(matches!(
            parse_item(ItemKind::Question, "{\"question\": \"Q?\""),
            Err(ParseFailure::InvalidJson(_))
        ));
        assert!(matches!(
            parse_item(ItemKind::Question, r#"{"question":"Q?","answer":"A."}"#),
            Err(ParseFailure::Schema(m)) if m.contains("used_facts")
        ));
        assert!(matches!(
            parse_item(
                ItemKind::Vignette,
                r#"{"text":"T","reference_answer":"A","used_facts":[],"extra":1}"#
            ),
            Err(ParseFailure::Schema(m)) if m.contains("extra")
        ));
        assert!(matches!(
            parse_item(ItemKind::Vignette, "[1,2]"),
            Err(ParseFailure::Schema(m)) if m.contains("array")
        ));
    }

    #[test]
    fn the_schema_names_the_kind_fields_and_offered_ids() {
        let s = item_schema(ItemKind::Vignette, &["a".into(), "b".into()]);
        assert_eq!(
            s["required"],
            serde_json::json!(["text", "reference_answer", "used_facts"])
        );
        assert_eq!(
            s["properties"]["used_facts"]["items"]["enum"],
            serde_json::json!(["a", "b"])
        );
    }
}
