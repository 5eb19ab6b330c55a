//! The HTTP server: routes, shared state, the accept loop (plain or TLS).
//!
//! At most `limits.max_connections` connections are served at once: the loop takes a slot
//! before it accepts, so further clients wait in the kernel's listen queue without holding a
//! descriptor of ours. A connection has [`HEADER_TIMEOUT`] for each request head (idle
//! keep-alive time included), [`HANDSHAKE_TIMEOUT`] for TLS, and an upload body
//! `limits.body_timeout` between reads ([`upload`]). Failed accepts back off ([`accept`]).
//! Request-controlled text in log lines and refusals goes through [`escape`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use boxwright_package::repo::{KeySource, RepoConfig, Repository};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::Service as _;

use crate::accept::AcceptBackoff;
use crate::auth::Authoriser;
use crate::config::{Limits, ServeConfig};
use crate::log::escape;
use crate::upload::Refusal;
use crate::{Error, Log, publish, tls, upload};

/// How long a client may take to send a request head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// The peer's address, put into each request's extensions.
#[derive(Debug, Clone, Copy)]
struct Peer(SocketAddr);

struct AppState {
    /// Canonical repository root.
    root: PathBuf,
    staging: PathBuf,
    repository: Repository,
    limits: Limits,
    auth: Option<Authoriser>,
    /// One lock per index scope: uploads to one index are serialised.
    scopes: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    log: Log,
}

/// A server bound to its address, not yet serving.
pub struct Server {
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: Router,
    log: Log,
    max_connections: usize,
}

impl Server {
    /// Checks the configuration's files, prepares the staging area and binds `addr`
    /// (the configuration's address unless given).
    pub async fn bind(config: &ServeConfig, addr: Option<&str>, log: Log) -> Result<Server, Error> {
        std::fs::create_dir_all(&config.dir)
            .map_err(|e| Error::io("create the repository directory", &config.dir, e))?;
        let root = std::fs::canonicalize(&config.dir)
            .map_err(|e| Error::io("resolve the repository directory", &config.dir, e))?;
        let staging = upload::prepare_staging(&root)?;
        let tls = config.tls.as_ref().map(tls::acceptor).transpose()?;
        let auth = config.jwt.clone().map(Authoriser::new).transpose()?;
        if auth.is_none() {
            log(
                "warning: no `jwt` section in the configuration: anyone who can reach the server may upload",
            );
        }
        let repository = Repository::new(RepoConfig {
            root: root.clone(),
            apk_key: config.apk_key.clone().map(KeySource::Path),
            apk_key_name: None,
            apt_key: config.apt_key.clone().map(KeySource::Path),
            apt_origin: config.apt_origin.clone(),
            apt_label: config.apt_label.clone(),
            index_time: config.index_time,
        })
        .with_read_limits(config.limits.read);
        let state = Arc::new(AppState {
            root,
            staging,
            repository,
            limits: config.limits,
            auth,
            scopes: Mutex::new(HashMap::new()),
            log: Arc::clone(&log),
        });
        let body_limit = usize::try_from(config.limits.max_body).unwrap_or(usize::MAX);
        let router = Router::new()
            .route(
                "/upload",
                post(upload_handler)
                    .layer(DefaultBodyLimit::max(body_limit.saturating_add(64 * 1024))),
            )
            .fallback(files_handler)
            .with_state(state);
        let addr = addr.unwrap_or(&config.addr);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind {
                addr: addr.to_string(),
                source,
            })?;
        Ok(Server {
            listener,
            tls,
            router,
            log,
            max_connections: config.limits.max_connections,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.listener.local_addr().map_err(Error::LocalAddr)
    }

    /// `http://` or `https://` and the bound address.
    pub fn url(&self) -> Result<String, Error> {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        Ok(format!("{scheme}://{}", self.local_addr()?))
    }

    /// Serves until SIGINT or SIGTERM.
    pub async fn run(self) -> Result<(), Error> {
        let shutdown = shutdown_signal();
        tokio::pin!(shutdown);
        let slots = Arc::new(Semaphore::new(self.max_connections));
        let mut backoff = AcceptBackoff::default();
        loop {
            let slot = tokio::select! {
                slot = Arc::clone(&slots).acquire_owned() => match slot {
                    Ok(slot) => slot,
                    Err(_) => return Ok(()),
                },
                () = &mut shutdown => return Ok(()),
            };
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => {
                        backoff.succeeded(&self.log);
                        accepted
                    }
                    Err(e) => {
                        drop(slot);
                        let delay = backoff.failed(&e, &self.log);
                        tokio::select! {
                            () = tokio::time::sleep(delay) => continue,
                            () = &mut shutdown => return Ok(()),
                        }
                    }
                },
                () = &mut shutdown => return Ok(()),
            };
            let _ = stream.set_nodelay(true);
            let router = self.router.clone();
            let tls = self.tls.clone();
            let log = Arc::clone(&self.log);
            tokio::spawn(async move {
                // The slot is given back when the connection ends.
                let _slot = slot;
                match tls {
                    None => serve_connection(stream, peer, router).await,
                    Some(acceptor) => {
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                        {
                            Ok(Ok(stream)) => serve_connection(stream, peer, router).await,
                            Ok(Err(e)) => log(&format!(
                                "TLS handshake with {peer} failed: {}",
                                escape(&e.to_string())
                            )),
                            Err(_) => log(&format!("TLS handshake with {peer} timed out")),
                        }
                    }
                }
            });
        }
    }
}

