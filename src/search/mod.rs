//! The search projection: a tantivy index on disk of every history
//! document, with the same watermark and rebuild rules as the graph (the
//! last applied sequence rides in each commit's payload).
//!
//! Queries are built as values. What a person types is only ever split into
//! words by the index's own analyzer: no input is query syntax, so no input
//! fails to parse.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::path::Path;
use std::sync::Mutex;

use tantivy::collector::TopDocs;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TokenStream;
use tantivy::{
    DocAddress, Index, IndexReader, IndexSettings, IndexWriter, Order, ReloadPolicy, Searcher, TantivyDocument, Term,
};

use crate::model::{DocKind, Seq, TextDoc};

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index at {path}: {message}")]
    Open { path: String, message: String },
    #[error("search document {doc}: {message}")]
    BadDocument { doc: String, message: String },
}

/// Field boosts: a word in the title or the root cause says more than one
/// in the body. (The body holds every section, the resolution included: a
/// clause per field is a posting list per word, so only the fields that
/// change the ranking get one.)
const BOOSTS: [(&str, f32); 3] = [("title", 3.0), ("root_cause", 2.0), ("body", 1.0)];

/// Stored documents are read in blocks of this size, and each read
/// decompresses its whole block: an answer reads a few hundred scattered
/// documents, so small blocks cost less than tantivy's 16 KiB.
const DOC_STORE_BLOCK: usize = 4096;

/// Decompressed blocks cached per segment (4 KiB each).
const DOC_STORE_CACHE_BLOCKS: usize = 1000;

fn settings() -> IndexSettings {
    IndexSettings { docstore_blocksize: DOC_STORE_BLOCK, ..IndexSettings::default() }
}

/// A filter with more values than this is a term set.
const TERM_SET_MIN: usize = 32;

/// At most this many words of a query are used.
const MAX_TERMS: usize = 32;
/// The analyzer of every text field: words, lower case, English stop words
/// dropped, English stemming.
const ANALYZER: &str = "ffo_en";

fn register_analyzer(index: &Index) {
    use tantivy::tokenizer::{
        Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
    };
    let mut builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .dynamic();
    if let Some(stop) = StopWordFilter::new(Language::English) {
        builder = builder.filter_dynamic(stop);
    }
    let analyzer = builder.filter_dynamic(Stemmer::new(Language::English)).build();
    index.tokenizers().register(ANALYZER, analyzer);
}

/// `KafkaConsumerGroupLagHigh` → `Kafka Consumer Group Lag High`.
pub fn split_camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_uppercase() && prev_lower {
            out.push(' ');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        out.push(c);
    }
    out
}

struct Fields {
    doc_id: Field,
    kind: Field,
    source: Field,
    title: Field,
    body: Field,
    root_cause: Field,
    resolution: Field,
    entities: Field,
    affects: Field,
    alerts: Field,
    severity: Field,
    /// The level the document is seen at (its own classification raised to
    /// its most sensitive entity), computed by the projection.
    level: Field,
    /// Seconds since the epoch: when it happened (created, else updated).
    date: Field,
    json: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(ANALYZER).set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        doc_id: b.add_text_field("doc_id", STRING | STORED),
        kind: b.add_text_field("kind", STRING),
        source: b.add_text_field("source", STRING),
        title: b.add_text_field("title", text.clone()),
        body: b.add_text_field("body", text.clone()),
        root_cause: b.add_text_field("root_cause", text.clone()),
        resolution: b.add_text_field("resolution", text),
        entities: b.add_text_field("entities", STRING),
        affects: b.add_text_field("affects", STRING),
        alerts: b.add_text_field("alerts", STRING),
        severity: b.add_text_field("severity", STRING),
        level: b.add_text_field("level", STRING | STORED),
        date: b.add_i64_field("date", NumericOptions::default().set_indexed().set_fast()),
        json: b.add_text_field("json", STORED),
    };
    (b.build(), fields)
}

