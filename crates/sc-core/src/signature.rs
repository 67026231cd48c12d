//! Checking a webhook call's HMAC signature (SPEC §9, `settings.webhook_signature`)
//! over the body exactly as the sender sent it.
//!
//! `plain`: the header holds `prefix` + the signature of the body (GitHub's
//! `X-Hub-Signature-256: sha256=<hex>`, Shopify's base64 `X-Shopify-Hmac-Sha256`).
//! `stripe`: the header holds `t=<unix time>,v1=<hex>[,v1=…]`, the signature
//! is over `<t>.<body>`, and `t` may be at most `tolerance_s` away from now.
//! Signatures are compared in constant time.

use crate::document::{HmacAlgorithm, SignatureEncoding, SignatureScheme, WebhookSignature};
use base64::Engine;
use hmac::{Hmac, Mac};

/// Why a call's signature is refused; the message names the header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Checks `header_value` (the value of `spec.header`, if the call had it)
/// against `body`, keyed by `key`; `now_unix` is the time the call arrived.
pub fn verify(
    spec: &WebhookSignature,
    key: &[u8],
    header_value: Option<&str>,
    body: &[u8],
    now_unix: i64,
) -> Result<(), Refused> {
    let name = &spec.header;
    let value = header_value.map(str::trim).filter(|v| !v.is_empty());
    let Some(value) = value else {
        return Err(Refused(format!("the call has no {name} header")));
    };
    let mismatch = || Refused(format!("the {name} signature does not match the body"));
    match spec.scheme() {
        SignatureScheme::Plain => {
            let sig = strip_prefix(spec, value)?;
            let sig = decode(spec.encoding(), sig).ok_or_else(|| not_encoded(spec))?;
            matches(spec.algorithm(), key, &[body], &sig).then_some(()).ok_or_else(mismatch)
        }
        SignatureScheme::Stripe => {
            let (t, sigs) = stripe_parts(value)
                .ok_or_else(|| Refused(format!("the {name} header is not of the form t=<unix time>,v1=<signature>")))?;
            let at: i64 = t.parse().map_err(|_| Refused(format!("the {name} header's t=`{t}` is not a Unix time")))?;
            let age = now_unix.abs_diff(at);
            if age > u64::from(spec.tolerance_s()) {
                return Err(Refused(format!(
                    "the {name} header's time is {age} s from now; at most {} s are accepted (tolerance_s)",
                    spec.tolerance_s()
                )));
            }
            // Stripe may send several v1 signatures (while a secret is rolled): one must match.
            let decoded: Vec<Vec<u8>> = sigs.iter().filter_map(|s| decode(spec.encoding(), s)).collect();
            if decoded.is_empty() {
                return Err(not_encoded(spec));
            }
            let signed: [&[u8]; 3] = [t.as_bytes(), b".", body];
            decoded.iter().any(|sig| matches(spec.algorithm(), key, &signed, sig)).then_some(()).ok_or_else(mismatch)
        }
    }
}

fn strip_prefix<'a>(spec: &WebhookSignature, value: &'a str) -> Result<&'a str, Refused> {
    match spec.prefix.as_deref().filter(|p| !p.is_empty()) {
        None => Ok(value),
        Some(prefix) => value
            .strip_prefix(prefix)
            .ok_or_else(|| Refused(format!("the {} header does not start with `{prefix}`", spec.header))),
    }
}

/// `t` and every `v1` signature of a Stripe-style header.
fn stripe_parts(value: &str) -> Option<(&str, Vec<&str>)> {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in value.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v),
            Some(("v1", v)) => sigs.push(v),
            _ => {}
        }
    }
    t.filter(|_| !sigs.is_empty()).map(|t| (t, sigs))
}

fn not_encoded(spec: &WebhookSignature) -> Refused {
    let how = match spec.encoding() {
        SignatureEncoding::Hex => "hexadecimal",
        SignatureEncoding::Base64 => "base64",
    };
    Refused(format!("the {} signature is not {how}", spec.header))
}

fn decode(encoding: SignatureEncoding, text: &str) -> Option<Vec<u8>> {
    match encoding {
        SignatureEncoding::Hex => {
            let t = text.as_bytes();
            if !t.len().is_multiple_of(2) {
                return None;
            }
            t.chunks(2)
                .map(|pair| std::str::from_utf8(pair).ok().and_then(|p| u8::from_str_radix(p, 16).ok()))
                .collect()
        }
        SignatureEncoding::Base64 => base64::engine::general_purpose::STANDARD.decode(text).ok(),
    }
}

/// The HMAC of `parts` (concatenated) equals `sig`, compared in constant time.
fn matches(algorithm: HmacAlgorithm, key: &[u8], parts: &[&[u8]], sig: &[u8]) -> bool {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]], sig: &[u8]) -> bool {
        let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(key) else { return false };
        for p in parts {
            mac.update(p);
        }
        mac.verify_slice(sig).is_ok()
    }
    match algorithm {
        HmacAlgorithm::Sha1 => run::<Hmac<sha1::Sha1>>(key, parts, sig),
        HmacAlgorithm::Sha256 => run::<Hmac<sha2::Sha256>>(key, parts, sig),
        HmacAlgorithm::Sha512 => run::<Hmac<sha2::Sha512>>(key, parts, sig),
    }
}

