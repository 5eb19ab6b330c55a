//! "Did you mean ...?": the closest known word to a mistyped one, by edit distance.
//!
//! Here rather than a crate of its own (or `strsim`) because it is one small function that
//! every layer needs (metadata keys, target names, platforms) and this is the lowest crate
//! they all depend on.

/// The candidate closest to `word` when it is close enough to be a likely typo: at most
/// one edit for words up to four characters, two up to eight, three beyond. Ties go to the
/// first candidate.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = match word.chars().count() {
        0 => return None,
        1..=4 => 1,
        5..=8 => 2,
        _ => 3,
    };
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = edit_distance(word, candidate);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// Damerau–Levenshtein distance (optimal string alignment): insertions, deletions,
/// substitutions and swaps of neighbours each count one. Case is ignored.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    // Three rows: the one before the previous (for swaps), the previous and the current.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut current = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            current[j] = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                current[j] = current[j].min(before[j - 2] + 1);
            }
        }
        before = std::mem::replace(&mut previous, current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("", "", 0)]
    #[case("abc", "", 3)]
    #[case("scrach", "scratch", 1)]
    #[case("ngnix", "nginx", 1)]
    #[case("amd46", "amd64", 1)]
    #[case("kitten", "sitting", 3)]
    #[case("Release_File", "release_files", 1)]
    fn distances(#[case] a: &str, #[case] b: &str, #[case] distance: usize) {
        assert_eq!(edit_distance(a, b), distance);
        assert_eq!(edit_distance(b, a), distance);
    }

    #[rstest]
    #[case("release_file", Some("release_files"))]
    #[case("ngnix", Some("nginx"))]
    #[case("scrach", Some("scratch"))]
    #[case("linux/amd46", Some("linux/amd64"))]
    #[case("completely-different", None)]
    #[case("", None)]
    fn suggestions(#[case] word: &str, #[case] expected: Option<&str>) {
        let known = [
            "release_files",
            "nginx",
            "scratch",
            "linux/amd64",
            "linux/arm64",
        ];
        assert_eq!(did_you_mean(word, known), expected);
    }

    #[test]
    fn short_words_need_a_close_match() {
        assert_eq!(did_you_mean("abc", ["xyz"]), None);
        assert_eq!(did_you_mean("arm", ["arn", "arm64"]), Some("arn"));
    }
}
