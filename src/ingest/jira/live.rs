//! A live pull from a Jira site: the configured JQL, paged through REST v3
//! `/search/jql` (`nextPageToken`) or v2 `/search` (`startAt`), written page
//! by page. Incremental: a ledger cursor keeps the newest `updated` seen, and
//! the next pull asks only for issues updated since (minute precision, so the
//! boundary minute comes again and writes nothing). Deletions are not visible
//! to a search; they come from `jira:issue_deleted` webhooks.

use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::export::{self, NotIssues};
use super::{Latest, Pending, candidates, commit};
use crate::ingest::changes::RefLookup;
use crate::ingest::config::JiraLive;
use crate::ingest::linking::Linker;
use crate::ingest::remote::Remote;
use crate::ingest::{IngestConfig, IngestError, Note, Report};
use crate::ledger::Ledger;
use crate::model::Source;
use crate::model::time::parse_time;

/// Which search API a pull pages through (`live.api` in `ingest/jira.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Cloud `/rest/api/3/search/jql`, paged by `nextPageToken`.
    V3,
    /// Data Center and Server `/rest/api/2/search`, paged by `startAt`.
    V2,
}

impl Api {
    fn parse(s: &str) -> Result<Api, IngestError> {
        match s.trim() {
            "3" => Ok(Api::V3),
            "2" | "latest" => Ok(Api::V2),
            other => Err(IngestError::Invalid {
                path: "ingest/jira.toml".into(),
                message: format!(
                    "live.api is {other:?}; expected \"3\" (Cloud, /rest/api/3/search/jql) or \"2\" (Data Center, /rest/api/2/search)"
                ),
            }),
        }
    }
}

/// Pulls every issue the configured JQL finds (since the cursor) from the
/// site at `target`.
pub async fn pull(
    ledger: &Ledger,
    target: &str,
    config: &IngestConfig,
    linker: &Linker,
    refs: &dyn RefLookup,
    token: Option<&str>,
) -> Result<Report, IngestError> {
    let base = base_url(target)?;
    let live = &config.jira.live;
    let api = Api::parse(&live.api)?;
    let remote = Remote::new(token, config.max_export_bytes)?;
    let mut report = Report::new(Source::Jira);

    let cursor_name = format!("jira:{base}:updated");
    let cursor = ledger.cursor(&cursor_name).await?;
    let since = match cursor.as_deref() {
        None => None,
        Some(c) => match jql_time(c) {
            Some(t) => Some(t),
            None => {
                let message = format!("the cursor {c:?} is not a time; pulling everything the JQL finds");
                report.warnings.push(Note { at: cursor_name.clone(), message });
                None
            }
        },
    };
    let jql = with_since(&live.jql, since.as_deref());
    let mut newest: Option<(DateTime<Utc>, String)> =
        cursor.as_deref().and_then(|c| parse_time(c).map(|t| (t, c.to_string())));

    let mut start_at: u64 = 0;
    let mut page_token: Option<String> = None;
    loop {
        let url = search_url(&base, api, live, &jql, start_at, page_token.as_deref());
        let bytes = remote.get_bytes(&url).await?;
        report.files += 1;
        let page = export::read(&bytes).map_err(|e| {
            let (NotIssues::Other(m) | NotIssues::Unrecognised(m)) = e;
            IngestError::Remote { url: url.clone(), message: format!("not a search response: {m}") }
        })?;
        let from = format!("{base} page {}", report.files);
        let mut latest = Latest::default();
        for c in candidates(&page, &from, config, Some(&base), &mut report) {
            if let (Some(at), Pending::Put(doc)) = (c.at, &c.change)
                && let Some(version) = &doc.version
                && newest.as_ref().is_none_or(|(t, _)| at > *t)
            {
                newest = Some((at, version.clone()));
            }
            latest.offer(c, &mut report);
        }
        // Each page is committed before the next is asked for: a failure
        // midway keeps what was pulled.
        commit(ledger, latest.into_candidates(), linker, refs, config, &mut report).await?;

        let count = page.items.len() as u64;
        let paging = page.paging;
        match api {
            Api::V3 => match paging.next_page_token {
                _ if paging.is_last == Some(true) || count == 0 => break,
                None => break,
                Some(t) if page_token.as_deref() == Some(t.as_str()) => {
                    return Err(IngestError::Remote {
                        url,
                        message: format!("the server returned the same nextPageToken {t:?} twice; stopped"),
                    });
                }
                Some(t) => page_token = Some(t),
            },
            Api::V2 => {
                start_at = paging.start_at.unwrap_or(start_at) + count;
                if count == 0 || paging.is_last == Some(true) || paging.total.is_some_and(|total| start_at >= total) {
                    break;
                }
            }
        }
    }
    // Only now that every page is committed does the cursor move.
    if let Some((_, value)) = &newest
        && cursor.as_deref() != Some(value.as_str())
    {
        ledger.set_cursor(&cursor_name, value).await?;
    }
    report.notes.push(Note { at: base.clone(), message: format!("pulled {} page(s) with JQL {jql:?}", report.files) });
    Ok(report)
}

