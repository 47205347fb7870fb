//! A scripted HTTP/1.1 server on 127.0.0.1 for testing HTTP clients offline.
//!
//! Every accepted connection consumes the next [`Reply`] of the script, gets
//! it, and is closed (`Connection: close`, so clients never reuse it). A
//! connection that arrives after the script is exhausted gets HTTP 418, which
//! no client retries. Requests are recorded for assertions. Everything is
//! bounded: the server stops when dropped or after [`MAX_LIFETIME`], every
//! wait checks the stop flag, and dropping joins every thread.

#![allow(dead_code)] // Not every test file uses every helper.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The server stops by itself after this long, whatever the script says.
pub const MAX_LIFETIME: Duration = Duration::from_secs(60);
/// Longest time spent reading one request.
const REQUEST_READ_LIMIT: Duration = Duration::from_secs(5);
/// Largest request accepted (headers and body).
const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;
/// Granularity of every wait, so that a stop is seen quickly.
const TICK: Duration = Duration::from_millis(5);

/// How the body of a [`Reply`] is sent.
#[derive(Debug, Clone)]
enum BodyPlan {
    /// All at once, with `Content-Length`.
    Full(Vec<u8>),
    /// `Transfer-Encoding: chunked`, one HTTP chunk per piece.
    Chunked {
        pieces: Vec<Vec<u8>>,
        /// Pause before every piece but the first.
        delay: Duration,
        /// Whether to end with the terminating zero-length chunk; if not, the
        /// connection is simply closed (a server dying mid-stream).
        terminate: bool,
    },
    /// No length and no chunking: the body ends when the connection closes.
    UntilClose {
        pieces: Vec<Vec<u8>>,
        delay: Duration,
    },
    /// Headers of a chunked answer, then silence for this long, then close.
    StallAfterHeaders(Duration),
    /// Nothing at all for this long, then close.
    Silent(Duration),
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: BodyPlan,
}

impl Reply {
    /// A complete body of type `application/json`.
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: BodyPlan::Full(body.into().into_bytes()),
        }
    }

    /// A complete body of type `text/plain`.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: BodyPlan::Full(body.into().into_bytes()),
        }
    }

    /// A chunked `text/event-stream` body (status 200) with one HTTP chunk per
    /// piece, each sent exactly as given.
    pub fn stream(pieces: &[&str]) -> Self {
        Self {
            status: 200,
            headers: vec![("Content-Type".into(), "text/event-stream".into())],
            body: BodyPlan::Chunked {
                pieces: pieces.iter().map(|p| p.as_bytes().to_vec()).collect(),
                delay: Duration::ZERO,
                terminate: true,
            },
        }
    }

    /// Like [`Reply::stream`], wrapping each item as `data: {item}\n\n`.
    pub fn sse(data: &[&str]) -> Self {
        let events: Vec<String> = data.iter().map(|d| format!("data: {d}\n\n")).collect();
        let refs: Vec<&str> = events.iter().map(String::as_str).collect();
        Self::stream(&refs)
    }

    /// Sends the headers of a streamed answer, then nothing for `stall`, then
    /// closes the connection.
    pub fn stall_after_headers(stall: Duration) -> Self {
        Self {
            status: 200,
            headers: vec![("Content-Type".into(), "text/event-stream".into())],
            body: BodyPlan::StallAfterHeaders(stall),
        }
    }

    /// Reads the request, sends nothing for `silence`, then closes.
    pub fn silent(silence: Duration) -> Self {
        Self {
            status: 0,
            headers: Vec::new(),
            body: BodyPlan::Silent(silence),
        }
    }

    /// Adds a response header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Pauses for `delay` between pieces of a streamed body.
    pub fn delay_between_pieces(mut self, delay: Duration) -> Self {
        match &mut self.body {
            BodyPlan::Chunked { delay: d, .. } | BodyPlan::UntilClose { delay: d, .. } => {
                *d = delay;
            }
            _ => {}
        }
        self
    }

    /// Closes the connection after the last piece of a chunked body instead
    /// of sending the terminating chunk.
    pub fn close_mid_stream(mut self) -> Self {
        if let BodyPlan::Chunked { terminate, .. } = &mut self.body {
            *terminate = false;
        }
        self
    }

    /// Sends a streamed body without framing: it ends when the connection
    /// closes (a clean EOF for the client).
    pub fn until_close(mut self) -> Self {
        if let BodyPlan::Chunked { pieces, delay, .. } = &self.body {
            self.body = BodyPlan::UntilClose {
                pieces: pieces.clone(),
                delay: *delay,
            };
        }
        self
    }
}