async fn serve_connection<S>(stream: S, peer: SocketAddr, router: Router)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(Peer(peer));
        let mut router = router.clone();
        async move { router.call(request.map(axum::body::Body::new)).await }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut terminate) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return interrupt.await.unwrap_or(());
        };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

async fn files_handler(State(state): State<Arc<AppState>>, request: Request) -> Response {
    crate::files::serve(
        &state.root,
        request.method(),
        request.uri().path(),
        request.headers(),
    )
    .await
}

async fn upload_handler(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let peer = request
        .extensions()
        .get::<Peer>()
        .map_or_else(|| "unknown peer".to_string(), |p| p.0.to_string());
    match upload(&state, &headers, request).await {
        Ok(published) => {
            for package in &published {
                (state.log)(&format!(
                    "upload from {peer}: {} {} ({}) {}",
                    escape(&package.name),
                    escape(&package.version),
                    escape(&package.arch),
                    if package.added {
                        "added"
                    } else {
                        "already present"
                    }
                ));
            }
            let body = serde_json::json!({ "packages": published });
            (
                StatusCode::CREATED,
                [(header::CONTENT_TYPE, "application/json")],
                format!("{body}\n"),
            )
                .into_response()
        }
        Err(refusal) => {
            // Reasons quote what the client sent (header fields, form fields, file names,
            // package metadata): escaped once, here, for the log and the answer alike.
            let reason = escape(&refusal.reason);
            (state.log)(&format!(
                "upload from {peer} refused: {} {reason}",
                refusal.status.as_u16(),
            ));
            let body = serde_json::json!({ "error": reason });
            (
                refusal.status,
                [(header::CONTENT_TYPE, "application/json")],
                format!("{body}\n"),
            )
                .into_response()
        }
    }
}

async fn upload(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    request: Request,
) -> Result<Vec<publish::Published>, Refusal> {
    if let Some(auth) = &state.auth {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        auth.check(authorization).await.map_err(|rejection| {
            Refusal::new(
                StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::UNAUTHORIZED),
                rejection.reason().to_string(),
            )
        })?;
    }
    if let Some(length) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && length > state.limits.max_body
    {
        return Err(Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "upload of {length} bytes is larger than {} bytes",
                state.limits.max_body
            ),
        ));
    }
    let multipart = <Multipart as axum::extract::FromRequest<()>>::from_request(request, &())
        .await
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let staged = upload::receive(multipart, &state.staging, state.limits).await?;
    let staged = Arc::new(staged);
    let plan = {
        let (state, staged) = (Arc::clone(state), Arc::clone(&staged));
        blocking(move || publish::check(&state.repository, &staged, &state.limits.read)).await?
    };
    let lock = {
        let mut scopes = state
            .scopes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(scopes.entry(plan.scope.clone()).or_default())
    };
    let _guard = lock.lock().await;
    let state = Arc::clone(state);
    blocking(move || publish::commit(&state.repository, &state.root, &staged, &plan)).await
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Refusal> + Send + 'static,
) -> Result<T, Refusal> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("upload task failed: {e}"),
        ))
    })
}
