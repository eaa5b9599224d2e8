//! A fault-injecting HTTP proxy for the end-to-end tests.
//!
//! It sits between the controller (configured with `AWS_ENDPOINT_URL` = [`FaultProxy::url`]) and moto,
//! and for each request picks, by a seeded random choice, an [`Action`]: forward it unchanged, or answer
//! the way an overloaded or broken AWS endpoint does (a `ThrottlingException`, a 500 or 503 in the AWS
//! error shape of the request's protocol), hold it open without answering ([`Action::Hang`]), or forward
//! it and then drop the connection before answering ([`Action::ForwardThenDrop`]: the call happened in
//! moto, but the client never learns its result).
//!
//! The choice for the n-th eligible request depends only on the seed, the fault rate and the weights
//! ([`FaultConfig::choice`]), so a run with the same seed and the same order of requests injects the same
//! faults. Every request is counted per operation as it arrives ([`FaultProxy::counts`]) and recorded in
//! order ([`FaultProxy::history`]).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use ecs_controller_e2e::faultproxy::{FaultConfig, FaultProxy};
//! let proxy = FaultProxy::start("http://127.0.0.1:5000", FaultConfig::new(42, 0.33))?;
//! // ... run the controller with AWS_ENDPOINT_URL=proxy.url() ...
//! proxy.set_fault_rate(0.0); // final checks see moto as it is
//! println!("{}", proxy.counts());
//! # Ok(()) }
//! ```

use anyhow::{Context as _, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Request, Response, StatusCode, Uri, Version};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the proxy does with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Pass the request to the upstream and its answer back, unchanged.
    Forward,
    /// Answer HTTP 400 `ThrottlingException` ("Rate exceeded") without calling the upstream.
    Throttle,
    /// Answer HTTP 500 `InternalFailure` without calling the upstream.
    ServerError500,
    /// Answer HTTP 503 `ServiceUnavailableException` without calling the upstream.
    Unavailable503,
    /// Hold the request open without answering for [`FaultConfig::hang`], then close the connection.
    Hang,
    /// Forward the request, wait for the upstream's full answer, then close the connection without
    /// answering: the call happened, the client sees an incomplete message.
    ForwardThenDrop,
}

impl Action {
    /// The five faults, in the order [`FaultWeights`] lists them.
    pub const FAULTS: [Action; 5] = [
        Action::Throttle,
        Action::ServerError500,
        Action::Unavailable503,
        Action::Hang,
        Action::ForwardThenDrop,
    ];

    pub fn is_fault(self) -> bool {
        self != Action::Forward
    }

    /// Whether a request given this action reaches the upstream.
    pub fn reaches_upstream(self) -> bool {
        matches!(self, Action::Forward | Action::ForwardThenDrop)
    }

    pub fn name(self) -> &'static str {
        match self {
            Action::Forward => "forward",
            Action::Throttle => "throttle",
            Action::ServerError500 => "server-error-500",
            Action::Unavailable503 => "unavailable-503",
            Action::Hang => "hang",
            Action::ForwardThenDrop => "forward-then-drop",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Relative weights of the faults among the faulted requests (all 1 by default: equally likely).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultWeights {
    pub throttle: u32,
    pub server_error: u32,
    pub unavailable: u32,
    pub hang: u32,
    pub forward_then_drop: u32,
}

impl Default for FaultWeights {
    fn default() -> Self {
        Self {
            throttle: 1,
            server_error: 1,
            unavailable: 1,
            hang: 1,
            forward_then_drop: 1,
        }
    }
}

impl FaultWeights {
    /// All weights zero: no request is faulted whatever the fault rate.
    pub fn none() -> Self {
        Self {
            throttle: 0,
            server_error: 0,
            unavailable: 0,
            hang: 0,
            forward_then_drop: 0,
        }
    }

    /// Only this fault (weight 1, the others 0); [`Action::Forward`] gives [`none`](Self::none).
    pub fn only(action: Action) -> Self {
        let mut w = Self::none();
        match action {
            Action::Forward => {}
            Action::Throttle => w.throttle = 1,
            Action::ServerError500 => w.server_error = 1,
            Action::Unavailable503 => w.unavailable = 1,
            Action::Hang => w.hang = 1,
            Action::ForwardThenDrop => w.forward_then_drop = 1,
        }
        w
    }

    pub fn weight(&self, action: Action) -> u32 {
        match action {
            Action::Forward => 0,
            Action::Throttle => self.throttle,
            Action::ServerError500 => self.server_error,
            Action::Unavailable503 => self.unavailable,
            Action::Hang => self.hang,
            Action::ForwardThenDrop => self.forward_then_drop,
        }
    }
}

/// How the proxy picks faults.
#[derive(Clone, Debug)]
pub struct FaultConfig {
    /// Seed of the choices: the same seed gives the same sequence of actions.
    pub seed: u64,
    /// Share of the eligible requests that get a fault, 0.0 to 1.0 (changeable at run time with
    /// [`FaultProxy::set_fault_rate`]).
    pub fault_rate: f64,
    /// Which fault a faulted request gets.
    pub weights: FaultWeights,
    /// How long [`Action::Hang`] holds a request before closing the connection; keep it longer than the
    /// client's timeout (the default, 30 s, is).
    pub hang: Duration,
    /// When set, only requests whose operation (`DescribeClusters`) or whole `X-Amz-Target` header
    /// (`AmazonEC2ContainerServiceV20141113.DescribeClusters`) is listed are eligible for faults; the
    /// others are forwarded and take no place in the sequence of choices.
    pub only_targets: Option<Vec<String>>,
}

impl Default for FaultConfig {
    /// Seed 0, fault rate 0 (a plain pass-through proxy), equal weights, 30 s hangs, every operation.
    fn default() -> Self {
        Self {
            seed: 0,
            fault_rate: 0.0,
            weights: FaultWeights::default(),
            hang: Duration::from_secs(30),
            only_targets: None,
        }
    }
}

impl FaultConfig {
    /// Equal weights, 30 s hangs, every operation eligible.
    pub fn new(seed: u64, fault_rate: f64) -> Self {
        Self {
            seed,
            fault_rate,
            ..Self::default()
        }
    }

    /// The action for the `n`-th eligible request (from 0) at this config's fault rate.
    pub fn choice(&self, n: u64) -> Action {
        self.choice_at(n, self.fault_rate)
    }

    /// The action for the `n`-th eligible request at the given fault rate: a pure function of the seed,
    /// `n`, the rate and the weights.
    pub fn choice_at(&self, n: u64, fault_rate: f64) -> Action {
        // u is in [0, 1): a rate <= 0 (or NaN) faults nothing, a rate >= 1 everything.
        let u = unit(draw(self.seed, n, 0));
        if fault_rate.is_nan() || u >= fault_rate {
            return Action::Forward;
        }
        let total: u64 = Action::FAULTS
            .iter()
            .map(|&a| u64::from(self.weights.weight(a)))
            .sum();
        if total == 0 {
            return Action::Forward;
        }
        let mut pick = draw(self.seed, n, 1) % total;
        for a in Action::FAULTS {
            let w = u64::from(self.weights.weight(a));
            if pick < w {
                return a;
            }
            pick -= w;
        }
        Action::Forward
    }

    /// Whether a request for this operation (with this `X-Amz-Target`, if any) may get a fault.
    pub fn eligible(&self, operation: &str, target: Option<&str>) -> bool {
        match &self.only_targets {
            None => true,
            Some(list) => list.iter().any(|t| t == operation || Some(t.as_str()) == target),
        }
    }
}

/// SplitMix64's output function.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The `stream`-th random number of the `n`-th request: independent of any other request's draws.
fn draw(seed: u64, n: u64, stream: u64) -> u64 {
    splitmix64(seed ^ splitmix64(n.wrapping_mul(4).wrapping_add(stream)))
}

/// A number in [0, 1) from 53 random bits.
fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// The requests of one operation, by what the proxy did with them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpCounts {
    /// Forwarded unchanged (answered by the upstream, unless counted in `upstream_failed` too).
    pub forwarded: u64,
    pub throttle: u64,
    pub server_error: u64,
    pub unavailable: u64,
    pub hang: u64,
    pub forward_then_drop: u64,
    /// Of `forwarded` and `forward_then_drop`: the upstream could not be reached or failed mid-answer
    /// (a forwarded request then gets a 502 `InternalFailure`).
    pub upstream_failed: u64,
}

impl OpCounts {
    /// Every request, whatever the proxy did with it.
    pub fn total(&self) -> u64 {
        self.forwarded + self.faults()
    }

