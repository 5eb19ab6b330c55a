//! A small token server for the registry's `auth: token` mode (Debian ships none): a thread
//! answering `GET /token?service=..&scope=repository:NAME:ACTIONS` for one user with a JWT
//! the registry trusts, and counting what it was asked.
//!
//! The JWT is what distribution's `registry/auth/token` verifies: ES256, its signing
//! certificate in the `x5c` header (the certificate is self-signed, without an extended key
//! usage, and is itself the registry's `rootcertbundle`), `iss`, `aud`, `exp`, `nbf` and the
//! granted `access`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};

/// The registry's `auth.token.service`, the tokens' `aud`.
pub const SERVICE: &str = "boxwright-test";
/// The registry's `auth.token.issuer`, the tokens' `iss`.
pub const ISSUER: &str = "boxwright-test-issuer";

/// The token server; stopped on drop.
pub struct TokenIssuer {
    port: u16,
    certificate_pem: String,
    requests: Arc<AtomicUsize>,
    scopes: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// What the server thread needs.
struct Signer {
    user: String,
    password: String,
    key: EcdsaKeyPair,
    certificate_der: Vec<u8>,
    rng: SystemRandom,
    issued: AtomicUsize,
}

impl TokenIssuer {
    /// Starts a token server that grants whatever is asked to `user` with `password`, and
    /// answers 401 to anyone else (no credentials included).
    pub fn start(user: &str, password: &str) -> TokenIssuer {
        let key_pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "boxwright test token signer");
        let certificate = params.self_signed(&key_pair).unwrap();
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &key_pair.serialize_der(),
            &rng,
        )
        .unwrap();
        let signer = Signer {
            user: user.to_string(),
            password: password.to_string(),
            key,
            certificate_der: certificate.der().to_vec(),
            rng,
            issued: AtomicUsize::new(0),
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let scopes = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (requests, scopes, stop) = (requests.clone(), scopes.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    requests.fetch_add(1, Ordering::SeqCst);
                    signer.answer(stream, &scopes);
                }
            })
        };
        TokenIssuer {
            port,
            certificate_pem: certificate.pem(),
            requests,
            scopes,
            stop,
            thread: Some(thread),
        }
    }

    /// The registry's `auth.token.realm`.
    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    /// The signing certificate, PEM: the registry's `rootcertbundle`.
    pub fn root_certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// Token requests so far (refused ones included).
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// The `scope` of every token request so far, in order.
    pub fn scopes(&self) -> Vec<String> {
        self.scopes.lock().unwrap().clone()
    }
}

impl Drop for TokenIssuer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop up so that it sees `stop`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Signer {
    fn answer(&self, mut stream: TcpStream, scopes: &Mutex<Vec<String>>) {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut head = Vec::new();
        let mut buffer = [0; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buffer[..n]),
            }
        }
        let head = String::from_utf8_lossy(&head);
        let target = head.split_whitespace().nth(1).unwrap_or_default();
        let query = target.split_once('?').map_or("", |(_, q)| q);
        let params: Vec<(String, String)> = query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (percent_decode(k), percent_decode(v)))
            .collect();
        let asked: Vec<String> = params
            .iter()
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.clone())
            .collect();
        scopes.lock().unwrap().extend(asked.iter().cloned());
        let authorization = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("authorization")
                .then(|| value.trim().to_string())
        });
        let credentials = authorization
            .as_deref()
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| STANDARD.decode(b.trim()).ok())
            .and_then(|b| String::from_utf8(b).ok());
        let expected = format!("{}:{}", self.user, self.password);
        let (status, body) = if credentials.as_deref() == Some(expected.as_str()) {
            let token = self.token(&asked);
            let body =
                serde_json::json!({"token": token, "access_token": token, "expires_in": 300});
            ("200 OK", body.to_string())
        } else {
            (
                "401 Unauthorized",
                r#"{"details":"bad credentials"}"#.to_string(),
            )
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\
             WWW-Authenticate: Basic realm=\"{SERVICE}\"\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes());
    }

    /// A signed JWT granting every scope `repository:NAME:ACTIONS` in `scopes`.
    fn token(&self, scopes: &[String]) -> String {
        let access: Vec<serde_json::Value> = scopes
            .iter()
            .filter_map(|scope| {
                let rest = scope.strip_prefix("repository:")?;
                let (name, actions) = rest.rsplit_once(':')?;
                Some(serde_json::json!({
                    "type": "repository",
                    "name": name,
                    "actions": actions.split(',').collect::<Vec<_>>(),
                }))
            })
            .collect();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let header = serde_json::json!({
            "alg": "ES256",
            "typ": "JWT",
            "x5c": [STANDARD.encode(&self.certificate_der)],
        });
        let claims = serde_json::json!({
            "iss": ISSUER,
            "sub": self.user,
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": format!("token-{}", self.issued.fetch_add(1, Ordering::SeqCst)),
            "access": access,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        // The FIXED algorithm signs as r || s (32 bytes each), which is what ES256 wants.
        let signature = self.key.sign(&self.rng, signing_input.as_bytes()).unwrap();
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        )
    }
}

/// `application/x-www-form-urlencoded` decoding: `%XX` escapes and `+` for a space.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
