use boxwright_upstream::{DiscoverOptions, Error, discover};
use serde_json::json;

use crate::support::{FakeApi, Reply, upstream};

const PAGE_1: &str = include_str!("../fixtures/github/releases-1.json");
const PAGE_3: &str = include_str!("../fixtures/github/releases-3.json");

const RELEASES: &str = "/repos/acme/server/releases?per_page=100";
const TAGS: &str = "/api/v4/projects/group%2Fproject/repository/tags?per_page=100";

fn github(api: &FakeApi) -> boxwright_metadata::Upstream {
    upstream(json!({"github": "acme/server", "api_url": api.base()}))
}

fn gitlab(api: &FakeApi) -> boxwright_metadata::Upstream {
    upstream(json!({"gitlab": "group/project", "api_url": api.base()}))
}

fn with_github_token() -> DiscoverOptions {
    DiscoverOptions {
        github_token: Some("ghp_secret_value".into()),
        ..DiscoverOptions::default()
    }
}

#[tokio::test]
async fn github_rate_limit_names_url_reset_and_token_variable() {
    let api = FakeApi::start();
    api.route(
        RELEASES,
        vec![Reply::status(
            403,
            r#"{"message":"API rate limit exceeded for 127.0.0.1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}"#,
        )
        .header("x-ratelimit-limit", "60")
        .header("x-ratelimit-remaining", "0")
        .header("x-ratelimit-reset", "1767225600")],
    );
    let err = discover(&github(&api), &DiscoverOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::RateLimited {
                authenticated: false,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&format!("{}{RELEASES}", api.base())),
        "{message}"
    );
    assert!(
        message.contains("resets at 2026-01-01 00:00:00 UTC"),
        "{message}"
    );
    assert!(message.contains("set GITHUB_TOKEN"), "{message}");
    assert_eq!(api.requests().len(), 1, "a rate limit is not retried");

    let err = discover(&github(&api), &with_github_token())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("GITHUB_TOKEN") && message.contains("used up"),
        "{message}"
    );
    assert!(!message.contains("ghp_secret_value"), "{message}");
    assert!(!format!("{err:?}").contains("ghp_secret_value"));
}

#[tokio::test]
async fn gitlab_rate_limit_with_retry_after() {
    let api = FakeApi::start();
    api.route(
        TAGS,
        vec![
            Reply::status(429, r#"{"message":"Retry later"}"#)
                .header("retry-after", "60")
                .header("ratelimit-remaining", "0"),
        ],
    );
    let err = discover(&gitlab(&api), &DiscoverOptions::default())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains(&format!("{}{TAGS}", api.base())),
        "{message}"
    );
    assert!(message.contains("resets in 60 s"), "{message}");
    assert!(message.contains("set GITLAB_TOKEN"), "{message}");
    assert_eq!(api.requests().len(), 1);
}

#[tokio::test]
async fn not_found_names_url_status_and_message() {
    let api = FakeApi::start();
    api.route(
        TAGS,
        vec![Reply::status(404, r#"{"message":"404 Project Not Found"}"#)],
    );
    let err = discover(&gitlab(&api), &DiscoverOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Status { status: 404, .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "{}{TAGS} answered HTTP 404: 404 Project Not Found",
            api.base()
        )
    );
    assert_eq!(api.requests().len(), 1, "a 4xx is not retried");
}

#[tokio::test]
async fn an_error_on_a_later_page_names_that_page() {
    let api = FakeApi::start();
    api.route(
        RELEASES,
        vec![Reply::json(PAGE_1).header(
            "link",
            r#"<{base}/repositories/4242/releases?page=2>; rel="next""#,
        )],
    );
    let err = discover(&github(&api), &DiscoverOptions::default())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "{}/repositories/4242/releases?page=2 answered HTTP 404",
            api.base()
        )),
        "{message}"
    );
}

