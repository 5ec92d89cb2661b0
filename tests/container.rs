//! The container image (`Dockerfile`) and the Kubernetes manifest
//! (`config/deploy/kubernetes.yaml`).
//!
//! Building the image needs a container engine (podman, or docker with a
//! reachable daemon) and both base images, present locally or pullable.
//! Without them the image test is skipped and says exactly which is
//! missing, unless `KLAXON_REQUIRE_CONTAINER` is set: then it fails. The
//! base images can be pointed at a local mirror with `KLAXON_RUST_IMAGE`
//! and `KLAXON_RUNTIME_IMAGE` (passed as the Dockerfile's build args).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(name).is_file()))
}

/// The default of `ARG <name>=...` in the Dockerfile.
fn dockerfile_arg(dockerfile: &str, name: &str) -> String {
    let prefix = format!("ARG {name}=");
    dockerfile
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("Dockerfile has no `ARG {name}=`"))
        .trim()
        .to_owned()
}

/// A container engine that can build, or why there is none.
fn engine() -> Result<&'static str, String> {
    if on_path("podman") {
        return Ok("podman");
    }
    if on_path("docker") {
        let info = run(Command::new("docker").arg("info"));
        if info.status.success() {
            return Ok("docker");
        }
        return Err(format!(
            "podman is not installed and docker has no daemon ({})",
            String::from_utf8_lossy(&info.stderr).lines().next().unwrap_or("docker info failed")
        ));
    }
    Err("neither podman nor docker is installed".into())
}

/// Make `image` available locally: present already, or pulled once.
fn ensure_image(engine: &str, image: &str) -> Result<(), String> {
    let present = match engine {
        "podman" => run(Command::new(engine).args(["image", "exists", image])).status.success(),
        _ => run(Command::new(engine).args(["image", "inspect", image])).status.success(),
    };
    if present {
        return Ok(());
    }
    let pull = run(Command::new(engine).args(["pull", "--quiet", image]));
    if pull.status.success() {
        return Ok(());
    }
    let why = String::from_utf8_lossy(&pull.stderr);
    Err(format!(
        "base image {image} is not available locally and cannot be pulled: {}",
        why.lines().last().unwrap_or("pull failed").trim()
    ))
}

fn skip_or_fail(why: &str) {
    assert!(std::env::var_os("KLAXON_REQUIRE_CONTAINER").is_none(), "{why}");
    eprintln!("skipping the image build: {why}");
}

/// Removes the container however the test ends.
struct Container<'a> {
    engine: &'a str,
    id: String,
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        let _ = Command::new(self.engine).args(["rm", "-f", &self.id]).output();
    }
}

fn http_get(addr: &str, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.contains(" 200 ").then(|| body.to_owned())
}

#[test]
fn image_builds_runs_as_non_root_and_answers_health() {
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let engine = match engine() {
        Ok(engine) => engine,
        Err(why) => return skip_or_fail(&why),
    };
    let rust = std::env::var("KLAXON_RUST_IMAGE")
        .unwrap_or_else(|_| dockerfile_arg(&dockerfile, "RUST_IMAGE"));
    let runtime = std::env::var("KLAXON_RUNTIME_IMAGE")
        .unwrap_or_else(|_| dockerfile_arg(&dockerfile, "RUNTIME_IMAGE"));
    for image in [&rust, &runtime] {
        if let Err(why) = ensure_image(engine, image) {
            return skip_or_fail(&why);
        }
    }

    let tag = "localhost/klaxon:container-test";
    // `docker` format: OCI images drop HEALTHCHECK.
    let format: &[&str] = if engine == "podman" { &["--format", "docker"] } else { &[] };
    let build = Command::new(engine)
        .arg("build")
        .args(format)
        .args(["--build-arg", &format!("RUST_IMAGE={rust}")])
        .args(["--build-arg", &format!("RUNTIME_IMAGE={runtime}")])
        .args(["-t", tag, "-f", "Dockerfile", "."])
        .current_dir(repo())
        .status()
        .expect("run the image build");
    assert!(build.success(), "{engine} build failed");

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let started =
        run(Command::new(engine).args(["run", "-d", "-p", &format!("127.0.0.1:{port}:9464"), tag]));
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    let container =
        Container { engine, id: String::from_utf8_lossy(&started.stdout).trim().to_owned() };

    let addr = format!("127.0.0.1:{port}");
    let start = Instant::now();
    while http_get(&addr, "/health").is_none_or(|body| body.trim() != "ok") {
        let logs = || {
            String::from_utf8_lossy(&run(Command::new(engine).args(["logs", &container.id])).stderr)
                .into_owned()
        };
        assert!(start.elapsed() < Duration::from_secs(60), "no /health:\n{}", logs());
        std::thread::sleep(Duration::from_millis(250));
    }
    let metrics = http_get(&addr, "/metrics").expect("/metrics answers");
    assert!(metrics.contains("klaxon_source_events_total"), "{metrics}");

    let uid = run(Command::new(engine).args(["exec", &container.id, "id", "-u"]));
    assert_eq!(String::from_utf8_lossy(&uid.stdout).trim(), "10001");
    // SIGTERM drains and exits 0, as outside a container.
    run(Command::new(engine).args(["stop", "-t", "30", &container.id]));
    let code = run(Command::new(engine).args(["wait", &container.id]));
    assert_eq!(String::from_utf8_lossy(&code.stdout).trim(), "0");
}

/// The `data:` entry `klaxon.toml` of the manifest's ConfigMap.
fn config_map_config(manifest: &str) -> String {
    let start = manifest.find("  klaxon.toml: |\n").expect("a klaxon.toml ConfigMap entry");
    let body = &manifest[start..].split_once('\n').unwrap().1;
    body.lines()
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn kubernetes_config_passes_klaxon_check() {
    let manifest = std::fs::read_to_string(repo().join("config/deploy/kubernetes.yaml")).unwrap();
    for needle in [
        "readOnlyRootFilesystem: true",
        "runAsNonRoot: true",
        "path: /health",
        "path: /ready",
        "prometheus.io/scrape: \"true\"",
        "name: KLAXON_ADMIN_TOKEN",
        "name: KLAXON_READ_TOKEN",
        "mountPath: /var/lib/klaxon",
    ] {
        assert!(manifest.contains(needle), "kubernetes.yaml lacks {needle:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("klaxon.toml");
    std::fs::write(&path, config_map_config(&manifest)).unwrap();
    // The pod's paths do not exist here; everything else is the pod's.
    let out = run(support::klaxon()
        .args(["check", "--config"])
        .arg(&path)
        .env("KLAXON_PLUGINS__CACHE_DIR", dir.path().join("cache"))
        .env("KLAXON_ALERT_LOG__URL", format!("sqlite://{}/alerts.db", dir.path().display())));
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
