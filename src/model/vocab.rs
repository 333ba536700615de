//! The ontology's IRIs as constants (schema/ffo.ttl defines each; a test checks).

use oxigraph::model::NamedNodeRef;

/// The ontology namespace.
pub const NS: &str = "https://ffo.dev/ns#";
/// Entities are named `{ENTITY_BASE}{kind}/{namespace}/{name}`.
pub const ENTITY_BASE: &str = "https://ffo.dev/entity/";
/// Documents (and their named graphs) are named `{DOC_BASE}{source}/{external id}`.
pub const DOC_BASE: &str = "https://ffo.dev/doc/";

macro_rules! terms {
    ($($name:ident = $local:literal;)*) => {
        $(pub const $name: NamedNodeRef<'static> =
            NamedNodeRef::new_unchecked(concat!("https://ffo.dev/ns#", $local));)*
        /// Every ontology term the code names, for the schema check.
        pub const ALL: &[NamedNodeRef<'static>] = &[$($name),*];
    };
}

terms! {
    ENTITY = "Entity";
    // attributes
    NAME = "name";
    TITLE = "title";
    DESCRIPTION = "description";
    ALIAS = "alias";
    TIER = "tier";
    ENVIRONMENT = "environment";
    CLASSIFICATION = "classification";
    LIFECYCLE = "lifecycle";
    SPEC_TYPE = "specType";
    TAG = "tag";
    WINDOW_START = "windowStart";
    WINDOW_END = "windowEnd";
    FREEZE = "freeze";
    EXTERNAL_REF = "externalRef";
    // documents
    DOCUMENT = "Document";
    CATALOG_FILE = "CatalogFile";
    RDF_FILE = "RdfFile";
    INCIDENT = "Incident";
    POSTMORTEM = "Postmortem";
    PROBLEM = "Problem";
    RUNBOOK = "Runbook";
    PAGE = "Page";
    TICKET = "Ticket";
    POLICY = "Policy";
    CHANGE = "Change";
    CHANGE_TYPE = "changeType";
    CHANGE_STATUS = "changeStatus";
    SCHEDULE = "schedule";
    RISK = "risk";
    REVISION = "revision";
    UNRESOLVED_REF = "unresolvedRef";
    OUTCOME = "Outcome";
    ALERT_FIRING = "AlertFiring";
    SOURCE = "source";
    EXTERNAL_ID = "externalId";
    URL = "url";
    CREATED = "created";
    UPDATED = "updated";
    RESOLVED = "resolved";
    SEVERITY = "severity";
    STATUS = "status";
    AUTHOR = "author";
    LABEL = "label";
    SPACE = "space";
    ANCESTOR = "ancestor";
    VERSION = "version";
    AFFECTS = "affects";
    MENTIONS = "mentions";
    CAUSE_IN = "causeIn";
    LINKS_TO = "linksTo";
    LINK_TYPE = "linkType";
    ALERT_NAME = "alertName";
    SUMMARY = "summary";
    IMPACT = "impact";
    TRIGGER = "trigger";
    ROOT_CAUSE = "rootCause";
    RESOLUTION = "resolution";
    ACTION_ITEM = "actionItem";
    // outcomes and alerts
    ACTION = "action";
    NORMALIZED_ACTION = "normalizedAction";
    RESULT = "result";
    PERFORMED_BY = "performedBy";
    AUTHORITY = "authority";
    STARTED_AT = "startedAt";
    ENDED_AT = "endedAt";
    RELATED_TO = "relatedTo";
    FINGERPRINT = "fingerprint";
}

pub mod rdf {
    use oxigraph::model::NamedNodeRef;
    pub const TYPE: NamedNodeRef<'static> =
        NamedNodeRef::new_unchecked("http://www.w3.org/1999/02/22-rdf-syntax-ns#type");
}
