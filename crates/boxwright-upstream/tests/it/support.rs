//! A fake forge API on 127.0.0.1, std only.
//!
//! Routes are exact request targets (path and query). Each answers with a scripted sequence
//! of replies (request N gets reply N, the last repeats); unknown targets answer 404. Every
//! request is recorded with its headers. `{base}` in a reply's body or headers becomes the
//! server's `http://127.0.0.1:<port>`, so recorded pages can link to each other.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use boxwright_metadata::Upstream;

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// 200 with a JSON body.
    pub fn json(body: &str) -> Reply {
        Reply {
            status: 200,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }

    /// That status with a JSON body.
    pub fn status(status: u16, body: &str) -> Reply {
        Reply {
            status,
            ..Reply::json(body)
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Request {
    /// Path and query.
    pub target: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first value of a header (any case), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    routes: Mutex<HashMap<String, (Vec<Reply>, usize)>>,
    requests: Mutex<Vec<Request>>,
    stopping: AtomicBool,
}

/// A running fake API; stops when dropped.
pub struct FakeApi {
    addr: SocketAddr,
    state: Arc<State>,
    accept: Option<JoinHandle<()>>,
}

impl FakeApi {
    /// Binds a free port on 127.0.0.1 and serves.
    pub fn start() -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(State::default());
        let accept_state = Arc::clone(&state);
        let accept = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_state.stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let state = Arc::clone(&accept_state);
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        FakeApi {
            addr,
            state,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Scripts the replies to `target` (path and query); the last one repeats.
    pub fn route(&self, target: &str, replies: Vec<Reply>) -> &Self {
        assert!(!replies.is_empty());
        let base = self.base();
        let replies = replies
            .into_iter()
            .map(|r| Reply {
                status: r.status,
                headers: r
                    .headers
                    .iter()
                    .map(|(n, v)| (n.clone(), v.replace("{base}", &base)))
                    .collect(),
                body: r.body.replace("{base}", &base),
            })
            .collect();
        self.state
            .routes
            .lock()
            .unwrap()
            .insert(target.to_string(), (replies, 0));
        self
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The targets requested so far, in order.
    pub fn targets(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.target).collect()
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.state.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }
}

fn serve(mut stream: TcpStream, state: &State) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let Some(target) = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .map(str::to_string)
    else {
        return;
    };
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    state.requests.lock().unwrap().push(Request {
        target: target.clone(),
        headers,
    });
    let reply = {
        let mut routes = state.routes.lock().unwrap();
        match routes.get_mut(&target) {
            Some((replies, next)) => {
                let reply = replies[(*next).min(replies.len() - 1)].clone();
                *next += 1;
                reply
            }
            None => Reply::status(404, r#"{"message":"Not Found"}"#),
        }
    };
    let mut response = format!(
        "HTTP/1.1 {} Fake\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        let _ = write!(response, "{name}: {value}\r\n");
    }
    response.push_str("\r\n");
    response.push_str(&reply.body);
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

/// An `upstream` object as metadata.json would hold it.
pub fn upstream(json: serde_json::Value) -> Upstream {
    serde_json::from_value(json).expect("an upstream object")
}

/// `(version, tag)` of each version found.
pub fn found(discovery: &boxwright_upstream::Discovery) -> Vec<(&str, &str)> {
    discovery
        .versions
        .iter()
        .map(|v| (v.version.as_str(), v.tag.as_str()))
        .collect()
}

/// The skipped tags, in order.
pub fn skipped(discovery: &boxwright_upstream::Discovery) -> Vec<&str> {
    discovery.skipped.iter().map(|s| s.tag.as_str()).collect()
}