#[tokio::test]
async fn a_5xx_is_retried_once() {
    let api = FakeApi::start();
    api.route(
        RELEASES,
        vec![
            Reply::status(502, "<html>bad gateway</html>"),
            Reply::json(PAGE_3),
        ],
    );
    let discovery = discover(&github(&api), &DiscoverOptions::default())
        .await
        .unwrap();
    assert_eq!(discovery.requests, 2);
    assert_eq!(discovery.versions.len(), 2);

    let api = FakeApi::start();
    api.route(
        RELEASES,
        vec![Reply::status(500, r#"{"message":"Server Error"}"#)],
    );
    let err = discover(&github(&api), &DiscoverOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Status { status: 500, .. }), "{err:?}");
    assert!(
        err.to_string().ends_with("answered HTTP 500: Server Error"),
        "{err}"
    );
    assert_eq!(api.requests().len(), 2);
}

#[tokio::test]
async fn malformed_json_names_the_url() {
    for body in [
        r#"[{"tag_name": "v1.0""#,
        r#"{"message":"not a list"}"#,
        r#"[{"name":"v1"}]"#,
    ] {
        let api = FakeApi::start();
        api.route(RELEASES, vec![Reply::json(body)]);
        let err = discover(&github(&api), &DiscoverOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }), "{body}: {err:?}");
        assert!(
            err.to_string()
                .contains(&format!("{}{RELEASES}", api.base())),
            "{err}"
        );
    }
}

#[tokio::test]
async fn connection_refused_names_the_url() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let upstream =
        upstream(json!({"github": "acme/server", "api_url": format!("http://127.0.0.1:{port}")}));
    let err = discover(&upstream, &DiscoverOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Request { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("request to http://127.0.0.1:{port}{RELEASES} failed")
    );
}

#[tokio::test]
async fn links_and_redirects_to_another_origin_are_not_followed() {
    let other = FakeApi::start();
    other.route("/stolen", vec![Reply::json("[]")]);

    let api = FakeApi::start();
    api.route(
        RELEASES,
        vec![
            Reply::json(PAGE_3)
                .header("link", &format!(r#"<{}/stolen>; rel="next""#, other.base())),
        ],
    );
    let err = discover(&github(&api), &with_github_token())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ForeignLink { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(&format!("{}/stolen", other.base())),
        "{err}"
    );

    api.route(
        TAGS,
        vec![Reply::status(302, "").header("location", &format!("{}/stolen", other.base()))],
    );
    let options = DiscoverOptions {
        gitlab_token: Some("glpat-secret".into()),
        ..DiscoverOptions::default()
    };
    let err = discover(&gitlab(&api), &options).await.unwrap_err();
    assert!(matches!(err, Error::ForeignLink { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&format!("{}{TAGS}", api.base())),
        "{err}"
    );
    assert!(
        other.requests().is_empty(),
        "the other origin never saw a request"
    );
}

#[tokio::test]
async fn upstreams_that_cannot_be_used() {
    let both = upstream(json!({"github": "a/b", "gitlab": "a/b"}));
    let err = discover(&both, &DiscoverOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidUpstream { .. }), "{err:?}");

    let bad_regex = upstream(json!({"github": "a/b", "tag_regex": "(?P<version>"}));
    let err = discover(&bad_regex, &DiscoverOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TagRegex { .. }), "{err:?}");

    let zero = DiscoverOptions {
        max_versions: Some(0),
        ..DiscoverOptions::default()
    };
    let err = discover(&upstream(json!({"github": "a/b"})), &zero)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("max_versions"), "{err}");

    let bad_token = DiscoverOptions {
        github_token: Some("line\nbreak".into()),
        ..DiscoverOptions::default()
    };
    let err = discover(
        &upstream(json!({"github": "a/b", "api_url": "http://127.0.0.1:9"})),
        &bad_token,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidToken {
                variable: "GITHUB_TOKEN"
            }
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains("line"), "{err}");
}
