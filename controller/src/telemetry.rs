//! Logging: `RUST_LOG` sets the level (default `info`), `--log-format` picks text or JSON lines. Each
//! reconcile runs in a span carrying the kind, namespace/name and lane (`Change`, or `Routine` for a
//! resync's), so every line says which object and why.

use clap::ValueEnum;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// kube-runtime's controller opens an info span ("reconciling object") for every reconcile it hands
/// out, at once for all of a resync's or a start's, and the span (its formatted fields and its slot in
/// the subscriber's registry, about 400 bytes) lives as long as the reconcile waits for its turn: 2 MB
/// at start with 5000 objects. Each reconcile has a span of ours naming the object, so that one is off
/// unless `RUST_LOG` names kube_runtime.
const QUIET_KUBE_RUNTIME: &str = "kube_runtime::controller=warn";

/// The filter's directives: `RUST_LOG`'s (default `info`), and [`QUIET_KUBE_RUNTIME`] unless it names
/// kube_runtime.
fn directives(env: Option<&str>) -> String {
    match env.map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) if e.contains("kube_runtime") => e.to_string(),
        Some(e) => format!("{e},{QUIET_KUBE_RUNTIME}"),
        None => format!("info,{QUIET_KUBE_RUNTIME}"),
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

pub fn init(format: LogFormat) {
    let env = std::env::var(EnvFilter::DEFAULT_ENV).ok();
    let filter = EnvFilter::try_new(directives(env.as_deref())).unwrap_or_else(|e| {
        eprintln!("{}: {e}; logging at info", EnvFilter::DEFAULT_ENV);
        EnvFilter::new(directives(None))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_runtime_spans_are_off_unless_rust_log_names_kube_runtime() {
        assert_eq!(directives(None), "info,kube_runtime::controller=warn");
        assert_eq!(directives(Some(" ")), "info,kube_runtime::controller=warn");
        assert_eq!(directives(Some("debug")), "debug,kube_runtime::controller=warn");
        assert_eq!(
            directives(Some("info,kube_runtime=debug")),
            "info,kube_runtime=debug"
        );
    }

    #[test]
    fn the_default_filter_passes_our_info_and_kube_runtime_warnings_only() {
        use tracing::Level;
        use tracing_subscriber::layer::SubscriberExt;
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let layer = Seen(seen.clone());
        let filter = EnvFilter::new(directives(None));
        let subscriber = tracing_subscriber::registry().with(layer.with_filter(filter));
        tracing::subscriber::with_default(subscriber, || {
            tracing::span!(target: "kube_runtime::controller", Level::INFO, "reconciling object")
                .in_scope(|| {});
            tracing::event!(target: "kube_runtime::controller", Level::WARN, "warned");
            tracing::span!(target: "ecs_controller::runtime", Level::INFO, "reconcile").in_scope(|| {});
        });
        let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(seen, ["warned", "reconcile"]);
    }

    use tracing_subscriber::Layer;

    /// Records the names of the spans opened and the messages of the events it is given.
    struct Seen(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

    impl<S: tracing::Subscriber> Layer<S> for Seen {
        fn on_new_span(
            &self,
            attrs: &tracing::span::Attributes<'_>,
            _: &tracing::span::Id,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            if let Ok(mut s) = self.0.lock() {
                s.push(attrs.metadata().name().to_string());
            }
        }

        fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
            struct Message(String);
            impl tracing::field::Visit for Message {
                fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                    if field.name() == "message" {
                        self.0 = format!("{value:?}");
                    }
                }
            }
            let mut m = Message(String::new());
            event.record(&mut m);
            if let Ok(mut s) = self.0.lock() {
                s.push(m.0);
            }
        }
    }
}
