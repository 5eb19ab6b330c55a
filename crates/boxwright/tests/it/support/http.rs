//! A tiny HTTP/1.1 server for fetch tests, built on std only.
//!
//! Each route answers with a scripted sequence of replies: request N to a path gets reply N,
//! and the last reply repeats. Unknown paths answer 404. Every response carries
//! `Connection: close`, and each connection is served by its own (detached) thread, so a
//! stalled reply never holds up the server or the end of a test.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The largest request head accepted (request line and headers).
const MAX_HEAD: usize = 64 * 1024;
/// How long a connection may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a `Reply::Stall` holds its connection open.
const STALL: Duration = Duration::from_secs(30);

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with a `Content-Length` matching the body.
    Ok(Vec<u8>),
    /// That status with a short text body.
    Status(u16),
    /// 200 announcing `declared` bytes, sending only `body` (shorter), then closing.
    Truncated { declared: usize, body: Vec<u8> },
    /// 200 announcing `declared` bytes, sending `body`, then holding the connection open
    /// (about 30 s, or until the server is dropped) before closing.
    Stall { declared: usize, body: Vec<u8> },
    /// 200 with `length` bytes of `b'x'`, generated while sending (never held in memory);
    /// with `Content-Length` when `content_length`, else ended by closing the connection.
    /// Sending stops early when the client goes away.
    Stream { length: u64, content_length: bool },
    /// 302 to `location`.
    Redirect(String),
}

#[derive(Default)]
struct Route {
    replies: Vec<Reply>,
    next: usize,
}

#[derive(Default)]
struct State {
    routes: Mutex<HashMap<String, Route>>,
    counts: Mutex<HashMap<String, usize>>,
    stopping: AtomicBool,
}

impl State {
    /// Counts a request to `path` and picks its reply.
    fn take(&self, path: &str) -> Reply {
        *self
            .counts
            .lock()
            .unwrap()
            .entry(path.to_string())
            .or_default() += 1;
        let mut routes = self.routes.lock().unwrap();
        match routes.get_mut(path) {
            Some(route) if !route.replies.is_empty() => {
                let index = route.next.min(route.replies.len() - 1);
                route.next += 1;
                route.replies[index].clone()
            }
            _ => Reply::Status(404),
        }
    }
}

/// A running fixture server on 127.0.0.1; stops accepting when dropped.
pub struct FixtureServer {
    addr: SocketAddr,
    state: Arc<State>,
    accept: Option<JoinHandle<()>>,
}