/// A search: words, filters, a limit.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// What the user typed; only its words count.
    pub text: String,
    /// Documents that affect or mention any of these entity ids.
    pub entities: Vec<String>,
    /// Documents that affect any of these (stricter than `entities`).
    pub affects: Vec<String>,
    /// Runbooks or firings of any of these alert names.
    pub alerts: Vec<String>,
    pub kinds: Vec<DocKind>,
    /// Epoch seconds, inclusive.
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Classification levels the caller may see; `None`: all.
    pub allowed: Option<Vec<String>>,
    /// Only these documents (ids).
    pub doc_ids: Vec<String>,
    pub limit: usize,
    /// Make a snippet for each hit.
    pub snippets: bool,
}

/// A matched passage: text and the byte ranges of matched words in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snippet {
    pub text: String,
    pub highlights: Vec<std::ops::Range<usize>>,
}

impl Snippet {
    /// The snippet with matched words wrapped in `open` and `close`.
    pub fn marked(&self, open: &str, close: &str) -> String {
        let mut out = String::with_capacity(self.text.len() + 8 * self.highlights.len());
        let mut at = 0;
        for r in &self.highlights {
            if r.start < at || r.end > self.text.len() {
                continue;
            }
            out.push_str(&self.text[at..r.start]);
            out.push_str(open);
            out.push_str(&self.text[r.clone()]);
            out.push_str(close);
            at = r.end;
        }
        out.push_str(&self.text[at..]);
        out
    }
}

/// One document to put in the index, or take out.
#[derive(Debug, Clone)]
pub struct IndexUpdate<'a> {
    pub doc_id: String,
    /// The document, its JSON as the ledger holds it (stored as is), and
    /// its level; `None` deletes.
    pub put: Option<(TextDoc, std::borrow::Cow<'a, str>, String)>,
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub doc: TextDoc,
    /// BM25 with field boosts; 0 when the query had no words.
    pub score: f32,
    pub snippet: Snippet,
}

/// A document as the index holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indexed {
    pub doc_id: String,
    /// The JSON of its `TextDoc`, as the ledger holds it.
    pub json: String,
    pub level: String,
}

/// The search projection.
pub struct Search {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
}

impl Search {
    /// Opens the index in `dir`, or creates it. An index written with
    /// another schema (an older FFO) is dropped: it is a projection, and the
    /// next catch-up rebuilds it from the ledger.
    pub fn open(dir: &Path) -> Result<Search, SearchError> {
        let open_error =
            |e: &dyn std::fmt::Display| SearchError::Open { path: dir.display().to_string(), message: e.to_string() };
        let (schema, fields) = schema();
        if dir.join("meta.json").exists() {
            let directory = tantivy::directory::MmapDirectory::open(dir).map_err(|e| open_error(&e))?;
            let current = Index::open(directory).map(|i| i.schema() == schema).unwrap_or(false);
            if !current {
                tracing::warn!(path = %dir.display(), "the search index has an older schema; rebuilding it from the ledger");
                std::fs::remove_dir_all(dir).map_err(|e| open_error(&e))?;
            }
        }
        std::fs::create_dir_all(dir).map_err(|e| open_error(&e))?;
        let directory = tantivy::directory::MmapDirectory::open(dir).map_err(|e| open_error(&e))?;
        let index = Index::builder().schema(schema).settings(settings()).open_or_create(directory)?;
        Search::with_index(index, fields)
    }

    pub fn in_memory() -> Result<Search, SearchError> {
        let (schema, fields) = schema();
        Search::with_index(Index::builder().schema(schema).settings(settings()).create_in_ram()?, fields)
    }

    fn with_index(index: Index, fields: Fields) -> Result<Search, SearchError> {
        register_analyzer(&index);
        let writer = index.writer_with_num_threads(1, 64 * 1024 * 1024)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .doc_store_cache_num_blocks(DOC_STORE_CACHE_BLOCKS)
            .try_into()?;
        Ok(Search { index, reader, writer: Mutex::new(writer), fields })
    }

    /// The last ledger sequence committed to the index.
    pub fn applied(&self) -> Result<Seq, SearchError> {
        let metas = self.index.load_metas()?;
        Ok(Seq(metas.payload.and_then(|p| p.parse().ok()).unwrap_or(0)))
    }

