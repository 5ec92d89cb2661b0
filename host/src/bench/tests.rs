//! The scenarios run on tiny sizes and count what they should. No times
//! are asserted: the bench reports them.

use super::drive::{self, Tap};
use super::{BenchArgs, replay, setup};

/// The replay part checks itself that every generated frame became one
/// event through the real replay source; here it only has to finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_runs_every_generated_frame_through_the_pipeline() {
    let per_s = replay::run(&BenchArgs::tiny()).await.unwrap();
    assert!(per_s > 0.0);
}

/// A paced run hands over every event, and the tap hears a latency for
/// each message handed off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_run_hands_over_every_event_and_hears_every_message() {
    let dir = setup::scratch().unwrap();
    let templates = setup::Templates {
        threshold: Box::new(|_: usize| 0.0),
        window: "0s",
        ..setup::Templates::new(3)
    };
    let config = setup::config_of(&templates, &dir.join("paced.db")).unwrap();
    let (rt, plan) = setup::runtime(&config).await.unwrap();
    let events: Vec<_> = setup::market_data(300, 3).into_iter().map(|(e, _)| e).collect();
    let tap = Tap::install();
    let run = drive::run(&config, &rt, &plan, events.into_iter(), Some(5_000.0)).await.unwrap();
    let heard = tap.take();
    assert_eq!(run.fed.events, 300);
    assert_eq!(run.stats.events_in, 300);
    assert!(run.stats.fired > 0, "every trade passes a 0 threshold");
    assert_eq!(run.decided(), run.stats.fired, "a 0s cooldown suppresses nothing");
    // Other tests' pipelines may hand off while the tap listens.
    assert!(heard.len() as u64 >= run.stats.fired);
    assert!(drive::quantile(&heard, 0.5) <= drive::quantile(&heard, 1.0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn quantiles_take_the_nearest_rank() {
    let ms = |n| std::time::Duration::from_millis(n);
    let samples: Vec<_> = (1..=100).map(ms).collect();
    assert_eq!(drive::quantile(&samples, 0.5), ms(50));
    assert_eq!(drive::quantile(&samples, 0.99), ms(99));
    assert_eq!(drive::quantile(&samples, 1.0), ms(100));
    assert_eq!(drive::quantile(&[], 0.5), ms(0));
}
