//! The Argo CD health checks in gitops/argocd/ run against their own fixtures, as Argo CD's own
//! resource_customizations tests do: every `health_test.yaml` case feeds its `inputPath` object to the kind's `health.lua` and expects
//! `healthStatus`. Argo CD runs the scripts with gopher-lua (Lua 5.1), so this uses a real Lua 5.1
//! interpreter: `lua5.1` (`apt-get install lua5.1`), or whatever the `LUA` environment variable names.
//! Needs no cluster and no AWS.

use anyhow::{Context as _, Result, bail, ensure};
use ecs_controller_e2e::harness::repo_root;
use ecs_controller_e2e::kinds::{group, kinds};
use serde::Deserialize;
use serde_json::Value;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Argo CD's `health_test.yaml`.
#[derive(Deserialize)]
struct HealthTests {
    tests: Vec<HealthTest>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HealthTest {
    health_status: HealthStatus,
    input_path: String,
}

#[derive(Deserialize)]
struct HealthStatus {
    status: String,
    /// Argo CD compares the message too; absent means empty.
    #[serde(default)]
    message: String,
}

#[test]
fn argocd_health_checks_match_their_fixtures() -> Result<()> {
    let root = repo_root().join("gitops/argocd");
    for kind in kinds() {
        let dir = root.join(group()).join(&kind);
        for file in ["health.lua", "health_test.yaml"] {
            ensure!(
                dir.join(file).is_file(),
                "{} is missing",
                dir.join(file).display()
            );
        }
    }

    let mut suites = Vec::new();
    find(&root, "health_test.yaml", &mut suites)?;
    ensure!(!suites.is_empty(), "no health_test.yaml under {}", root.display());

    let lua = std::env::var("LUA").unwrap_or_else(|_| "lua5.1".into());
    match Command::new(&lua).arg("-v").output() {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("no Lua interpreter `{lua}`: install Lua 5.1 (`apt-get install lua5.1`) or set LUA to one")
        }
        Err(e) => return Err(e).with_context(|| format!("running {lua} -v")),
    }
    let (mut cases, mut failures) = (0, Vec::new());
    for suite in &suites {
        let dir = suite.parent().expect("a file has a parent");
        let script = std::fs::read_to_string(dir.join("health.lua"))
            .with_context(|| format!("{}: no health.lua beside it", suite.display()))?;
        let tests: HealthTests = serde_yaml::from_str(&std::fs::read_to_string(suite)?)
            .with_context(|| format!("parsing {}", suite.display()))?;
        ensure!(!tests.tests.is_empty(), "{} has no tests", suite.display());
        // A fixture no case names would silently test nothing.
        for fixture in std::fs::read_dir(dir.join("testdata"))? {
            let fixture = fixture?.file_name().to_string_lossy().into_owned();
            if !tests
                .tests
                .iter()
                .any(|t| t.input_path == format!("testdata/{fixture}"))
            {
                let suite = suite.strip_prefix(&root).unwrap_or(suite).display();
                failures.push(format!("{suite}: no case uses testdata/{fixture}"));
            }
        }
        for test in tests.tests {
            cases += 1;
            let input = dir.join(&test.input_path);
            let name = input.strip_prefix(&root).unwrap_or(&input).display().to_string();
            let obj: Value = serde_yaml::from_str(
                &std::fs::read_to_string(&input).with_context(|| format!("reading {name}"))?,
            )
            .with_context(|| format!("parsing {name}"))?;
            // The fixture must be an object of the folder's kind (`<group>/<Kind>/testdata/...`).
            let kind = dir.file_name().and_then(|k| k.to_str()).unwrap_or_default();
            let group = dir.parent().and_then(|g| g.file_name()).and_then(|g| g.to_str());
            let api_version = obj["apiVersion"].as_str().unwrap_or_default();
            if obj["kind"] != kind || group.is_none_or(|g| !api_version.starts_with(&format!("{g}/"))) {
                failures.push(format!(
                    "{name}: is a {api_version} {}, not a {kind}",
                    obj["kind"]
                ));
                continue;
            }
            let (status, message) = match run(&lua, &script, &obj) {
                Ok(result) => result,
                Err(e) => {
                    failures.push(format!("{name}: {e:#}"));
                    continue;
                }
            };
            let expected = &test.health_status;
            if (status.as_str(), message.as_str()) != (expected.status.as_str(), expected.message.as_str()) {
                failures.push(format!(
                    "{name}: expected {} {:?}, got {status} {message:?}",
                    expected.status, expected.message
                ));
            }
        }
    }
    ensure!(
        failures.is_empty(),
        "{} of {cases} Argo CD health cases failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    Ok(())
}

/// Runs `script` on `obj` in the interpreter: the script becomes a function body, as Argo CD runs it
/// with `obj` as a global, and the wrapper prints the status and the message. A Lua error comes back
/// as an error with the interpreter's output.
pub fn run(lua: &str, script: &str, obj: &Value) -> Result<(String, String)> {
    // One line before the script, so Lua's line numbers in errors are the script's own.
    let wrapper = format!(
        "obj = {} local function check() {script}\nend\nlocal hs = check()\n\
         io.write(hs.status, \"\\n\", hs.message or \"\")\n",
        to_lua(obj)
    );
    // `-`: run stdin as a script; without it, Lua 5.1 exits 0 even when the script fails.
    let mut child = Command::new(lua)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {lua}"))?;
    child.stdin.take().expect("piped").write_all(wrapper.as_bytes())?;
    let out = child.wait_with_output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.success() && stderr.is_empty(),
        // The error, without the stack traceback.
        "{lua} failed ({}): {}",
        out.status,
        stderr.lines().next().unwrap_or_default()
    );
    let stdout = String::from_utf8(out.stdout).context("the script printed non-UTF-8")?;
    let (status, message) = stdout.split_once('\n').unwrap_or((&stdout, ""));
    Ok((status.to_string(), message.to_string()))
}