    /// The requests that got a fault.
    pub fn faults(&self) -> u64 {
        self.throttle + self.server_error + self.unavailable + self.hang + self.forward_then_drop
    }

    /// The requests the upstream answered (forwarded, or forwarded and then dropped).
    pub fn reached_upstream(&self) -> u64 {
        (self.forwarded + self.forward_then_drop).saturating_sub(self.upstream_failed)
    }

    pub fn get(&self, action: Action) -> u64 {
        match action {
            Action::Forward => self.forwarded,
            Action::Throttle => self.throttle,
            Action::ServerError500 => self.server_error,
            Action::Unavailable503 => self.unavailable,
            Action::Hang => self.hang,
            Action::ForwardThenDrop => self.forward_then_drop,
        }
    }

    fn slot(&mut self, action: Action) -> &mut u64 {
        match action {
            Action::Forward => &mut self.forwarded,
            Action::Throttle => &mut self.throttle,
            Action::ServerError500 => &mut self.server_error,
            Action::Unavailable503 => &mut self.unavailable,
            Action::Hang => &mut self.hang,
            Action::ForwardThenDrop => &mut self.forward_then_drop,
        }
    }

    fn add(&mut self, other: &OpCounts) {
        self.forwarded += other.forwarded;
        self.throttle += other.throttle;
        self.server_error += other.server_error;
        self.unavailable += other.unavailable;
        self.hang += other.hang;
        self.forward_then_drop += other.forward_then_drop;
        self.upstream_failed += other.upstream_failed;
    }
}

/// A snapshot of the proxy's counts, per operation (`DescribeClusters`, `AssumeRole`, or `unknown`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub operations: BTreeMap<String, OpCounts>,
}

impl Counts {
    /// Every request of every operation.
    pub fn total(&self) -> u64 {
        self.operations.values().map(OpCounts::total).sum()
    }

    /// One operation's counts (zeros when the proxy has not seen it).
    pub fn by_operation(&self, operation: &str) -> OpCounts {
        self.operations.get(operation).cloned().unwrap_or_default()
    }

    /// All operations together.
    pub fn sum(&self) -> OpCounts {
        let mut all = OpCounts::default();
        for c in self.operations.values() {
            all.add(c);
        }
        all
    }

    /// The faulted requests of every operation.
    pub fn faults(&self) -> u64 {
        self.operations.values().map(OpCounts::faults).sum()
    }
}

impl fmt::Display for Counts {
    /// One line per operation: `DescribeClusters: total 7, forward 4, throttle 2, hang 1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (op, c) in &self.operations {
            write!(f, "{op}: total {}", c.total())?;
            for a in std::iter::once(Action::Forward).chain(Action::FAULTS) {
                if c.get(a) > 0 {
                    write!(f, ", {a} {}", c.get(a))?;
                }
            }
            if c.upstream_failed > 0 {
                write!(f, ", upstream failed {}", c.upstream_failed)?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// One request as the proxy handled it, in arrival order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub operation: String,
    pub action: Action,
    /// The request's place among the eligible requests (the `n` of [`FaultConfig::choice`]); `None` for
    /// a request `only_targets` excluded.
    pub index: Option<u64>,
    /// What a create names ([`created_name`]): how a test counts the creates of one name that reached
    /// AWS (moto replaces a same-name create silently, so a duplicate shows only here).
    pub created: Option<String>,
}

/// The resource a JSON-protocol create request names: `CreateCluster` its `clusterName`,
/// `CreateService` `<cluster>/<serviceName>`, `RegisterTaskDefinition` its `family`; `None` for any
/// other request. (With [`client_token`], a repeat of one request is told from a second request.)
/// The `clientToken` of a JSON-protocol request: ECS answers a repeat of a token with the first
/// request's result (idempotency), so two creates with one token are one request.
pub fn client_token(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()?
        .get("clientToken")?
        .as_str()
        .map(str::to_string)
}

pub fn created_name(operation: &str, body: &[u8]) -> Option<String> {
    let field = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let parse = || serde_json::from_slice::<serde_json::Value>(body).ok();
    match operation {
        "CreateCluster" => parse().and_then(|v| field(&v, "clusterName")),
        "CreateService" => parse().and_then(|v| {
            let cluster = field(&v, "cluster").unwrap_or_else(|| "default".into());
            let cluster = cluster.rsplit('/').next().unwrap_or_default().to_string();
            Some(format!("{cluster}/{}", field(&v, "serviceName")?))
        }),
        "RegisterTaskDefinition" => parse().and_then(|v| field(&v, "family")),
        _ => None,
    }
}

/// A create the upstream answered with success: its operation, [`created_name`] and [`client_token`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    pub operation: String,
    pub name: String,
    pub client_token: Option<String>,
}

#[derive(Default)]
struct State {
    next_index: u64,
    counts: Counts,
    history: Vec<Decision>,
    /// Every create the upstream answered with success.
    created: Vec<Created>,
    /// Requests answered by [`FaultProxy::refuse`], by operation.
    refused: BTreeMap<String, u64>,
    /// With [`FaultProxy::record_requests`]: the JSON body of every request forwarded, with its operation.
    sent: Option<Vec<(String, serde_json::Value)>>,
}

type UpstreamClient = Client<HttpConnector, Full<Bytes>>;