    /// Replaces the documents of a batch (`None` deletes) and commits,
    /// recording `seq` (if given) in the commit. Each document comes with
    /// its JSON as the ledger holds it, which the index stores as is.
    pub fn apply(&self, updates: &[IndexUpdate<'_>], seq: Option<Seq>) -> Result<(), SearchError> {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        for u in updates {
            writer.delete_term(Term::from_field_text(self.fields.doc_id, &u.doc_id));
            if let Some((doc, json, level)) = &u.put {
                writer.add_document(self.document(doc, json, level))?;
            }
        }
        let payload = match seq {
            Some(s) => s.to_string(),
            None => self.applied()?.to_string(),
        };
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(&payload);
        commit.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Drops every document.
    pub fn clear(&self) -> Result<(), SearchError> {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        writer.delete_all_documents()?;
        let mut commit = writer.prepare_commit()?;
        commit.set_payload("0");
        commit.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn document(&self, d: &TextDoc, json: &str, level: &str) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.doc_id, &d.doc_id);
        if let Some(k) = d.kind {
            doc.add_text(f.kind, k.as_str());
        }
        doc.add_text(f.source, &d.source);
        // Alert names are one CamelCase word; their parts are words too.
        let alert_words: Vec<String> = d.alerts.iter().map(|a| split_camel(a)).collect();
        doc.add_text(f.title, format!("{} {}", d.title, alert_words.join(" ")));
        doc.add_text(f.body, &d.body);
        doc.add_text(f.root_cause, &d.root_cause);
        doc.add_text(f.resolution, &d.resolution);
        let entities: BTreeSet<&String> = d.affects.iter().chain(&d.mentions).chain(&d.cause_in).collect();
        for e in entities {
            doc.add_text(f.entities, e);
        }
        for e in &d.affects {
            doc.add_text(f.affects, e);
        }
        for a in &d.alerts {
            doc.add_text(f.alerts, a.to_lowercase());
        }
        if let Some(s) = &d.severity {
            doc.add_text(f.severity, s.to_lowercase());
        }
        doc.add_text(f.level, level);
        if let Some(t) =
            d.created.as_deref().or(d.updated.as_deref()).and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        {
            doc.add_i64(f.date, t.timestamp());
        }
        doc.add_text(f.json, json);
        doc
    }

    /// The analysed words of a text, as the index sees them.
    pub fn words(&self, text: &str) -> Vec<String> {
        let Ok(mut analyzer) = self.index.tokenizer_for_field(self.fields.body) else {
            return Vec::new();
        };
        let mut stream = analyzer.token_stream(text);
        let mut out: Vec<String> = Vec::new();
        while let Some(t) = stream.next() {
            if !out.contains(&t.text) {
                out.push(t.text.clone());
            }
            if out.len() == MAX_TERMS {
                break;
            }
        }
        out
    }

    /// How many documents match (the query's limit does not apply).
    pub fn count(&self, q: &SearchQuery) -> Result<usize, SearchError> {
        let (query, _) = self.build(q);
        Ok(self.reader.searcher().search(&query, &tantivy::collector::Count)?)
    }

    pub fn search(&self, q: &SearchQuery) -> Result<Vec<Hit>, SearchError> {
        let mut hits = self.search_many(std::slice::from_ref(q))?;
        Ok(hits.pop().unwrap_or_default())
    }

    /// Several searches on one view of the index; a document found by more
    /// than one is read from the store and parsed once.
    pub fn search_many(&self, queries: &[SearchQuery]) -> Result<Vec<Vec<Hit>>, SearchError> {
        let searcher = self.reader.searcher();
        let mut read = HashMap::new();
        queries
            .iter()
            .map(|q| {
                let (query, text_query) = self.build(q);
                self.run(&searcher, q, &query, text_query.as_ref(), &mut read)
            })
            .collect()
    }