/// A Lua table constructor for a JSON value. Object keys are always `["key"]`; arrays are 1-based
/// sequences. Lua tables cannot hold nil, so null object members are left out (a missing field reads as
/// nil anyway) and null array elements stay as positional `nil`s, keeping the indices of the others.
fn to_lua(v: &Value) -> String {
    let mut out = String::new();
    write_lua(&mut out, v);
    out
}

fn write_lua(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("nil"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        // serde_json prints integers as integers and floats with a `.` or an exponent: valid Lua.
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => lua_string(out, s),
        Value::Array(items) => {
            out.push('{');
            for item in items {
                write_lua(out, item);
                out.push_str(", ");
            }
            out.push('}');
        }
        Value::Object(members) => {
            out.push('{');
            for (key, value) in members.iter().filter(|(_, v)| !v.is_null()) {
                out.push('[');
                lua_string(out, key);
                out.push_str("] = ");
                write_lua(out, value);
                out.push_str(", ");
            }
            out.push('}');
        }
    }
}

/// A double-quoted Lua 5.1 string literal. Quotes and backslashes are escaped, and so is every
/// control character, as a three-digit decimal escape (`\010`) so that a following digit cannot
/// extend it. Other bytes, UTF-8 included, are kept as they are: Lua strings are bytes.
fn lua_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_ascii_control() => {
                let _ = write!(out, "\\{:03}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Every file called `name` under `dir`, in a stable order.
fn find(dir: &Path, name: &str, found: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            find(&path, name, found)?;
        } else if path.file_name().is_some_and(|f| f == name) {
            found.push(path);
        }
    }
    Ok(())
}

#[test]
fn lua_literals_are_escaped() {
    let v = serde_json::json!({"a\"b": ["x\\y\n1", null, 2, 1.5, true], "gone": null});
    assert_eq!(to_lua(&v), r#"{["a\"b"] = {"x\\y\0101", nil, 2, 1.5, true, }, }"#);
}

/// docs/gitops.md shows the output of hack/argocd-cm.sh, which must still be what the scripts are.
#[test]
fn argocd_cm_in_the_docs_is_current() -> Result<()> {
    let root = repo_root();
    let out = Command::new("bash")
        .arg(root.join("hack/argocd-cm.sh"))
        .env_remove("ARGOCD_NAMESPACE")
        .output()
        .context("running hack/argocd-cm.sh")?;
    ensure!(
        out.status.success(),
        "hack/argocd-cm.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let snippet = String::from_utf8(out.stdout)?;
    let doc = std::fs::read_to_string(root.join("docs/gitops.md"))?;
    ensure!(
        doc.contains(&format!("```yaml\n{snippet}```\n")),
        "docs/gitops.md does not show the current output of hack/argocd-cm.sh: paste it in again"
    );
    Ok(())
}

/// Argo CD's verdict on a live object: (health status, message), from the kind's health.lua.
pub fn health_of(obj: &Value) -> Result<(String, String)> {
    let kind = obj["kind"].as_str().context("object without kind")?;
    let script = std::fs::read_to_string(
        repo_root().join(format!("gitops/argocd/ecs.kubefargate.dev/{kind}/health.lua")),
    )?;
    let lua = std::env::var("LUA").unwrap_or_else(|_| "lua5.1".into());
    run(&lua, &script, obj)
}