struct Shared {
    config: FaultConfig,
    /// `scheme://authority` plus any path prefix, without a trailing '/'.
    upstream: String,
    fault_rate: AtomicU64,
    request_ids: AtomicU64,
    state: Mutex<State>,
    client: UpstreamClient,
    rewrites: Mutex<BTreeMap<String, Rewrite>>,
    /// Operations answered with an AWS error, never forwarded: `(status, code, message)`.
    refusals: Mutex<BTreeMap<String, (u16, String, String)>>,
}

/// Changes the JSON body of an upstream's successful answer (see [`FaultProxy::rewrite`]).
pub type Rewrite = Arc<dyn Fn(&mut serde_json::Value) + Send + Sync>;

/// A running proxy; dropping it (or [`shutdown`](Self::shutdown)) stops it and closes its connections.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultProxy")
            .field("url", &self.url())
            .field("upstream", &self.shared.upstream)
            .field("fault_rate", &self.fault_rate())
            .finish()
    }
}

impl FaultProxy {
    /// Binds 127.0.0.1 on a free port and serves on the current tokio runtime, forwarding to `upstream`
    /// (`http://127.0.0.1:5000`; plain HTTP only).
    pub fn start(upstream: &str, config: FaultConfig) -> Result<FaultProxy> {
        let uri: Uri = upstream
            .parse()
            .with_context(|| format!("fault proxy: bad upstream URL {upstream:?}"))?;
        if uri.scheme_str() != Some("http") || uri.authority().is_none() {
            bail!("fault proxy: the upstream must be an http://host:port URL, not {upstream:?}");
        }
        if uri.query().is_some() {
            bail!("fault proxy: the upstream URL {upstream:?} must not have a query");
        }
        let runtime = tokio::runtime::Handle::try_current()
            .context("fault proxy: FaultProxy::start must be called within a tokio runtime")?;
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", 0)).context("fault proxy: binding")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let listener = {
            let _guard = runtime.enter();
            TcpListener::from_std(std_listener)?
        };

        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        let shared = Arc::new(Shared {
            fault_rate: AtomicU64::new(config.fault_rate.to_bits()),
            config,
            upstream: upstream.trim_end_matches('/').to_string(),
            request_ids: AtomicU64::new(0),
            state: Mutex::new(State::default()),
            client,
            rewrites: Mutex::default(),
            refusals: Mutex::default(),
        });
        let (stop, stopped) = watch::channel(false);
        let task = runtime.spawn(accept_loop(listener, shared.clone(), stopped));
        Ok(FaultProxy {
            addr,
            shared,
            stop,
            task: Some(task),
        })
    }

    /// Response-rewriting mode: from now on, the JSON body of every successful answer to `operation`
    /// (`DescribeTasks`) passes through `rewrite` before the client sees it, so a test can show what
    /// AWS answers and moto cannot produce (a non-zero exit code, a stop code).
    pub fn rewrite(&self, operation: &str, rewrite: impl Fn(&mut serde_json::Value) + Send + Sync + 'static) {
        self.shared
            .rewrites
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(operation.to_string(), Arc::new(rewrite));
    }

    /// Error mode: from now on every request of `operation` is answered with the AWS error document of
    /// its protocol (`status`, `code`, `message`), as AWS refuses a request (a 4xx moto never gives),
    /// and not forwarded. [`FaultProxy::accept`] ends it.
    pub fn refuse(&self, operation: &str, status: u16, code: &str, message: &str) {
        self.shared
            .refusals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                operation.to_string(),
                (status, code.to_string(), message.to_string()),
            );
    }

    /// How many requests of `operation` [`FaultProxy::refuse`] answered.
    pub fn refused(&self, operation: &str) -> u64 {
        self.shared.state().refused.get(operation).copied().unwrap_or(0)
    }

    /// Ends [`FaultProxy::refuse`] for `operation`.
    pub fn accept(&self, operation: &str) {
        self.shared
            .refusals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(operation);
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn upstream(&self) -> &str {
        &self.shared.upstream
    }

    pub fn config(&self) -> &FaultConfig {
        &self.shared.config
    }

    /// Changes the share of requests that get a fault, from the next request on (0.0 turns faults off).
    pub fn set_fault_rate(&self, rate: f64) {
        self.shared.fault_rate.store(rate.to_bits(), Ordering::SeqCst);
    }

    pub fn fault_rate(&self) -> f64 {
        f64::from_bits(self.shared.fault_rate.load(Ordering::SeqCst))
    }

    /// The counts so far; a request is counted when it arrives, before it is answered.
    pub fn counts(&self) -> Counts {
        self.shared.state().counts.clone()
    }

    /// Every create ([`created_name`]) the upstream answered with success, in order, whether or not
    /// the client got the answer.
    pub fn created(&self) -> Vec<Created> {
        self.shared.state().created.clone()
    }

    /// From now on, keep the JSON body of every request forwarded upstream (see [`sent`](Self::sent)):
    /// what the controller asked AWS, including what moto drops.
    pub fn record_requests(&self) {
        self.shared.state().sent.get_or_insert_with(Vec::new);
    }

    /// The JSON bodies of the `operation` requests forwarded since [`record_requests`](Self::record_requests),
    /// in order (JSON-protocol requests only: ECS and Application Auto Scaling).
    pub fn sent(&self, operation: &str) -> Vec<serde_json::Value> {
        let state = self.shared.state();
        state
            .sent
            .iter()
            .flatten()
            .filter(|(op, _)| op == operation)
            .map(|(_, body)| body.clone())
            .collect()
    }

    /// Every request so far, in arrival order.
    pub fn history(&self) -> Vec<Decision> {
        self.shared.state().history.clone()
    }

    /// Stops accepting, closes every connection (hung ones included) and waits for the listener to close.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // The accept loop and every connection task watch this; they also stop when the sender is gone.
        let _ = self.stop.send(true);
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Picks the action for a request and counts it.
    fn decide(&self, operation: &str, target: Option<&str>, created: Option<String>) -> Action {
        let rate = f64::from_bits(self.fault_rate.load(Ordering::SeqCst));
        let mut state = self.state();
        let (action, index) = if self.config.eligible(operation, target) {
            let n = state.next_index;
            state.next_index += 1;
            (self.config.choice_at(n, rate), Some(n))
        } else {
            (Action::Forward, None)
        };
        *state
            .counts
            .operations
            .entry(operation.to_string())
            .or_default()
            .slot(action) += 1;
        state.history.push(Decision {
            operation: operation.to_string(),
            action,
            index,
            created,
        });
        action
    }

    fn count_upstream_failed(&self, operation: &str) {
        self.state()
            .counts
            .operations
            .entry(operation.to_string())
            .or_default()
            .upstream_failed += 1;
    }

    /// A request id in the UUID shape AWS uses, unique to this proxy's run and seed.
    fn request_id(&self) -> String {
        let n = self.request_ids.fetch_add(1, Ordering::Relaxed);
        let a = draw(self.config.seed, n, 2);
        let b = draw(self.config.seed, n, 3);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    /// The answer after the rewrite registered for `operation`, if any (successful JSON answers only).
    async fn rewritten(&self, operation: &str, response: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
        let rewrite = self
            .rewrites
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(operation)
            .cloned();
        let Some(rewrite) = rewrite else {
            return response;
        };
        if !response.status().is_success() {
            return response;
        }
        let (mut parts, body) = response.into_parts();
        let bytes = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
        let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            return Response::from_parts(parts, Full::new(bytes));
        };
        rewrite(&mut json);
        let body = Bytes::from(serde_json::to_vec(&json).unwrap_or_default());
        parts.headers.remove(header::TRANSFER_ENCODING);
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        Response::from_parts(parts, Full::new(body))
    }

    /// Sends the request to the upstream as it came (minus hop-by-hop headers) and buffers the answer.
    async fn forward(&self, parts: &Parts, body: Bytes) -> Result<Response<Full<Bytes>>, String> {
        let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let uri: Uri = format!("{}{}", self.upstream, path)
            .parse()
            .map_err(|e| format!("upstream URL: {e}"))?;
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = parts.method.clone();
        *request.uri_mut() = uri;
        *request.version_mut() = Version::HTTP_11;
        *request.headers_mut() = end_to_end(&parts.headers);
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| format!("upstream request: {e}"))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format!("upstream body: {e}"))?
            .to_bytes();
        let mut out = Response::new(Full::new(body));
        *out.status_mut() = parts.status;
        *out.headers_mut() = end_to_end(&parts.headers);
        Ok(out)
    }
}