    /// The query for a search (words, if any, and every filter) and the
    /// words' own part.
    fn build(&self, q: &SearchQuery) -> (Box<dyn Query>, Option<BooleanQuery>) {
        let f = &self.fields;
        let words = self.words(&q.text);
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let text_query: Option<BooleanQuery> = (!words.is_empty()).then(|| {
            let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for w in &words {
                for (name, boost) in BOOSTS {
                    let field = self.field(name);
                    let tq = TermQuery::new(Term::from_field_text(field, w), IndexRecordOption::WithFreqs);
                    should.push((Occur::Should, Box::new(BoostQuery::new(Box::new(tq), boost))));
                }
            }
            BooleanQuery::new(should)
        });
        if let Some(t) = &text_query {
            must.push((Occur::Must, Box::new(t.clone())));
        }
        // Filters match or not and add nothing to the score, so only the
        // words rank. Many values (an entity filter holds a target's
        // neighbours) make one term set, which walks the dictionary once; a
        // few are cheaper as term queries (a term set builds an FST first).
        let any_of = |field: Field, values: &[String]| -> Box<dyn Query> {
            let terms = values.iter().map(|v| Term::from_field_text(field, v));
            let query: Box<dyn Query> = if values.len() > TERM_SET_MIN {
                Box::new(TermSetQuery::new(terms))
            } else {
                Box::new(BooleanQuery::new(
                    terms
                        .map(|t| {
                            let q: Box<dyn Query> = Box::new(TermQuery::new(t, IndexRecordOption::Basic));
                            (Occur::Should, q)
                        })
                        .collect(),
                ))
            };
            Box::new(ConstScoreQuery::new(query, 0.0))
        };
        if !q.entities.is_empty() {
            must.push((Occur::Must, any_of(f.entities, &q.entities)));
        }
        if !q.affects.is_empty() {
            must.push((Occur::Must, any_of(f.affects, &q.affects)));
        }
        if !q.alerts.is_empty() {
            let lower: Vec<String> = q.alerts.iter().map(|a| a.to_lowercase()).collect();
            must.push((Occur::Must, any_of(f.alerts, &lower)));
        }
        if !q.kinds.is_empty() {
            let kinds: Vec<String> = q.kinds.iter().map(|k| k.as_str().to_string()).collect();
            must.push((Occur::Must, any_of(f.kind, &kinds)));
        }
        if let Some(allowed) = &q.allowed {
            must.push((Occur::Must, any_of(f.level, allowed)));
        }
        if !q.doc_ids.is_empty() {
            must.push((Occur::Must, any_of(f.doc_id, &q.doc_ids)));
        }
        if q.since.is_some() || q.until.is_some() {
            let bound =
                |v: Option<i64>| v.map_or(Bound::Unbounded, |v| Bound::Included(Term::from_field_i64(f.date, v)));
            let range = Box::new(RangeQuery::new(bound(q.since), bound(q.until)));
            must.push((Occur::Must, Box::new(ConstScoreQuery::new(range, 0.0))));
        }
        let query: Box<dyn Query> = match must.len() {
            0 => Box::new(AllQuery),
            1 if text_query.is_some() => must.remove(0).1,
            _ => Box::new(BooleanQuery::new(must)),
        };
        (query, text_query)
    }

    fn run(
        &self,
        searcher: &Searcher,
        q: &SearchQuery,
        query: &dyn Query,
        text_query: Option<&BooleanQuery>,
        read: &mut HashMap<DocAddress, TextDoc>,
    ) -> Result<Vec<Hit>, SearchError> {
        let f = &self.fields;
        let limit = q.limit.max(1);
        let addresses: Vec<(f32, DocAddress)> = if text_query.is_some() {
            searcher.search(query, &TopDocs::with_limit(limit).order_by_score())?
        } else {
            // Without words, the newest first.
            searcher
                .search(query, &TopDocs::with_limit(limit).order_by_fast_field::<i64>("date", Order::Desc))?
                .into_iter()
                .map(|(_, a)| (0.0, a))
                .collect()
        };
        let snippets = match text_query {
            Some(t) if q.snippets => Some(SnippetGenerator::create(searcher, t, f.body)?),
            _ => None,
        };
        let mut hits = Vec::with_capacity(addresses.len());
        for (score, address) in addresses {
            let doc = match read.get(&address) {
                Some(doc) => doc.clone(),
                None => {
                    let stored: TantivyDocument = searcher.doc(address)?;
                    let Some(json) = stored.get_first(f.json).and_then(|v| v.as_str()) else {
                        continue;
                    };
                    let mut doc: TextDoc = serde_json::from_str(json).map_err(|e| SearchError::BadDocument {
                        doc: format!("{address:?}"),
                        message: e.to_string(),
                    })?;
                    // Answers say the level the document is seen at.
                    doc.classification = stored.get_first(f.level).and_then(|v| v.as_str()).map(str::to_string);
                    read.insert(address, doc.clone());
                    doc
                }
            };
            let snippet = match &snippets {
                Some(g) => {
                    let s = g.snippet(&doc.body);
                    Snippet { text: s.fragment().to_string(), highlights: s.highlighted().to_vec() }
                }
                None => Snippet::default(),
            };
            hits.push(Hit { doc, score, snippet });
        }
        Ok(hits)
    }

