//! OAuth 2.0 user context: the authorization code flow with PKCE (S256) for onboarding the
//! business account, and a [`UserSession`] that keeps its access token fresh.
//!
//! X's access tokens live two hours; with the `offline.access` scope a refresh token comes
//! with them. The session refreshes a minute before expiry, or once after a `401`, and hands
//! every new token pair to your hook so you can store it: X refresh tokens are single-use.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

use crate::error::{Error, Result};
use crate::http::executor::{Executor, HttpOptions, Operation, decode_json, http_builder_methods};

/// The scopes a customer-service account needs: read and write DMs, look up users and
/// posts, upload DM media, and stay signed in (`offline.access`).
pub const DM_SCOPES: &[&str] = &[
    "dm.read",
    "dm.write",
    "tweet.read",
    "users.read",
    "media.write",
    "offline.access",
];

/// Where users approve the app.
pub const AUTHORIZE_URL: &str = "https://x.com/i/oauth2/authorize";

/// An access token with its refresh token and expiry. `Debug` shows neither token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPair {
    /// The bearer token.
    pub access_token: String,
    /// The single-use refresh token (with `offline.access`).
    pub refresh_token: Option<String>,
    /// When the access token expires, if known.
    pub expires_at: Option<SystemTime>,
    /// The scopes granted, space-separated.
    pub scope: Option<String>,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish()
    }
}

impl TokenPair {
    /// A token you already have (from your storage).
    pub fn new(
        access_token: impl Into<String>,
        refresh_token: Option<String>,
        expires_at: Option<SystemTime>,
    ) -> Self {
        Self {
            access_token: access_token.into(),
            refresh_token,
            expires_at,
            scope: None,
        }
    }

    /// Whether the access token expires within `margin` of `now`.
    pub fn expires_within(&self, margin: Duration, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|at| at <= now + margin)
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
}

/// A PKCE code verifier and its S256 challenge.
#[derive(Clone, PartialEq, Eq)]
pub struct Pkce {
    verifier: String,
}

impl fmt::Debug for Pkce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pkce([redacted])")
    }
}

impl Pkce {
    /// A fresh random verifier (64 unreserved characters).
    pub fn new() -> Self {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
        Self {
            verifier: (0..64)
                .map(|_| CHARS[fastrand::usize(..CHARS.len())] as char)
                .collect(),
        }
    }

    /// A verifier you stored between the redirect and the callback.
    pub fn from_verifier(verifier: impl Into<String>) -> Self {
        Self {
            verifier: verifier.into(),
        }
    }

    /// The verifier, to keep until the callback.
    pub fn verifier(&self) -> &str {
        &self.verifier
    }

    /// The S256 challenge: base64url (no padding) of the verifier's SHA-256.
    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier.as_bytes()))
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

/// The start of an authorization: send the user to `url`; keep `state` and `pkce` for the
/// callback.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Authorization {
    /// Where to send the user.
    pub url: Url,
    /// The value the callback must echo (compare it before exchanging the code).
    pub state: String,
    /// The PKCE verifier the exchange needs.
    pub pkce: Pkce,
}

/// An OAuth 2.0 client registered with X: builds authorization URLs, exchanges codes and
/// refreshes tokens. Cheap to clone; the client secret never appears in `Debug`.
///
/// ```no_run
/// # async fn run() -> switchboard::Result<()> {
/// use switchboard::twitter::oauth2::{DM_SCOPES, OAuth2App};
///
/// let app = OAuth2App::builder()
///     .client_id("your-client-id")
///     .redirect_uri("https://example.com/x/callback".parse().unwrap())
///     .build()?;
/// let start = app.authorize(DM_SCOPES);
/// // Redirect to start.url; in the callback, check `state`, then:
/// let tokens = app.exchange_code("code-from-callback", &start.pkce).await?;
/// let session = app.session(tokens).on_refresh(|pair| { /* store pair */ let _ = pair; });
/// # let _ = session; Ok(()) }
/// ```
#[derive(Clone)]
pub struct OAuth2App {
    inner: Arc<AppInner>,
}

struct AppInner {
    client_id: String,
    client_secret: Option<String>,
    redirect_uri: Url,
    authorize_url: Url,
    token_url: Url,
    exec: Executor,
}

impl fmt::Debug for OAuth2App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2App")
            .field("client_id", &self.inner.client_id)
            .field("confidential", &self.inner.client_secret.is_some())
            .field("redirect_uri", &self.inner.redirect_uri.as_str())
            .finish_non_exhaustive()
    }
}

