//! What boxwright-sign writes, checked by code that is not boxwright's: DSSE envelopes by
//! securesystemslib (the reference DSSE implementation), cosign's encrypted keys by PyNaCl
//! (libsodium) and Python's hashlib scrypt, in both directions.
//!
//! Both live in the checkout's `.venv-tools` virtualenv, which `scripts/setup.sh` creates.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use boxwright_sign::dsse::{Envelope, KeyIdChoice};
use boxwright_sign::intoto::{self, Statement, Subject};
use boxwright_sign::{SigningKey, VerifyingKey};

/// `<checkout>/.venv-tools/bin/python`; fails with the install hint when it is missing.
fn python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-tools/bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import securesystemslib, cryptography, nacl"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ready,
        "this test needs {} with securesystemslib[crypto] and pynacl: run scripts/setup.sh",
        python.display()
    );
    python
}

/// The scripts' exit status for "checked and refused" (a crash exits 1).
const NOT_VERIFIED: i32 = 3;

fn run(script: &str, args: &[&Path]) -> Output {
    Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python runs")
}

fn assert_ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "the Python check failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Verifies the envelope (argv[1]) with the public key PEM (argv[2]), the SSlibKey built with
/// the envelope's keyid, empty or not (securesystemslib only tries keys whose keyid matches);
/// prints the payload type and the payload. Exit 3 when it does not verify.
const VERIFY_DSSE: &str = r#"
import json, sys
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey
envelope = Envelope.from_dict(json.load(open(sys.argv[1])))
public = load_pem_public_key(open(sys.argv[2], "rb").read())
keyid = next(iter(envelope.signatures))
# from_crypto invents a keyid when given an empty one: build the key with the envelope's.
made = SSlibKey.from_crypto(public)
key = SSlibKey(keyid, made.keytype, made.scheme, made.keyval)
assert key.scheme == "ecdsa-sha2-nistp256", key.scheme
try:
    envelope.verify([key], 1)
except Exception as error:
    print(f"not verified: {error!r}", file=sys.stderr)
    sys.exit(3)
print(envelope.payload_type)
sys.stdout.write(envelope.payload.decode())
"#;

fn write_envelope(dir: &Path, envelope: &Envelope, key: &VerifyingKey) -> (PathBuf, PathBuf) {
    let envelope_path = dir.join("envelope.json");
    let key_path = dir.join("key.pub");
    std::fs::write(&envelope_path, envelope.to_json()).unwrap();
    std::fs::write(&key_path, key.to_pem()).unwrap();
    (envelope_path, key_path)
}

fn statement() -> Statement {
    Statement::new(
        vec![Subject::sha256(
            "registry.example/app",
            "6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b",
        )],
        intoto::predicate_type("slsaprovenance").unwrap(),
        serde_json::json!({"buildDefinition": {"buildType": "https://example.com/b"}}),
    )
}

#[test]
fn securesystemslib_verifies_our_dsse_envelopes() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    for key_id in [KeyIdChoice::Fingerprint, KeyIdChoice::Empty] {
        let envelope = statement().sign(&key, key_id);
        let (envelope_path, key_path) = write_envelope(dir.path(), &envelope, &key.verifying_key());
        let out = assert_ok(&run(VERIFY_DSSE, &[&envelope_path, &key_path]));
        let (payload_type, payload) = out.split_once('\n').unwrap();
        assert_eq!(payload_type, intoto::PAYLOAD_TYPE);
        assert_eq!(payload.as_bytes(), statement().to_json(), "{key_id:?}");
    }
}

#[test]
fn securesystemslib_refuses_other_keys_and_tampered_envelopes() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let other = SigningKey::generate().unwrap();
    let envelope = statement().sign(&key, KeyIdChoice::Fingerprint);

    let (envelope_path, key_path) = write_envelope(dir.path(), &envelope, &other.verifying_key());
    let out = run(VERIFY_DSSE, &[&envelope_path, &key_path]);
    assert_eq!(out.status.code(), Some(NOT_VERIFIED), "{out:?}");

    let mut tampered = envelope.clone();
    tampered.payload.push(b' ');
    let (envelope_path, key_path) = write_envelope(dir.path(), &tampered, &key.verifying_key());
    let out = run(VERIFY_DSSE, &[&envelope_path, &key_path]);
    assert_eq!(out.status.code(), Some(NOT_VERIFIED), "{out:?}");
}