/// The site's base URL: `target` without a trailing slash, query or
/// anything from `/rest/` on.
pub fn base_url(target: &str) -> Result<String, IngestError> {
    let invalid = |message: String| IngestError::Remote { url: target.to_string(), message };
    let url = reqwest::Url::parse(target.trim())
        .map_err(|e| invalid(format!("not a URL ({e}); expected a site like https://example.atlassian.net")))?;
    if url.host_str().is_none() {
        return Err(invalid("no host; expected a site like https://example.atlassian.net".into()));
    }
    let mut base = url.to_string();
    if let Some(i) = base.find(['?', '#']) {
        base.truncate(i);
    }
    if let Some(i) = base.find("/rest/") {
        base.truncate(i);
    }
    Ok(base.trim_end_matches('/').to_string())
}

/// The search request for one page.
pub fn search_url(base: &str, api: Api, live: &JiraLive, jql: &str, start_at: u64, token: Option<&str>) -> String {
    let enc = |s: &str| utf8_percent_encode(s, QUERY).to_string();
    let fields = enc(&live.fields.join(","));
    // `names` maps field ids to display names, so that entity fields can
    // be configured by name.
    let common = format!("jql={}&maxResults={}&fields={fields}&expand=names", enc(jql), live.page_size);
    match api {
        Api::V3 => match token {
            Some(t) => format!("{base}/rest/api/3/search/jql?{common}&nextPageToken={}", enc(t)),
            None => format!("{base}/rest/api/3/search/jql?{common}"),
        },
        Api::V2 => format!("{base}/rest/api/2/search?{common}&startAt={start_at}"),
    }
}

/// Query values are escaped but for the unreserved characters.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `jql` restricted to issues updated at or after `since` (JQL's
/// `"yyyy/MM/dd HH:mm"`), the clause inserted before any `ORDER BY`.
pub fn with_since(jql: &str, since: Option<&str>) -> String {
    let Some(since) = since else {
        return jql.to_string();
    };
    let clause = format!("updated >= \"{since}\"");
    let (filter, order) = match order_by(jql) {
        Some(i) => (&jql[..i], Some(jql[i..].trim())),
        None => (jql, None),
    };
    let filter = filter.trim();
    let restricted = if filter.is_empty() { clause } else { format!("({filter}) AND {clause}") };
    match order {
        Some(order) => format!("{restricted} {order}"),
        None => restricted,
    }
}