/// The signature a sender would put in the header for `body` (hex or
/// base64, without prefix); for tests, examples and the docs' receivers.
pub fn sign(algorithm: HmacAlgorithm, encoding: SignatureEncoding, key: &[u8], message: &[u8]) -> String {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
        let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(message);
        mac.finalize().into_bytes().to_vec()
    }
    let raw = match algorithm {
        HmacAlgorithm::Sha1 => run::<Hmac<sha1::Sha1>>(key, message),
        HmacAlgorithm::Sha256 => run::<Hmac<sha2::Sha256>>(key, message),
        HmacAlgorithm::Sha512 => run::<Hmac<sha2::Sha512>>(key, message),
    };
    match encoding {
        SignatureEncoding::Hex => raw.iter().map(|b| format!("{b:02x}")).collect(),
        SignatureEncoding::Base64 => base64::engine::general_purpose::STANDARD.encode(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> WebhookSignature {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn github_style_hex_with_prefix() {
        // GitHub's documented example: secret "It's a Secret to Everybody", body "Hello, World!".
        let s = spec(r#"{"header": "X-Hub-Signature-256", "secret": "gh", "prefix": "sha256="}"#);
        let key = b"It's a Secret to Everybody";
        let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(verify(&s, key, Some(good), b"Hello, World!", 0), Ok(()));
        let err = verify(&s, key, Some(good), b"Hello, World?", 0).unwrap_err();
        assert!(err.0.contains("X-Hub-Signature-256 signature does not match"), "{err}");
        let err = verify(&s, key, None, b"Hello, World!", 0).unwrap_err();
        assert_eq!(err.0, "the call has no X-Hub-Signature-256 header");
        let err = verify(&s, key, Some("757107ea"), b"Hello, World!", 0).unwrap_err();
        assert!(err.0.contains("does not start with `sha256=`"), "{err}");
        let err = verify(&s, key, Some("sha256=zz"), b"Hello, World!", 0).unwrap_err();
        assert!(err.0.contains("not hexadecimal"), "{err}");
        let err = verify(&s, b"another key", Some(good), b"Hello, World!", 0).unwrap_err();
        assert!(err.0.contains("does not match"), "{err}");
    }

    #[test]
    fn shopify_style_base64_sha256_and_other_algorithms() {
        let s = spec(r#"{"header": "X-Shopify-Hmac-Sha256", "secret": "shop", "encoding": "base64"}"#);
        let body = br#"{"id": 1, "note": "caf\u00e9"}"#;
        let sig = sign(HmacAlgorithm::Sha256, SignatureEncoding::Base64, b"k", body);
        assert_eq!(verify(&s, b"k", Some(&sig), body, 0), Ok(()));
        for (alg, name) in [(HmacAlgorithm::Sha1, "sha1"), (HmacAlgorithm::Sha512, "sha512")] {
            let s = spec(&format!(r#"{{"header": "X-Sig", "secret": "k", "algorithm": "{name}"}}"#));
            let sig = sign(alg, SignatureEncoding::Hex, b"k", body);
            assert_eq!(verify(&s, b"k", Some(&sig), body, 0), Ok(()), "{name}");
            // A signature made with SHA-256 does not pass as another algorithm.
            let other = sign(HmacAlgorithm::Sha256, SignatureEncoding::Hex, b"k", body);
            assert!(verify(&s, b"k", Some(&other), body, 0).is_err(), "{name}");
        }
    }

    #[test]
    fn stripe_style_signs_time_and_body_within_a_tolerance() {
        let s = spec(r#"{"header": "Stripe-Signature", "secret": "st", "scheme": "stripe", "tolerance_s": 60}"#);
        let body = br#"{"type": "charge.succeeded"}"#;
        let t = 1_700_000_000_i64;
        let signed = [t.to_string().as_bytes(), b".", body].concat();
        let sig = sign(HmacAlgorithm::Sha256, SignatureEncoding::Hex, b"whsec", &signed);
        let header = format!("t={t},v1=00ff,v1={sig}");
        assert_eq!(verify(&s, b"whsec", Some(&header), body, t + 59), Ok(()));
        let err = verify(&s, b"whsec", Some(&header), body, t + 61).unwrap_err();
        assert!(err.0.contains("61 s from now; at most 60 s"), "{err}");
        let err = verify(&s, b"whsec", Some(&format!("v1={sig}")), body, t).unwrap_err();
        assert!(err.0.contains("not of the form t="), "{err}");
        // The body alone, without the time, does not verify.
        let body_only = sign(HmacAlgorithm::Sha256, SignatureEncoding::Hex, b"whsec", body);
        assert!(verify(&s, b"whsec", Some(&format!("t={t},v1={body_only}")), body, t).is_err());
    }
}
