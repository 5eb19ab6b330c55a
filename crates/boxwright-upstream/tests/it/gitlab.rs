use boxwright_upstream::{DiscoverOptions, discover, latest};
use serde_json::json;

use crate::support::{FakeApi, Reply, found, skipped, upstream};

const PAGE_1: &str = include_str!("../fixtures/gitlab/tags-1.json");
const PAGE_2: &str = include_str!("../fixtures/gitlab/tags-2.json");
const PAGE_3: &str = include_str!("../fixtures/gitlab/tags-3.json");

const FIRST: &str = "/api/v4/projects/group%2Fsub%2Fproject/repository/tags?per_page=100";

/// GitLab's offset pagination headers (`x-next-page` empty on the last page), no `Link`.
fn page(body: &str, number: u32, next: &str) -> Reply {
    Reply::json(body)
        .header("x-page", &number.to_string())
        .header("x-next-page", next)
        .header("x-per-page", "100")
        .header("x-total-pages", "3")
}

fn three_pages() -> FakeApi {
    let api = FakeApi::start();
    api.route(FIRST, vec![page(PAGE_1, 1, "2")])
        .route(&format!("{FIRST}&page=2"), vec![page(PAGE_2, 2, "3")])
        .route(&format!("{FIRST}&page=3"), vec![page(PAGE_3, 3, "")]);
    api
}

fn project(api: &FakeApi, prereleases: bool) -> boxwright_metadata::Upstream {
    upstream(
        json!({"gitlab": "group/sub/project", "api_url": api.base(), "prereleases": prereleases}),
    )
}

#[tokio::test]
async fn tags_over_three_pages_by_x_next_page() {
    let api = three_pages();
    let discovery = discover(&project(&api, false), &DiscoverOptions::default())
        .await
        .unwrap();
    assert_eq!(
        found(&discovery),
        [
            ("2.10.0", "v2.10.0"),
            ("2.9.9", "v2.9.9"),
            ("2.3.0", "v2.3.0"),
            ("2.1", "v2.1"),
            ("1.0.0", "v1.0.0"),
        ]
    );
    assert_eq!(
        skipped(&discovery),
        ["v2.10.0-rc1", "wip-feature", "backup-2023"]
    );
    assert!(discovery.skipped[0].reason.contains("pre-release version"));
    assert_eq!(discovery.requests, 3);
    assert_eq!(
        api.targets(),
        [
            FIRST.to_string(),
            format!("{FIRST}&page=2"),
            format!("{FIRST}&page=3")
        ]
    );
    assert_eq!(latest(&discovery.versions).unwrap().tag, "v2.10.0");
}

#[tokio::test]
async fn pre_release_versions_when_asked() {
    let api = three_pages();
    let discovery = discover(&project(&api, true), &DiscoverOptions::default())
        .await
        .unwrap();
    let versions: Vec<(&str, bool)> = discovery
        .versions
        .iter()
        .map(|v| (v.version.as_str(), v.prerelease))
        .collect();
    assert_eq!(
        versions[..3],
        [("2.10.0", false), ("2.10.0-rc1", true), ("2.9.9", false)]
    );
    assert_eq!(skipped(&discovery), ["wip-feature", "backup-2023"]);
    assert_eq!(latest(&discovery.versions).unwrap().version, "2.10.0");
}

#[tokio::test]
async fn private_token_only_when_given() {
    let api = three_pages();
    let options = DiscoverOptions {
        gitlab_token: Some("glpat-test-token".into()),
        github_token: Some("ghp_unused".into()),
        max_versions: None,
    };
    discover(&project(&api, false), &options).await.unwrap();
    let with_token = api.requests();
    assert_eq!(with_token.len(), 3);
    for request in &with_token {
        assert_eq!(request.header("private-token"), Some("glpat-test-token"));
        assert_eq!(
            request.header("authorization"),
            None,
            "no GitHub token to GitLab"
        );
    }

    let api = three_pages();
    discover(&project(&api, false), &DiscoverOptions::default())
        .await
        .unwrap();
    let without = api.requests();
    assert_eq!(without.len(), 3);
    assert!(without.iter().all(|r| r.header("private-token").is_none()));
}

#[tokio::test]
async fn link_next_wins_over_x_next_page_and_numeric_ids_work() {
    let api = FakeApi::start();
    let first = "/api/v4/projects/278964/repository/tags?per_page=100";
    let keyset =
        "/api/v4/projects/278964/repository/tags?per_page=100&pagination=keyset&id_after=8";
    api.route(
        first,
        vec![page(PAGE_1, 1, "2").header("link", &format!(r#"<{{base}}{keyset}>; rel="next""#))],
    )
    .route(keyset, vec![page(PAGE_3, 2, "")]);
    let upstream =
        upstream(json!({"gitlab": "278964", "api_url": format!("{}/api/v4", api.base())}));
    let discovery = discover(&upstream, &DiscoverOptions::default())
        .await
        .unwrap();
    assert_eq!(api.targets(), [first, keyset]);
    assert_eq!(discovery.requests, 2);
    assert_eq!(
        found(&discovery),
        [
            ("2.10.0", "v2.10.0"),
            ("2.9.9", "v2.9.9"),
            ("2.3.0", "v2.3.0"),
            ("1.0.0", "v1.0.0")
        ]
    );
}
