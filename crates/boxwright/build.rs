//! `--version`'s build facts: the commit (git, else BOXWRIGHT_COMMIT, else `unknown`), the date
//! (SOURCE_DATE_EPOCH, else the commit's date; never the clock, so builds stay reproducible)
//! and cargo's target triple. Reruns only when HEAD moves or those variables change.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rerun-if-env-changed=BOXWRIGHT_COMMIT");
    watch_head();
    let commit = git(&["rev-parse", "--short=12", "HEAD"])
        .or_else(|| std::env::var("BOXWRIGHT_COMMIT").ok())
        .unwrap_or_else(|| "unknown".into());
    let date = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|epoch| epoch.trim().parse::<i64>().ok())
        .map(date_of_epoch)
        .or_else(|| git(&["log", "-1", "--format=%cs"]))
        .unwrap_or_else(|| "unknown".into());
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=BOXWRIGHT_COMMIT={commit}");
    println!("cargo:rustc-env=BOXWRIGHT_BUILD_DATE={date}");
    println!("cargo:rustc-env=BOXWRIGHT_TARGET={target}");
}

/// A git command's trimmed output, when git runs and succeeds with some output.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !text.is_empty()).then_some(text)
}

/// `rerun-if-changed` on HEAD and the ref it points to (in a worktree too).
fn watch_head() {
    let Some(head) = git(&["rev-parse", "--git-path", "HEAD"]) else {
        return;
    };
    println!("cargo:rerun-if-changed={head}");
    if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(path) = git(&["rev-parse", "--git-path", &reference])
    {
        if std::path::Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        } else if let Some(packed) = git(&["rev-parse", "--git-path", "packed-refs"]) {
            println!("cargo:rerun-if-changed={packed}");
        }
    }
}

/// `YYYY-MM-DD` (UTC) of seconds since 1970 (the civil-from-days algorithm). The package
/// crate's `repo::date` does the same, but a build script using it would build that crate
/// (and its dependencies) a second time as a build dependency: these ten lines are cheaper.
fn date_of_epoch(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