impl OAuth2App {
    /// Configures an app.
    pub fn builder() -> OAuth2AppBuilder {
        OAuth2AppBuilder {
            client_id: None,
            client_secret: None,
            redirect_uri: None,
            base_url: super::DEFAULT_BASE_URL.to_owned(),
            authorize_url: AUTHORIZE_URL.to_owned(),
            http: HttpOptions::default(),
        }
    }

    /// The URL to send the user to, with a fresh `state` and PKCE verifier (S256).
    pub fn authorize(&self, scopes: &[&str]) -> Authorization {
        let pkce = Pkce::new();
        let state: String = std::iter::repeat_with(fastrand::alphanumeric).take(32).collect();
        let mut url = self.inner.authorize_url.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.inner.client_id)
            .append_pair("redirect_uri", self.inner.redirect_uri.as_str())
            .append_pair("scope", &scopes.join(" "))
            .append_pair("state", &state)
            .append_pair("code_challenge", &pkce.challenge())
            .append_pair("code_challenge_method", "S256");
        Authorization { url, state, pkce }
    }

    /// Exchanges the callback's code (within 30 seconds of the redirect) for tokens.
    pub async fn exchange_code(&self, code: &str, pkce: &Pkce) -> Result<TokenPair> {
        self.token_request(
            "oauth2.exchange_code",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", self.inner.redirect_uri.as_str()),
                ("code_verifier", pkce.verifier()),
            ],
        )
        .await
    }

    /// A new token pair for this refresh token (which X then invalidates).
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        self.token_request(
            "oauth2.refresh",
            &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)],
        )
        .await
    }

    /// A session that keeps `tokens` fresh, for [`Client`](super::Client).
    pub fn session(&self, tokens: TokenPair) -> UserSession {
        UserSession {
            app: self.clone(),
            tokens: Arc::new(tokio::sync::Mutex::new(tokens)),
            on_refresh: None,
        }
    }

    async fn token_request(&self, name: &'static str, params: &[(&str, &str)]) -> Result<TokenPair> {
        // The serializer is not `Send`: finish it before any await.
        let body = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.extend_pairs(params);
            form.append_pair("client_id", &self.inner.client_id);
            Bytes::from(form.finish())
        };
        let uri: http::Uri = self
            .inner
            .token_url
            .as_str()
            .parse()
            .map_err(|_| Error::config("invalid token URL"))?;
        let basic = self.inner.client_secret.as_ref().map(|secret| {
            HeaderValue::try_from(format!(
                "Basic {}",
                BASE64.encode(format!("{}:{secret}", self.inner.client_id))
            ))
        });
        let basic = basic
            .transpose()
            .map_err(|_| Error::config("the client id or secret is not a valid header"))?;
        let build = || {
            let mut request = http::Request::new(body.clone());
            *request.method_mut() = Method::POST;
            *request.uri_mut() = uri.clone();
            request.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
            if let Some(basic) = &basic {
                request.headers_mut().insert(AUTHORIZATION, basic.clone());
            }
            Ok(request)
        };
        let started = SystemTime::now();
        let handle = |response: http::Response<Bytes>| {
            let (parts, body) = response.into_parts();
            if !parts.status.is_success() {
                return Err(super::errors::error_from(parts.status, &parts.headers, body));
            }
            decode_json::<TokenAnswer>(body)
        };
        // A code or refresh token is single-use: never resend a request that may have
        // reached X.
        let answer = self
            .inner
            .exec
            .execute(
                Operation {
                    name,
                    idempotent: false,
                },
                &build,
                &handle,
            )
            .await?;
        Ok(TokenPair {
            access_token: answer.access_token,
            refresh_token: answer.refresh_token,
            expires_at: answer.expires_in.map(|s| started + Duration::from_secs(s)),
            scope: answer.scope,
        })
    }
}

/// Configures an [`OAuth2App`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct OAuth2AppBuilder {
    client_id: Option<String>,
    client_secret: Option<String>,
    redirect_uri: Option<Url>,
    base_url: String,
    authorize_url: String,
    http: HttpOptions,
}

