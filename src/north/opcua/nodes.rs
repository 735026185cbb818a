//! The site's node manager: values live in async-opcua's in-memory address space (set by
//! [`super::space::update`]); Write and HistoryRead are mimic's own.
//!
//! A Write never reaches a device from here: each value written to a writable tag is
//! checked against the tag's limits (BadOutOfRange) and sent to the core as a write
//! request with the session's user, where it is authorised and waits for approval like
//! a terminal's; the Write is answered GoodCompletesAsynchronously, and the Value changes
//! only when the device's read-back is stored. A viewer's write (anonymous included) is
//! BadUserAccessDenied. Refusals are audited too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use opcua::server::ContinuationPoint;
use opcua::server::address_space::{AddressSpace, validate_node_write};
use opcua::server::diagnostics::NamespaceMetadata;
use opcua::server::node_manager::{
    DynNodeManager, HistoryNode, MethodCall, NodeManagerBuilder, RequestContext, ServerContext, WriteNode,
};
use opcua::types::{AttributeId, DataValue, HistoryData, Identifier, NodeId, StatusCode, TimestampsToReturn, Variant};

use super::auth::MimicAuth;
use super::history::{self, Aggregate, HistError, ProcCursor, RawCursor, Source, Value};
use super::space::{self, Layout, Live, ms_to_date};
use super::tags::TagNode;
use super::{Ctx, Request};
use crate::config::Site;
use crate::core::Act;
use crate::historian::{Historian, TagId};
use crate::users::Role;

/// What the node manager is built from.
pub struct Builder {
    site: Arc<Site>,
    historian: Arc<RwLock<Historian>>,
    tag_ids: Arc<Vec<TagId>>,
    auth: Arc<MimicAuth>,
}

impl Builder {
    pub fn new(cx: &Ctx, auth: Arc<MimicAuth>) -> Builder {
        Builder { site: cx.site.clone(), historian: cx.historian.clone(), tag_ids: cx.tag_ids.clone(), auth }
    }
}

impl NodeManagerBuilder for Builder {
    fn build(self: Box<Self>, context: ServerContext) -> Arc<DynNodeManager> {
        let uri = super::namespace_uri(&self.site);
        let ns = context.type_tree.write().namespaces_mut().add_namespace(&uri);
        let mut folders = AddressSpace::new();
        folders.add_namespace(&uri, ns);
        let layout = space::build(&mut folders, ns, &self.site);
        super::events::build(&mut folders, ns, &self.site);
        Arc::new(MimicNodes {
            ns,
            namespace: NamespaceMetadata { namespace_uri: uri, namespace_index: ns, ..Default::default() },
            live: RwLock::new(vec![None; self.site.tags.len()]),
            monitored: Mutex::default(),
            site: self.site,
            historian: self.historian,
            tag_ids: self.tag_ids,
            auth: self.auth,
            folders,
            layout,
        })
    }
}

/// The site's node manager (see [`super::manager`] for the services it answers).
pub struct MimicNodes {
    pub(super) ns: u16,
    pub(super) namespace: NamespaceMetadata,
    pub(super) site: Arc<Site>,
    historian: Arc<RwLock<Historian>>,
    tag_ids: Arc<Vec<TagId>>,
    pub(super) auth: Arc<MimicAuth>,
    /// The folders and the Acknowledge method: the only nodes held (none per tag).
    pub(super) folders: AddressSpace,
    pub(super) layout: Layout,
    /// The newest sample of each tag, by tag index.
    pub(super) live: RwLock<Vec<Option<Live>>>,
    /// The tags with monitored Values: their NodeId and how many items watch them.
    pub(super) monitored: Mutex<HashMap<usize, (NodeId, usize)>>,
}

/// A history read in progress, kept in the session's continuation point.
pub(super) enum Cursor {
    Raw(RawCursor),
    Processed(ProcCursor),
}

/// One page of values, and whether the read is complete.
type Page = (Vec<Value>, bool);

struct Continuation {
    tag: usize,
    /// Taken by the read that resumes it (the point is consumed).
    cursor: std::sync::Mutex<Option<Cursor>>,
}

impl MimicNodes {
    /// The site tag of a NodeId of this namespace.
    pub(super) fn tag_of(&self, id: &NodeId) -> Option<usize> {
        match &id.identifier {
            Identifier::String(s) if id.namespace == self.ns => self.site.tag_index(s.as_ref()),
            _ => None,
        }
    }

    /// The namespace index of the site's nodes.
    pub fn ns(&self) -> u16 {
        self.ns
    }

