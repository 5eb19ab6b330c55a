use boxwright_upstream::{DiscoverOptions, MAX_PAGES, discover, latest};
use serde_json::json;

use crate::support::{FakeApi, Reply, found, skipped, upstream};

const PAGE_1: &str = include_str!("../fixtures/github/releases-1.json");
const PAGE_2: &str = include_str!("../fixtures/github/releases-2.json");
const PAGE_3: &str = include_str!("../fixtures/github/releases-3.json");
const LIMITLESS: &str = include_str!("../fixtures/github/limitless.json");

const FIRST: &str = "/repos/acme/server/releases?per_page=100";
const SECOND: &str = "/repositories/4242/releases?per_page=100&page=2";
const THIRD: &str = "/repositories/4242/releases?per_page=100&page=3";

/// Three pages linked the way GitHub links them (`/repositories/<id>/…`, prev/next/last).
fn three_pages() -> FakeApi {
    let api = FakeApi::start();
    api.route(
        FIRST,
        vec![Reply::json(PAGE_1).header(
            "link",
            &format!(r#"<{{base}}{SECOND}>; rel="next", <{{base}}{THIRD}>; rel="last""#),
        )],
    )
    .route(
        SECOND,
        vec![Reply::json(PAGE_2).header(
            "link",
            &format!(
                r#"<{{base}}{FIRST}&page=1>; rel="prev", <{{base}}{THIRD}>; rel="next", <{{base}}{THIRD}>; rel="last", <{{base}}{FIRST}&page=1>; rel="first""#
            ),
        )],
    )
    .route(
        THIRD,
        vec![Reply::json(PAGE_3).header(
            "link",
            &format!(r#"<{{base}}{SECOND}>; rel="prev", <{{base}}{FIRST}&page=1>; rel="first""#),
        )],
    );
    api
}

fn server_upstream(api: &FakeApi, extra: serde_json::Value) -> boxwright_metadata::Upstream {
    let mut object = json!({"github": "acme/server", "api_url": api.base()});
    let serde_json::Value::Object(extra) = extra else {
        panic!("extra keys are an object");
    };
    object.as_object_mut().unwrap().extend(extra);
    upstream(object)
}

#[tokio::test]
async fn releases_over_three_pages_ordered_by_version() {
    let api = three_pages();
    let discovery = discover(
        &server_upstream(&api, json!({})),
        &DiscoverOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        found(&discovery),
        [
            ("10.10.0", "v10.10.0"),
            ("10.9.3", "v10.9.3"),
            ("10.9.2", "v10.9.2"),
            ("10.9.1", "v10.9.1"),
            ("9.11.5", "v9.11.5"),
        ],
        "10.10.0 above 10.9.3 although 10.9.3 was released later"
    );
    assert_eq!(
        skipped(&discovery),
        [
            "v10.11.0",
            "nightly-2024",
            "v10.10.0-rc2",
            "latest",
            "v10.10.0-rc1",
            "10.9.1"
        ]
    );
    let reasons: Vec<&str> = discovery
        .skipped
        .iter()
        .map(|s| s.reason.as_str())
        .collect();
    assert_eq!(reasons[0], "draft release");
    assert!(
        reasons[1].contains("`nightly-2024` is not a version"),
        "{}",
        reasons[1]
    );
    assert_eq!(reasons[2], "prerelease (prereleases is false)");
    assert_eq!(reasons[5], "same version as tag `v10.9.1`");
    assert!(
        discovery
            .versions
            .iter()
            .all(|v| !v.prerelease && v.flavour.is_none())
    );
    assert_eq!(discovery.requests, 3);
    assert_eq!(api.targets(), [FIRST, SECOND, THIRD]);
    assert_eq!(latest(&discovery.versions).unwrap().tag, "v10.10.0");
}

#[tokio::test]
async fn prereleases_when_asked_never_drafts_and_latest_stays_a_release() {
    let api = three_pages();
    let discovery = discover(
        &server_upstream(&api, json!({"prereleases": true})),
        &DiscoverOptions::default(),
    )
    .await
    .unwrap();
    let versions: Vec<(&str, bool)> = discovery
        .versions
        .iter()
        .map(|v| (v.version.as_str(), v.prerelease))
        .collect();
    assert_eq!(
        versions,
        [
            ("10.10.0", false),
            ("10.10.0-rc2", true),
            ("10.10.0-rc1", true),
            ("10.9.3", false),
            ("10.9.2", false),
            ("10.9.1", false),
            ("9.11.5", false),
        ]
    );
    assert_eq!(
        skipped(&discovery),
        ["v10.11.0", "nightly-2024", "latest", "10.9.1"]
    );
    assert_eq!(latest(&discovery.versions).unwrap().version, "10.10.0");
}

#[tokio::test]
async fn max_versions_from_metadata_and_overridden_by_options() {
    let api = three_pages();
    let from_metadata = discover(
        &server_upstream(&api, json!({"max_versions": 3})),
        &DiscoverOptions::default(),
    )
    .await
    .unwrap();
    let tags: Vec<&str> = from_metadata
        .versions
        .iter()
        .map(|v| v.tag.as_str())
        .collect();
    assert_eq!(tags, ["v10.10.0", "v10.9.3", "v10.9.2"]);
    assert_eq!(
        from_metadata.requests, 3,
        "every page is read before choosing"
    );

    let options = DiscoverOptions {
        max_versions: Some(1),
        ..DiscoverOptions::default()
    };
    let overridden = discover(&server_upstream(&api, json!({"max_versions": 3})), &options)
        .await
        .unwrap();
    assert_eq!(found(&overridden), [("10.10.0", "v10.10.0")]);
}

#[tokio::test]
async fn tag_regex_flavour_is_not_a_prerelease() {
    let api = FakeApi::start();
    api.route(
        "/repos/mattermost/limitless/releases?per_page=100",
        vec![Reply::json(LIMITLESS)],
    );
    let upstream = upstream(json!({
        "github": "mattermost/limitless",
        "api_url": api.base(),
        "tag_regex": r"^v(?P<version>[0-9]+\.[0-9]+\.[0-9]+)-limitless$",
    }));
    let discovery = discover(&upstream, &DiscoverOptions::default())
        .await
        .unwrap();
    let versions: Vec<(&str, Option<&str>, bool)> = discovery
        .versions
        .iter()
        .map(|v| (v.version.as_str(), v.flavour.as_deref(), v.prerelease))
        .collect();
    assert_eq!(
        versions,
        [
            ("11.0.10", Some("-limitless"), false),
            ("11.0.4", Some("-limitless"), false),
            ("11.0.3", Some("-limitless"), false),
        ]
    );
    assert_eq!(skipped(&discovery), ["v11.0.4", "release-candidate"]);
    assert!(
        discovery.skipped[0]
            .reason
            .contains("does not match tag_regex")
    );
    assert_eq!(discovery.requests, 1);
    assert_eq!(
        latest(&discovery.versions).unwrap().tag,
        "v11.0.10-limitless"
    );
}

#[tokio::test]
async fn token_and_api_headers_on_every_request() {
    let api = three_pages();
    let options = DiscoverOptions {
        github_token: Some("ghp_test_token".into()),
        gitlab_token: Some("glpat-unused".into()),
        max_versions: None,
    };
    let discovery = discover(&server_upstream(&api, json!({})), &options)
        .await
        .unwrap();
    assert_eq!(discovery.requests, 3);
    let requests = api.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(
            request.header("authorization"),
            Some("Bearer ghp_test_token")
        );
        assert_eq!(
            request.header("accept"),
            Some("application/vnd.github+json")
        );
        assert_eq!(request.header("x-github-api-version"), Some("2022-11-28"));
        assert!(
            request
                .header("user-agent")
                .unwrap()
                .starts_with("boxwright/")
        );
        assert_eq!(
            request.header("private-token"),
            None,
            "no GitLab token to GitHub"
        );
    }
}

#[tokio::test]
async fn no_token_no_authorization_header() {
    let api = three_pages();
    discover(
        &server_upstream(&api, json!({})),
        &DiscoverOptions::default(),
    )
    .await
    .unwrap();
    let requests = api.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.header("authorization").is_none()));
    assert!(
        requests
            .iter()
            .all(|r| r.header("accept") == Some("application/vnd.github+json"))
    );
}

