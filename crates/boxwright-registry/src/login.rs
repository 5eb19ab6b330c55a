//! `login`: whether a registry accepts the client's credentials, asked the way `docker login`
//! asks: `GET /v2/` with basic authentication, and on a bearer challenge a token request
//! without a scope.

use reqwest::{StatusCode, Url};

use crate::client::{Call, parse_challenge};
use crate::{Client, Error, Reference};

impl Client {
    /// Checks the client's credentials against `registry` (`host[:port]`): `Ok` when the
    /// registry (or its token service) accepts them, [`Error::LoginRejected`] when it answers
    /// 401. Connection failures and 5xx answers are retried as for every request.
    pub async fn login(&self, registry: &str) -> Result<(), Error> {
        let reference = Reference {
            registry: registry.to_string(),
            repository: String::new(),
            tag: None,
            digest: None,
        };
        let call = Call::new(&reference, "/v2/", false);
        let url = self
            .base(&reference)
            .await?
            .join("v2/")
            .expect("a fixed path joins");
        self.retrying(
            || format!("login to {registry}"),
            || self.login_once(&call, &url),
        )
        .await
    }

    async fn login_once(&self, call: &Call<'_>, url: &Url) -> Result<(), Error> {
        let credentials = self.options.credentials.as_ref();
        let rejected = |what: &str| Error::LoginRejected {
            registry: call.reference.registry.clone(),
            username: credentials.map(|c| c.username.clone()).unwrap_or_default(),
            what: what.to_string(),
        };
        let mut request = self.http.get(url.clone());
        if let Some(credentials) = credentials {
            request = request.basic_auth(&credentials.username, Some(&credentials.password));
        }
        let response = request.send().await.map_err(|e| call.http_error(e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        if status != StatusCode::UNAUTHORIZED {
            return Err(call.fail(response).await);
        }
        let Some(challenge) =
            parse_challenge(response.headers()).filter(|c| c.scheme.eq_ignore_ascii_case("bearer"))
        else {
            return Err(rejected("/v2/"));
        };
        match self.fetch_token(call, &challenge, &[], credentials).await {
            Ok(_) => Ok(()),
            Err(Error::Unauthorized { what, .. } | Error::NeedsCredentials { what, .. }) => {
                Err(rejected(&what))
            }
            Err(other) => Err(other),
        }
    }
}
