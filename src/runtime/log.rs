//! What the log says about the dashboard's work: each effect when it starts, and its
//! outcome from the action that answers it. Facts only, never secrets: no token (a
//! connection is named by its base URL and profile), no request or response bodies,
//! no clipboard text; files by name, users by count.

use crate::app::{Action, Effect, ImportSource};

/// The effect and the facts worth logging when it starts.
pub fn effect_started(effect: &Effect) -> String {
    let what = effect.name();
    let facts = match effect {
        Effect::TestConnection { spec, .. } => {
            format!("{} (profile {})", spec.base_url, spec.profile)
        }
        Effect::SaveProfile { profile, token } => format!(
            "profile {} for {}{}",
            profile.name,
            profile.base_url,
            if token.is_some() {
                ", with its stored token"
            } else {
                ""
            }
        ),
        Effect::ImportFiles { sources, .. } => sources
            .iter()
            .map(source_name)
            .collect::<Vec<_>>()
            .join(", "),
        Effect::LookupUsers {
            batch, spec, jobs, ..
        } => format!("batch {batch}: {} users at {}", jobs.len(), spec.base_url),
        Effect::CancelLookups => String::new(),
        Effect::VerifyLink { scim_id, spec, .. } => {
            format!("SCIM id {scim_id} at {}", spec.base_url)
        }
        Effect::CopyToClipboard { text } => format!("{} characters", text.chars().count()),
        Effect::Export(job) => {
            format!("{} rows to {}", job.content.len(), job.path.display())
        }
        Effect::FindUnfinished { .. } => String::new(),
        Effect::LoadPlan { path } => path.display().to_string(),
        Effect::BuildUndo { batch } => format!("of batch {batch}"),
        Effect::ApplyPlan { spec, plan, .. } => format!(
            "{} operations ({} users excluded) at {}",
            plan.operations.len(),
            plan.excluded.len(),
            spec.base_url
        ),
        Effect::ResumeBatch { spec, path, .. } => {
            format!("{} at {}", path.display(), spec.base_url)
        }
        Effect::ControlBatch(control) => format!("{control:?}"),
        Effect::ListJournal { .. } => String::new(),
        Effect::ReadTrend { path, .. } => path.display().to_string(),
        Effect::Workspace(op) => {
            use crate::app::workspace::WorkspaceOp;
            match op {
                WorkspaceOp::Open { path } => format!("opening {}", path.display()),
                WorkspaceOp::WriteOutcomes(o) => format!("{} lookup results", o.len()),
                WorkspaceOp::ReplaceUsers(d) => format!("{} users", d.len()),
                WorkspaceOp::RecordSource { source, .. } => source_name(source),
                WorkspaceOp::SetIgnored { keys, .. } => format!("{} users", keys.len()),
                other => other.name().to_string(),
            }
        }
        Effect::TestSource { spec } => spec.label(),
        Effect::SaveSources { profile, settings } => format!(
            "profile {profile}: {} connections (no secrets)",
            settings.sources.len()
        ),
    };
    if facts.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {facts}")
    }
}

