//! GitHub deployments: the `deployment` webhook (sent once, when a
//! deployment is created), the `deployment_status` webhook (sent for every
//! state, repeating the whole deployment), and the objects of the
//! list-deployments API. The change is the deployment, keyed by repository
//! and deployment id, so a status replaces the change's earlier version with
//! its new state. The deployed thing is the repository: it maps to the entity
//! whose `github.com/project-slug` names it (or whose name is the
//! repository's).

use serde_json::Value;

use super::{ChangeRecord, Format, Item, clip, ref_kind, refs_of, str_at, time_at};
use crate::ingest::config::ChangesMapping;
use crate::model::change_text::change_type_from_words;
use crate::model::{ChangeFields, ChangeStatus, ChangeType};

pub fn read(v: &Value, m: &ChangesMapping) -> Result<Vec<Item>, String> {
    // A webhook wraps the deployment; the list API gives it bare.
    let (deployment, status, repository) = match v.get("deployment") {
        Some(d @ Value::Object(_)) => (d, v.get("deployment_status").filter(|s| s.is_object()), v.get("repository")),
        Some(_) => return Err("`deployment` is not an object".into()),
        None => (v, None, None),
    };
    let id = match deployment.get("id") {
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        Some(other) => return Err(format!("`deployment.id` is {other}, expected a number")),
        None => return Err("no `deployment.id`".into()),
    };
    let full_name = repository
        .and_then(|r| str_at(r, &["full_name"]).map(str::to_string))
        .or_else(|| str_at(deployment, &["repository_url"]).and_then(repo_of_url))
        .or_else(|| str_at(deployment, &["url"]).and_then(repo_of_url))
        .ok_or("cannot tell the repository: no `repository.full_name`, `repository_url` or deployment `url`")?;
    let environment = str_at(deployment, &["environment"]).map(str::to_string);
    let task = str_at(deployment, &["task"]).unwrap_or("deploy");
    let sha = str_at(deployment, &["sha"]).unwrap_or_default();
    let git_ref = str_at(deployment, &["ref"]).unwrap_or_default();
    let state = status.and_then(|s| str_at(s, &["state"]));
    let change_status = match state {
        None => ChangeStatus::Planned,
        Some("success" | "inactive") => ChangeStatus::Done,
        Some("failure" | "error") => ChangeStatus::Failed,
        Some("in_progress") => ChangeStatus::InProgress,
        Some("queued" | "pending") => ChangeStatus::Planned,
        Some(other) => return Err(format!("`deployment_status.state` {other:?} is not a GitHub deployment state")),
    };
    let created = time_at(deployment, &["created_at"])?;
    let status_time = match status {
        Some(s) => time_at(s, &["updated_at"])?.or(time_at(s, &["created_at"])?),
        None => None,
    };
    let finished = matches!(change_status, ChangeStatus::Done | ChangeStatus::Failed);
    // `deploy:migrations` is a schema change; other tasks by their words.
    let change_type = match task.split_once(':') {
        Some((_, sub)) => change_type_from_words(sub, "").unwrap_or(ChangeType::Deploy),
        None => ChangeType::Deploy,
    };
    let short = &sha[..sha.len().min(7)];
    let env = environment.as_deref().unwrap_or("an environment");
    let title = format!("{task} of {full_name} {git_ref} ({short}) to {env}");
    let mut text = vec![title.clone()];
    for d in
        [str_at(deployment, &["description"]), status.and_then(|s| str_at(s, &["description"]))].into_iter().flatten()
    {
        text.push(d.to_string());
    }
    if let Some(state) = state {
        text.push(format!("State: {state}."));
    }
    let url = status
        .and_then(|s| ["target_url", "log_url", "environment_url"].iter().find_map(|k| str_at(s, &[k])))
        .or_else(|| str_at(deployment, &["url"]))
        .map(str::to_string);
    let by = status
        .and_then(|s| str_at(s, &["creator", "login"]))
        .or_else(|| str_at(deployment, &["creator", "login"]))
        .map(str::to_string);
    let repo_name = full_name.rsplit('/').next().unwrap_or_default().to_string();
    Ok(vec![Item::Change(Box::new(ChangeRecord {
        key: format!("{}/deployments/{id}", full_name.to_ascii_lowercase()),
        format: Format::GitHub,
        title: clip(&title, 200),
        text: text.join("\n"),
        change: ChangeFields {
            change_type,
            status: change_status,
            start: created,
            end: if finished { status_time } else { None },
            schedule: None,
            risk: None,
            by,
            revision: Some(sha.to_string()).filter(|s| !s.is_empty()),
            environment,
        },
        entities: vec![repo_name],
        refs: refs_of(m, ref_kind::REPOSITORY, &full_name),
        labels: Default::default(),
        url,
        updated: status_time.or(time_at(deployment, &["updated_at"])?).or(created),
        raw: v.clone(),
    }))])
}

/// `owner/name` from an API URL (`https://api.github.com/repos/owner/name/...`).
fn repo_of_url(url: &str) -> Option<String> {
    let rest = url.split("/repos/").nth(1)?;
    let mut parts = rest.split('/');
    let (owner, name) = (parts.next()?, parts.next()?);
    (!owner.is_empty() && !name.is_empty()).then(|| format!("{owner}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_from_api_urls() {
        assert_eq!(repo_of_url("https://api.github.com/repos/octocat/example").as_deref(), Some("octocat/example"));
        assert_eq!(repo_of_url("https://ghe.example.com/api/v3/repos/a/b/deployments/1").as_deref(), Some("a/b"));
        assert_eq!(repo_of_url("https://api.github.com/users/x"), None);
    }
}
