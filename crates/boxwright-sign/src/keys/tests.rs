use super::*;

const PKCS8: &str = include_str!("testdata/pkcs8.pem");
const PKCS8_PUB: &str = include_str!("testdata/pkcs8.pub");
const SEC1: &str = include_str!("testdata/sec1.pem");
const SEC1_PUB: &str = include_str!("testdata/sec1.pub");
const P384: &str = include_str!("testdata/p384.pem");
const ED25519: &str = include_str!("testdata/ed25519.pem");
const MESSAGE: &[u8] = include_bytes!("testdata/message.txt");
const MESSAGE_SIG: &[u8] = include_bytes!("testdata/message.txt.sig");

#[test]
fn encrypted_key_round_trip() {
    let key = SigningKey::generate().unwrap();
    let pem = key.to_cosign_pem(b"correct horse").unwrap();
    assert!(pem.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
    assert!(pem.ends_with("-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));

    let loaded = SigningKey::from_pem(&pem, Some(b"correct horse")).unwrap();
    assert_eq!(loaded.verifying_key(), key.verifying_key());

    assert!(matches!(
        SigningKey::from_pem(&pem, Some(b"wrong")),
        Err(Error::WrongPassword)
    ));
    assert_eq!(
        Error::WrongPassword.to_string(),
        "wrong password or corrupt key"
    );
    assert!(matches!(
        SigningKey::from_pem(&pem, None),
        Err(Error::PasswordRequired)
    ));

    // The older label holds the same JSON.
    let older = pem.replace(SIGSTORE_PRIVATE_KEY_LABEL, COSIGN_PRIVATE_KEY_LABEL);
    let loaded = SigningKey::from_pem(&older, Some(b"correct horse")).unwrap();
    assert_eq!(loaded.verifying_key(), key.verifying_key());
}

#[test]
fn empty_password_is_tried_when_none_is_given() {
    let key = SigningKey::generate().unwrap();
    let pem = key.to_cosign_pem(b"").unwrap();
    for password in [None, Some(&b""[..])] {
        let loaded = SigningKey::from_pem(&pem, password).unwrap();
        assert_eq!(loaded.verifying_key(), key.verifying_key());
    }
}

#[test]
fn openssl_pkcs8_and_sec1_keys_load() {
    for (private, public) in [(PKCS8, PKCS8_PUB), (SEC1, SEC1_PUB)] {
        let key = SigningKey::from_pem(private, None).unwrap();
        // A password is ignored for unencrypted keys (CI may set COSIGN_PASSWORD anyway).
        let again = SigningKey::from_pem(private, Some(b"unused")).unwrap();
        assert_eq!(key.verifying_key(), again.verifying_key());
        let expected = VerifyingKey::from_pem(public).unwrap();
        assert_eq!(key.verifying_key(), expected);
        // Our public PEM is OpenSSL's, byte for byte.
        assert_eq!(key.verifying_key().to_pem(), public);
    }
}

#[test]
fn pkcs8_pem_round_trip() {
    let key = SigningKey::generate().unwrap();
    let pem = key.to_pkcs8_pem();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let loaded = SigningKey::from_pem(&pem, None).unwrap();
    assert_eq!(loaded.verifying_key(), key.verifying_key());
}

#[test]
fn openssl_signature_verifies_and_ours_verify() {
    let public = VerifyingKey::from_pem(PKCS8_PUB).unwrap();
    let signature = Signature::from_bytes(MESSAGE_SIG).unwrap();
    public.verify(MESSAGE, &signature, "message").unwrap();

    let key = SigningKey::from_pem(PKCS8, None).unwrap();
    let ours = key.sign(MESSAGE);
    public.verify(MESSAGE, &ours, "message").unwrap();
    let digest: [u8; 32] = Sha256::digest(MESSAGE).into();
    assert_eq!(
        key.sign_sha256_digest(&digest),
        ours,
        "RFC 6979: deterministic"
    );
    public
        .verify_sha256_digest(&digest, &signature, "message")
        .unwrap();
}

#[test]
fn verification_refuses_other_keys_and_other_messages() {
    let key = SigningKey::generate().unwrap();
    let other = SigningKey::generate().unwrap();
    let signature = key.sign(b"payload");
    key.verifying_key()
        .verify(b"payload", &signature, "payload")
        .unwrap();
    let error = other
        .verifying_key()
        .verify(b"payload", &signature, "payload")
        .unwrap_err();
    assert!(matches!(error, Error::SignatureMismatch { .. }));
    assert!(error.is_verification_failure());
    assert!(
        error
            .to_string()
            .contains(other.verifying_key().key_id().as_str())
    );
    assert!(matches!(
        key.verifying_key()
            .verify(b"payloaD", &signature, "payload"),
        Err(Error::SignatureMismatch { .. })
    ));
}

#[test]
fn key_id_is_sha256_of_the_spki_der() {
    // `openssl pkey -in pkcs8.pub -pubin -outform DER | sha256sum`
    let public = VerifyingKey::from_pem(PKCS8_PUB).unwrap();
    assert_eq!(
        public.key_id().as_str(),
        "ce1eff4577d0b361ccd54916d00f5ba6aeb4fc5e92b0f7125ee2a2d6e6077c58"
    );
}

#[test]
fn other_curves_and_garbage_are_refused() {
    for (text, what) in [(P384, "P-384"), (ED25519, "Ed25519")] {
        assert!(
            matches!(
                SigningKey::from_pem(text, None),
                Err(Error::InvalidKey { .. })
            ),
            "{what}"
        );
    }
    assert!(matches!(
        SigningKey::from_pem("garbage", None),
        Err(Error::NotPem { .. })
    ));
    assert!(matches!(
        SigningKey::from_pem(PKCS8_PUB, None),
        Err(Error::UnsupportedPemType { .. })
    ));
    assert!(matches!(
        SigningKey::from_pem(
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
            None
        ),
        Err(Error::UnsupportedPemType { .. })
    ));
    assert!(matches!(
        SigningKey::from_pem(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            None
        ),
        Err(Error::InvalidKey { .. })
    ));
    assert!(matches!(
        SigningKey::from_pem(
            "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n\
             -----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
            Some(b"x")
        ),
        Err(Error::MalformedEncryptedKey { .. })
    ));
    assert!(matches!(
        VerifyingKey::from_pem(PKCS8),
        Err(Error::UnsupportedPemType { .. })
    ));
    assert!(matches!(
        VerifyingKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
        Err(Error::InvalidKey { .. })
    ));
}

#[test]
fn debug_output_shows_no_secret() {
    let key = SigningKey::from_pem(PKCS8, None).unwrap();
    let debug = format!("{key:?}");
    assert!(debug.contains("ce1eff45"), "{debug}");
    assert!(!debug.contains("secret"), "{debug}");
}
