//! A loopback stand-in for a generator model's OpenAI-compatible server
//! (the paid frontier API cannot be reached from the tests): it answers
//! each chat-completions request at once with a valid synthetic item built
//! from what the request asks (the fact ids offered in the prompt, the item
//! kind), in a plain JSON answer over keep-alive HTTP/1.1. The augmentation
//! benchmark and tests measure and exercise the client against it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

/// Common English words (every other word of a [`salad`]).
const COMMON: &[&str] = &[
    "the", "a", "and", "of", "to", "in", "my", "is", "it", "with", "for", "on", "you", "can",
    "what", "how", "i", "this", "that",
];

/// Everyday words, wide enough that two salads share few 5-character
/// shingles; none is part of a red-flag or advice phrase of the packs.
const CONTENT: &[&str] = &[
    "classroom",
    "guitar",
    "meeting",
    "bicycle",
    "office",
    "shirt",
    "phone",
    "keyboard",
    "paper",
    "handshake",
    "summer",
    "winter",
    "kitchen",
    "garden",
    "train",
    "concert",
    "library",
    "pencil",
    "interview",
    "wedding",
    "dance",
    "football",
    "swimming",
    "teacher",
    "manager",
    "colleague",
    "friend",
    "sister",
    "brother",
    "grandmother",
    "neighbour",
    "exam",
    "homework",
    "laptop",
    "steering",
    "wheel",
    "camera",
    "mirror",
    "window",
    "jacket",
    "sweater",
    "cotton",
    "linen",
    "leather",
    "sandals",
    "sneakers",
    "socks",
    "gloves",
    "towel",
    "powder",
    "cream",
    "lotion",
    "morning",
    "evening",
    "weekend",
    "holiday",
    "airport",
    "restaurant",
    "menu",
    "coffee",
    "tea",
    "water",
    "bottle",
    "backpack",
    "notebook",
    "drawing",
    "painting",
    "piano",
    "violin",
    "choir",
    "stage",
    "speech",
    "presentation",
    "project",
    "report",
    "deadline",
    "bus",
    "subway",
    "car",
    "doorknob",
    "tablet",
    "screen",
    "mouse",
    "desk",
    "chair",
    "sofa",
    "blanket",
    "pillow",
    "shower",
    "bath",
    "soap",
    "deodorant",
    "confidence",
    "worry",
    "embarrassment",
    "relief",
    "routine",
    "habit",
    "plan",
    "question",
    "option",
    "treatment",
    "daily",
    "careful",
    "quiet",
    "busy",
    "noisy",
    "bright",
    "warm",
    "cool",
    "humid",
    "dry",
    "often",
    "rarely",
    "sometimes",
    "always",
    "usually",
    "really",
    "quite",
    "very",
    "slowly",
    "quickly",
];

/// Deterministic English-looking text of `words` words for `seed`:
/// alternately a common word and an everyday one, capitalised, ending with
/// a full stop. Two salads of different seeds are far from near-duplicates.
pub fn salad(seed: u64, words: usize) -> String {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xDEAD_BEEF;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    let words: Vec<&str> = (0..words)
        .map(|i| {
            if i % 2 == 0 {
                COMMON[next() % COMMON.len()]
            } else {
                CONTENT[next() % CONTENT.len()]
            }
        })
        .collect();
    let text = format!("{}.", words.join(" "));
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => text,
    }
}

/// The fact ids offered in a prompt (lines `[id] statement`).
pub fn offered_ids(prompt: &str) -> Vec<String> {
    prompt
        .lines()
        .filter_map(|l| l.strip_prefix('['))
        .filter_map(|l| l.split_once("] "))
        .map(|(id, _)| id.to_owned())
        .collect()
}

/// A valid item (as the chat message's content) for a request body: the
/// keys of a vignette when the prompt asks for `reference_answer`, else a
/// question's; the first two offered facts cited; texts from `seed`.
pub fn item_for(body: &serde_json::Value, seed: u64) -> String {
    let prompt = body["messages"][0]["content"].as_str().unwrap_or("");
    let facts: Vec<String> = offered_ids(prompt).into_iter().take(2).collect();
    let (text, answer) = (salad(seed, 24), salad(seed ^ 0x5555_5555, 36));
    if prompt.contains("\"reference_answer\"") {
        serde_json::json!({ "text": text, "reference_answer": answer, "used_facts": facts })
    } else {
        serde_json::json!({ "question": text, "answer": answer, "used_facts": facts })
    }
    .to_string()
}

/// A running fake generator server; it stops when dropped.
pub struct FakeGenerator {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    served: Arc<AtomicU64>,
}

impl FakeGenerator {
    /// Starts the server on a free loopback port.
    pub fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicU64::new(0));
        {
            let (stop, served) = (Arc::clone(&stop), Arc::clone(&served));
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let (stop, served) = (Arc::clone(&stop), Arc::clone(&served));
                            thread::spawn(move || serve(stream, &stop, &served));
                        }
                        Err(_) => thread::sleep(Duration::from_millis(2)),
                    }
                }
            });
        }
        Ok(Self { addr, stop, served })
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Requests answered so far.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }
}

impl Drop for FakeGenerator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Answers requests on one keep-alive connection until it closes.
fn serve(stream: TcpStream, stop: &AtomicBool, served: &AtomicU64) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while !stop.load(Ordering::Relaxed) {
        let mut length = 0usize;
        let mut line = String::new();
        let mut started = false;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e)
                    if !started
                        && matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    continue;
                }
                Err(_) => return,
            }
            started = true;
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let n = served.fetch_add(1, Ordering::Relaxed);
        let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let answer = serde_json::json!({
            "id": format!("cmpl-{n}"),
            "object": "chat.completion",
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": item_for(&request, n) }, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": 400, "completion_tokens": 150 },
        })
        .to_string();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n",
            answer.len()
        );
        if writer.write_all(head.as_bytes()).is_err()
            || writer.write_all(answer.as_bytes()).is_err()
            || writer.flush().is_err()
        {
            return;
        }
    }
}
