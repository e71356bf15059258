//! The embedded reference endpoint: an HTTP server that answers EC2 `CopyImage` with what AWS
//! most likely does (the first outcome of [`Oracle::answering_likely`]; always one the full
//! oracle accepts) and `DescribeImages` from its world, in EC2 XML or in the json-envelope
//! dialect.
//!
//! Requests go to `/`, as a POST with a form (or JSON) body or as a GET with a query string.
//! Authorization is not checked. A successful copy adds the new image and its ClientToken to
//! the endpoint's world, so later requests see them.

pub mod answer;
pub mod describe;
pub mod envelope;
pub mod mutant;
pub mod params;
pub mod xml;

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::oracle::{Oracle, record_copy, record_if_copied, render_region};
pub use crate::wire::{EnvelopeCodes, EnvelopeError};
use crate::world::{Params, World};
pub use params::RequestError;

pub use answer::{Answer, Picker};
pub use mutant::Mutant;

/// The largest request body read; a larger one is a malformed request.
pub const BODY_LIMIT: usize = 1 << 20;

/// The `Action` served from the world instead of the oracle.
pub const DESCRIBE_IMAGES: &str = "DescribeImages";

/// The first image id the endpoint hands out, as a number: `ami-0c0ffee0000000001` is the
/// first copy.
const IMAGE_ID_BASE: u64 = 0xc0ff_ee00_0000_0000;

/// How long `shutdown` waits for open connections before dropping them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

const XML_CONTENT_TYPE: &str = "text/xml;charset=UTF-8";
const JSON_CONTENT_TYPE: &str = "application/json";

/// The endpoint: the oracle, and the world its answers change.
pub struct Endpoint {
    oracle: Arc<Oracle>,
    /// The same oracle answering the likely outcome: what the endpoint answers.
    likely: Oracle,
    codes: EnvelopeCodes,
    /// The fault it plants, if any (see [`mutant`]).
    mutant: Option<Mutant>,
    /// Which acceptable outcome it answers (see [`answer`]).
    picker: Picker,
    shared: Mutex<Shared>,
}

/// What requests change, behind one lock: every request is decided and recorded atomically.
struct Shared {
    world: World,
    /// What the endpoint knows of the copies it made, by their number (see [`copy_number`]).
    copies: describe::MadeCopies,
    images_created: u64,
    requests: u64,
}

/// How a request wants its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dialect {
    /// EC2 Query XML.
    Xml,
    /// The json-envelope dialect.
    Json,
}

/// One answer, before it becomes an HTTP response.
struct Reply {
    status: StatusCode,
    dialect: Dialect,
    request_id: String,
    body: String,
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let content_type = match self.dialect {
            Dialect::Xml => XML_CONTENT_TYPE,
            Dialect::Json => JSON_CONTENT_TYPE,
        };
        let mut response = (self.status, [(header::CONTENT_TYPE, content_type)], self.body).into_response();
        // Our ids are ASCII hex and dashes, so this never fails.
        if let Ok(v) = HeaderValue::from_str(&self.request_id) {
            response.headers_mut().insert("x-amzn-requestid", v);
        }
        response
    }
}

impl Endpoint {
    /// An endpoint over `world`, answering with the built-in envelope code table.
    pub fn new(oracle: Arc<Oracle>, world: World) -> Self {
        let codes = EnvelopeCodes::builtin().expect("the built-in specs/json_envelope.toml is valid");
        Self::with_codes(oracle, world, codes)
    }

    /// An endpoint with its own envelope code table.
    pub fn with_codes(oracle: Arc<Oracle>, world: World, codes: EnvelopeCodes) -> Self {
        let likely = oracle.answering_likely();
        // A long run's copies' texts go to a temporary file (docs/memory.md).
        let world = world.spilling_texts();
        let shared = Shared { world, copies: Default::default(), images_created: 0, requests: 0 };
        Endpoint { oracle, likely, codes, mutant: None, picker: Picker::default(), shared: Mutex::new(shared) }
    }

    /// The same endpoint, answering as `picker` picks among the acceptable outcomes.
    pub fn answering(mut self, picker: Picker) -> Self {
        self.picker = picker;
        self
    }

    /// An endpoint that plants `mutant`'s fault: it answers with the mutant's oracle (built
    /// from a patched copy of `oracle`'s spec) and applies its endpoint hooks.
    pub fn mutated(oracle: &Arc<Oracle>, world: World, mutant: Mutant) -> Result<Self, crate::spec::SpecError> {
        let mut endpoint = Self::new(mutant.oracle(oracle)?, world);
        endpoint.mutant = Some(mutant);
        Ok(endpoint)
    }

    /// The full oracle: every answer is one it accepts (the endpoint picks the likely one with
    /// [`Oracle::answering_likely`]).
    pub fn oracle(&self) -> &Arc<Oracle> {
        &self.oracle
    }

    /// The envelope code table of the json-envelope dialect.
    pub fn codes(&self) -> &EnvelopeCodes {
        &self.codes
    }

    /// A copy of the world as it is now, with the images and tokens requests have added among
    /// its own ([`World::flattened`]).
    pub fn world(&self) -> World {
        self.lock().world.flattened()
    }

