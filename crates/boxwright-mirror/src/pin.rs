//! Checksum pinning: every download of a mirror target gets a digest to check before it is
//! fetched, from metadata.json, from its upstream checksum file, or from metadata.lock.json;
//! otherwise (without `locked`) the digest of the first fetch is recorded there.

use std::path::Path;

use boxwright_fetch::{FetchOptions, FetchRequest, LockFile, Progress, Source};
use boxwright_metadata::Project;

use crate::{Error, Event};

/// Pins the downloads of `name` in `project` (a project holding the target resolved for one
/// version), then fetches them; records the digests of first fetches in the lock file.
pub async fn pin_and_fetch(
    project: &mut Project,
    name: &str,
    locked: bool,
    options: &FetchOptions,
    progress: &dyn Progress,
    observe: &dyn Fn(&Event<'_>),
) -> Result<(), Error> {
    let lock_path = project
        .metadata
        .path
        .with_file_name(boxwright_fetch::LOCK_FILE);
    let mut lock = LockFile::load(&lock_path).map_err(Box::new)?;
    let downloads = project.download_dir();
    let target = project
        .metadata
        .targets
        .get_mut(name)
        .expect("the caller resolved it");
    for download in &mut target.downloads {
        if download.sha256.is_some() || download.sha512.is_some() {
            continue;
        }
        if let Some(checksums_url) = &download.checksums_url {
            let text = checksum_file(name, checksums_url, &downloads).await?;
            let file = download.file_name().to_string();
            let published = download.url.rsplit('/').next().unwrap_or_default();
            let sha256 = boxwright_fetch::checksum_for(&text, &file)
                .or_else(|| boxwright_fetch::checksum_for(&text, published))
                .ok_or_else(|| Error::NotInChecksums {
                    url: checksums_url.clone(),
                    file: file.clone(),
                    published: published.to_string(),
                })?;
            download.sha256 = Some(sha256);
        } else {
            lock.pin(name, download, locked).map_err(Box::new)?;
        }
    }
    let fetched = boxwright_fetch::fetch_targets(project, &[name.to_string()], options, progress)
        .await
        .map_err(Box::new)?;
    let count = fetched.failures.len();
    let mut failures = fetched.failures.into_iter();
    if let Some((_, last)) = failures.next_back() {
        for (name, error) in &mut failures {
            observe(&Event::FetchFailed {
                name: &name,
                error: &error,
            });
        }
        return Err(Error::Downloads {
            count,
            total: fetched.total,
            source: Box::new(last),
        });
    }
    let mut recorded = 0;
    for report in fetched.reports.iter().filter(|r| !r.pinned) {
        lock.record(name, &report.url, &report.sha256);
        recorded += 1;
    }
    if lock.save().map_err(Box::new)? {
        observe(&Event::Recorded {
            count: recorded,
            lock: &lock.path().display().to_string(),
        });
    }
    Ok(())
}

/// The text of an upstream checksum file, cached in `.tmp/checksums/`.
async fn checksum_file(target: &str, url: &str, downloads: &Path) -> Result<String, Error> {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(Error::ChecksumUrl {
            url: url.to_string(),
        });
    }
    let name = format!(
        "{}-{}",
        short_name(url),
        url.rsplit('/').next().unwrap_or("checksums")
    );
    let dest = downloads.join("checksums").join(&name);
    let request = FetchRequest {
        target: target.to_string(),
        name,
        url: url.to_string(),
        source: Source::Http(url.to_string()),
        checksums: Vec::new(),
        dest: dest.clone(),
    };
    let results = boxwright_fetch::fetch_all(
        &[request],
        &FetchOptions::default(),
        &boxwright_fetch::NoProgress,
    )
    .await
    .map_err(Box::new)?;
    for result in results {
        result.map_err(|source| Error::ChecksumFile {
            url: url.to_string(),
            source: Box::new(source),
        })?;
    }
    std::fs::read_to_string(&dest).map_err(|source| Error::Io {
        action: "read",
        path: dest,
        source,
    })
}

/// A short stable name for a URL (its cache file must not collide with another's). FNV-1a:
/// a file name, not a security boundary (the checksum file comes over TLS, and the digests in
/// it are what protects the downloads).
fn short_name(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::short_name;

    #[test]
    fn short_names_are_stable_and_differ() {
        assert_eq!(short_name(""), "cbf29ce484222325");
        assert_ne!(
            short_name("https://a.example/SHA256SUMS"),
            short_name("https://b.example/SHA256SUMS")
        );
    }
}
