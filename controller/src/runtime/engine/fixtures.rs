//! Test fixtures for the engine's unit tests (`tests.rs` beside this file), so the engine can be tested
//! without a cluster or AWS: a mocked API server that checks the exact requests a reconcile sends, in
//! order, answers them and records them; a test-only kind, `Widget`, whose `apply` and `cleanup` return
//! outcomes a test scripts (and count their calls), so no AWS call is ever made; and a [`Harness`] that
//! holds a [`Context`] wired to both.

use crate::api::{Condition, Policies};
use crate::aws::AwsClients;
use crate::aws::operations::Operation;
use crate::runtime::events::Events;
use crate::runtime::{Applied, Cleanup, Config, Context, Error, Managed, Resync};
use http::{Method, Request, Response};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::client::Body;
use kube::runtime::controller::Action;
use kube::{CustomResource, Resource};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

pub const NAMESPACE: &str = "ns";
pub const NAME: &str = "w";
pub const WIDGETS: &str = "/apis/test.kubefargate.dev/v1/namespaces/ns/widgets/w";
pub const WIDGET_LIST: &str = "/apis/test.kubefargate.dev/v1/namespaces/ns/widgets";
pub const WIDGET_STATUS: &str = "/apis/test.kubefargate.dev/v1/namespaces/ns/widgets/w/status";
/// The resourceVersion of the object the mocked API server answers a patch with.
pub const WRITTEN_VERSION: &str = "2";
pub const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/ns/events";

/// A kind for the engine's tests only: a spec with the shared policies, a status with the fields the
/// engine maintains.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default)]
#[kube(
    group = "test.kubefargate.dev",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct WidgetSpec {
    #[serde(flatten)]
    pub policies: Policies,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WidgetStatus {
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

crate::managed_status!(WidgetStatus);

/// One scripted `apply`: the previous status in, the outcome out.
pub type ApplyStep = Box<dyn FnOnce(WidgetStatus) -> Result<Applied<WidgetStatus>, Error> + Send>;

/// The outcomes `apply` and `cleanup` return, in order, for one object; and how often each was called.
/// A call with nothing scripted panics: the engine called the kind when it should not have.
#[derive(Default)]
pub struct Script {
    apply: Mutex<VecDeque<ApplyStep>>,
    cleanup: Mutex<VecDeque<Result<Cleanup, Error>>>,
    applied: AtomicUsize,
    cleaned: AtomicUsize,
}

impl Script {
    pub fn on_apply(
        &self,
        step: impl FnOnce(WidgetStatus) -> Result<Applied<WidgetStatus>, Error> + Send + 'static,
    ) {
        lock(&self.apply).push_back(Box::new(step));
    }

    pub fn on_cleanup(&self, outcome: Result<Cleanup, Error>) {
        lock(&self.cleanup).push_back(outcome);
    }

    /// How many times `apply` was called.
    pub fn applied(&self) -> usize {
        self.applied.load(Ordering::SeqCst)
    }

    /// How many times `cleanup` was called.
    pub fn cleaned(&self) -> usize {
        self.cleaned.load(Ordering::SeqCst)
    }
}

/// The scripts of every test's object, by uid (tests run in parallel, each with its own uid).
static SCRIPTS: LazyLock<Mutex<HashMap<String, Arc<Script>>>> = LazyLock::new(Mutex::default);

fn script_of(w: &Widget) -> Arc<Script> {
    let uid = w.meta().uid.clone().unwrap_or_default();
    lock(&SCRIPTS)
        .get(&uid)
        .cloned()
        .unwrap_or_else(|| panic!("no script for uid {uid:?}"))
}

impl Managed for Widget {
    type Status = WidgetStatus;
    const NAME: &'static str = "widget";
    const OPERATIONS: &'static [Operation] = &[];

    fn status(&self) -> Option<&WidgetStatus> {
        self.status.as_ref()
    }

    fn policies(&self) -> &Policies {
        &self.spec.policies
    }

    async fn apply(&self, _ctx: &Context, status: WidgetStatus) -> Result<Applied<WidgetStatus>, Error> {
        let script = script_of(self);
        script.applied.fetch_add(1, Ordering::SeqCst);
        let step = lock(&script.apply)
            .pop_front()
            .expect("apply was called, and no outcome was scripted for it");
        step(status)
    }

    async fn cleanup(&self, _ctx: &Context, _status: &WidgetStatus) -> Result<Cleanup, Error> {
        let script = script_of(self);
        script.cleaned.fetch_add(1, Ordering::SeqCst);
        lock(&script.cleanup)
            .pop_front()
            .expect("cleanup was called, and no outcome was scripted for it")
    }
}

impl Widget {
    /// Adds the controller's finalizer (after any other).
    pub fn finalized(mut self) -> Self {
        self.meta_mut()
            .finalizers
            .get_or_insert_with(Vec::new)
            .push(crate::api::FINALIZER.to_string());
        self
    }

    pub fn with_status(mut self, status: WidgetStatus) -> Self {
        self.status = Some(status);
        self
    }

    pub fn with_generation(mut self, generation: i64) -> Self {
        self.meta_mut().generation = Some(generation);
        self
    }

    /// Marks the object as deleted (the API server keeps it while finalizers remain).
    pub fn deleting(mut self) -> Self {
        self.meta_mut().deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::now(),
        ));
        self
    }
}

