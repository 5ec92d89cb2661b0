//! Python and JavaScript test plugins (`tests/plugins/guests/`),
//! built as an author would: `klaxon plugin new` writes a project, the
//! test plugin's source replaces the sample, `klaxon plugin build` runs
//! componentize-py `--stub-wasi` or componentize-js with its features off.
//! [`build_with_wasi`] runs the same toolchain with its defaults instead,
//! which is how a plugin that imports WASI comes about.
//!
//! The toolchains are the ones `.ci/run` installs under
//! `target/authoring-tools`; without them a test skips with the reason
//! (see [`toolchain`]), unless `KLAXON_REQUIRE_TOOLCHAINS` is set.

use std::path::{Path, PathBuf};
use std::process::Command;

use klaxon::authoring::builder;
use klaxon::plugins::PluginKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Python,
    Js,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Python => "python",
            Lang::Js => "js",
        }
    }

    /// The author's source file and the sample test `plugin new` writes.
    fn files(self) -> (&'static str, &'static str) {
        match self {
            Lang::Python => ("plugin.py", "test_plugin.py"),
            Lang::Js => ("plugin.js", "plugin.test.js"),
        }
    }

    /// Test plugins in this language are named `<prefix>-…`.
    pub fn prefix(self) -> &'static str {
        match self {
            Lang::Python => "py",
            Lang::Js => "js",
        }
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ has a parent").to_owned()
}

fn tools() -> PathBuf {
    repo().join("target/authoring-tools")
}

fn compiler(lang: Lang) -> PathBuf {
    match lang {
        Lang::Python => tools().join("venv/bin/componentize-py"),
        Lang::Js => tools().join("js/node_modules/.bin/componentize-js"),
    }
}

/// Whether `lang`'s toolchain is installed; if not, says so and the test
/// skips, or fails when `KLAXON_REQUIRE_TOOLCHAINS` is set (CI).
pub fn toolchain(lang: Lang) -> bool {
    let tool = compiler(lang);
    if tool.exists() {
        return true;
    }
    let msg = format!("{} not installed (run .ci/run)", tool.display());
    assert!(std::env::var_os("KLAXON_REQUIRE_TOOLCHAINS").is_none(), "{msg}");
    eprintln!("skipping {}: {msg}", lang.as_str());
    false
}

fn path_with_tools() -> String {
    let t = tools();
    let old = std::env::var("PATH").unwrap_or_default();
    format!("{}:{}:{old}", t.join("venv/bin").display(), t.join("js/node_modules/.bin").display())
}

fn run(mut cmd: Command) {
    cmd.env("PATH", path_with_tools()).env("RUST_LOG", "warn");
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `tests/plugins/<name>` as a scaffolded filter project under `root`,
/// built with `klaxon plugin build`; returns the project and the component.
pub fn build(lang: Lang, name: &str, root: &Path) -> (PathBuf, PathBuf) {
    let dir = root.join(name);
    let mut new = Command::new(env!("CARGO_BIN_EXE_klaxon"));
    new.args(["plugin", "new", name, "--kind", "filter", "--lang", lang.as_str()]).arg(&dir);
    run(new);
    let (source, sample_test) = lang.files();
    let ours = repo().join("tests/plugins/guests").join(name).join(source);
    std::fs::copy(&ours, dir.join(source)).unwrap_or_else(|e| panic!("{}: {e}", ours.display()));
    std::fs::remove_file(dir.join(sample_test)).expect("the scaffold's sample test");
    let wasm = dir.join(format!("target/klaxon/{name}.wasm"));
    let mut build = Command::new(env!("CARGO_BIN_EXE_klaxon"));
    build.current_dir(&dir).args(["plugin", "build", "."]);
    run(build);
    assert!(wasm.is_file(), "{} not built", wasm.display());
    (dir, wasm)
}

/// Like [`build`], then the toolchain once more over the same sources with
/// its WASI left in: componentize-py without `--stub-wasi`, componentize-js
/// without `-d`. `klaxon plugin build` refuses to write such a component;
/// this one is for the host to refuse.
pub fn build_with_wasi(lang: Lang, name: &str, root: &Path) -> PathBuf {
    let (dir, _) = build(lang, name, root);
    let out = dir.join(format!("target/{name}-wasi.wasm"));
    let mut cmd = Command::new(compiler(lang));
    cmd.current_dir(&dir);
    match lang {
        // `plugin build` left its glue modules in target/klaxon/py.
        Lang::Python => {
            cmd.args(["-d", "wit", "-w", "filter", "componentize", "klaxon_main"]);
            cmd.args(["-p", "target/klaxon/py", "-p", ".", "-o"]).arg(&out);
        }
        Lang::Js => {
            std::fs::write(dir.join(builder::JS_ENTRY), builder::js_entry(PluginKind::Filter))
                .expect("js entry");
            cmd.args([builder::JS_ENTRY, "-w", "wit", "-n", "filter", "-o"]).arg(&out);
        }
    }
    run(cmd);
    out
}