impl FixtureServer {
    /// Binds an ephemeral port and starts accepting connections.
    pub fn start() -> FixtureServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(State::default());
        let accept_state = Arc::clone(&state);
        let accept = std::thread::Builder::new()
            .name("fixture-http-accept".into())
            .spawn(move || accept_loop(&listener, &accept_state))
            .expect("spawn accept thread");
        FixtureServer {
            addr,
            state,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:<port><path>`; `path` should start with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Scripts the replies to `path` (replacing earlier ones); the last one repeats.
    pub fn route(&self, path: &str, replies: Vec<Reply>) -> &Self {
        assert!(!replies.is_empty(), "a route needs at least one reply");
        self.state
            .routes
            .lock()
            .unwrap()
            .insert(path.to_string(), Route { replies, next: 0 });
        self
    }

    /// Requests received for `path` so far (known route or not).
    pub fn requests(&self, path: &str) -> usize {
        self.state
            .counts
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Requests received for every path so far.
    pub fn total_requests(&self) -> usize {
        self.state.counts.lock().unwrap().values().sum()
    }

    /// Waits until `path` has received at least `count` requests, or `timeout` passes;
    /// returns whether it did.
    pub fn wait_for_requests(&self, path: &str, count: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.requests(path) >= count {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for FixtureServer {
    fn drop(&mut self) {
        self.state.stopping.store(true, Ordering::SeqCst);
        // Wake the blocking accept() so the loop sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, state: &Arc<State>) {
    for stream in listener.incoming() {
        if state.stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let state = Arc::clone(state);
        // Detached: a stalled connection must not keep the server (or a test) alive.
        let _ = std::thread::Builder::new()
            .name("fixture-http-conn".into())
            .spawn(move || serve(stream, &state));
    }
}

/// Serves one request on `stream`, then closes it.
fn serve(mut stream: TcpStream, state: &State) {
    let _ = stream.set_read_timeout(Some(HEAD_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let Some(head) = read_head(&mut stream) else {
        return;
    };
    let Some(path) = request_path(&head) else {
        let _ = write_status(&mut stream, 400);
        close(stream);
        return;
    };
    match state.take(&path) {
        Reply::Ok(body) => {
            let _ = write_head(&mut stream, 200, body.len()).and_then(|()| stream.write_all(&body));
        }
        Reply::Status(status) => {
            let _ = write_status(&mut stream, status);
        }
        Reply::Truncated { declared, body } => {
            assert!(
                body.len() < declared,
                "a truncated reply sends less than it declares"
            );
            let _ = write_head(&mut stream, 200, declared).and_then(|()| stream.write_all(&body));
        }
        Reply::Stall { declared, body } => {
            let _ = write_head(&mut stream, 200, declared).and_then(|()| stream.write_all(&body));
            let _ = stream.flush();
            let deadline = Instant::now() + STALL;
            while Instant::now() < deadline && !state.stopping.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Reply::Stream {
            length,
            content_length,
        } => {
            let _ = write_stream(&mut stream, length, content_length);
        }
        Reply::Redirect(location) => {
            let head = format!(
                "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n"
            );
            let _ = stream.write_all(head.as_bytes());
        }
    }
    close(stream);
}

/// Reads up to and including the blank line ending the request head; `None` when the peer
/// closes, times out or sends too much first. Any request body is ignored.
fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = match stream.read(&mut buffer) {
            Ok(0) => return None,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        // Only the new bytes (plus 3 before them) can complete the terminator.
        let from = head.len().saturating_sub(3);
        head.extend_from_slice(&buffer[..n]);
        if let Some(end) = head[from..].windows(4).position(|w| w == b"\r\n\r\n") {
            head.truncate(from + end + 4);
            return Some(head);
        }
        if head.len() > MAX_HEAD {
            return None;
        }
    }
}

/// The path of `GET /path?query HTTP/1.1` (query dropped), from a request head.
fn request_path(head: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(head);
    let line = text.split("\r\n").next()?;
    let mut parts = line.split(' ');
    let _method = parts.next().filter(|m| !m.is_empty())?;
    let target = parts.next()?;
    let _version = parts.next().filter(|v| v.starts_with("HTTP/"))?;
    let path = target.split(['?', '#']).next().unwrap_or(target);
    path.starts_with('/').then(|| path.to_string())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn write_head(stream: &mut TcpStream, status: u16, content_length: usize) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\n\
         Content-Length: {content_length}\r\n\
         Content-Type: application/octet-stream\r\n\
         Connection: close\r\n\r\n",
        reason = reason(status)
    );
    stream.write_all(head.as_bytes())
}

/// A 200 whose `length` bytes are written from one reused buffer.
fn write_stream(stream: &mut TcpStream, length: u64, content_length: bool) -> std::io::Result<()> {
    let length_line = if content_length {
        format!("Content-Length: {length}\r\n")
    } else {
        String::new()
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\n{length_line}Content-Type: application/octet-stream\r\n\
         Connection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes())?;
    let buffer = vec![b'x'; 64 * 1024];
    let mut left = length;
    while left > 0 {
        let n = usize::try_from(left.min(buffer.len() as u64)).expect("at most 64 KiB");
        stream.write_all(&buffer[..n])?;
        left -= n as u64;
    }
    Ok(())
}

fn write_status(stream: &mut TcpStream, status: u16) -> std::io::Result<()> {
    let body = format!("fixture status {status}\n");
    write_head(stream, status, body.len())?;
    stream.write_all(body.as_bytes())
}

/// Flushes, signals end of data, and lets the client finish reading before the socket goes
/// away (closing with unread input could reset the connection and lose the reply).
fn close(mut stream: TcpStream) {
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut sink = [0u8; 4096];
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
}
