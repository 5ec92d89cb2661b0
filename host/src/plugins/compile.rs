//! Compiling a plugin under a timeout and a memory bound.
//!
//! Cranelift can be neither interrupted nor held to a memory budget, so a
//! hostile component could take the host's CPU and memory with it while it
//! compiles. The `klaxon` binary therefore compiles in a child process of
//! itself (`klaxon __compile-plugin`): the child caps its own data segment
//! (`RLIMIT_DATA`) at `compile_memory_mib`, compiles the bytes it reads on
//! stdin and writes the artifact to stdout. The parent kills it at
//! `compile_timeout` and loads the artifact into its engine.
//!
//! Loading an artifact is `unsafe` in wasmtime (it is machine code). The
//! child is this same binary, fed only the plugin's bytes, talking over a
//! pipe nobody else holds, so its artifact is as trustworthy as an
//! in-process compile; the settings it compiles with are the parent's,
//! passed on its command line, and wasmtime refuses an artifact made with
//! other settings.
//!
//! A library embedder that registers no worker ([`use_worker`]) compiles on
//! a thread: the same timeout (the compile is abandoned, not stopped), and
//! no memory bound beyond the size and function-count limits.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use wasmtime::Engine;
use wasmtime::component::Component;

use super::engine::EngineSettings;
use super::error_chain;

/// The hidden first argument that turns `klaxon` into a compile worker.
pub const WORKER_ARG: &str = "__compile-plugin";

static WORKER: OnceLock<PathBuf> = OnceLock::new();

/// Compile in child processes of `exe`, a binary whose `main` answers
/// [`WORKER_ARG`] with [`serve`]. Set once, by the binary itself.
pub fn use_worker(exe: PathBuf) {
    let _ = WORKER.set(exe);
}

/// What one compile may use.
#[derive(Debug, Clone, Copy)]
pub struct CompileBounds {
    pub timeout: Duration,
    pub memory_mib: usize,
}

/// Compile `bytes` for `engine` (built from `settings`) within `bounds`.
pub fn compile(
    engine: &Engine,
    settings: &EngineSettings,
    bytes: &[u8],
    bounds: CompileBounds,
) -> Result<Component, String> {
    match WORKER.get() {
        Some(exe) => {
            let artifact = compile_in_child(exe, settings, bytes, bounds)?;
            // SAFETY: the artifact comes from our own binary compiling these
            // bytes with these settings (see the module comment); wasmtime
            // checks the settings match before using it.
            unsafe { Component::deserialize(engine, &artifact) }
                .map_err(|e| format!("cannot load the compiled artifact: {}", error_chain(&e)))
        }
        None => compile_on_thread(engine, bytes, bounds.timeout),
    }
}

fn compile_in_child(
    exe: &PathBuf,
    settings: &EngineSettings,
    bytes: &[u8],
    bounds: CompileBounds,
) -> Result<Vec<u8>, String> {
    let mut child = Command::new(exe)
        .arg(WORKER_ARG)
        .args(settings.to_args())
        .arg(bounds.memory_mib.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the compile worker `{}`: {e}", exe.display()))?;
    // Feed and drain on threads: a 64 MiB component and its artifact are far
    // bigger than a pipe buffer.
    let mut stdin = child.stdin.take().expect("piped");
    let input = bytes.to_vec();
    std::thread::spawn(move || drop(stdin.write_all(&input)));
    let stdout = drain(child.stdout.take().expect("piped"));
    let stderr = drain(child.stderr.take().expect("piped"));

    let status = wait_until(&mut child, Instant::now() + bounds.timeout).ok_or_else(|| {
        format!("compile took longer than `compile_timeout` ({:?})", bounds.timeout)
    })?;
    let (artifact, errors) = (join(stdout), String::from_utf8_lossy(&join(stderr)).into_owned());
    if status.success() {
        return Ok(artifact);
    }
    // Rust aborts on a failed allocation ("memory allocation of N bytes failed").
    if errors.contains("memory allocation") || errors.contains("out of memory") {
        return Err(format!(
            "compile needed more than `compile_memory_mib` ({} MiB)",
            bounds.memory_mib
        ));
    }
    match errors.trim() {
        "" => Err(format!("the compile worker failed: {status}")),
        reason => Err(reason.to_owned()),
    }
}

/// Wait for `child` until `deadline`; past it, kill it and say `None`.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<std::process::ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

fn drain(mut from: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = from.read_to_end(&mut out);
        out
    })
}

fn join(reader: std::thread::JoinHandle<Vec<u8>>) -> Vec<u8> {
    reader.join().unwrap_or_default()
}

/// Cranelift cannot be interrupted, so a compile over time is abandoned:
/// its thread finishes in the background and its result is dropped.
fn compile_on_thread(
    engine: &Engine,
    bytes: &[u8],
    timeout: Duration,
) -> Result<Component, String> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let (engine, bytes) = (engine.clone(), bytes.to_vec());
    std::thread::Builder::new()
        .name("klaxon-compile".into())
        .spawn(move || drop(tx.send(Component::new(&engine, &bytes).map_err(|e| error_chain(&e)))))
        .map_err(|e| format!("cannot start a compile thread: {e}"))?;
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(_) => Err(format!("compile took longer than `compile_timeout` ({timeout:?})")),
    }
}

/// The worker's side: `klaxon __compile-plugin <settings…> <memory MiB>`,
/// the component on stdin, the artifact on stdout, a one-line reason on
/// stderr and exit code 2 when it cannot compile.
pub fn serve(args: &[String]) -> ExitCode {
    match serve_inner(args) {
        Ok(artifact) => match std::io::stdout().lock().write_all(&artifact) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&format!("cannot write the artifact: {e}")),
        },
        Err(reason) => fail(&reason),
    }
}

fn serve_inner(args: &[String]) -> Result<Vec<u8>, String> {
    let (memory, settings) = args.split_last().ok_or("missing compile bounds")?;
    let settings = EngineSettings::from_args(settings)?;
    let memory_mib: u64 = memory.parse().map_err(|_| format!("bad memory bound `{memory}`"))?;
    let cap = memory_mib << 20;
    rlimit::setrlimit(rlimit::Resource::DATA, cap, cap)
        .map_err(|e| format!("cannot cap the compile's memory: {e}"))?;
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the component: {e}"))?;
    let engine = Engine::new(&settings.config())
        .map_err(|e| format!("cannot create wasmtime engine: {e:#}"))?;
    engine.precompile_component(&bytes).map_err(|e| error_chain(&e))
}

fn fail(reason: &str) -> ExitCode {
    eprintln!("{reason}");
    ExitCode::from(2)
}