/// The outcome an effect's final action reports: `Ok` for success, `Err` for a
/// failure, in words; `None` for progress reports.
pub fn outcome(action: &Action) -> Option<Result<String, String>> {
    Some(match action {
        Action::ConnectionTested { result, .. } => match result {
            Ok(s) => Ok(format!(
                "connected in {} ms (probe: {})",
                s.latency.as_millis(),
                s.probe
            )),
            Err(f) => Err(format!(
                "connection test failed: {}: {}",
                f.headline, f.detail
            )),
        },
        Action::ProfileSaved { result } => match result {
            Ok(path) => Ok(format!("profile saved to {}", path.display())),
            Err(e) => Err(format!("profile not saved: {e}")),
        },
        Action::EffectFailed(message) => Err(message.to_string()),
        Action::SourceTested { source, result } => match result {
            Ok(lines) => Ok(format!("{source}: {}", lines.join("; "))),
            Err(e) => Err(format!("{source}: {e}")),
        },
        Action::SourcesSaved { result } => match result {
            Ok(path) => Ok(format!("sources saved to {}", path.display())),
            Err(e) => Err(format!("sources not saved: {e}")),
        },
        Action::FilesImported { results, .. } => {
            let failed: Vec<String> = results
                .iter()
                .filter_map(|(source, r)| {
                    r.as_ref()
                        .err()
                        .map(|e| format!("{}: {e}", source_name(source)))
                })
                .collect();
            let loaded: Vec<String> = results
                .iter()
                .filter_map(|(source, r)| {
                    r.as_ref().ok().map(|i| {
                        format!(
                            "{} ({} rows, {} problems)",
                            source_name(source),
                            i.rows_read,
                            i.errors.len() + i.warnings.len()
                        )
                    })
                })
                .collect();
            if failed.is_empty() {
                Ok(format!("imported {}", loaded.join(", ")))
            } else {
                Err(format!(
                    "imported {}; not imported: {}",
                    loaded.join(", "),
                    failed.join("; ")
                ))
            }
        }
        Action::LookupBatchDone {
            batch,
            cancelled,
            error,
        } => match error {
            Some(e) => Err(format!("lookup batch {batch} could not run: {e}")),
            None => Ok(format!("lookup batch {batch} done, {cancelled} cancelled")),
        },
        Action::LinkVerified {
            scim_id, result, ..
        } => match result {
            Ok(Some(_)) => Ok(format!("SCIM id {scim_id} verified")),
            Ok(None) => Err(format!("no SCIM user has id {scim_id}")),
            Err(e) => Err(format!("could not verify SCIM id {scim_id}: {e}")),
        },
        Action::Exported { what, result } => match result {
            Ok((path, n)) => Ok(what.done(*n, path)),
            Err(e) => Err(format!("export failed: {e}")),
        },
        Action::ExportExists { job } => Ok(format!(
            "{} exists: nothing written, the admin is asked",
            job.path.display()
        )),
        Action::UnfinishedFound { batches } => Ok(format!(
            "{} unfinished batches in the journal",
            batches.len()
        )),
        Action::PlanLoaded { result } => match result {
            Ok(loaded) => Ok(format!(
                "plan of {} operations ready for review",
                loaded.plan.operations.len()
            )),
            Err(e) => Err(format!("no plan: {e}")),
        },
        Action::ApplyDone { result } => match result {
            Ok(s) => {
                let words = format!(
                    "batch {} {:?}: {} applied, {} already so, {} failed, {} not started of {}; {} requests in {} ms",
                    s.batch,
                    s.status,
                    s.applied,
                    s.already,
                    s.failed,
                    s.not_started,
                    s.total,
                    s.requests_sent,
                    s.elapsed_ms
                );
                if s.all_succeeded() {
                    Ok(words)
                } else {
                    Err(words)
                }
            }
            Err(e) => Err(format!("batch did not run: {e}")),
        },
        Action::JournalListed { result, .. } => match result {
            Ok(listing) if listing.errors.is_empty() => {
                Ok(format!("{} batches in the journal", listing.batches.len()))
            }
            Ok(listing) => Err(format!(
                "{} batches in the journal; unreadable: {}",
                listing.batches.len(),
                listing.errors.join("; ")
            )),
            Err(e) => Err(format!("journal not read: {e}")),
        },
        Action::TrendRead { result, .. } => match result {
            Ok(snapshots) => Ok(format!("{} snapshots in the workspace", snapshots.len())),
            Err(e) => Err(format!("workspace history not read: {e}")),
        },
        Action::WorkspaceLoaded { result } => match result {
            Ok(o) => Ok(format!(
                "workspace {}: {} users, {} results{}",
                o.path.display(),
                o.loaded.users.len(),
                o.loaded.outcomes.len(),
                match &o.read_only {
                    Some(why) => format!(", read-only ({why})"),
                    None => String::new(),
                }
            )),
            Err(e) => Err(format!("workspace not opened: {e}")),
        },
        Action::WorkspaceWritten { what, result } => match result {
            Ok(_) => return None,
            Err(e) => Err(format!("workspace: {what} failed: {e}")),
        },
        _ => return None,
    })
}

fn source_name(source: &ImportSource) -> String {
    match source {
        ImportSource::Path(path) => path.display().to_string(),
        ImportSource::Embedded { name, .. } => (*name).to_string(),
        ImportSource::Idp(spec) => spec.label(),
    }
}
