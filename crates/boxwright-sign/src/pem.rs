//! PEM (RFC 7468) blocks: a lenient reader (keys arrive from files and CI variables, with CRLF
//! line ends, indentation or text around the block) and a writer of 64-character lines.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// One decoded PEM block.
pub(crate) struct Block {
    pub label: String,
    pub contents: Zeroizing<Vec<u8>>,
}

/// The first PEM block of `text`; `what` names the object in errors ("private key").
pub(crate) fn decode(text: &str, what: &'static str) -> Result<Block> {
    let mut lines = text.lines().map(str::trim);
    let label = lines
        .by_ref()
        .find_map(|line| {
            line.strip_prefix("-----BEGIN ")
                .and_then(|rest| rest.strip_suffix("-----"))
        })
        .ok_or(Error::NotPem { what })?
        .to_string();
    let end = format!("-----END {label}-----");
    let mut body = Zeroizing::new(String::new());
    let mut ended = false;
    for line in lines {
        if line == end {
            ended = true;
            break;
        }
        if line.contains(':') {
            // RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`): legacy encryption, not supported.
            return Err(Error::MalformedPem {
                what,
                reason: format!("headers in the `{label}` block are not supported"),
            });
        }
        body.push_str(line);
    }
    if !ended {
        return Err(Error::MalformedPem {
            what,
            reason: format!("no `{end}` line"),
        });
    }
    let contents = STANDARD
        .decode(body.as_bytes())
        .map(Zeroizing::new)
        .map_err(|e| Error::MalformedPem {
            what,
            reason: format!("the `{label}` block is not base64: {e}"),
        })?;
    Ok(Block { label, contents })
}

/// `contents` as a PEM block labelled `label`, lines of 64 characters, LF line ends.
pub(crate) fn encode(label: &str, contents: &[u8]) -> Zeroizing<String> {
    let body = Zeroizing::new(STANDARD.encode(contents));
    let mut out = Zeroizing::new(String::with_capacity(body.len() + body.len() / 64 + 64));
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in body.as_bytes().chunks(64) {
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_long_contents() {
        let contents: Vec<u8> = (0..=255).collect();
        let text = encode("PUBLIC KEY", &contents);
        assert!(text.lines().all(|l| l.len() <= 64));
        let block = decode(&text, "public key").unwrap();
        assert_eq!(block.label, "PUBLIC KEY");
        assert_eq!(*block.contents, contents);
    }

    #[test]
    fn reads_crlf_indented_and_surrounded_blocks() {
        let text = "comment\r\n  -----BEGIN X-----\r\n  AAEC\r\n  -----END X-----\r\ntrailer";
        let block = decode(text, "key").unwrap();
        assert_eq!(block.label, "X");
        assert_eq!(*block.contents, [0, 1, 2]);
    }

    #[test]
    fn refuses_what_is_not_pem() {
        assert!(matches!(decode("hello", "key"), Err(Error::NotPem { .. })));
        assert!(matches!(
            decode("-----BEGIN X-----\nAAEC\n", "key"),
            Err(Error::MalformedPem { .. })
        ));
        assert!(matches!(
            decode("-----BEGIN X-----\n!!!\n-----END X-----\n", "key"),
            Err(Error::MalformedPem { .. })
        ));
        assert!(matches!(
            decode(
                "-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\nAAEC\n-----END X-----\n",
                "key"
            ),
            Err(Error::MalformedPem { .. })
        ));
    }
}