    /// The newest sample of a tag.
    pub(super) fn live(&self, tag: usize) -> Option<Live> {
        self.live.read().ok().and_then(|l| l.get(tag).copied().flatten())
    }

    /// Run `f` over one tag's samples, off the async threads.
    pub(super) async fn with_source<T: Send + 'static>(
        &self,
        tag: usize,
        f: impl FnOnce(&dyn Source) -> T + Send + 'static,
    ) -> Result<T, HistError> {
        let historian = self.historian.clone();
        let id = self.tag_ids[tag];
        tokio::task::spawn_blocking(move || {
            let h = historian.read().map_err(|_| HistError::Poisoned)?;
            Ok(f(&history::Store { h: &h, tag: id }))
        })
        .await
        .map_err(|_| HistError::Task)?
    }

    pub(super) fn to_data_value(&self, tag: usize, v: &Value, ttr: TimestampsToReturn, count: bool) -> DataValue {
        let t = &self.site.tags[tag];
        let value = v.value.map(|x| if count { Variant::Int32(x as i32) } else { space::variant(t, x) });
        let ts = Some(ms_to_date(v.ts_ms));
        let (source_timestamp, server_timestamp) = match ttr {
            TimestampsToReturn::Server => (None, ts),
            TimestampsToReturn::Both => (ts, ts),
            TimestampsToReturn::Neither => (None, None),
            _ => (ts, None),
        };
        DataValue { value, status: Some(v.status), source_timestamp, server_timestamp, ..Default::default() }
    }

    /// Finish one node of a history read: its values, and the continuation if not done.
    fn answer(
        &self,
        node: &mut HistoryNode,
        tag: usize,
        page: (Vec<Value>, bool),
        cursor: Cursor,
        ttr: TimestampsToReturn,
    ) {
        let count = matches!(&cursor, Cursor::Processed(p) if p.aggregate == Aggregate::Count);
        let (values, done) = page;
        tracing::debug!("history of {}: {} values, done {done}", self.site.tags[tag].name, values.len());
        let data_values = values.iter().map(|v| self.to_data_value(tag, v, ttr, count)).collect();
        node.set_result(HistoryData { data_values: Some(data_values) });
        node.set_status(StatusCode::Good);
        if !done {
            node.set_next_continuation_point(Some(ContinuationPoint::new(Box::new(Continuation {
                tag,
                cursor: std::sync::Mutex::new(Some(cursor)),
            }))));
        }
    }

    /// Go on with a read from its continuation point; `None` when the node has none.
    async fn resume(&self, node: &mut HistoryNode, ttr: TimestampsToReturn) -> Option<()> {
        let cp = node.continuation_point()?;
        let Some(c) = cp.get::<Continuation>() else {
            node.set_status(StatusCode::BadContinuationPointInvalid);
            return Some(());
        };
        let tag = c.tag;
        let Some(taken) = c.cursor.lock().ok().and_then(|mut g| g.take()) else {
            node.set_status(StatusCode::BadContinuationPointInvalid);
            return Some(());
        };
        let result = self
            .with_source(tag, move |src| {
                let mut cursor = taken;
                let page = match &mut cursor {
                    Cursor::Raw(c) => c.page(src),
                    Cursor::Processed(c) => c.page(src),
                };
                page.map(|p| (p, cursor))
            })
            .await;
        match result.and_then(|r| r) {
            Ok((page, cursor)) => self.answer(node, tag, page, cursor, ttr),
            Err(e) => node.set_status(e.status()),
        }
        Some(())
    }

    /// The tag of a node starting a new read; `None` when the node was handled here
    /// (resumed from its continuation point, or not a tag: BadNodeIdUnknown).
    pub(super) async fn new_read(&self, node: &mut HistoryNode, ttr: TimestampsToReturn) -> Option<usize> {
        if self.resume(node, ttr).await.is_some() {
            return None;
        }
        let tag = self.tag_of(node.node_id());
        if tag.is_none() {
            node.set_status(StatusCode::BadNodeIdUnknown);
        }
        tag
    }

    /// The first page of a new read made by `start`, answered on `node`.
    pub(super) async fn first_page(
        &self,
        node: &mut HistoryNode,
        tag: usize,
        ttr: TimestampsToReturn,
        start: impl FnOnce(&dyn Source) -> Result<(Page, Cursor), HistError> + Send + 'static,
    ) {
        match self.with_source(tag, start).await.and_then(|r| r) {
            Ok((page, cursor)) => self.answer(node, tag, page, cursor, ttr),
            Err(e) => node.set_status(e.status()),
        }
    }

    /// Ask the core; the answer's text only goes to the log.
    async fn request_write(&self, user: Option<String>, tag: &str, value: f64) -> StatusCode {
        let act = Act::RequestWrite { tag: tag.to_string(), value };
        match self.auth.ask(|reply| Request::Act { user, act, reply }).await {
            Ok(text) => {
                tracing::info!("OPC UA write of {tag} = {value}: {text}");
                StatusCode::GoodCompletesAsynchronously
            }
            Err(e) => {
                tracing::info!("OPC UA write of {tag} = {value} refused: {e}");
                StatusCode::BadRequestNotAllowed
            }
        }
    }

    /// Audit a write refused here (not reaching the core's approval path).
    async fn refused(&self, user: Option<String>, tag: &str, value: f64, status: StatusCode) {
        let why = format!("{status}");
        let answer = self.auth.ask(|reply| Request::Refused { user, tag: tag.to_string(), value, why, reply }).await;
        if let Err(e) = answer {
            tracing::warn!("refused OPC UA write of {tag} not audited: {e}");
        }
    }
}

