//! Why an inbound webhook request was refused. It lives with the other errors, below the
//! webhook machinery, so that [`ErrorKind::Webhook`](super::ErrorKind::Webhook) needs no import
//! from above the ground floor.

use http::StatusCode;

use super::RawBody;

/// Why an inbound request was refused or could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// A header the signature scheme needs is absent.
    #[error("missing the {header} header")]
    MissingSignature {
        /// Which header.
        header: &'static str,
    },
    /// The signature header is not in the scheme's format.
    #[error("the {header} header is malformed")]
    MalformedSignature {
        /// Which header.
        header: &'static str,
    },
    /// No configured secret produces the signature: the request is not from the provider,
    /// or a secret is wrong.
    #[error("no signature matches the body")]
    SignatureMismatch,
    /// The signed timestamp is too old or too far in the future (Standard Webhooks).
    #[error("the signed timestamp is outside the tolerance window")]
    TimestampOutOfTolerance,
    /// The body exceeds the size limit.
    #[error("the body has {actual} bytes, over the limit of {limit}")]
    BodyTooLarge {
        /// The limit.
        limit: usize,
        /// The size received.
        actual: usize,
    },
    /// The request is verified but its payload is not what the provider documents. Answer
    /// `200` anyway (or the provider retries it for days) and keep the raw body.
    #[error("malformed payload at `{path}`")]
    MalformedPayload {
        /// The JSON path where parsing failed.
        path: String,
        /// The body as received.
        raw: RawBody,
    },
    /// A subscription handshake with the wrong mode or verify token.
    #[error("handshake refused: {reason}")]
    HandshakeMismatch {
        /// What did not match.
        reason: &'static str,
    },
    /// A handshake challenge this endpoint will not answer, because answering it could sign
    /// something other than a challenge (an X `crc_token` shaped like a delivery body).
    #[error("challenge refused: {reason}")]
    InvalidChallenge {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A method this endpoint does not answer (for example `PUT`).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The channel has no secret to verify with: it refuses everything rather than trust.
    #[error("no webhook secret is configured; refusing unverifiable requests")]
    NotConfigured,
}

impl WebhookError {
    /// The HTTP status to answer with: `401` for signature failures, `413` for an oversize
    /// body, `403` for a refused handshake, `400` for a refused challenge, and `200` for a verified but malformed payload.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingSignature { .. }
            | Self::MalformedSignature { .. }
            | Self::SignatureMismatch
            | Self::TimestampOutOfTolerance => StatusCode::UNAUTHORIZED,
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::MalformedPayload { .. } => StatusCode::OK,
            Self::HandshakeMismatch { .. } => StatusCode::FORBIDDEN,
            Self::InvalidChallenge { .. } => StatusCode::BAD_REQUEST,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotConfigured => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Whether the request was authentic: only then may its content be trusted or kept.
    pub fn is_verified(&self) -> bool {
        matches!(self, Self::MalformedPayload { .. })
    }
}