    /// Which of a query's words (from [`Search::words`]) occur in a
    /// document's searchable text: the explanation of a text match.
    pub fn matched(&self, words: &[String], doc: &TextDoc) -> Vec<String> {
        if words.is_empty() {
            return Vec::new();
        }
        let text = format!("{} {} {} {}", doc.title, doc.root_cause, doc.resolution, doc.body);
        let present: BTreeSet<String> = self.words_unbounded(&text);
        words.iter().filter(|w| present.contains(*w)).cloned().collect()
    }

    fn words_unbounded(&self, text: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        if let Ok(mut analyzer) = self.index.tokenizer_for_field(self.fields.body) {
            let mut stream = analyzer.token_stream(text);
            while let Some(t) = stream.next() {
                out.insert(t.text.clone());
            }
        }
        out
    }

    /// A stored document by id, with the level it is seen at.
    pub fn get(&self, doc_id: &str) -> Result<Option<TextDoc>, SearchError> {
        let q = SearchQuery { doc_ids: vec![doc_id.to_string()], limit: 1, ..SearchQuery::default() };
        Ok(self.search(&q)?.into_iter().next().map(|h| h.doc))
    }

    /// Every indexed document that affects, mentions or names as a cause
    /// any of `entities`: what to reclassify when their levels change.
    pub fn about_entities(&self, entities: &[String]) -> Result<Vec<Indexed>, SearchError> {
        if entities.is_empty() {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let terms = entities.iter().map(|e| Term::from_field_text(self.fields.entities, e));
        let query = TermSetQuery::new(terms);
        let n = searcher.search(&query, &tantivy::collector::Count)?;
        let top = searcher.search(&query, &TopDocs::with_limit(n.max(1)).order_by_score())?;
        top.into_iter().map(|(_, a)| self.indexed(&searcher, a)).collect()
    }

    /// Every document in the index, sorted by id: what an index is compared
    /// with a rebuild by, and what a reclassification of everything reads.
    pub fn all_docs(&self) -> Result<Vec<Indexed>, SearchError> {
        let searcher = self.reader.searcher();
        let n = searcher.num_docs() as usize;
        let top = searcher.search(&AllQuery, &TopDocs::with_limit(n.max(1)).order_by_score())?;
        let mut out = top.into_iter().map(|(_, a)| self.indexed(&searcher, a)).collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| a.doc_id.cmp(&b.doc_id));
        Ok(out)
    }

    /// How many documents are indexed at each level.
    pub fn level_counts(&self) -> Result<Vec<(String, usize)>, SearchError> {
        let searcher = self.reader.searcher();
        let mut levels: BTreeSet<String> = BTreeSet::new();
        for segment in searcher.segment_readers() {
            let index = segment.inverted_index(self.fields.level)?;
            let mut terms = index.terms().stream().map_err(tantivy::TantivyError::from)?;
            while terms.advance() {
                levels.insert(String::from_utf8_lossy(terms.key()).into_owned());
            }
        }
        // The dictionary keeps terms of deleted documents: count live ones.
        let mut out = Vec::new();
        for level in levels {
            let q = TermQuery::new(Term::from_field_text(self.fields.level, &level), IndexRecordOption::Basic);
            let n = searcher.search(&q, &tantivy::collector::Count)?;
            if n > 0 {
                out.push((level, n));
            }
        }
        Ok(out)
    }

    fn indexed(&self, searcher: &Searcher, address: DocAddress) -> Result<Indexed, SearchError> {
        let d: TantivyDocument = searcher.doc(address)?;
        let text = |f: Field| d.get_first(f).and_then(|v| v.as_str()).unwrap_or_default().to_string();
        Ok(Indexed { doc_id: text(self.fields.doc_id), json: text(self.fields.json), level: text(self.fields.level) })
    }

    fn field(&self, name: &str) -> Field {
        match name {
            "title" => self.fields.title,
            "root_cause" => self.fields.root_cause,
            "resolution" => self.fields.resolution,
            _ => self.fields.body,
        }
    }
}
