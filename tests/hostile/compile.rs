//! Compile bombs: a component is refused before Cranelift sees it when it
//! has too many functions, and a compile that needs more memory or time
//! than its bound is killed in its worker process and named, while the
//! same component compiles under a generous bound (so the bound is what
//! refused it). The host process never holds the compile's memory.

use std::time::Duration;

use klaxon::plugins::load::load;
use klaxon::plugins::{PluginEngine, PluginError, PluginKind, RuntimeConfig, RuntimeLimits};
use wasm_encoder::{CodeSection, Component, Function, FunctionSection, Module, ModuleSection};
use wasm_encoder::{TypeSection, ValType};

/// A component wrapping one core module of `functions` functions, each
/// summing `adds` constants: many small functions, or one huge one.
fn component(functions: u32, adds: u32) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([], [ValType::I32]);
    let mut declared = FunctionSection::new();
    let mut code = CodeSection::new();
    for _ in 0..functions {
        declared.function(0);
        let mut body = Function::new([]);
        let mut sink = body.instructions();
        sink.i32_const(0);
        for i in 0..adds {
            sink.i32_const(i as i32).i32_add();
        }
        sink.end();
        code.function(&body);
    }
    let mut module = Module::new();
    module.section(&types).section(&declared).section(&code);
    let mut component = Component::new();
    component.section(&ModuleSection(&module));
    component.finish()
}

/// Load `bytes` as a filter with the klaxon binary as compile worker.
fn load_with(limits: RuntimeLimits, bytes: &[u8]) -> PluginError {
    klaxon::plugins::compile::use_worker(env!("CARGO_BIN_EXE_klaxon").into());
    let engine = PluginEngine::new(&RuntimeConfig { cache_dir: None, limits }).unwrap();
    load(&engine, "bomb", "plugins/bomb.wasm", bytes, PluginKind::Filter)
        .expect_err("a component with no exports never loads as a filter")
}

fn compile_reason(err: PluginError) -> String {
    match err {
        PluginError::Compile { reason, .. } => reason,
        other => panic!("not refused at compile: {other}"),
    }
}

#[test]
fn a_function_bomb_is_refused_before_compiling() {
    let bytes = component(60_000, 0);
    let reason = compile_reason(load_with(RuntimeLimits::default(), &bytes));
    assert_eq!(reason, "limit `component_functions` exceeded: 60000 > 50000");
}

#[test]
fn a_compile_over_its_memory_bound_is_killed_and_named() {
    let bytes = component(1, 400_000);
    let tight = RuntimeLimits { compile_memory_mib: 64, ..RuntimeLimits::default() };
    let reason = compile_reason(load_with(tight, &bytes));
    assert_eq!(reason, "compile needed more than `compile_memory_mib` (64 MiB)");

    // Under the default bound the same bytes compile; what stops them then
    // is that they are not a filter.
    let err = load_with(RuntimeLimits::default(), &bytes);
    assert!(matches!(err, PluginError::WrongWorld { .. }), "{err}");
}

#[test]
fn a_compile_over_its_time_is_killed_and_named() {
    let bytes = component(1, 400_000);
    let hasty =
        RuntimeLimits { compile_timeout: Duration::from_millis(10), ..RuntimeLimits::default() };
    let reason = compile_reason(load_with(hasty, &bytes));
    assert_eq!(reason, "compile took longer than `compile_timeout` (10ms)");
}