/// Computes the reply to a request from the request and its connection's
/// number (0, 1, …), for servers whose answers depend on what was asked.
pub type Responder = Arc<dyn Fn(&RecordedRequest, usize) -> Reply + Send + Sync>;

/// Where a connection's reply comes from.
enum Script {
    /// The next scripted reply.
    Fixed(VecDeque<Reply>),
    /// Computed from the request.
    Dynamic(Responder),
}

/// A connection's reply: ready, or computed once the request is read.
enum Pending {
    Ready(Reply),
    Compute(Responder, usize),
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `GET`, `POST`…
    pub method: String,
    /// The request target, for example `/v1/chat/completions`.
    pub path: String,
    /// Headers in arrival order, names in lowercase.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A running stub server; it stops and joins its threads when dropped.
pub struct StubServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
    stop: Arc<AtomicBool>,
    load: Arc<Load>,
    acceptor: Option<JoinHandle<()>>,
}

/// Connections being served now, and the most ever served at once.
#[derive(Default)]
struct Load {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl StubServer {
    /// Starts a server on a free loopback port that answers with `script`,
    /// one reply per connection, in order.
    pub fn start(script: Vec<Reply>) -> Self {
        Self::start_with(Script::Fixed(script.into()))
    }

    /// Starts a server that computes each reply with `responder`.
    pub fn dynamic(
        responder: impl Fn(&RecordedRequest, usize) -> Reply + Send + Sync + 'static,
    ) -> Self {
        Self::start_with(Script::Dynamic(Arc::new(responder)))
    }

