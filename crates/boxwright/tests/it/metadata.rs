//! metadata.json loading, `targets`, `metadata get` and `schema`.

use crate::support::{TestProject, boxwright};

/// The seed's entries plus extensions: overlapping prefixes and a prefix unlike the name.
const SEED: &str = r#"{
  "nginx": {
    "tag_prefix": "nginx", "version_env_var": "NGINX_VERSION",
    "release_files": ["sbin/nginx"],
    "env": { "NGINX_VERSION": "1.28.2", "ALPINE_VERSION": "3.23" },
    "downloads": [{ "url": "https://nginx.example/download/nginx-{NGINX_VERSION}.tar.gz",
                    "name": "nginx-{NGINX_VERSION}.tar.gz" }]
  },
  "nginx-resty-upstream-healthcheck": {
    "tag_prefix": "nginx-resty-upstream-healthcheck", "version_env_var": "NGINX_VERSION",
    "release_files": ["sbin/nginx", "lualib/resty/core.lua", "lualib/resty/core/", "lualib/resty/upstream/"],
    "env": { "NGINX_VERSION": "1.28.2" }
  },
  "apache-httpd": {
    "tag_prefix": "httpd", "version_env_var": "HTTPD_VERSION",
    "release_files": ["bin/httpd", "bin/rotatelogs"],
    "env": { "HTTPD_VERSION": "2.4.66", "UBI9_MICRO_VERSION": "9.5" }
  },
  "haproxy": {
    "tag_prefix": "haproxy", "version_env_var": "HAPROXY_VERSION",
    "release_files": ["sbin/haproxy"],
    "env": { "HAPROXY_VERSION": "3.2.13", "ALPINE_VERSION": "3.23" },
    "verify": { "static": true, "pie": true, "smoke": ["sbin/haproxy", "-v"] },
    "image": { "entrypoint": ["/sbin/haproxy"], "files": { "/sbin/haproxy": "sbin/haproxy" } }
  },
  "your-target": {
    "tag_prefix": "your-target", "version_env_var": "YOUR_TARGET_VERSION",
    "release_files": ["bin/your-target"],
    "env": { "ALPINE_VERSION": "3.23", "YOUR_TARGET_VERSION": "1.0.0", "UBI9_MICRO_VERSION": "9.5" },
    "downloads": [{ "url": "https://example.com/your-target-{YOUR_TARGET_VERSION}.tar.gz",
                    "name": "your-target-{YOUR_TARGET_VERSION}.tar.gz" }]
  }
}"#;