impl fmt::Debug for OAuth2AppBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2AppBuilder")
            .field("client_id", &self.client_id)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl OAuth2AppBuilder {
    /// The app's OAuth 2.0 client id.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// The client secret, for confidential clients (sent as HTTP Basic auth).
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// The callback URL registered with the app (matched exactly).
    pub fn redirect_uri(mut self, uri: Url) -> Self {
        self.redirect_uri = Some(uri);
        self
    }

    /// The API host for the token endpoint (default `https://api.x.com`): a local server
    /// in tests.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The authorization page (default [`AUTHORIZE_URL`]).
    pub fn authorize_url(mut self, url: impl Into<String>) -> Self {
        self.authorize_url = url.into();
        self
    }

    http_builder_methods!();

    /// Checks the settings and builds the app.
    pub fn build(self) -> Result<OAuth2App> {
        let client_id = self
            .client_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| Error::config("an OAuth 2.0 client id is required"))?;
        let redirect_uri = self
            .redirect_uri
            .ok_or_else(|| Error::config("a redirect URI is required"))?;
        let token_url = Url::parse(&format!("{}/2/oauth2/token", self.base_url.trim_end_matches('/')))
            .map_err(|_| Error::config("invalid base URL"))?;
        let authorize_url =
            Url::parse(&self.authorize_url).map_err(|_| Error::config("invalid authorize URL"))?;
        Ok(OAuth2App {
            inner: Arc::new(AppInner {
                client_id,
                client_secret: self.client_secret,
                redirect_uri,
                authorize_url,
                token_url,
                exec: self.http.executor("twitter")?,
            }),
        })
    }
}

type RefreshHook = Arc<dyn Fn(&TokenPair) + Send + Sync>;

/// A user's tokens, refreshed before they expire (or after a `401`), one refresh at a time
/// however many requests are waiting. Clones share the tokens.
#[derive(Clone)]
pub struct UserSession {
    app: OAuth2App,
    tokens: Arc<tokio::sync::Mutex<TokenPair>>,
    on_refresh: Option<RefreshHook>,
}

impl fmt::Debug for UserSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserSession")
            .field("app", &self.app)
            .finish_non_exhaustive()
    }
}

/// How long before expiry a token is refreshed.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

impl UserSession {
    /// Calls `hook` with every new token pair, so you can store it (the old refresh token
    /// no longer works).
    #[must_use]
    pub fn on_refresh(mut self, hook: impl Fn(&TokenPair) + Send + Sync + 'static) -> Self {
        self.on_refresh = Some(Arc::new(hook));
        self
    }

    /// The current tokens.
    pub async fn tokens(&self) -> TokenPair {
        self.tokens.lock().await.clone()
    }

    /// A valid access token, refreshed first if it expires within a minute.
    pub(crate) async fn bearer(&self) -> Result<String> {
        let mut tokens = self.tokens.lock().await;
        if tokens.expires_within(REFRESH_MARGIN, SystemTime::now()) && tokens.refresh_token.is_some() {
            self.refresh_locked(&mut tokens).await?;
        }
        Ok(tokens.access_token.clone())
    }

    /// Refreshes after X refused `stale`, unless another request already did.
    pub(crate) async fn refresh_after_401(&self, stale: &str) -> Result<String> {
        let mut tokens = self.tokens.lock().await;
        if tokens.access_token == stale {
            self.refresh_locked(&mut tokens).await?;
        }
        Ok(tokens.access_token.clone())
    }

    async fn refresh_locked(&self, tokens: &mut TokenPair) -> Result<()> {
        let Some(refresh) = tokens.refresh_token.clone() else {
            return Err(Error::config(
                "the access token expired and there is no refresh token (request the offline.access scope)",
            ));
        };
        let fresh = self.app.refresh(&refresh).await?;
        *tokens = TokenPair {
            refresh_token: fresh.refresh_token.clone().or(Some(refresh)),
            ..fresh
        };
        if let Some(hook) = &self.on_refresh {
            hook(tokens);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_challenge_matches_rfc_7636() {
        // RFC 7636 appendix B.
        let pkce = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(pkce.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    #[cfg(feature = "reqwest")]
    fn authorization_url_has_every_parameter() {
        let app = OAuth2App::builder()
            .client_id("cid")
            .redirect_uri("https://example.com/cb".parse().unwrap())
            .build()
            .unwrap();
        let start = app.authorize(&["dm.read", "offline.access"]);
        let pairs: std::collections::HashMap<_, _> = start.url.query_pairs().into_owned().collect();
        assert_eq!(start.url.as_str().split('?').next(), Some(AUTHORIZE_URL));
        assert_eq!(pairs["scope"], "dm.read offline.access");
        assert_eq!(pairs["state"], start.state);
        assert_eq!(pairs["code_challenge"], start.pkce.challenge());
        assert_eq!(pairs["code_challenge_method"], "S256");
        assert_eq!(pairs["redirect_uri"], "https://example.com/cb");
        assert!(start.pkce.verifier().len() >= 43);
        assert!(!format!("{:?}", start.pkce).contains(start.pkce.verifier()));
    }
}