/// What the mocked API server answers to an expected request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with a valid `Widget` (what a patch of the object returns).
    Widget,
    /// 200 with the request's own body (what creating an Event returns).
    Echo,
    /// A failure `Status` with this HTTP code.
    Fail(u16),
    /// 200 with this body (a page of a list).
    Json(Value),
}

/// One request the reconcile must send next, and the answer to it.
#[derive(Clone, Debug)]
pub struct Expect {
    method: Method,
    path: &'static str,
    reply: Reply,
}

impl Expect {
    /// A JSON patch of the object's metadata (its finalizers).
    pub fn finalizer_patch() -> Self {
        Self {
            method: Method::PATCH,
            path: WIDGETS,
            reply: Reply::Widget,
        }
    }

    /// A server-side apply of the object's status.
    pub fn status_patch() -> Self {
        Self {
            method: Method::PATCH,
            path: WIDGET_STATUS,
            reply: Reply::Widget,
        }
    }

    /// A new `events.k8s.io/v1` Event.
    pub fn event() -> Self {
        Self {
            method: Method::POST,
            path: EVENTS,
            reply: Reply::Echo,
        }
    }

    /// A list of the namespace's widgets, answered with `page`.
    pub fn list(page: Value) -> Self {
        Self::list_at(WIDGET_LIST, page)
    }

    /// A list at `path` (of any kind), answered with `page`.
    pub fn list_at(path: &'static str, page: Value) -> Self {
        Self {
            method: Method::GET,
            path,
            reply: Reply::Json(page),
        }
    }

    /// The same request, answered with an API error.
    pub fn failing(mut self, code: u16) -> Self {
        self.reply = Reply::Fail(code);
        self
    }
}

/// A request the mocked API server received.
#[derive(Clone, Debug)]
pub struct Sent {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub body: Value,
}

impl std::fmt::Display for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}?{} {}", self.method, self.path, self.query, self.body)
    }
}

/// The mocked API server's state: what it still expects, what it received, what went wrong.
#[derive(Default)]
struct ApiServer {
    expected: VecDeque<Expect>,
    sent: Vec<Sent>,
    problems: Vec<String>,
}

/// A `Context` whose Kubernetes client talks to a scripted API server and whose AWS clients are
/// offline, plus the script of the test's object.
pub struct Harness {
    pub ctx: Arc<Context>,
    pub script: Arc<Script>,
    uid: String,
    server: Arc<Mutex<ApiServer>>,
}

impl Harness {
    /// A harness for one object, `ns/w` with uid `uid` (unique per test). Needs the Tokio runtime.
    pub fn new(uid: &str) -> Self {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(service, "default");
        let server = Arc::new(Mutex::new(ApiServer::default()));
        let state = server.clone();
        // Ends when the last client is dropped (with the context).
        tokio::spawn(async move {
            while let Some((request, respond)) = handle.next_request().await {
                let sent = received(request).await;
                let response = answer(&mut lock(&state), sent);
                respond.send_response(response);
            }
        });
        let ctx = Context {
            client: client.clone(),
            aws: AwsClients::offline("eu-west-1"),
            config: Config {
                resync: Resync::new(Duration::from_secs(600), &BTreeMap::new()),
                concurrency: 1,
            },
            backoff: Default::default(),
            written: Default::default(),
            events: Events::new(client, "ecs-controller", "engine-tests"),
            stores: Default::default(),
            feeds: Default::default(),
        };
        let script = Arc::new(Script::default());
        lock(&SCRIPTS).insert(uid.to_string(), script.clone());
        Self {
            ctx: Arc::new(ctx),
            script,
            uid: uid.to_string(),
            server,
        }
    }