fn stdout(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().unwrap();
    crate::support::assert_success(&out);
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn seed_metadata_lists_targets() {
    let project = TestProject::new(SEED);
    let text = stdout(project.boxwright().arg("targets"));
    assert!(text.lines().next().unwrap().starts_with("TARGET"), "{text}");
    assert!(
        text.contains("apache-httpd") && text.contains("httpd "),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(project.boxwright().args(["targets", "--json"]))).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    let httpd = rows.iter().find(|r| r["name"] == "apache-httpd").unwrap();
    assert_eq!(httpd["version"], "2.4.66");
    assert_eq!(httpd["tag_prefix"], "httpd");
}

#[test]
fn metadata_get_answers_every_key() {
    let project = TestProject::new(SEED);
    let get = |target: &str, key: &str| {
        stdout(project.boxwright().args(["metadata", "get", target, key]))
    };
    assert_eq!(get("apache-httpd", "tag_prefix"), "httpd\n");
    assert_eq!(get("apache-httpd", "version_env_var"), "HTTPD_VERSION\n");
    assert_eq!(get("apache-httpd", "version"), "2.4.66\n");
    assert_eq!(
        get("apache-httpd", "release_files"),
        "bin/httpd\nbin/rotatelogs\n"
    );
    assert_eq!(get("nginx", "env.ALPINE_VERSION"), "3.23\n");
    assert_eq!(
        get("nginx", "downloads"),
        "nginx-1.28.2.tar.gz\thttps://nginx.example/download/nginx-1.28.2.tar.gz\n"
    );
    let out = project
        .boxwright()
        .args(["metadata", "get", "nginx", "colour"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown key `colour`"));
    let out = project
        .boxwright()
        .args(["metadata", "get", "nope", "version"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown target `nope`"));
}

#[test]
fn errors_name_the_file_the_pointer_and_the_problem() {
    let cases = [
        (
            SEED.replace(
                "\"release_files\": [\"sbin/haproxy\"]",
                "\"release_flies\": []",
            ),
            "/haproxy/release_flies",
            "unknown key",
        ),
        (
            SEED.replace(
                "\"release_files\": [\"sbin/haproxy\"]",
                "\"release_files\": 3",
            ),
            "/haproxy/release_files",
            "invalid type",
        ),
        (
            SEED.replace(
                "nginx-{NGINX_VERSION}.tar.gz\" }",
                "nginx-{NGINX_VERSON}.tar.gz\" }",
            ),
            "/nginx/downloads/0/name",
            "NGINX_VERSON",
        ),
        (
            SEED.replace("\"HAPROXY_VERSION\": \"3.2.13\",", ""),
            "/haproxy/env",
            "HAPROXY_VERSION",
        ),
        (
            SEED.replace("\"static\": true", "\"statik\": true"),
            "/haproxy/verify/statik",
            "unknown key",
        ),
    ];
    for (text, pointer, problem) in cases {
        let project = TestProject::new(&text);
        let out = project.boxwright().arg("targets").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("metadata.json"), "{stderr}");
        assert!(stderr.contains(pointer), "expected {pointer} in {stderr}");
        assert!(stderr.contains(problem), "expected {problem} in {stderr}");
    }
}

#[test]
fn templates_fall_back_to_the_process_environment() {
    let text = SEED.replace("\"sbin/haproxy\"]", "\"sbin/haproxy-{DISTRO_VERSION}\"]");
    let project = TestProject::new(&text);
    let out = project
        .boxwright()
        .env("DISTRO_VERSION", "v0.1.0")
        .args(["metadata", "get", "haproxy", "release_files"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "sbin/haproxy-v0.1.0\n"
    );
    let out = project
        .boxwright()
        .env_remove("DISTRO_VERSION")
        .args(["metadata", "get", "haproxy", "release_files"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown variable `DISTRO_VERSION`"));
}

#[test]
fn project_is_found_from_a_subdirectory() {
    let project = TestProject::new(SEED);
    let deep = project.path().join("nginx/patches");
    std::fs::create_dir_all(&deep).unwrap();
    let text = stdout(
        boxwright()
            .current_dir(&deep)
            .args(["metadata", "get", "nginx", "version"]),
    );
    assert_eq!(text, "1.28.2\n");
    let empty = tempfile::tempdir().unwrap();
    let out = boxwright()
        .current_dir(empty.path())
        .arg("targets")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no metadata.json found"));
}

/// The schema printed by `boxwright schema` accepts the seed file and the example project,
/// and rejects a typo, checked by an independent validator (Python's jsonschema).
#[test]
fn schema_validates_with_an_independent_validator() {
    let project = TestProject::new(SEED);
    let schema = stdout(project.boxwright().arg("schema"));
    std::fs::write(project.path().join("schema.json"), &schema).unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/metadata.json");
    let typo = project.path().join("typo.json");
    std::fs::write(
        &typo,
        SEED.replace(
            "\"release_files\": [\"sbin/haproxy\"]",
            "\"release_flies\": []",
        ),
    )
    .unwrap();
    let script = r"
import json, sys
try:
    import jsonschema
except ImportError:
    sys.exit('python3 module jsonschema is missing: pip install jsonschema (or apt-get install python3-jsonschema)')
schema = json.load(open(sys.argv[1]))
for path, ok in ((sys.argv[2], True), (sys.argv[3], True), (sys.argv[4], False)):
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(json.load(open(path))))
    if bool(errors) == ok:
        sys.exit(f'{path}: expected valid={ok}, errors={[e.message for e in errors]}')
print('ok')
";
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(project.path().join("schema.json"))
        .arg(project.path().join("metadata.json"))
        .arg(example)
        .arg(&typo)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// docs/metadata.schema.json is what `boxwright schema` prints (regenerate it when this fails:
/// `cargo run -q -- schema > docs/metadata.schema.json`).
#[test]
fn published_schema_is_current() {
    let published = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/metadata.schema.json"
    ))
    .expect("docs/metadata.schema.json exists");
    let printed = stdout(boxwright().arg("schema"));
    assert_eq!(published, printed);
}