#[tokio::test]
async fn a_same_origin_redirect_is_followed_with_the_token() {
    let api = FakeApi::start();
    api.route(
        "/repos/old-owner/server/releases?per_page=100",
        vec![
            Reply::status(301, r#"{"message":"Moved Permanently"}"#)
                .header("location", "{base}/repositories/4242/releases?per_page=100"),
        ],
    )
    .route(
        "/repositories/4242/releases?per_page=100",
        vec![Reply::json(PAGE_3)],
    );
    let upstream = upstream(json!({"github": "old-owner/server", "api_url": api.base()}));
    let options = DiscoverOptions {
        github_token: Some("ghp_test_token".into()),
        ..DiscoverOptions::default()
    };
    let discovery = discover(&upstream, &options).await.unwrap();
    assert_eq!(found(&discovery)[0], ("10.9.1", "v10.9.1"));
    let requests = api.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[1].header("authorization"),
        Some("Bearer ghp_test_token")
    );
}

#[tokio::test]
async fn pages_stop_at_the_bound() {
    let api = FakeApi::start();
    for page in 1..=MAX_PAGES + 5 {
        let target = format!("/repos/acme/endless/releases?per_page=100&page={page}");
        let body = format!(r#"[{{"tag_name":"v1.{page}.0","draft":false,"prerelease":false}}]"#);
        let next = format!(
            r#"<{{base}}/repos/acme/endless/releases?per_page=100&page={}>; rel="next""#,
            page + 1
        );
        api.route(&target, vec![Reply::json(&body).header("link", &next)]);
    }
    api.route(
        "/repos/acme/endless/releases?per_page=100",
        vec![Reply::json("[]").header(
            "link",
            r#"<{base}/repos/acme/endless/releases?per_page=100&page=1>; rel="next""#,
        )],
    );
    let upstream = upstream(json!({"github": "acme/endless", "api_url": api.base()}));
    let options = DiscoverOptions {
        max_versions: Some(100),
        ..DiscoverOptions::default()
    };
    let discovery = discover(&upstream, &options).await.unwrap();
    assert_eq!(discovery.requests, MAX_PAGES);
    assert_eq!(api.requests().len(), MAX_PAGES);
    assert_eq!(discovery.versions.len(), MAX_PAGES - 1);
    assert_eq!(
        discovery.versions[0].version,
        format!("1.{}.0", MAX_PAGES - 1)
    );
}
