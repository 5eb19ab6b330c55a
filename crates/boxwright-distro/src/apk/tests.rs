use super::*;

const INDEX: &str = "C:Q1p8Dh0mEJhL1kOYe5BRlBWmtN9Xo=\nP:busybox\nV:1.36.1-r29\nA:x86_64\n\
S:508340\nI:924944\nT:Size optimized toolbox\nU:https://busybox.net/\nL:GPL-2.0-only\n\
o:busybox\nm:Sören Tempel <soeren+alpine@soeren-tempel.net>\nt:1717000000\n\
c:0fd2b9a4b1e3c24d8e5b3e2bb6c2f6d1c9e2a7b1\nD:so:libc.musl-x86_64.so.1 !busybox-static \
libcrypto3>=3.3 cmd:sh foo~1.2 bar<2 baz@edge\np:cmd:busybox=1.36.1-r29 /bin/sh\n\
i:busybox=1.36.1-r29 openrc\nk:100\n\n\
C:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=\nP:musl\nV:1.2.5-r0\nA:x86_64\nS:1\n\n";

#[test]
fn apkindex_records_become_candidates() {
    let candidates = parse_apkindex(INDEX, 2).unwrap();
    assert_eq!(candidates.len(), 2);
    let busybox = &candidates[0];
    assert_eq!(busybox.kind, Kind::Apk);
    assert_eq!(busybox.version, "1.36.1-r29");
    assert_eq!(busybox.arch, "x86_64");
    assert_eq!(busybox.size, 508_340);
    assert_eq!(busybox.filename, "busybox-1.36.1-r29.apk");
    assert_eq!(
        busybox.apk_checksum.as_deref(),
        Some("Q1p8Dh0mEJhL1kOYe5BRlBWmtN9Xo=")
    );
    assert_eq!(busybox.repository, 2);
    let depends: Vec<(String, Option<(Op, String)>)> = busybox
        .depends
        .iter()
        .map(|d| (d[0].name.clone(), d[0].constraint.clone()))
        .collect();
    assert_eq!(
        depends,
        [
            ("so:libc.musl-x86_64.so.1".into(), None),
            ("libcrypto3".into(), Some((Op::Ge, "3.3".into()))),
            ("cmd:sh".into(), None),
            ("foo".into(), Some((Op::Fuzzy, "1.2".into()))),
            ("bar".into(), Some((Op::Lt, "2".into()))),
            ("baz".into(), None),
        ]
    );
    assert_eq!(busybox.conflicts.len(), 1);
    assert_eq!(busybox.conflicts[0].name, "busybox-static");
    assert_eq!(
        busybox.provides,
        [
            Provide {
                name: "cmd:busybox".into(),
                version: Some("1.36.1-r29".into())
            },
            Provide {
                name: "/bin/sh".into(),
                version: None
            },
        ]
    );
    assert_eq!(busybox.fields.len(), 17);
    assert_eq!(busybox.fields[1], ("P".into(), "busybox".into()));
    assert_eq!(candidates[1].name, "musl");
}

#[test]
fn apkindex_refusals_name_the_line_or_package() {
    let error = parse_apkindex("P:x\nV:1\n", 0).unwrap_err().to_string();
    assert!(error.contains("package x: C: missing"), "{error}");
    let error = parse_apkindex("P:x\nnot a field\n", 0)
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("APKINDEX line 2:"), "{error}");
    let error = parse_apkindex("C:Q1x\nV:1\n", 0).unwrap_err().to_string();
    assert!(error.contains("no `P:`"), "{error}");
    let error = parse_apkindex("C:Q1x\nP:x\nV:1\nS:big\n", 0)
        .unwrap_err()
        .to_string();
    assert!(error.contains("package x: S"), "{error}");
}

#[test]
fn signature_entries_name_digest_and_key() {
    assert_eq!(
        signature_kind(".SIGN.RSA.alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub").unwrap(),
        (
            RsaDigest::Sha1,
            "alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub".into()
        )
    );
    assert_eq!(
        signature_kind(".SIGN.RSA256.k.rsa.pub").unwrap().0,
        RsaDigest::Sha256
    );
    assert_eq!(
        signature_kind(".SIGN.RSA512.k.rsa.pub").unwrap().0,
        RsaDigest::Sha512
    );
    assert!(signature_kind(".SIGN.DSA.k").is_err());
    assert!(signature_kind(".SIGN.RSA.").is_err());
}
