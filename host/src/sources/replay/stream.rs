//! The replay source itself: every file of its config in order, read line
//! by line, paced by `speed`, and handed on in batches with backpressure.

use std::path::Path;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::pacer::Pacer;
use super::{Line, Lines, MAX_LOGGED_PER_FILE, ReplayConfig, ReplayError};
use crate::event::Event;
use crate::sources::{Emitter, Sent, SourceError, SourceSummary};

/// Most events a replay hands on at once: one channel operation per batch.
const EMIT_BATCH: usize = 256;

/// Send what `batch` holds; it is empty after.
async fn flush(
    out: &mut Emitter,
    batch: &mut Vec<Event>,
    summary: &mut SourceSummary,
) -> Result<Flow, SourceError> {
    let n = batch.len() as u64;
    match out.send_batch(std::mem::replace(batch, Vec::with_capacity(EMIT_BATCH))).await? {
        Sent::Delivered => {
            summary.events += n;
            Ok(Flow::Continue)
        }
        Sent::Cancelled => Ok(Flow::Cancelled),
    }
}

/// Whether to go on after a file.
enum Flow {
    Continue,
    Cancelled,
}

pub(crate) async fn run(
    config: ReplayConfig,
    mut out: Emitter,
) -> Result<SourceSummary, SourceError> {
    let parser = config.parser().map_err(|e| SourceError::Replay {
        name: out.name().to_owned(),
        error: ReplayError::Pool(e),
    })?;
    let mut lines = Lines { parser: &parser, latest_ms: 0, books: None };
    let mut pacer = Pacer::new(config.speed);
    let mut summary = SourceSummary::default();
    for path in &config.files {
        config.books_for(path, &mut lines, out.name());
        if let Flow::Cancelled =
            replay_file(path, &mut lines, &mut pacer, &mut out, &mut summary).await?
        {
            summary.cancelled = true;
            break;
        }
    }
    Ok(summary)
}

async fn replay_file(
    path: &Path,
    lines: &mut Lines<'_>,
    pacer: &mut Pacer,
    out: &mut Emitter,
    summary: &mut SourceSummary,
) -> Result<Flow, SourceError> {
    let name = out.name().to_owned();
    let read_err = |error| SourceError::Replay {
        name: name.clone(),
        error: ReplayError::Read { path: path.to_owned(), error },
    };
    let file = tokio::fs::File::open(path).await.map_err(read_err)?;
    // Every refill of a `tokio::fs` file is a blocking-pool round trip: a
    // large buffer makes that once per few thousand frames.
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut buf = Vec::with_capacity(4096);
    let (mut line_no, mut malformed_here) = (0u64, 0u64);
    let mut batch = Vec::with_capacity(EMIT_BATCH);
    loop {
        buf.clear();
        let Some(read) = out.cancel().run_until_cancelled(reader.read_until(b'\n', &mut buf)).await
        else {
            return Ok(Flow::Cancelled);
        };
        if read.map_err(read_err)? == 0 {
            break;
        }
        line_no += 1;
        match lines.read(&buf, summary) {
            Line::Blank | Line::Ignored => {}
            Line::Malformed { venue, fault } => {
                out.malformed(venue);
                malformed_here += 1;
                if malformed_here <= MAX_LOGGED_PER_FILE {
                    tracing::warn!(file = %path.display(), line = line_no, error = %fault, "Skipping malformed frame.");
                }
            }
            Line::Events(events) => {
                for event in events {
                    if let Some(due) = pacer.deadline(event.exchange_time_ms) {
                        // What is due now goes before the wait, not after.
                        if let Flow::Cancelled = flush(out, &mut batch, summary).await? {
                            return Ok(Flow::Cancelled);
                        }
                        let slept =
                            out.cancel().run_until_cancelled(tokio::time::sleep_until(due)).await;
                        if slept.is_none() {
                            return Ok(Flow::Cancelled);
                        }
                    }
                    batch.push(event);
                    if batch.len() >= EMIT_BATCH
                        && let Flow::Cancelled = flush(out, &mut batch, summary).await?
                    {
                        return Ok(Flow::Cancelled);
                    }
                }
            }
        }
    }
    if let Flow::Cancelled = flush(out, &mut batch, summary).await? {
        return Ok(Flow::Cancelled);
    }
    if malformed_here > MAX_LOGGED_PER_FILE {
        tracing::warn!(
            file = %path.display(),
            malformed = malformed_here,
            not_logged = malformed_here - MAX_LOGGED_PER_FILE,
            "Skipped malformed frames in file."
        );
    }
    Ok(Flow::Continue)
}
