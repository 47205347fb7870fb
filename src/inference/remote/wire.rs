//! The OpenAI chat-completions wire format: the request body, the plain
//! answer and the chunks of a streamed answer (only the fields this client
//! sends or reads).

use serde::{Deserialize, Serialize};

use crate::inference::FinishReason;

#[derive(Serialize)]
pub(super) struct ChatBody<'a> {
    pub(super) model: &'a str,
    pub(super) messages: Vec<WireMessage<'a>>,
    pub(super) temperature: f32,
    pub(super) top_p: f32,
    pub(super) max_tokens: u32,
    pub(super) seed: u32,
    pub(super) stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) response_format: Option<serde_json::Value>,
}

/// The `response_format` field for a structured-output request.
pub(super) fn response_format(format: &crate::inference::OutputFormat) -> serde_json::Value {
    match format {
        crate::inference::OutputFormat::JsonSchema { name, schema } => serde_json::json!({
            "type": "json_schema",
            "json_schema": { "name": name, "schema": schema, "strict": true },
        }),
        crate::inference::OutputFormat::JsonObject => serde_json::json!({ "type": "json_object" }),
    }
}

#[derive(Serialize)]
pub(super) struct WireMessage<'a> {
    pub(super) role: &'static str,
    pub(super) content: &'a str,
}

#[derive(Serialize)]
pub(super) struct StreamOptions {
    pub(super) include_usage: bool,
}

#[derive(Deserialize)]
pub(super) struct ChatResponse {
    pub(super) choices: Vec<ResponseChoice>,
    #[serde(default)]
    pub(super) usage: Option<Usage>,
}

#[derive(Deserialize)]
pub(super) struct ResponseChoice {
    #[serde(default)]
    pub(super) message: Option<ResponseMessage>,
    #[serde(default)]
    pub(super) finish_reason: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ResponseMessage {
    #[serde(default)]
    pub(super) content: Option<String>,
}

#[derive(Deserialize, Default, Clone, Copy)]
pub(super) struct Usage {
    #[serde(default, deserialize_with = "count")]
    pub(super) prompt_tokens: u32,
    #[serde(default, deserialize_with = "count")]
    pub(super) completion_tokens: u32,
}

#[derive(Deserialize)]
pub(super) struct StreamChunk {
    #[serde(default)]
    pub(super) choices: Vec<ChunkChoice>,
    #[serde(default)]
    pub(super) usage: Option<Usage>,
    #[serde(default)]
    pub(super) error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
pub(super) struct ChunkChoice {
    #[serde(default)]
    pub(super) delta: Option<Delta>,
    #[serde(default)]
    pub(super) finish_reason: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Delta {
    #[serde(default)]
    pub(super) content: Option<String>,
}

/// A token count, saturated to `u32`; `null` counts as 0.
fn count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n: Option<u64> = Option::deserialize(d)?;
    Ok(n.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)))
}

pub(super) fn finish_reason(reason: Option<&str>) -> FinishReason {
    match reason {
        Some("length") => FinishReason::Length,
        _ => FinishReason::Stop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_reasons_map() {
        assert_eq!(finish_reason(Some("length")), FinishReason::Length);
        assert_eq!(finish_reason(Some("stop")), FinishReason::Stop);
        assert_eq!(finish_reason(None), FinishReason::Stop);
    }

    #[test]
    fn usage_counts_saturate_and_accept_null() {
        let usage: Usage =
            serde_json::from_str(r#"{"prompt_tokens":null,"completion_tokens":99999999999}"#)
                .expect("usage parses");
        assert_eq!(
            (usage.prompt_tokens, usage.completion_tokens),
            (0, u32::MAX)
        );
    }
}
