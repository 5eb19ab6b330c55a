//! `build_depends`: dependency order, the read-only sysroot with rewritten pkg-config files,
//! static library verification, rebuilds only of what changed, and the failure cases.
//! Needs bubblewrap, gcc + musl-tools and pkg-config (scripts/setup.sh installs them).

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

use crate::support::{
    TestProject, assert_success, edit_metadata, require_tool, tools_for_examples,
};

/// A library target installed with prefix `/`: `include/greet.h`, `lib/libgreet.a` and
/// `lib/pkgconfig/greet.pc`.
const LIBGREET: &str = r#"
build() {
  cat > greet.c <<'C'
#include "greet.h"
const char *greet(void) { return GREETING; }
C
  cat > greet.h <<'C'
#define GREETING "hello from libgreet"
const char *greet(void);
C
  $CC $CFLAGS -c greet.c -o greet.o
  ar rcs libgreet.a greet.o
}
package() {
  install -Dm644 greet.h "$DESTDIR/include/greet.h"
  install -Dm644 libgreet.a "$DESTDIR/lib/libgreet.a"
  mkdir -p "$DESTDIR/lib/pkgconfig"
  printf 'prefix=/\nlibdir=${prefix}/lib\nincludedir=${prefix}/include\n\nName: greet\nDescription: greeting\nVersion: 1.0\nLibs: -L${libdir} -lgreet\nCflags: -I${includedir}\n' \
    > "$DESTDIR/lib/pkgconfig/greet.pc"
}
"#;

/// A program linked against libgreet through pkg-config; it also checks that the sysroot is
/// read-only and that pkg-config points into it.
const APP: &str = r#"
build() {
  if touch "$SYSROOT/lib/intruder" 2>/dev/null; then echo "the sysroot is writable" >&2; exit 1; fi
  case "$($PKG_CONFIG --cflags --libs greet)" in
    *"-I$SYSROOT/include"*"-L$SYSROOT/lib"*|*"-L$SYSROOT/lib"*"-I$SYSROOT/include"*) ;;
    *) echo "pkg-config does not point into the sysroot: $($PKG_CONFIG --cflags --libs greet)" >&2; exit 1 ;;
  esac
  printf '#include <stdio.h>\n#include <greet.h>\nint main(void) { puts(greet()); return 0; }\n' > app.c
  $CC $CPPFLAGS $CFLAGS app.c -o app $LDFLAGS $($PKG_CONFIG --libs greet)
}
package() { install -Dm755 app "$DESTDIR/bin/app"; }
"#;

const OTHER: &str = r#"
build() { printf 'int main(void) { return 0; }\n' > o.c; $CC $CFLAGS o.c -o other $LDFLAGS; }
package() { install -Dm755 other "$DESTDIR/bin/other"; }
"#;

fn project() -> TestProject {
    tools_for_examples();
    require_tool("pkg-config", "apt-get install pkg-config");
    let metadata = json!({
        "libgreet": {"version_env_var": "V", "env": {"V": "1.0"}, "release_files": [],
                     "verify": {"static": true}},
        "app": {"version_env_var": "V", "env": {"V": "2.0"}, "release_files": ["bin/app"],
                "build_depends": ["libgreet"],
                "verify": {"static": true, "pie": true, "relro": true, "nx": true,
                           "smoke": ["bin/app"]}},
        "other": {"version_env_var": "V", "env": {"V": "3.0"},
                  "verify": {"static": true, "pie": true}}
    });
    let project = TestProject::new(&serde_json::to_string_pretty(&metadata).unwrap());
    project.write("libgreet/build.sh", LIBGREET.as_bytes(), 0o644);
    project.write("app/build.sh", APP.as_bytes(), 0o644);
    project.write("other/build.sh", OTHER.as_bytes(), 0o644);
    project
}

fn build(project: &TestProject, args: &[&str]) -> Output {
    project
        .boxwright()
        .arg("--json")
        .arg("build")
        .args(args)
        .output()
        .unwrap()
}

/// `target → status` from `build --json`.
fn statuses(out: &Output) -> Vec<(String, String)> {
    assert_success(out);
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    reports
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["target"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn status_of<'a>(statuses: &'a [(String, String)], target: &str) -> &'a str {
    &statuses
        .iter()
        .find(|(t, _)| t == target)
        .unwrap_or_else(|| panic!("{target} not in {statuses:?}"))
        .1
}

