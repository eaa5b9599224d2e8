//! The controller's `/metrics` (Prometheus text), reduced to the counters the benchmark reads.

use std::collections::BTreeMap;

/// One sample: metric name, labels, value.
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, key: &str) -> String {
        self.labels.get(key).cloned().unwrap_or_default()
    }
}

/// Parses the text exposition format (comments skipped; label values without escaped quotes, which is
/// all the controller exposes).
pub fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let value: f64 = value.trim().parse().ok()?;
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|kv| !kv.is_empty())
                .filter_map(|kv| {
                    let (k, v) = kv.split_once("=\"")?;
                    Some((k.to_string(), v.trim_end_matches('"').to_string()))
                })
                .collect();
            Some(Sample {
                name: name.to_string(),
                labels,
                value,
            })
        })
        .collect()
}

/// The counters of one scrape the benchmark compares between phases.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    /// `ecs_controller_aws_calls_total` by (service, operation, outcome).
    pub aws: BTreeMap<(String, String, String), f64>,
    /// `ecs_controller_kube_writes_total` by (kind, operation); `None` when the controller does not
    /// expose it (a build older than the metric).
    pub kube_writes: Option<BTreeMap<(String, String), f64>>,
    /// `ecs_controller_reconciles_total` by (kind, outcome).
    pub reconciles: BTreeMap<(String, String), f64>,
}

impl Counters {
    pub fn from_text(text: &str) -> Self {
        let mut c = Counters::default();
        let mut writes = BTreeMap::new();
        let mut has_writes = text.contains("# TYPE ecs_controller_kube_writes counter");
        for s in parse(text) {
            match s.name.as_str() {
                "ecs_controller_aws_calls_total" => {
                    let key = (s.label("service"), s.label("operation"), s.label("outcome"));
                    *c.aws.entry(key).or_default() += s.value;
                }
                "ecs_controller_kube_writes_total" => {
                    has_writes = true;
                    *writes.entry((s.label("kind"), s.label("operation"))).or_default() += s.value;
                }
                "ecs_controller_reconciles_total" => {
                    *c.reconciles
                        .entry((s.label("kind"), s.label("outcome")))
                        .or_default() += s.value;
                }
                _ => {}
            }
        }
        c.kube_writes = has_writes.then_some(writes);
        c
    }

    pub fn aws_total(&self) -> f64 {
        self.aws.values().sum()
    }

    pub fn writes_total(&self) -> f64 {
        self.kube_writes.iter().flat_map(|w| w.values()).sum()
    }

    pub fn reconciles_total(&self) -> f64 {
        self.reconciles.values().sum()
    }
}

/// `after - before` per key, zero differences left out.
pub fn delta<K: Ord + Clone>(before: &BTreeMap<K, f64>, after: &BTreeMap<K, f64>) -> BTreeMap<K, f64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| v.abs() > 1e-9)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_labelled_counters() {
        let text = "# HELP x\n# TYPE ecs_controller_kube_writes counter\n\
            ecs_controller_aws_calls_total{service=\"ECS\",operation=\"CreateService\",outcome=\"success\"} 3\n\
            ecs_controller_kube_writes_total{kind=\"FargateService\",operation=\"status_patch\"} 7\n\
            ecs_controller_reconciles_total{kind=\"EcsCluster\",outcome=\"ready\"} 2\n";
        let c = Counters::from_text(text);
        assert_eq!(c.aws_total(), 3.0);
        assert_eq!(c.writes_total(), 7.0);
        assert_eq!(c.reconciles_total(), 2.0);
    }
}
