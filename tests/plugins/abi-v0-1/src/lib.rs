//! Broken on purpose: a filter built the way the 0.1 SDK built them, with
//! wit-bindgen straight from the frozen `klaxon:plugin@0.1.0` WIT
//! (`wit/since_v0.1.0`), and the `klaxon:api-version` custom section saying
//! `0.1.0`. A 0.2 host must refuse it with a message naming 0.1.0 (and how
//! to rebuild), both from the section and from the component's world.
//!
//! It rejects every event; it is never meant to run.

#[cfg(target_arch = "wasm32")]
mod bindings {
    wit_bindgen::generate!({
        path: "../../../wit/since_v0.1.0",
        world: "klaxon:plugin/filter@0.1.0",
    });

    struct AbiV01;

    impl Guest for AbiV01 {
        fn configure(_params_json: String) -> Result<(), String> {
            Ok(())
        }

        fn evaluate(_event: Event, _market: Market) -> Verdict {
            Verdict::Reject("abi-v0-1 rejects everything".into())
        }

        fn evaluate_batch(_batch: EventBatch) -> Vec<Passed> {
            Vec::new()
        }
    }

    export!(AbiV01);

    /// What the 0.1 SDK stamped into every plugin.
    #[unsafe(link_section = "klaxon:api-version")]
    #[used]
    static API_VERSION: [u8; 5] = *b"0.1.0";
}