#[test]
fn dependent_builds_against_the_sysroot_and_only_changes_rebuild() {
    let project = project();
    // Naming the dependent builds its dependency first.
    let first = statuses(&build(&project, &["app"]));
    assert_eq!(
        first,
        [
            ("libgreet".into(), "built".into()),
            ("app".into(), "built".into())
        ]
    );
    let app = project.path().join(".out/app/bin/app");
    let run = std::process::Command::new(&app).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "hello from libgreet\n"
    );
    // The library's own output is untouched by the sysroot rewriting.
    let pc = std::fs::read_to_string(project.path().join(".out/libgreet/lib/pkgconfig/greet.pc"))
        .unwrap();
    assert!(pc.starts_with("prefix=/\n"), "{pc}");
    assert!(
        project
            .path()
            .join(".cache/libgreet/build-x86_64.json")
            .is_file()
    );

    let all = statuses(&build(&project, &["--all", "-j", "2"]));
    assert_eq!(status_of(&all, "libgreet"), "up_to_date");
    assert_eq!(status_of(&all, "app"), "up_to_date");
    assert_eq!(status_of(&all, "other"), "built");
    let again = project
        .boxwright()
        .args(["build", "--all"])
        .output()
        .unwrap();
    assert_success(&again);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("nothing to rebuild: 3 targets up to date"),
        "{stderr}"
    );

    // A change to the library's recipe rebuilds it and its dependent, nothing else.
    let recipe = project.path().join("libgreet/build.sh");
    let mut text = std::fs::read_to_string(&recipe).unwrap();
    text.push_str("# a comment changes the recipe\n");
    std::fs::write(&recipe, text).unwrap();
    let after = statuses(&build(&project, &["--all"]));
    assert_eq!(status_of(&after, "libgreet"), "built");
    assert_eq!(status_of(&after, "app"), "built");
    assert_eq!(status_of(&after, "other"), "up_to_date");
    let out = build(&project, &["app"]);
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        reports
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "up_to_date")
    );

    // An edited output is rebuilt, and `--force` rebuilds what is named only.
    std::fs::write(&app, b"tampered").unwrap();
    let tampered = statuses(&build(&project, &["app"]));
    assert_eq!(status_of(&tampered, "app"), "built");
    let forced = statuses(&build(&project, &["app", "--force"]));
    assert_eq!(status_of(&forced, "libgreet"), "up_to_date");
    assert_eq!(status_of(&forced, "app"), "built");

    // A moved project stays built: keys do not hold its path.
    let moved = TestProject::new("{}");
    crate::support::copy_tree(project.path(), moved.path(), &[]);
    let moved_statuses = statuses(&build(&moved, &["--all"]));
    assert!(
        moved_statuses.iter().all(|(_, s)| s == "up_to_date"),
        "{moved_statuses:?}"
    );
}

#[test]
fn static_libraries_must_hold_relocatable_objects_of_the_architecture() {
    let project = project();
    let recipe = LIBGREET.replace(
        "ar rcs libgreet.a greet.o",
        "echo 'not an object' > notes.txt; ar rcs libgreet.a greet.o notes.txt",
    );
    project.write("libgreet/build.sh", recipe.as_bytes(), 0o644);
    let out = build(&project, &["libgreet"]);
    // A verification failure is a failed check: exit 1.
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("lib/libgreet.a: member notes.txt is not an ELF object"),
        "{stderr}"
    );
    assert!(!project.path().join(".out/libgreet").exists());
}

fn assert_fails(out: &Output, needles: &[&str]) {
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in needles {
        assert!(stderr.contains(needle), "missing {needle:?} in:\n{stderr}");
    }
}

#[test]
fn cycles_missing_and_failing_dependencies_are_clear_and_keep_outputs() {
    let project = project();
    assert_success(&build(&project, &["--all"]));
    let outputs = |p: &Path| {
        ["libgreet/lib/libgreet.a", "app/bin/app", "other/bin/other"]
            .map(|f| std::fs::read(p.join(".out").join(f)).unwrap())
    };
    let before = outputs(project.path());

    edit_metadata(&project, |m| {
        m["libgreet"]["build_depends"] = json!(["app"]);
    });
    assert_fails(
        &build(&project, &["--all"]),
        &["build dependencies form a cycle: app -> libgreet -> app"],
    );
    edit_metadata(&project, |m| {
        m["libgreet"]["build_depends"] = json!(["zlib"]);
    });
    assert_fails(
        &build(&project, &["app"]),
        &["/libgreet/build_depends/0", "`zlib` is not a target"],
    );
    edit_metadata(&project, |m| {
        m["libgreet"]["build_depends"] = json!([]);
    });

    let broken = LIBGREET.replace("ar rcs", "echo 'compiler exploded' >&2; exit 3; ar rcs");
    project.write("libgreet/build.sh", broken.as_bytes(), 0o644);
    let out = build(&project, &["--all"]);
    assert_fails(
        &out,
        &[
            "the recipe of `libgreet` failed",
            "compiler exploded",
            "`app` was not built: its build dependency `libgreet` failed",
        ],
    );
    // Under --json the failure is the one document on stdout; the independent target was
    // still checked (its line is on stderr) and every earlier output is in place.
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("`app` was not built")),
        "{error}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("other"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(outputs(project.path()), before);
}

/// A recipe that records its paths (as nginx's `-V` records its configure line, and
/// `__FILE__` does) builds the same bytes wherever the project is: inside the sandbox the
/// work directory and the project have fixed paths.
#[test]
fn outputs_do_not_depend_on_where_the_project_is() {
    let first = project();
    let recipe = r#"
build() {
  printf '#include <stdio.h>\nint main(void) { puts(CONFIGURE " " __FILE__); return 0; }\n' > "$SRCDIR/where.c"
  $CC $CPPFLAGS $CFLAGS -DCONFIGURE="\"$SRCDIR $TARGETDIR $SYSROOT $LDFLAGS\"" "$SRCDIR/where.c" -o where $LDFLAGS
}
package() { install -Dm755 where "$DESTDIR/bin/other"; }
"#;
    first.write("other/build.sh", recipe.as_bytes(), 0o644);
    let second = TestProject::new("{}");
    crate::support::copy_tree(first.path(), second.path(), &[]);
    for project in [&first, &second] {
        assert_success(&build(project, &["other"]));
    }
    let binary = |p: &TestProject| std::fs::read(p.path().join(".out/other/bin/other")).unwrap();
    let (a, b) = (binary(&first), binary(&second));
    for project in [&first, &second] {
        let path = project.path().to_string_lossy().into_owned();
        assert!(
            !a.windows(path.len()).any(|w| w == path.as_bytes()),
            "the binary holds the project path {path}"
        );
    }
    assert!(a == b, "the two builds differ");
    let run = std::process::Command::new(first.path().join(".out/other/bin/other"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&run.stdout)
            .starts_with("/tmp/build/src /tmp/project/other /tmp/build/sysroot"),
        "{run:?}"
    );
}