/// The services of the trait that are mimic's own (the trait's impl is in [`super::manager`]).
impl MimicNodes {
    /// Write: a value for a writable tag becomes a write request to the core.
    pub(super) async fn write_tags(
        &self,
        context: &RequestContext,
        nodes_to_write: &mut [&mut WriteNode],
    ) -> Result<(), StatusCode> {
        let user = MimicAuth::user(&context.token);
        let role = self.auth.role(&context.token);
        // checked under the type tree's lock, sent to the core after it
        let mut asks = Vec::new();
        {
            let type_tree = context.type_tree.read();
            for (i, w) in nodes_to_write.iter_mut().enumerate() {
                let Some(tag) = self.tag_of(&w.value().node_id) else {
                    w.set_status(StatusCode::BadNodeIdUnknown);
                    continue;
                };
                if w.value().attribute_id != AttributeId::Value {
                    w.set_status(StatusCode::BadNotWritable);
                    continue;
                }
                let t = &self.site.tags[tag];
                let value = w.value().value.value.as_ref().and_then(mimic_drivers::opcua::value::variant_to_f64);
                let status = if !t.writable {
                    Some(StatusCode::BadNotWritable)
                } else if role < Role::Operator {
                    Some(StatusCode::BadUserAccessDenied)
                } else if let Err(e) = validate_node_write(
                    &TagNode::Tag(tag).node(&self.site, self.ns, None),
                    context,
                    w.value(),
                    &*type_tree,
                ) {
                    Some(e)
                } else {
                    match value {
                        None => Some(StatusCode::BadTypeMismatch),
                        Some(v) if t.low.is_some_and(|l| v < l) || t.high.is_some_and(|h| v > h) || v.is_nan() => {
                            Some(StatusCode::BadOutOfRange)
                        }
                        Some(_) => None,
                    }
                };
                match status {
                    Some(s) => {
                        w.set_status(s);
                        if t.writable {
                            asks.push((i, tag, value.unwrap_or(f64::NAN), Some(s)));
                        }
                    }
                    None => asks.push((i, tag, value.unwrap_or(f64::NAN), None)),
                }
            }
        }
        for (i, tag, value, refused) in asks {
            let name = &self.site.tags[tag].name;
            match refused {
                Some(s) => self.refused(user.clone(), name, value, s).await,
                None => {
                    let s = self.request_write(user.clone(), name, value).await;
                    nodes_to_write[i].set_status(s);
                }
            }
        }
        Ok(())
    }

    /// The site folder's Acknowledge (the only method of this namespace).
    pub(super) async fn call_methods(
        &self,
        context: &RequestContext,
        methods_to_call: &mut [&mut MethodCall],
    ) -> Result<(), StatusCode> {
        let ack = super::events::ack_method(self.ns);
        let site = space::site_node(self.ns, &self.site);
        for m in methods_to_call.iter_mut() {
            let status = if m.method_id() != &ack || m.object_id() != &site {
                StatusCode::BadMethodInvalid
            } else if !context.authenticator.is_user_executable(&context.token, m.method_id()) {
                StatusCode::BadUserAccessDenied
            } else if m.arguments().len() > 2 {
                StatusCode::BadTooManyArguments
            } else {
                super::events::acknowledge(&self.auth, &context.token, m.arguments()).await
            };
            m.set_status(status);
        }
        Ok(())
    }
}