/// The headers of a message minus the hop-by-hop ones (RFC 9110 7.6.1), which belong to one connection.
/// `transfer-encoding` stays: the body is passed on as it came, so its framing still holds.
fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let mut out = headers.clone();
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .filter(|name| name != header::TRANSFER_ENCODING)
        .collect();
    for name in named {
        out.remove(name);
    }
    for name in [
        header::CONNECTION,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHENTICATE,
    ] {
        out.remove(name);
    }
    for name in ["keep-alive", "proxy-connection"] {
        out.remove(name);
    }
    out
}

/// Why a connection was closed without an answer (what hyper gets back from the service).
#[derive(Debug)]
enum Dropped {
    ClientBody,
    Hang,
    AfterForward,
}

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dropped::ClientBody => "the client's request body failed",
            Dropped::Hang => "hang: closed without an answer",
            Dropped::AfterForward => "forwarded, then closed without an answer",
        })
    }
}

impl std::error::Error for Dropped {}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors, say: wait a little rather than spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(shared.clone(), req));
            let connection = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                // An error here is a connection closed on purpose (hang, drop) or by the client.
                _ = connection => {}
                _ = stopped.wait_for(|stop| *stop) => {}
            }
        });
    }
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Dropped> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(|_| Dropped::ClientBody)?.to_bytes();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (operation, protocol) = operation(&parts, &body);
    let refusal = shared
        .refusals
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&operation)
        .cloned();
    if let Some((status, code, message)) = refusal {
        *shared.state().refused.entry(operation.clone()).or_default() += 1;
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        return Ok(error_response(
            &parts,
            protocol,
            status,
            &code,
            &message,
            &shared.request_id(),
        ));
    }
    let created = created_name(&operation, &body);
    let token = client_token(&body);
    let action = shared.decide(&operation, target.as_deref(), created.clone());
    let record = |response: &Response<Full<Bytes>>| {
        if let Some(name) = created.clone().filter(|_| response.status().is_success()) {
            shared.state().created.push(Created {
                operation: operation.clone(),
                name,
                client_token: token.clone(),
            });
        }
    };
    if action.reaches_upstream()
        && let Some(sent) = shared.state().sent.as_mut()
        && let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body)
    {
        sent.push((operation.clone(), json));
    }
    match action {
        Action::Forward => match shared.forward(&parts, body).await {
            Ok(response) => {
                record(&response);
                Ok(shared.rewritten(&operation, response).await)
            }
            Err(e) => {
                shared.count_upstream_failed(&operation);
                let id = shared.request_id();
                Ok(error_response(
                    &parts,
                    protocol,
                    StatusCode::BAD_GATEWAY,
                    "InternalFailure",
                    &format!("fault proxy: {e}"),
                    &id,
                ))
            }
        },
        Action::Throttle | Action::ServerError500 | Action::Unavailable503 => {
            let (status, code, message) = match action {
                Action::Throttle => (StatusCode::BAD_REQUEST, "ThrottlingException", "Rate exceeded"),
                Action::ServerError500 => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalFailure",
                    "The request processing has failed because of an unknown error, exception or failure.",
                ),
                _ => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ServiceUnavailableException",
                    "Service Unavailable",
                ),
            };
            let id = shared.request_id();
            Ok(error_response(&parts, protocol, status, code, message, &id))
        }
        Action::Hang => {
            tokio::time::sleep(shared.config.hang).await;
            Err(Dropped::Hang)
        }
        Action::ForwardThenDrop => {
            match shared.forward(&parts, body).await {
                Ok(response) => record(&response),
                Err(_) => shared.count_upstream_failed(&operation),
            }
            Err(Dropped::AfterForward)
        }
    }
}

/// The AWS protocol of a request, which decides the shape of an injected error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    /// `awsJson1_0` / `awsJson1_1` (ECS, Application Auto Scaling), and the default.
    Json,
    /// `awsQuery` (STS): form-encoded `Action=...`.
    Query,
}

/// The operation a request calls and its protocol: the part of `X-Amz-Target` after the last '.' (the
/// JSON protocols), else the `Action` parameter of a form body or of the query string (the Query
/// protocol: STS), else `unknown`.
fn operation(parts: &Parts, body: &[u8]) -> (String, Protocol) {
    if let Some(target) = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let op = target.rsplit('.').next().unwrap_or(target).trim();
        let op = if op.is_empty() { "unknown" } else { op };
        return (op.to_string(), Protocol::Json);
    }
    let action = std::str::from_utf8(body)
        .ok()
        .and_then(form_action)
        .or_else(|| parts.uri.query().and_then(form_action));
    match action {
        Some(action) => (action, Protocol::Query),
        None => ("unknown".to_string(), Protocol::Json),
    }
}