    /// The axum router serving `/` (GET and POST).
    pub fn router(self: Arc<Self>) -> Router {
        Router::new().route("/", get(handle).post(handle)).with_state(self)
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // Nothing panics while holding the lock; should something, the world is still whole.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers one request's parameters (or the reason they could not be read).
    fn answer(&self, dialect: Dialect, params: Result<Params, RequestError>) -> Reply {
        let mut shared = self.lock();
        shared.requests += 1;
        let request_id = request_id(shared.requests);
        let params = match params {
            Ok(p) => p,
            Err(e) => {
                return self.error(
                    dialect,
                    request_id,
                    StatusCode::BAD_REQUEST,
                    "InvalidParameterValue",
                    &e.to_string(),
                );
            }
        };
        let reply = if params.get("Action").map(String::as_str) == Some(DESCRIBE_IMAGES) {
            self.describe_images(&shared, dialect, request_id, &params)
        } else {
            self.copy_image(&mut shared, dialect, request_id, &params)
        };
        // Texts of copies it could not read back: the answer may be wrong, and so may every
        // later one; the endpoint is broken from then on.
        match shared.world.texts_error() {
            Some(e) => self.error(dialect, reply.request_id, StatusCode::INTERNAL_SERVER_ERROR, "InternalError", &e),
            None => reply,
        }
    }

    fn copy_image(&self, shared: &mut Shared, dialect: Dialect, request_id: String, params: &Params) -> Reply {
        // The likely answer by default; with `--answer any`, any answer the full oracle accepts.
        let prediction = match self.picker.answer {
            Answer::Primary => self.likely.predict(&shared.world, params),
            Answer::Any => self.oracle.predict(&shared.world, params),
        };
        let Some((outcome, first)) = self.picker.pick(&prediction, shared.requests) else {
            let status = StatusCode::INTERNAL_SERVER_ERROR;
            return self.error(dialect, request_id, status, "InternalError", "the oracle predicted no outcome");
        };
        let status = StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Some(code) = &outcome.code {
            let message = match &prediction.message {
                Some(m) if first => render_region(m, &shared.world.region),
                _ => code.to_string(),
            };
            return self.error(dialect, request_id, status, code, &message);
        }
        let image_id = match &prediction.image_id {
            Some(replayed) => replayed.clone(),
            None => {
                let id = next_image_id(shared);
                let recorded = self.mutant.map_or(Cow::Borrowed(params), |m| m.recorded(params));
                if prediction.codes.is_empty() {
                    record_if_copied(&self.oracle, &mut shared.world, &recorded, &prediction, &id);
                } else {
                    // A success drawn where errors were acceptable too: the copy is made.
                    record_copy(&self.oracle, &mut shared.world, &recorded, &id);
                }
                if let (Some(source), Some(region)) = (params.get("SourceImageId"), params.get("SourceRegion")) {
                    let created = envelope::rfc3339(SystemTime::now()).replace('Z', ".000Z");
                    shared.copies.insert(shared.images_created, source, region, &created);
                }
                id
            }
        };
        let body = match dialect {
            Dialect::Xml => match self.mutant {
                None => xml::copy_image(self.namespace(), &request_id, Some(&image_id)),
                Some(m) => xml::copy_image(self.namespace(), &request_id, m.image_id(&image_id).as_deref()),
            },
            Dialect::Json => envelope::success(&image_id, &envelope::rfc3339(SystemTime::now())),
        };
        Reply { status, dialect, request_id, body }
    }

    fn describe_images(&self, shared: &Shared, dialect: Dialect, request_id: String, params: &Params) -> Reply {
        let world = &shared.world;
        if self.oracle.limits().is_true(params.get("DryRun").map(String::as_str)) {
            let (status, message) =
                (StatusCode::PRECONDITION_FAILED, "Request would have succeeded, but DryRun flag is set.");
            return self.error(dialect, request_id, status, "DryRunOperation", message);
        }
        let spec = self.oracle.spec();
        let id_pattern =
            spec.require_param("SourceImageId").ok().and_then(|p| p.pattern.as_deref()).map(|p| spec.regex(p));
        let images = match describe::select(world, params, id_pattern, xml::snapshot_id) {
            Ok(images) => images,
            Err(e) => return self.error(dialect, request_id, StatusCode::BAD_REQUEST, e.code, &e.message),
        };
        let images: Vec<Cow<'_, crate::world::Image>> = images
            .into_iter()
            .map(|i| self.mutant.map_or_else(|| i.clone(), |m| Cow::Owned(m.described(&i).into_owned())))
            .collect();
        let described = images.iter().map(|i| xml::Described {
            image: i,
            owner: world.owner_of(i),
            copy: copy_number(&i.image_id).and_then(|n| shared.copies.get(n)),
        });
        let body = match dialect {
            Dialect::Xml => xml::describe_images(self.namespace(), &request_id, described),
            Dialect::Json => envelope::describe_images(described),
        };
        Reply { status: StatusCode::OK, dialect, request_id, body }
    }

    fn error(&self, dialect: Dialect, request_id: String, status: StatusCode, code: &str, message: &str) -> Reply {
        let status = match self.mutant {
            Some(m) => StatusCode::from_u16(m.error_status(status.as_u16())).unwrap_or(status),
            None => status,
        };
        let body = match dialect {
            Dialect::Xml => xml::error(code, message, &request_id),
            Dialect::Json => envelope::error(self.codes.envelope_code(code), message),
        };
        Reply { status, dialect, request_id, body }
    }

    /// The XML namespace of the replies.
    fn namespace(&self) -> &str {
        let namespace = &self.oracle.spec().operation.xml_namespace;
        self.mutant.map_or(namespace, |m| m.namespace(namespace))
    }
}

/// The next image id, skipping any the world already has.
fn next_image_id(shared: &mut Shared) -> String {
    loop {
        shared.images_created += 1;
        let id = format!("ami-{:017x}", IMAGE_ID_BASE.wrapping_add(shared.images_created));
        if !shared.world.has_image_id(&id) {
            return id;
        }
    }
}

/// The number of the copy the endpoint gave this id (its `images_created` then), if it did.
fn copy_number(image_id: &str) -> Option<u64> {
    let hex = image_id.strip_prefix("ami-").filter(|h| h.len() == 17)?;
    u64::from_str_radix(hex, 16).ok().map(|n| n.wrapping_sub(IMAGE_ID_BASE))
}

/// A UUID-shaped (version 4 layout) request id, derived from the request count so that runs
/// repeat exactly.
fn request_id(n: u64) -> String {
    let a = splitmix64(n);
    let b = splitmix64(a ^ n);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// splitmix64's finaliser: a well-spread 64-bit hash of a counter, for request ids and the
/// answer picker.
pub(super) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Whether a header names a JSON media type (`application/json`, with or without parameters).
fn is_json(value: Option<&HeaderValue>) -> bool {
    value.and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(',').any(|part| {
            let media = part.split(';').next().unwrap_or("").trim();
            media.eq_ignore_ascii_case(JSON_CONTENT_TYPE)
        })
    })
}