    fn start_with(script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        listener
            .set_nonblocking(true)
            .expect("make the listener non-blocking");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let load = Arc::new(Load::default());
        let acceptor = {
            let requests = Arc::clone(&requests);
            let stop = Arc::clone(&stop);
            let load = Arc::clone(&load);
            thread::Builder::new()
                .name("stub-server".into())
                .spawn(move || accept_loop(&listener, script, &requests, &stop, &load))
                .expect("spawn the stub server")
        };
        Self {
            addr,
            requests,
            stop,
            load,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/v1`, the usual OpenAI-style API root.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// The requests received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The most connections that were being served at the same time.
    pub fn peak_concurrency(&self) -> usize {
        self.load.peak.load(Ordering::SeqCst)
    }

    /// How many requests were received so far.
    pub fn request_count(&self) -> usize {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Drop for StubServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(
    listener: &TcpListener,
    mut script: Script,
    requests: &Arc<Mutex<Vec<RecordedRequest>>>,
    stop: &Arc<AtomicBool>,
    load: &Arc<Load>,
) {
    let started = Instant::now();
    let mut connections = Vec::new();
    let mut accepted = 0usize;
    while !stop.load(Ordering::SeqCst) && started.elapsed() < MAX_LIFETIME {
        match listener.accept() {
            Ok((stream, _)) => {
                let reply = match &mut script {
                    Script::Fixed(replies) => {
                        Pending::Ready(replies.pop_front().unwrap_or_else(|| {
                            Reply::text(418, "stub server: no scripted reply left")
                        }))
                    }
                    Script::Dynamic(f) => Pending::Compute(Arc::clone(f), accepted),
                };
                accepted += 1;
                let requests = Arc::clone(requests);
                let stop = Arc::clone(stop);
                let load = Arc::clone(load);
                let handle =
                    thread::Builder::new()
                        .name("stub-connection".into())
                        .spawn(move || {
                            let now = load.now.fetch_add(1, Ordering::SeqCst) + 1;
                            load.peak.fetch_max(now, Ordering::SeqCst);
                            serve(stream, &reply, &requests, &stop, started);
                            load.now.fetch_sub(1, Ordering::SeqCst);
                        });
                if let Ok(handle) = handle {
                    connections.push(handle);
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(TICK),
            Err(_) => thread::sleep(TICK),
        }
    }
    stop.store(true, Ordering::SeqCst);
    for handle in connections {
        let _ = handle.join();
    }
}

/// Sleeps for `d` unless the server stops first; returns false if it did.
fn nap(d: Duration, stop: &AtomicBool, born: Instant) -> bool {
    let end = Instant::now() + d;
    loop {
        if stop.load(Ordering::SeqCst) || born.elapsed() >= MAX_LIFETIME {
            return false;
        }
        let now = Instant::now();
        if now >= end {
            return true;
        }
        thread::sleep((end - now).min(TICK));
    }
}

fn serve(
    mut stream: TcpStream,
    reply: &Pending,
    requests: &Mutex<Vec<RecordedRequest>>,
    stop: &AtomicBool,
    born: Instant,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_nodelay(true);
    let Some(request) = read_request(&mut stream, stop) else {
        return;
    };
    let computed;
    let reply = match reply {
        Pending::Ready(r) => r,
        Pending::Compute(f, n) => {
            computed = f(&request, *n);
            &computed
        }
    };
    requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(request);
    let _ = write_reply(&mut stream, reply, stop, born);
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
    // Let the client read everything before the socket goes away.
    let _ = stream.set_read_timeout(Some(TICK));
    let end = Instant::now() + Duration::from_millis(500);
    let mut sink = [0u8; 1024];
    while Instant::now() < end && !stop.load(Ordering::SeqCst) {
        match stream.read(&mut sink) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
}

fn read_request(stream: &mut TcpStream, stop: &AtomicBool) -> Option<RecordedRequest> {
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .ok()?;
    let started = Instant::now();
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let mut head_len = None;
    let mut body_len = 0usize;
    loop {
        if head_len.is_none()
            && let Some(pos) = data.windows(4).position(|w| w == b"\r\n\r\n")
        {
            head_len = Some(pos + 4);
            let head = String::from_utf8_lossy(&data[..pos]).into_owned();
            body_len = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse().ok())
                .unwrap_or(0);
        }
        if let Some(h) = head_len
            && data.len() >= h + body_len
        {
            break;
        }
        if stop.load(Ordering::SeqCst)
            || started.elapsed() > REQUEST_READ_LIMIT
            || data.len() > MAX_REQUEST_BYTES
        {
            return None;
        }
        match stream.read(&mut buf) {
            Ok(0) => return None,
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    let head_len = head_len?;
    let head = String::from_utf8_lossy(&data[..head_len]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let path = request_line.next()?.to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body = data[head_len..head_len + body_len].to_vec();
    Some(RecordedRequest {
        method,
        path,
        headers,
        body,
    })
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        418 => "I'm a teapot",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn write_head(stream: &mut TcpStream, reply: &Reply, framing: &str) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        reply.status,
        reason_phrase(reply.status)
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(framing);
    head.push_str("Connection: close\r\n\r\n");
    stream.write_all(head.as_bytes())?;
    stream.flush()
}

fn write_reply(
    stream: &mut TcpStream,
    reply: &Reply,
    stop: &AtomicBool,
    born: Instant,
) -> std::io::Result<()> {
    match &reply.body {
        BodyPlan::Full(body) => {
            write_head(
                stream,
                reply,
                &format!("Content-Length: {}\r\n", body.len()),
            )?;
            stream.write_all(body)?;
        }
        BodyPlan::Chunked {
            pieces,
            delay,
            terminate,
        } => {
            write_head(stream, reply, "Transfer-Encoding: chunked\r\n")?;
            for (i, piece) in pieces.iter().enumerate() {
                if i > 0 && !nap(*delay, stop, born) {
                    return Ok(());
                }
                stream.write_all(format!("{:x}\r\n", piece.len()).as_bytes())?;
                stream.write_all(piece)?;
                stream.write_all(b"\r\n")?;
                stream.flush()?;
            }
            if *terminate {
                stream.write_all(b"0\r\n\r\n")?;
            }
        }
        BodyPlan::UntilClose { pieces, delay } => {
            write_head(stream, reply, "")?;
            for (i, piece) in pieces.iter().enumerate() {
                if i > 0 && !nap(*delay, stop, born) {
                    return Ok(());
                }
                stream.write_all(piece)?;
                stream.flush()?;
            }
        }
        BodyPlan::StallAfterHeaders(stall) => {
            write_head(stream, reply, "Transfer-Encoding: chunked\r\n")?;
            nap(*stall, stop, born);
        }
        BodyPlan::Silent(silence) => {
            nap(*silence, stop, born);
        }
    }
    stream.flush()
}