fn form_action(form: &str) -> Option<String> {
    form.split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| key.trim() == "Action")
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// An AWS error answer in the request's protocol: the JSON protocols get `{"__type": code, "message": ...}`
/// (with the request's `application/x-amz-json-1.x` content type, 1.1 by default) and `x-amzn-errortype`,
/// the Query protocol (STS) its `<ErrorResponse>` XML.
fn error_response(
    parts: &Parts,
    protocol: Protocol,
    status: StatusCode,
    code: &str,
    message: &str,
    request_id: &str,
) -> Response<Full<Bytes>> {
    let (content_type, body) = if protocol == Protocol::Query {
        let (kind, code) = match code {
            // The Query protocol's names for the same errors.
            "ThrottlingException" => ("Sender", "Throttling"),
            "ServiceUnavailableException" => ("Receiver", "ServiceUnavailable"),
            other => ("Receiver", other),
        };
        (
            "text/xml".to_string(),
            format!(
                "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{}</Message></Error>\
                 <RequestId>{request_id}</RequestId></ErrorResponse>",
                xml_escape(message)
            ),
        )
    } else {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.starts_with("application/x-amz-json-"))
            .unwrap_or("application/x-amz-json-1.1")
            .to_string();
        (
            content_type,
            format!(
                "{{\"__type\":\"{}\",\"message\":\"{}\"}}",
                json_escape(code),
                json_escape(message)
            ),
        )
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set("content-type", &content_type);
    set("x-amzn-requestid", request_id);
    if protocol == Protocol::Json {
        set("x-amzn-errortype", code);
    }
    response
}

fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_are_named_by_what_they_create() {
        let named = |op: &str, body: serde_json::Value| created_name(op, body.to_string().as_bytes());
        assert_eq!(
            named("CreateCluster", serde_json::json!({"clusterName": "main"})).as_deref(),
            Some("main")
        );
        assert_eq!(
            named(
                "CreateService",
                serde_json::json!({"cluster": "arn:aws:ecs:us-east-1:1:cluster/main", "serviceName": "web"})
            )
            .as_deref(),
            Some("main/web")
        );
        assert_eq!(
            named("RegisterTaskDefinition", serde_json::json!({"family": "web"})).as_deref(),
            Some("web")
        );
        assert_eq!(
            named("DescribeClusters", serde_json::json!({"clusterName": "x"})),
            None
        );
        assert_eq!(created_name("CreateCluster", b"not json"), None);
    }
    use std::time::Instant;

    /// A request as the test upstream received it.
    #[derive(Clone, Debug, PartialEq)]
    struct Seen {
        method: hyper::Method,
        uri: String,
        headers: HeaderMap,
        body: Bytes,
    }

    /// An upstream on 127.0.0.1 that records every request and answers with the status of its
    /// `x-echo-status` header (200 by default), a few fixed headers and `echo:` + the request body.
    struct Upstream {
        url: String,
        seen: Arc<Mutex<Vec<Seen>>>,
        task: JoinHandle<()>,
    }

    impl Drop for Upstream {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    impl Upstream {
        async fn start() -> Upstream {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let seen = Arc::new(Mutex::new(Vec::new()));
            let recorded = seen.clone();
            let task = tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    let recorded = recorded.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                            let recorded = recorded.clone();
                            async move {
                                let (parts, body) = req.into_parts();
                                let body = body.collect().await?.to_bytes();
                                let status = parts
                                    .headers
                                    .get("x-echo-status")
                                    .and_then(|v| v.to_str().ok()?.parse().ok())
                                    .unwrap_or(200u16);
                                recorded.lock().unwrap().push(Seen {
                                    method: parts.method,
                                    uri: parts.uri.to_string(),
                                    headers: parts.headers,
                                    body: body.clone(),
                                });
                                let mut echo = b"echo:".to_vec();
                                echo.extend_from_slice(&body);
                                let response = Response::builder()
                                    .status(status)
                                    .header("content-type", "application/x-amz-json-1.1")
                                    .header("x-amzn-requestid", "upstream-request-id")
                                    .header("x-multi", "one")
                                    .header("x-multi", "two")
                                    .body(Full::new(Bytes::from(echo)))
                                    .unwrap();
                                Ok::<_, hyper::Error>(response)
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
            Upstream { url, seen, task }
        }

        fn seen(&self) -> Vec<Seen> {
            self.seen.lock().unwrap().clone()
        }
    }

    struct Answer {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    }

    fn client() -> UpstreamClient {
        Client::builder(TokioExecutor::new()).build_http()
    }

    async fn send(
        client: &UpstreamClient,
        request: Request<Full<Bytes>>,
    ) -> Result<Answer, hyper_util::client::legacy::Error> {
        let response = client.request(request).await?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// Whether the client saw the connection close before a complete answer.
    fn incomplete(error: &hyper_util::client::legacy::Error) -> bool {
        let mut source = std::error::Error::source(error);
        while let Some(e) = source {
            if let Some(e) = e.downcast_ref::<hyper::Error>() {
                return e.is_incomplete_message();
            }
            source = e.source();
        }
        false
    }

    /// A request the way the SDK sends an awsJson1_1 call.
    fn ecs_request(base: &str, operation: &str) -> Request<Full<Bytes>> {
        Request::builder()
            .method("POST")
            .uri(format!("{base}/"))
            .header("host", "ecs.us-east-1.amazonaws.com")
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "x-amz-target",
                format!("AmazonEC2ContainerServiceV20141113.{operation}"),
            )
            .header("x-amz-date", "20240101T000000Z")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ecs/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0123abcd",
            )
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap()
    }

    /// An STS call in the Query protocol.
    fn sts_request(base: &str) -> Request<Full<Bytes>> {
        Request::builder()
            .method("POST")
            .uri(format!("{base}/"))
            .header("host", "sts.us-east-1.amazonaws.com")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from_static(
                b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fx",
            )))
            .unwrap()
    }

    fn without_date(headers: &HeaderMap) -> HeaderMap {
        let mut h = headers.clone();
        h.remove(header::DATE);
        h
    }

    #[tokio::test]
    async fn rate_zero_forwards_everything_unchanged() {
        let upstream = Upstream::start().await;
        let proxy = FaultProxy::start(&upstream.url, FaultConfig::new(1, 0.0)).unwrap();
        let client = client();
        let odd_request = |base: &str| {
            Request::builder()
                .method("PUT")
                .uri(format!("{base}/some/path?b=2&a=%2F&Action=Ignored"))
                .header("host", "ecs.us-east-1.amazonaws.com")
                .header("content-type", "application/x-amz-json-1.1")
                .header("x-amz-target", "AmazonEC2ContainerServiceV20141113.CreateService")
                .header("x-amz-date", "20240101T000000Z")
                .header("x-amz-security-token", "token/with+odd=chars")
                .header(
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ecs/aws4_request, \
                     SignedHeaders=host;x-amz-date, Signature=0123abcd",
                )
                .header("x-dup", "first")
                .header("x-dup", "second")
                // moto's answer is an error: it must pass through as it is.
                .header("x-echo-status", "409")
                .body(Full::new(Bytes::from_static(
                    b"{\"a\":1,\"bin\":\"\x00\xff\xfe\"}",
                )))
                .unwrap()
        };

        let direct = send(&client, odd_request(&upstream.url)).await.unwrap();
        let proxied = send(&client, odd_request(&proxy.url())).await.unwrap();
        let seen = upstream.seen();
        assert_eq!(seen.len(), 2);
        assert_eq!(
            seen[0], seen[1],
            "the upstream must see the proxied request as the direct one"
        );
        assert_eq!(seen[1].uri, "/some/path?b=2&a=%2F&Action=Ignored");
        assert_eq!(seen[1].headers["host"], "ecs.us-east-1.amazonaws.com");
        assert_eq!(
            seen[1].headers.get_all("x-dup").iter().collect::<Vec<_>>(),
            ["first", "second"]
        );
        assert_eq!(proxied.status, StatusCode::CONFLICT);
        assert_eq!(proxied.status, direct.status);
        assert_eq!(without_date(&proxied.headers), without_date(&direct.headers));
        assert_eq!(proxied.body, direct.body);
        assert_eq!(&proxied.body[..], b"echo:{\"a\":1,\"bin\":\"\x00\xff\xfe\"}");

        // A plain call, and the connection is reused.
        for _ in 0..3 {
            let ok = send(&client, ecs_request(&proxy.url(), "DescribeClusters"))
                .await
                .unwrap();
            assert_eq!(ok.status, StatusCode::OK);
            assert_eq!(&ok.body[..], b"echo:{}");
        }
        let counts = proxy.counts();
        assert_eq!(counts.by_operation("CreateService").forwarded, 1);
        assert_eq!(counts.by_operation("DescribeClusters").forwarded, 3);
        assert_eq!(counts.total(), 4);
        assert_eq!(counts.faults(), 0);
        assert_eq!(counts.sum().reached_upstream(), 4);
        assert_eq!(upstream.seen().len(), 5);
    }

    #[tokio::test]
    async fn throttle_answers_like_aws_without_calling_upstream() {
        let upstream = Upstream::start().await;
        let config = FaultConfig {
            weights: FaultWeights::only(Action::Throttle),
            ..FaultConfig::new(7, 1.0)
        };
        let proxy = FaultProxy::start(&upstream.url, config).unwrap();
        let client = client();
        let mut ids = Vec::new();
        for _ in 0..3 {
            let answer = send(&client, ecs_request(&proxy.url(), "DescribeServices"))
                .await
                .unwrap();
            assert_eq!(answer.status, StatusCode::BAD_REQUEST);
            assert_eq!(answer.headers["content-type"], "application/x-amz-json-1.1");
            assert_eq!(answer.headers["x-amzn-errortype"], "ThrottlingException");
            ids.push(answer.headers["x-amzn-requestid"].to_str().unwrap().to_string());
            let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
            assert_eq!(
                body,
                serde_json::json!({"__type": "ThrottlingException", "message": "Rate exceeded"})
            );
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 3, "request ids must differ: {ids:?}");

        // STS (the Query protocol) gets its own error shape.
        let answer = send(&client, sts_request(&proxy.url())).await.unwrap();
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(answer.headers["content-type"], "text/xml");
        let body = String::from_utf8(answer.body.to_vec()).unwrap();
        assert!(body.contains("<Code>Throttling</Code>"), "{body}");

        assert!(upstream.seen().is_empty());
        let counts = proxy.counts();
        assert_eq!(counts.by_operation("DescribeServices").throttle, 3);
        assert_eq!(counts.by_operation("AssumeRole").throttle, 1);
        assert_eq!(counts.total(), 4);
        assert_eq!(counts.sum().reached_upstream(), 0);
    }

    #[tokio::test]
    async fn server_errors_have_the_aws_json_shape() {
        let upstream = Upstream::start().await;
        for (action, status, code) in [
            (Action::ServerError500, 500, "InternalFailure"),
            (Action::Unavailable503, 503, "ServiceUnavailableException"),
        ] {
            let config = FaultConfig {
                weights: FaultWeights::only(action),
                ..FaultConfig::new(7, 1.0)
            };
            let proxy = FaultProxy::start(&upstream.url, config).unwrap();
            let answer = send(&client(), ecs_request(&proxy.url(), "ListClusters"))
                .await
                .unwrap();
            assert_eq!(answer.status.as_u16(), status);
            assert_eq!(answer.headers["x-amzn-errortype"], code);
            let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
            assert_eq!(body["__type"], code);
            assert_eq!(proxy.counts().by_operation("ListClusters").get(action), 1);
        }
        assert!(upstream.seen().is_empty());
    }

    #[tokio::test]
    async fn forward_then_drop_reaches_upstream_but_not_the_client() {
        let upstream = Upstream::start().await;
        let config = FaultConfig {
            weights: FaultWeights::only(Action::ForwardThenDrop),
            ..FaultConfig::new(7, 1.0)
        };
        let proxy = FaultProxy::start(&upstream.url, config).unwrap();
        let error = send(&client(), ecs_request(&proxy.url(), "CreateService"))
            .await
            .err()
            .expect("the client must get no answer");
        assert!(incomplete(&error), "{error:?}");
        let seen = upstream.seen();
        assert_eq!(seen.len(), 1);
        assert_eq!(
            seen[0].headers["x-amz-target"],
            "AmazonEC2ContainerServiceV20141113.CreateService"
        );
        let counts = proxy.counts().by_operation("CreateService");
        assert_eq!(counts.forward_then_drop, 1);
        assert_eq!(counts.reached_upstream(), 1);
    }

    #[tokio::test]
    async fn creates_the_upstream_answered_with_success_are_recorded_by_name() {
        let upstream = Upstream::start().await;
        let proxy = FaultProxy::start(&upstream.url, FaultConfig::new(7, 0.0)).unwrap();
        let create = |status: &str| {
            let mut r = ecs_request(&proxy.url(), "CreateCluster");
            *r.body_mut() = Full::new(Bytes::from_static(br#"{"clusterName": "main"}"#));
            r.headers_mut()
                .insert("x-echo-status", HeaderValue::from_str(status).unwrap());
            r
        };
        send(&client(), create("200")).await.unwrap();
        // Refused upstream: nothing was created.
        send(&client(), create("400")).await.unwrap();
        send(&client(), ecs_request(&proxy.url(), "DescribeClusters"))
            .await
            .unwrap();
        assert_eq!(
            proxy.created(),
            [Created {
                operation: "CreateCluster".into(),
                name: "main".into(),
                client_token: None
            }]
        );
        assert_eq!(
            client_token(br#"{"serviceName": "web", "clientToken": "t1"}"#).as_deref(),
            Some("t1")
        );
    }

    #[tokio::test]
    async fn hang_outlasts_the_client_timeout_then_closes() {
        let upstream = Upstream::start().await;
        let config = FaultConfig {
            weights: FaultWeights::only(Action::Hang),
            hang: Duration::from_millis(1500),
            ..FaultConfig::new(7, 1.0)
        };
        let proxy = FaultProxy::start(&upstream.url, config).unwrap();
        let timed_out = tokio::time::timeout(
            Duration::from_millis(300),
            send(&client(), ecs_request(&proxy.url(), "UpdateService")),
        )
        .await;
        assert!(timed_out.is_err(), "the client must time out");

        // Without a client timeout, the proxy closes the connection once the hang is over.
        let start = Instant::now();
        let error = send(&client(), ecs_request(&proxy.url(), "UpdateService")).await;
        assert!(error.as_ref().is_err_and(incomplete), "{:?}", error.err());
        assert!(
            start.elapsed() >= Duration::from_millis(1500),
            "{:?}",
            start.elapsed()
        );

        assert!(upstream.seen().is_empty());
        assert_eq!(proxy.counts().by_operation("UpdateService").hang, 2);
    }

    #[tokio::test]
    async fn the_same_seed_gives_the_same_faults() {
        let upstream = Upstream::start().await;
        let config = |seed| FaultConfig {
            // The three faults that answer at once, so the test is quick.
            weights: FaultWeights {
                hang: 0,
                forward_then_drop: 0,
                ..FaultWeights::default()
            },
            ..FaultConfig::new(seed, 0.5)
        };
        let mut runs = Vec::new();
        for seed in [42, 42, 43] {
            let proxy = FaultProxy::start(&upstream.url, config(seed)).unwrap();
            let client = client();
            let mut statuses = Vec::new();
            for i in 0..40 {
                let op = ["DescribeClusters", "DescribeServices", "UpdateService"][i % 3];
                statuses.push(send(&client, ecs_request(&proxy.url(), op)).await.unwrap().status);
            }
            let actions: Vec<Action> = proxy.history().iter().map(|d| d.action).collect();
            let planned: Vec<Action> = (0..40).map(|n| config(seed).choice(n)).collect();
            assert_eq!(actions, planned);
            runs.push((statuses, actions));
        }
        assert_eq!(runs[0], runs[1]);
        assert_ne!(runs[0].1, runs[2].1, "another seed, other faults");
        for a in [
            Action::Forward,
            Action::Throttle,
            Action::ServerError500,
            Action::Unavailable503,
        ] {
            assert!(runs[0].1.contains(&a), "{a} never chosen: {:?}", runs[0].1);
        }
    }

    #[test]
    fn the_fault_rate_and_weights_hold_over_many_choices() {
        let config = FaultConfig {
            weights: FaultWeights {
                throttle: 3,
                server_error: 1,
                unavailable: 0,
                hang: 0,
                forward_then_drop: 0,
            },
            ..FaultConfig::new(99, 0.33)
        };
        let mut tally = BTreeMap::new();
        for n in 0..10_000 {
            *tally.entry(config.choice(n)).or_insert(0u32) += 1;
        }
        let faults = 10_000 - tally[&Action::Forward];
        assert!((3000..3600).contains(&faults), "{tally:?}");
        assert!((2100..2850).contains(&tally[&Action::Throttle]), "{tally:?}");
        assert_eq!(tally.get(&Action::Hang), None);
        assert_eq!(tally.get(&Action::Unavailable503), None);
        assert!((0..10_000).all(|n| FaultConfig::new(5, 0.0).choice(n) == Action::Forward));
        assert!((0..10_000).all(|n| FaultConfig::new(5, 1.0).choice(n).is_fault()));
        assert!((0..100).all(|n| FaultConfig::new(5, f64::NAN).choice(n) == Action::Forward));
        let none = FaultConfig {
            weights: FaultWeights::none(),
            ..FaultConfig::new(5, 1.0)
        };
        assert!((0..100).all(|n| none.choice(n) == Action::Forward));
    }

    #[tokio::test]
    async fn counts_add_up() {
        let upstream = Upstream::start().await;
        let config = FaultConfig {
            hang: Duration::from_millis(20),
            ..FaultConfig::new(3, 0.5)
        };
        let proxy = FaultProxy::start(&upstream.url, config).unwrap();
        let mut sent: BTreeMap<&str, u64> = BTreeMap::new();
        let tasks: Vec<_> = (0..60)
            .map(|i| {
                let url = proxy.url();
                let (op, request) = match i % 4 {
                    0 => ("DescribeClusters", ecs_request(&url, "DescribeClusters")),
                    1 => (
                        "RegisterScalableTarget",
                        ecs_request(&url, "RegisterScalableTarget"),
                    ),
                    2 => ("AssumeRole", sts_request(&url)),
                    _ => (
                        "unknown",
                        Request::get(format!("{url}/health"))
                            .body(Full::default())
                            .unwrap(),
                    ),
                };
                *sent.entry(op).or_default() += 1;
                tokio::spawn(async move { send(&client(), request).await.map(|a| a.status) })
            })
            .collect();
        let mut answered = 0;
        for task in tasks {
            if task.await.unwrap().is_ok() {
                answered += 1;
            }
        }
        let counts = proxy.counts();
        assert_eq!(counts.total(), 60, "{counts}");
        for (op, n) in &sent {
            assert_eq!(counts.by_operation(op).total(), *n, "{op}: {counts}");
        }
        assert_eq!(counts.operations.len(), sent.len(), "{counts}");
        let sum = counts.sum();
        assert_eq!(sum.total(), 60);
        assert_eq!(sum.forwarded + sum.faults(), 60);
        assert_eq!(sum.upstream_failed, 0);
        assert!(sum.faults() > 10 && sum.forwarded > 10, "{counts}");
        assert_eq!(upstream.seen().len() as u64, sum.reached_upstream(), "{counts}");
        // Everything but the hung and dropped requests got an answer.
        assert_eq!(answered, 60 - sum.hang - sum.forward_then_drop, "{counts}");
        assert_eq!(proxy.history().len(), 60);
    }

    #[tokio::test]
    async fn fault_rate_switch_and_only_targets() {
        let upstream = Upstream::start().await;
        let config = FaultConfig {
            weights: FaultWeights::only(Action::Throttle),
            only_targets: Some(vec![
                "CreateService".to_string(),
                "AnyScaleFrontendService.PutScalingPolicy".to_string(),
            ]),
            ..FaultConfig::new(11, 1.0)
        };
        let proxy = FaultProxy::start(&upstream.url, config).unwrap();
        let client = client();
        let status = |op: &'static str| {
            let request = ecs_request(&proxy.url(), op);
            let client = client.clone();
            async move { send(&client, request).await.unwrap().status }
        };
        assert_eq!(status("DescribeClusters").await, StatusCode::OK);
        assert_eq!(status("CreateService").await, StatusCode::BAD_REQUEST);
        let scaling = Request::builder()
            .method("POST")
            .uri(format!("{}/", proxy.url()))
            .header("x-amz-target", "AnyScaleFrontendService.PutScalingPolicy")
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap();
        assert_eq!(
            send(&client, scaling).await.unwrap().status,
            StatusCode::BAD_REQUEST
        );

        proxy.set_fault_rate(0.0);
        assert_eq!(proxy.fault_rate(), 0.0);
        assert_eq!(status("CreateService").await, StatusCode::OK);

        let history = proxy.history();
        assert_eq!(
            history[0].index, None,
            "excluded operations take no place in the sequence"
        );
        assert_eq!(history[1].index, Some(0));
        assert_eq!(history[2].operation, "PutScalingPolicy");
        assert_eq!(history[3].index, Some(2));
        let counts = proxy.counts();
        assert_eq!(counts.by_operation("CreateService").throttle, 1);
        assert_eq!(counts.by_operation("CreateService").forwarded, 1);
        assert_eq!(counts.by_operation("PutScalingPolicy").throttle, 1);
        assert_eq!(upstream.seen().len(), 2);
    }

    #[tokio::test]
    async fn a_dead_upstream_gives_a_502_and_is_counted() {
        // A port that was free a moment ago: nothing listens there.
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}", l.local_addr().unwrap())
        };
        let proxy = FaultProxy::start(&dead, FaultConfig::default()).unwrap();
        let answer = send(&client(), ecs_request(&proxy.url(), "ListServices"))
            .await
            .unwrap();
        assert_eq!(answer.status, StatusCode::BAD_GATEWAY);
        let counts = proxy.counts().by_operation("ListServices");
        assert_eq!((counts.forwarded, counts.upstream_failed), (1, 1));
        assert_eq!(counts.reached_upstream(), 0);
    }

    #[tokio::test]
    async fn shutdown_closes_the_port_and_hung_connections() {
        let upstream = Upstream::start().await;
        let config = FaultConfig {
            weights: FaultWeights::only(Action::Hang),
            ..FaultConfig::new(7, 1.0)
        };
        let proxy = FaultProxy::start(&upstream.url, config).unwrap();
        let url = proxy.url();
        let request = ecs_request(&url, "DescribeClusters");
        let hung = tokio::spawn(async move { send(&client(), request).await.map(|a| a.status) });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let start = Instant::now();
        proxy.shutdown().await;
        let result = tokio::time::timeout(Duration::from_secs(5), hung)
            .await
            .unwrap()
            .unwrap();
        assert!(result.is_err());
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(
            send(&client(), ecs_request(&url, "DescribeClusters"))
                .await
                .is_err()
        );

        assert!(FaultProxy::start("https://127.0.0.1:1", FaultConfig::default()).is_err());
        assert!(FaultProxy::start("not a url", FaultConfig::default()).is_err());
    }

    #[tokio::test]
    async fn the_sdk_reads_the_injected_throttle_as_aws_throttling() {
        use aws_sdk_ecs::error::ProvideErrorMetadata as _;
        let upstream = Upstream::start().await;
        let config = FaultConfig {
            weights: FaultWeights::only(Action::Throttle),
            ..FaultConfig::new(7, 1.0)
        };
        let proxy = FaultProxy::start(&upstream.url, config).unwrap();
        let ecs = |retry: aws_config::retry::RetryConfig| {
            let conf = aws_sdk_ecs::Config::builder()
                .behavior_version(aws_sdk_ecs::config::BehaviorVersion::latest())
                .region(aws_sdk_ecs::config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_ecs::config::Credentials::new(
                    "AKIDFAULTPROXY",
                    "secret",
                    None,
                    None,
                    "faultproxy-test",
                ))
                .endpoint_url(proxy.url())
                .retry_config(retry)
                .build();
            aws_sdk_ecs::Client::from_conf(conf)
        };

        let error = ecs(aws_config::retry::RetryConfig::disabled())
            .list_clusters()
            .send()
            .await
            .expect_err("every call is throttled");
        assert_eq!(error.code(), Some("ThrottlingException"), "{error:?}");
        assert_eq!(error.message(), Some("Rate exceeded"));
        assert_eq!(proxy.counts().by_operation("ListClusters").throttle, 1);

        // And it retries it, as it does AWS's throttling.
        let retry = aws_config::retry::RetryConfig::standard()
            .with_max_attempts(3)
            .with_initial_backoff(Duration::from_millis(10));
        let error = ecs(retry)
            .describe_clusters()
            .send()
            .await
            .expect_err("still throttled");
        assert_eq!(error.code(), Some("ThrottlingException"));
        assert_eq!(proxy.counts().by_operation("DescribeClusters").throttle, 3);
        assert!(upstream.seen().is_empty());
    }
    /// Against a real moto_server: `FAULTPROXY_MOTO_URL=http://127.0.0.1:PORT cargo test -p
    /// ecs-controller-e2e --lib -- --ignored` (the unit tests above need no moto).
    #[tokio::test]
    #[ignore = "needs a moto_server: set FAULTPROXY_MOTO_URL"]
    async fn against_moto() {
        use aws_sdk_ecs::error::ProvideErrorMetadata as _;
        let moto = std::env::var("FAULTPROXY_MOTO_URL").expect("FAULTPROXY_MOTO_URL");
        let ecs = |url: String| {
            let conf = aws_sdk_ecs::Config::builder()
                .behavior_version(aws_sdk_ecs::config::BehaviorVersion::latest())
                .region(aws_sdk_ecs::config::Region::new("eu-west-3"))
                .credentials_provider(aws_sdk_ecs::config::Credentials::new(
                    "AKIDFAULTPROXY",
                    "secret",
                    None,
                    None,
                    "faultproxy-test",
                ))
                .endpoint_url(url)
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .build();
            aws_sdk_ecs::Client::from_conf(conf)
        };
        let name = format!("faultproxy-{}", std::process::id());
        let plain = FaultProxy::start(&moto, FaultConfig::default()).unwrap();
        let dropping = FaultProxy::start(
            &moto,
            FaultConfig {
                weights: FaultWeights::only(Action::ForwardThenDrop),
                ..FaultConfig::new(1, 1.0)
            },
        )
        .unwrap();

        // The call happens in moto, the client gets no answer.
        let error = ecs(dropping.url())
            .create_cluster()
            .cluster_name(&name)
            .send()
            .await;
        assert!(error.is_err(), "{error:?}");
        assert_eq!(
            dropping.counts().by_operation("CreateCluster").forward_then_drop,
            1
        );
        let found = ecs(plain.url())
            .describe_clusters()
            .clusters(&name)
            .send()
            .await
            .unwrap();
        assert_eq!(found.clusters().len(), 1, "{found:?}");
        assert_eq!(found.clusters()[0].cluster_name(), Some(name.as_str()));

        // moto's own errors pass through unchanged.
        let missing = ecs(plain.url())
            .describe_services()
            .cluster(format!("{name}-missing"))
            .services("x")
            .send()
            .await
            .expect_err("no such cluster");
        assert_eq!(missing.code(), Some("ClusterNotFoundException"), "{missing:?}");

        ecs(plain.url())
            .delete_cluster()
            .cluster(&name)
            .send()
            .await
            .unwrap();
        let counts = plain.counts();
        assert_eq!(counts.total(), 3, "{counts}");
        assert_eq!(counts.sum().reached_upstream(), 3, "{counts}");
    }
}
