//! `sentlog webhook-replay`: posts a file of recorded provider callbacks (one request
//! body per line, as `sentlog demo --webhooks` writes them) to a running server's
//! webhook listener, each signed as the provider signs it, so a hub can try its
//! configuration (secrets, `public_base_url`, hotel scopes) before pointing the
//! providers at it.
use std::collections::BTreeMap;

use anyhow::{Context, bail};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};

use crate::domain::webhook::{Provider, pem_or_base64, sendgrid, twilio, whatsapp};

/// How each request is signed.
pub enum Signer {
    /// The auth token, and the URL Twilio is configured to call.
    Twilio {
        auth_token: String,
        url: String,
    },
    WhatsApp {
        app_secret: String,
    },
    /// The key pair whose public half the server's `webhooks.sendgrid` holds.
    SendGrid {
        key: Box<EcdsaKeyPair>,
    },
    /// No signature (an account configured without a secret, loopback only).
    None,
}

/// Reads a PKCS#8 private key (PEM `PRIVATE KEY`, or DER) for SendGrid signing.
pub fn sendgrid_key(bytes: &[u8]) -> anyhow::Result<EcdsaKeyPair> {
    let der = match std::str::from_utf8(bytes) {
        Ok(text) if text.contains("-----BEGIN") => {
            pem_or_base64(text).context("the PEM key is not base64")?
        }
        _ => bytes.to_vec(),
    };
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &der, &SystemRandom::new())
        .map_err(|e| anyhow::anyhow!("not a P-256 PKCS#8 private key: {e}"))
}

/// A new P-256 key pair for SendGrid samples: the private key as PEM, and the public
/// key as SendGrid shows it (for `webhooks.sendgrid.public_key`).
pub fn new_sendgrid_key() -> anyhow::Result<(String, String)> {
    use base64::Engine;
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
        .map_err(|e| anyhow::anyhow!("generating a key: {e}"))?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|e| anyhow::anyhow!("reading the new key: {e}"))?;
    let b64 = base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    Ok((
        pem,
        sendgrid::PublicKey::spki_base64(pair.public_key().as_ref()),
    ))
}

/// The content type a provider posts its callbacks with.
fn content_type(provider: Provider) -> &'static str {
    match provider {
        Provider::Twilio => "application/x-www-form-urlencoded",
        Provider::WhatsApp | Provider::SendGrid => "application/json",
    }
}

/// The signature headers a provider would send with `body`.
fn signature_headers(signer: &Signer, body: &str) -> anyhow::Result<Vec<(&'static str, String)>> {
    use base64::Engine;
    Ok(match signer {
        Signer::Twilio { auth_token, url } => {
            let params = twilio::decode_form(body.as_bytes());
            vec![("x-twilio-signature", twilio::sign(url, &params, auth_token))]
        }
        Signer::WhatsApp { app_secret } => vec![(
            "x-hub-signature-256",
            whatsapp::sign(body.as_bytes(), app_secret),
        )],
        Signer::SendGrid { key } => {
            let timestamp = chrono::Utc::now().timestamp().to_string();
            let mut message = timestamp.clone().into_bytes();
            message.extend_from_slice(body.as_bytes());
            let signature = key
                .sign(&SystemRandom::new(), &message)
                .map_err(|e| anyhow::anyhow!("signing: {e}"))?;
            vec![
                (
                    "x-twilio-email-event-webhook-signature",
                    base64::engine::general_purpose::STANDARD.encode(signature.as_ref()),
                ),
                ("x-twilio-email-event-webhook-timestamp", timestamp),
            ]
        }
        Signer::None => Vec::new(),
    })
}

/// What a replay did: requests per HTTP status, events per outcome, and the first
/// refusals' reasons.
#[derive(Debug, Default)]
pub struct Summary {
    pub by_status: BTreeMap<u16, usize>,
    pub events: BTreeMap<String, usize>,
    pub refusals: Vec<String>,
}

/// Posts each non-empty line of `text` to `base_url`'s endpoint for `provider`, in
/// order.
pub async fn replay(
    provider: Provider,
    text: &str,
    base_url: &str,
    signer: &Signer,
) -> anyhow::Result<Summary> {
    let endpoint = format!(
        "{}/webhooks/{}",
        base_url.trim_end_matches('/'),
        provider.name()
    );
    let client = reqwest::Client::new();
    let mut summary = Summary::default();
    for (n, body) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let mut request = client
            .post(&endpoint)
            .header("content-type", content_type(provider))
            .body(body.to_string());
        for (name, value) in signature_headers(signer, body)? {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("posting line {} to {endpoint}", n + 1))?;
        let status = response.status().as_u16();
        let answer = response.text().await.unwrap_or_default();
        *summary.by_status.entry(status).or_default() += 1;
        if status == 200 {
            let outcomes: BTreeMap<String, usize> =
                serde_json::from_str(&answer).unwrap_or_default();
            for (outcome, k) in outcomes {
                *summary.events.entry(outcome).or_default() += k;
            }
        } else if summary.refusals.len() < 5 {
            summary
                .refusals
                .push(format!("line {}: {status} {answer}", n + 1));
        }
    }
    if summary.by_status.is_empty() {
        bail!("the file holds no request body (one per line)");
    }
    Ok(summary)
}