fn dialect(headers: &HeaderMap) -> Dialect {
    if is_json(headers.get(header::CONTENT_TYPE)) || is_json(headers.get(header::ACCEPT)) {
        Dialect::Json
    } else {
        Dialect::Xml
    }
}

/// Reads a request's parameters: the query string, then (for a POST) the body, whose keys
/// win.
async fn read_params(
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: axum::body::Body,
) -> Result<Params, RequestError> {
    let mut params = Params::new();
    if let Some(q) = query {
        params::decode_form(q.as_bytes(), &mut params)?;
    }
    if method == Method::POST {
        let bytes = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|e| RequestError::Body(e.to_string()))?;
        if is_json(headers.get(header::CONTENT_TYPE)) {
            params::decode_json(&bytes, &mut params)?;
        } else {
            params::decode_form(&bytes, &mut params)?;
        }
    }
    Ok(params)
}

async fn handle(State(endpoint): State<Arc<Endpoint>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let dialect = dialect(&parts.headers);
    let params = read_params(&parts.method, &parts.headers, parts.uri.query(), body).await;
    endpoint.answer(dialect, params).into_response()
}

/// A running endpoint.
pub struct Running {
    addr: SocketAddr,
    endpoint: Arc<Endpoint>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// The address it listens on (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, `http://127.0.0.1:PORT/` (loopback when bound to an unspecified address).
    pub fn url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}/", SocketAddr::new(ip, self.addr.port()))
    }

    /// The endpoint it serves, e.g. to read the world after some requests.
    pub fn endpoint(&self) -> &Arc<Endpoint> {
        &self.endpoint
    }

    /// Stops accepting, lets open requests finish (for a few seconds at most), and waits for
    /// the server task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let mut task = self.task;
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await.is_err() {
            task.abort();
        }
    }
}

/// Binds `addr` (port 0 picks a free port) and serves an endpoint over `world` on a spawned
/// task until [`Running::shutdown`] (or until the `Running` is dropped).
pub async fn bind(addr: SocketAddr, oracle: Arc<Oracle>, world: World) -> std::io::Result<Running> {
    bind_endpoint(addr, Endpoint::new(oracle, world)).await
}

/// Binds `addr` (port 0 picks a free port) and serves `endpoint` (e.g. a [`Endpoint::mutated`]
/// one) on a spawned task until [`Running::shutdown`] (or until the `Running` is dropped).
pub async fn bind_endpoint(addr: SocketAddr, endpoint: Endpoint) -> std::io::Result<Running> {
    let endpoint = Arc::new(endpoint);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let app = Arc::clone(&endpoint).router();
    let task = tokio::spawn(async move {
        // A dropped sender ends the wait too, so dropping `Running` stops the server.
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Ok(Running { addr, endpoint, stop, task })
}

/// Serves `app` (an endpoint's router with a test's layer on it) on a free loopback port on a
/// spawned task; its URL.
#[cfg(test)]
pub(crate) async fn serve_for_tests(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[cfg(test)]
mod tests;