/// Opens a cosign encrypted key (argv[1]) with the password in argv[2] using hashlib's scrypt
/// and libsodium's secretbox; prints the public key PEM. Exit 3 on a wrong password.
const OPEN_COSIGN_KEY: &str = r#"
import base64, hashlib, json, sys
import nacl.exceptions, nacl.secret
from cryptography.hazmat.primitives import serialization
lines = open(sys.argv[1]).read().strip().splitlines()
assert lines[0] == "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----", lines[0]
assert lines[-1] == "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----", lines[-1]
body = json.loads(base64.b64decode("".join(lines[1:-1])))
assert list(body) == ["kdf", "cipher", "ciphertext"], list(body)
kdf, cipher = body["kdf"], body["cipher"]
assert kdf["name"] == "scrypt" and kdf["params"] == {"N": 65536, "r": 8, "p": 1}, kdf
assert cipher["name"] == "nacl/secretbox", cipher
key = hashlib.scrypt(open(sys.argv[2], "rb").read(), salt=base64.b64decode(kdf["salt"]),
                     n=kdf["params"]["N"], r=kdf["params"]["r"], p=kdf["params"]["p"],
                     maxmem=256 << 20, dklen=32)
try:
    der = nacl.secret.SecretBox(key).decrypt(base64.b64decode(body["ciphertext"]),
                                             base64.b64decode(cipher["nonce"]))
except nacl.exceptions.CryptoError:
    print("wrong password", file=sys.stderr)
    sys.exit(3)
private = serialization.load_der_private_key(der, password=None)
sys.stdout.write(private.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode())
"#;

#[test]
fn libsodium_opens_our_encrypted_keys() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let key_path = dir.path().join("cosign.key");
    let password_path = dir.path().join("password");
    std::fs::write(
        &key_path,
        key.to_cosign_pem(b"p\xc3\xa4ss w0rd").unwrap().as_bytes(),
    )
    .unwrap();

    std::fs::write(&password_path, b"p\xc3\xa4ss w0rd").unwrap();
    let public = assert_ok(&run(OPEN_COSIGN_KEY, &[&key_path, &password_path]));
    assert_eq!(public, key.verifying_key().to_pem());

    std::fs::write(&password_path, b"wrong").unwrap();
    let out = run(OPEN_COSIGN_KEY, &[&key_path, &password_path]);
    assert_eq!(out.status.code(), Some(NOT_VERIFIED), "{out:?}");
}

/// Writes a key generated by pyca/cryptography as cosign would (legacy N = 32768, the older
/// `ENCRYPTED COSIGN PRIVATE KEY` label) to argv[1] with the password "pw", its public key to
/// argv[2], and signs argv[3]'s bytes into argv[4] (base64 DER).
const MAKE_COSIGN_KEY: &str = r#"
import base64, hashlib, json, os, sys
import nacl.secret
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
private = ec.generate_private_key(ec.SECP256R1())
der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
salt, nonce = os.urandom(32), os.urandom(24)
key = hashlib.scrypt(b"pw", salt=salt, n=32768, r=8, p=1, maxmem=256 << 20, dklen=32)
sealed = nacl.secret.SecretBox(key).encrypt(der, nonce).ciphertext
b64 = lambda b: base64.b64encode(b).decode()
body = json.dumps({"kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1},
                           "salt": b64(salt)},
                   "cipher": {"name": "nacl/secretbox", "nonce": b64(nonce)},
                   "ciphertext": b64(sealed)}, separators=(",", ":")).encode()
text = base64.encodebytes(body).decode().replace("\n", "")
lines = [text[i:i + 64] for i in range(0, len(text), 64)]
open(sys.argv[1], "w").write("-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n" + "\n".join(lines)
                             + "\n-----END ENCRYPTED COSIGN PRIVATE KEY-----\n")
open(sys.argv[2], "wb").write(private.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
signature = private.sign(open(sys.argv[3], "rb").read(), ec.ECDSA(hashes.SHA256()))
open(sys.argv[4], "w").write(b64(signature))
"#;

#[test]
fn we_load_keys_and_verify_signatures_made_by_python() {
    let dir = tempfile::tempdir().unwrap();
    let [key_path, public_path, message_path, signature_path] =
        ["cosign.key", "cosign.pub", "message", "message.sig"].map(|n| dir.path().join(n));
    std::fs::write(&message_path, b"made elsewhere\n").unwrap();
    assert_ok(&run(
        MAKE_COSIGN_KEY,
        &[&key_path, &public_path, &message_path, &signature_path],
    ));
    let public = VerifyingKey::from_pem(&std::fs::read_to_string(&public_path).unwrap()).unwrap();
    let private_pem = std::fs::read_to_string(&key_path).unwrap();
    let key = SigningKey::from_pem(&private_pem, Some(b"pw")).unwrap();
    assert_eq!(key.verifying_key(), public);
    assert!(matches!(
        SigningKey::from_pem(&private_pem, Some(b"nope")),
        Err(boxwright_sign::Error::WrongPassword)
    ));
    let signature =
        boxwright_sign::Signature::from_base64(&std::fs::read_to_string(&signature_path).unwrap())
            .unwrap();
    boxwright_sign::blob::verify_file(&public, &message_path, &signature).unwrap();
}