    /// The test's object: `ns/w`, generation 1, no finalizer, no status.
    pub fn widget(&self) -> Widget {
        let mut w = Widget::new(NAME, WidgetSpec::default());
        w.metadata = ObjectMeta {
            name: Some(NAME.into()),
            namespace: Some(NAMESPACE.into()),
            uid: Some(self.uid.clone()),
            generation: Some(1),
            resource_version: Some("1".into()),
            ..ObjectMeta::default()
        };
        w
    }

    /// Reconciles `obj` once with the shared engine, the API server expecting exactly `expected` in this
    /// order. Returns the reconcile's result and the requests, after checking that each expected request
    /// came, in order, and nothing else.
    pub async fn run(
        &self,
        obj: &Widget,
        expected: impl IntoIterator<Item = Expect>,
    ) -> (Result<Action, Error>, Vec<Sent>) {
        self.serving(
            expected,
            super::reconcile(Arc::new(obj.clone()), self.ctx.clone()),
        )
        .await
    }

    /// Runs `work`, the API server expecting exactly `expected` in this order; returns its output and the
    /// requests, after checking that each expected request came, in order, and nothing else.
    pub async fn serving<T>(
        &self,
        expected: impl IntoIterator<Item = Expect>,
        work: impl std::future::Future<Output = T>,
    ) -> (T, Vec<Sent>) {
        {
            let mut server = lock(&self.server);
            server.expected = expected.into_iter().collect();
            server.sent.clear();
            server.problems.clear();
        }
        // Every request `work` sends is answered before it returns, so the server is done too.
        let result = work.await;
        let mut server = lock(&self.server);
        let all: Vec<String> = server.sent.iter().map(Sent::to_string).collect();
        assert!(
            server.problems.is_empty(),
            "unexpected requests: {:#?}\nall requests: {all:#?}",
            server.problems
        );
        assert!(
            server.expected.is_empty(),
            "expected requests that never came: {:?}\nall requests: {all:#?}",
            server.expected
        );
        (result, std::mem::take(&mut server.sent))
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        lock(&SCRIPTS).remove(&self.uid);
    }
}

/// Reads a request whole.
async fn received(request: Request<Body>) -> Sent {
    let (parts, body) = request.into_parts();
    let bytes = body.collect_bytes().await.expect("a readable request body");
    Sent {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        content_type: parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        body: if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("a JSON request body")
        },
    }
}

/// Checks `sent` against the next expected request and answers it: a mismatch is recorded (the test
/// fails on it) and answered with a 500, so the reconcile ends instead of hanging.
fn answer(server: &mut ApiServer, sent: Sent) -> Response<Body> {
    let reply = match server.expected.pop_front() {
        Some(e) if e.method == sent.method && e.path == sent.path => e.reply,
        Some(e) => {
            server
                .problems
                .push(format!("expected {} {}, got {sent}", e.method, e.path));
            Reply::Fail(500)
        }
        None => {
            server.problems.push(format!("no request expected, got {sent}"));
            Reply::Fail(500)
        }
    };
    let (code, body) = match reply {
        Reply::Widget => {
            let mut w = Widget::new(NAME, WidgetSpec::default());
            w.meta_mut().namespace = Some(NAMESPACE.into());
            w.meta_mut().resource_version = Some(WRITTEN_VERSION.into());
            (200, serde_json::to_vec(&w).expect("a Widget serializes"))
        }
        Reply::Echo => (200, serde_json::to_vec(&sent.body).expect("JSON serializes")),
        Reply::Json(body) => (200, serde_json::to_vec(&body).expect("JSON serializes")),
        Reply::Fail(code) => {
            let status = kube::core::Status::failure("scripted failure", "Scripted").with_code(code);
            (code, serde_json::to_vec(&status).expect("a Status serializes"))
        }
    };
    server.sent.push(sent);
    Response::builder()
        .status(code)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("a valid response")
}

/// The delay of a requeue, `None` for `await_change`. (`Action` keeps it private; its `Debug` shows it.)
pub fn requeue_after(action: &Action) -> Option<Duration> {
    if *action == Action::await_change() {
        return None;
    }
    let debug = format!("{action:?}");
    let inner = debug
        .split_once("Some(")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(d, _)| d)
        .unwrap_or_else(|| panic!("cannot read a delay from {debug}"));
    // `Duration`'s Debug: a decimal number and a unit.
    let (number, unit) = [("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0)]
        .into_iter()
        .find_map(|(suffix, unit)| inner.strip_suffix(suffix).map(|n| (n, unit)))
        .unwrap_or_else(|| panic!("cannot read a delay from {debug}"));
    let value: f64 = number
        .parse()
        .unwrap_or_else(|_| panic!("cannot read a delay from {debug}"));
    Some(Duration::from_secs_f64(value * unit))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