/// Where `ORDER BY` starts in `jql`, outside quoted strings.
fn order_by(jql: &str) -> Option<usize> {
    let bytes = jql.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if (i == 0 || !word(bytes[i - 1])) && starts_with_ignore_case(&bytes[i..], b"order") => {
                let after = &bytes[i + 5..];
                let gap = after.iter().take_while(|c| c.is_ascii_whitespace()).count();
                let rest = &after[gap..];
                if gap > 0 && starts_with_ignore_case(rest, b"by") && rest.get(2).is_none_or(|c| !word(*c)) {
                    return Some(i);
                }
            }
            None => {}
        }
        i += 1;
    }
    None
}

fn starts_with_ignore_case(bytes: &[u8], word: &[u8]) -> bool {
    bytes.len() >= word.len() && bytes[..word.len()].eq_ignore_ascii_case(word)
}

/// A cursor (`updated` as Jira sent it) as JQL's `yyyy/MM/dd HH:mm`, in the
/// offset Jira wrote it in: Jira renders times and reads JQL dates in the
/// user's time zone, so the wall-clock time is the one to send back.
pub fn jql_time(cursor: &str) -> Option<String> {
    let s = cursor.trim();
    let fixed = chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(s))
        .ok();
    match fixed {
        Some(t) => Some(t.format("%Y/%m/%d %H:%M").to_string()),
        None => parse_time(s).map(|t| t.format("%Y/%m/%d %H:%M").to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_goes_before_order_by() {
        let since = Some("2026/11/19 16:20");
        assert_eq!(
            with_since("issuetype in (Incident, Problem) ORDER BY updated ASC", since),
            "(issuetype in (Incident, Problem)) AND updated >= \"2026/11/19 16:20\" ORDER BY updated ASC"
        );
        assert_eq!(with_since("project = OPS", since), "(project = OPS) AND updated >= \"2026/11/19 16:20\"");
        assert_eq!(with_since("order by created", since), "updated >= \"2026/11/19 16:20\" order by created");
        assert_eq!(
            with_since("summary ~ \"order by\" OR labels = x order  BY key", since),
            "(summary ~ \"order by\" OR labels = x) AND updated >= \"2026/11/19 16:20\" order  BY key"
        );
        assert_eq!(with_since("reorder = byte", since), "(reorder = byte) AND updated >= \"2026/11/19 16:20\"");
        assert_eq!(with_since("project = OPS ORDER BY updated", None), "project = OPS ORDER BY updated");
    }

    #[test]
    fn cursor_times_keep_jira_s_wall_clock() {
        assert_eq!(jql_time("2026-11-19T16:20:59.000+0000").as_deref(), Some("2026/11/19 16:20"));
        assert_eq!(jql_time("2026-01-21T10:02:00.000+0100").as_deref(), Some("2026/01/21 10:02"));
        assert_eq!(jql_time("2026-01-21T10:02:00Z").as_deref(), Some("2026/01/21 10:02"));
        assert_eq!(jql_time("soon"), None);
    }

    #[test]
    fn urls_of_each_api() {
        assert_eq!(base_url("https://x.atlassian.net/").unwrap(), "https://x.atlassian.net");
        assert_eq!(base_url("http://localhost:2990/jira/rest/api/2/search?x=1").unwrap(), "http://localhost:2990/jira");
        assert!(base_url("https://").is_err());
        let live = JiraLive {
            jql: String::new(),
            api: "3".into(),
            page_size: 50,
            fields: vec!["*all".into(), "-comment".into()],
        };
        let jql = "project = OPS ORDER BY updated";
        assert_eq!(
            search_url("https://x", Api::V3, &live, jql, 0, Some("CAE/+=")),
            "https://x/rest/api/3/search/jql?jql=project%20%3D%20OPS%20ORDER%20BY%20updated&maxResults=50\
             &fields=%2Aall%2C-comment&expand=names&nextPageToken=CAE%2F%2B%3D"
        );
        assert_eq!(
            search_url("https://x", Api::V2, &live, "a", 100, None),
            "https://x/rest/api/2/search?jql=a&maxResults=50&fields=%2Aall%2C-comment&expand=names&startAt=100"
        );
        assert!(Api::parse("4").is_err());
    }
}
