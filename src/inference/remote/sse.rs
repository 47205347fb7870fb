//! The server-sent-event parser for streamed chat-completion answers.

use std::time::Instant;

use super::ERROR_BODY_CHARS;
use super::wire::{StreamChunk, Usage};
use crate::progress::CancelToken;

/// Longest server-sent-event line accepted.
const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// The state of a server-sent-event stream being parsed.
#[derive(Default)]
pub(super) struct SseState {
    /// Bytes of the current, unfinished line.
    line: Vec<u8>,
    pub(super) text: String,
    pub(super) pieces: u32,
    pub(super) usage: Option<Usage>,
    pub(super) finish: Option<String>,
    pub(super) done: bool,
    pub(super) first_content: Option<Instant>,
}

impl SseState {
    /// Parses the complete lines in `data`; stops early at `[DONE]` or when
    /// `cancel` fires, so that nothing is emitted after a cancellation.
    pub(super) fn feed(
        &mut self,
        data: &[u8],
        on_token: &mut dyn FnMut(&str),
        cancel: &CancelToken,
    ) -> Result<(), String> {
        for &byte in data {
            if self.done || cancel.is_cancelled() {
                break;
            }
            if byte == b'\n' {
                let line = std::mem::take(&mut self.line);
                self.handle_line(&line, on_token)?;
            } else {
                if self.line.len() >= MAX_LINE_BYTES {
                    return Err(format!(
                        "a stream line is longer than {} MiB",
                        MAX_LINE_BYTES / (1024 * 1024)
                    ));
                }
                self.line.push(byte);
            }
        }
        Ok(())
    }

    /// Parses a last line that had no newline, at the end of the stream.
    pub(super) fn flush(&mut self, on_token: &mut dyn FnMut(&str)) -> Result<(), String> {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            Ok(())
        } else {
            self.handle_line(&line, on_token)
        }
    }

    fn handle_line(&mut self, raw: &[u8], on_token: &mut dyn FnMut(&str)) -> Result<(), String> {
        let line =
            std::str::from_utf8(raw).map_err(|_| "a stream line is not valid UTF-8".to_string())?;
        let line = line.strip_suffix('\r').unwrap_or(line);
        // Blank lines end events, `:` starts a comment; `event:`, `id:` and
        // `retry:` carry nothing this client needs.
        let Some(data) = line.strip_prefix("data:") else {
            return Ok(());
        };
        let data = data.strip_prefix(' ').unwrap_or(data);
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let chunk: StreamChunk = serde_json::from_str(data)
            .map_err(|e| format!("a stream event is not the expected JSON ({e})"))?;
        if let Some(error) = chunk.error {
            let message: String = error.to_string().chars().take(ERROR_BODY_CHARS).collect();
            return Err(format!(
                "the server reported an error in the stream: {message}"
            ));
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage);
        }
        if let Some(choice) = chunk.choices.into_iter().next() {
            if let Some(content) = choice.delta.and_then(|d| d.content)
                && !content.is_empty()
            {
                self.first_content.get_or_insert_with(Instant::now);
                self.text.push_str(&content);
                self.pieces = self.pieces.saturating_add(1);
                on_token(&content);
            }
            if let Some(reason) = choice.finish_reason {
                self.finish = Some(reason);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(stream: &str) -> (SseState, Vec<String>, Result<(), String>) {
        let mut sse = SseState::default();
        let mut pieces = Vec::new();
        let cancel = CancelToken::new();
        let result = sse.feed(
            stream.as_bytes(),
            &mut |p| pieces.push(p.to_string()),
            &cancel,
        );
        (sse, pieces, result)
    }

    #[test]
    fn sse_parser_handles_comments_events_crlf_and_done() {
        let stream = ": ping\r\nevent: message\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\n\r\n\
                      data:{\"choices\":[{\"delta\":{\"content\":\"b\"},\"finish_reason\":\"length\"}]}\n\n\
                      data: {\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2}}\n\n\
                      data: [DONE]\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"after\"}}]}\n\n";
        let (sse, pieces, result) = parse(stream);
        assert_eq!(result, Ok(()));
        assert_eq!(pieces, vec!["a", "b"]);
        assert!(sse.done);
        assert_eq!(sse.finish.as_deref(), Some("length"));
        let usage = sse.usage.expect("usage was streamed");
        assert_eq!((usage.prompt_tokens, usage.completion_tokens), (4, 2));
    }

    #[test]
    fn sse_parser_joins_lines_split_across_reads() {
        let mut sse = SseState::default();
        let mut pieces = Vec::new();
        let cancel = CancelToken::new();
        let line = "data: {\"choices\":[{\"delta\":{\"content\":\"é\"}}]}\n".as_bytes();
        for byte in line.chunks(1) {
            let fed = sse.feed(byte, &mut |p| pieces.push(p.to_string()), &cancel);
            assert_eq!(fed, Ok(()));
        }
        assert_eq!(pieces, vec!["é"]);
    }

    #[test]
    fn sse_parser_rejects_bad_json_and_stream_errors() {
        assert!(parse("data: {nope\n").2.is_err());
        let (_, _, result) = parse("data: {\"error\":{\"message\":\"overloaded\"}}\n");
        assert!(result.is_err_and(|e| e.contains("overloaded")));
    }

    #[test]
    fn sse_parser_stops_after_cancellation() {
        let mut sse = SseState::default();
        let cancel = CancelToken::new();
        let mut pieces = Vec::new();
        let stream = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\
                      data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n";
        let fed = sse.feed(
            stream.as_bytes(),
            &mut |p| {
                pieces.push(p.to_string());
                cancel.cancel();
            },
            &cancel,
        );
        assert_eq!(fed, Ok(()));
        assert_eq!(pieces, vec!["a"]);
        assert_eq!(sse.text, "a");
    }
}
