//! The client against a tiny scripted registry: bearer tokens (fetched once per scope and
//! reused) and tag-list pagination through `Link` headers.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use boxwright_registry::{Client, ClientOptions, Reference};

/// Requests seen: (request line, Authorization header).
type Seen = Arc<Mutex<Vec<(String, String)>>>;

fn serve() -> (u16, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            // The client first tries TLS on loopback: a handshake is not a text line, and the
            // connection is dropped (the client then speaks plain http).
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut auth = String::new();
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                if header.trim().is_empty() {
                    break;
                }
                if let Some(value) = header.strip_prefix("authorization: ") {
                    auth = value.trim().to_string();
                }
            }
            let path = line.split(' ').nth(1).unwrap_or_default().to_string();
            log.lock()
                .unwrap()
                .push((line.trim().to_string(), auth.clone()));
            let (status, headers, body) = if path.starts_with("/token?") {
                ("200 OK", String::new(), r#"{"token":"T1"}"#.to_string())
            } else if auth != "Bearer T1" {
                (
                    "401 Unauthorized",
                    format!(
                        "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:{port}/token\",service=\"fake\",scope=\"repository:team/app:pull\"\r\n"
                    ),
                    r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#
                        .to_string(),
                )
            } else if path == "/v2/team/app/tags/list" {
                (
                    "200 OK",
                    "Link: </v2/team/app/tags/list?n=2&last=b>; rel=\"next\"\r\n".to_string(),
                    r#"{"name":"team/app","tags":["a","b"]}"#.to_string(),
                )
            } else if path == "/v2/team/app/tags/list?n=2&last=b" {
                (
                    "200 OK",
                    String::new(),
                    r#"{"name":"team/app","tags":["c"]}"#.to_string(),
                )
            } else {
                (
                    "404 Not Found",
                    String::new(),
                    r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#
                        .to_string(),
                )
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    (port, seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn bearer_token_once_and_all_pages() {
    let (port, seen) = serve();
    let client = Client::new(ClientOptions::default()).unwrap();
    let repository = Reference::repository(&format!("127.0.0.1:{port}/team/app")).unwrap();
    let tags = client.tags(&repository).await.unwrap();
    assert_eq!(tags, ["a", "b", "c"]);

    let missing: Reference = format!("127.0.0.1:{port}/team/app:nope").parse().unwrap();
    assert!(!client.exists(&missing).await.unwrap());
    let error = client.inspect(&missing).await.unwrap_err();
    assert_eq!(error.status(), Some(404));
    let message = error.to_string();
    assert!(
        message.contains("team/app") && message.contains("MANIFEST_UNKNOWN"),
        "{message}"
    );

    let seen = seen.lock().unwrap();
    let tokens: Vec<_> = seen.iter().filter(|(l, _)| l.contains("/token?")).collect();
    assert_eq!(tokens.len(), 1, "one token for the scope: {seen:?}");
    assert!(
        tokens[0].0.contains("service=fake")
            && tokens[0].0.contains("scope=repository%3Ateam%2Fapp%3Apull"),
        "{seen:?}"
    );
    assert_eq!(
        seen.iter().filter(|(_, a)| a.is_empty()).count(),
        2,
        "{seen:?}"
    );
}
