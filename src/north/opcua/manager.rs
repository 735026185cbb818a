//! The site's node manager as async-opcua sees it: Browse, Read, TranslateBrowsePaths,
//! monitored items and the value updates answered from the folders it holds
//! ([`super::space`]) and the tags' nodes made per request ([`super::tags`]); Write,
//! Call and HistoryRead are mimic's own ([`super::nodes`]).
//!
//! Memory: the folders (a few per asset) are held in an async-opcua address space;
//! per tag only its newest sample and its place in its folder are kept (about 30
//! bytes), where async-opcua's in-memory address space took about 4 KB.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use async_trait::async_trait;
use opcua::server::CreateMonitoredItem;
use opcua::server::SubscriptionCache;
use opcua::server::address_space::{EventNotifier, NodeType, ReferenceDirection, read_node_value, validate_node_read};
use opcua::server::diagnostics::NamespaceMetadata;
use opcua::server::node_manager::{
    AddReferenceResult, BrowseNode, BrowsePathItem, ExternalReference, ExternalReferenceRequest, HistoryNode,
    MethodCall, MonitoredItemRef, NodeManager, NodeMetadata, ParsedReadValueId, ReadNode, RequestContext,
    ServerContext, WriteNode, impl_translate_browse_paths_using_browse,
};
use opcua::types::{
    AttributeId, BrowseDirection, DataValue, ExpandedNodeId, HistoryData, Identifier, NodeClass, NodeId,
    ReadAtTimeDetails, ReadProcessedDetails, ReadRawModifiedDetails, ReferenceDescription, ReferenceTypeId, StatusCode,
    TimestampsToReturn, Variant,
};

use super::history::{self, Aggregate, ProcCursor, RawCursor};
use super::nodes::{Cursor, MimicNodes};
use super::space::{Live, date_to_ms};
use super::tags::{self, TagNode, Target};
use crate::core::Sample;

/// A browse continued: references not yet sent, then a folder's tags from `next`.
struct BrowseRest {
    refs: VecDeque<ReferenceDescription>,
    folder: Option<NodeId>,
    next: usize,
}

/// A node of this manager.
enum Own<'a> {
    /// A folder or the Acknowledge method (held).
    Held(&'a NodeType),
    Tag(TagNode),
}

impl MimicNodes {
    fn own(&self, id: &NodeId) -> Option<Own<'_>> {
        if let Some(n) = self.folders.find(id) {
            return Some(Own::Held(n));
        }
        TagNode::parse(&self.site, self.ns, id).map(Own::Tag)
    }

    /// The node of `id` for one request: the held node, or a tag's node made now.
    fn with_node<T>(&self, id: &NodeId, f: impl FnOnce(&NodeType) -> T) -> Option<T> {
        match self.own(id)? {
            Own::Held(n) => Some(f(n)),
            Own::Tag(t) => Some(f(&t.node(&self.site, self.ns, self.live(t.tag())))),
        }
    }

    fn metadata_of_held(&self, n: &NodeType, type_tree: &dyn opcua::nodes::TypeTree) -> NodeMetadata {
        let node = n.as_node();
        let type_definition = match node.node_class() {
            NodeClass::Object | NodeClass::Variable => self
                .folders
                .find_references(
                    node.node_id(),
                    Some((ReferenceTypeId::HasTypeDefinition, false)),
                    type_tree,
                    BrowseDirection::Forward,
                )
                .next()
                .map_or(ExpandedNodeId::null(), |r| ExpandedNodeId::new(r.target_node.clone())),
            _ => ExpandedNodeId::null(),
        };
        NodeMetadata {
            node_id: ExpandedNodeId::new(node.node_id().clone()),
            type_definition,
            browse_name: node.browse_name().clone(),
            display_name: node.display_name().clone(),
            node_class: node.node_class(),
        }
    }

    fn metadata(&self, id: &NodeId, type_tree: &dyn opcua::nodes::TypeTree) -> Option<NodeMetadata> {
        match self.own(id)? {
            Own::Held(n) => Some(self.metadata_of_held(n, type_tree)),
            Own::Tag(t) => Some(t.metadata(&self.site, self.ns)),
        }
    }

    /// Browse one node from the start; what does not fit goes to the continuation.
    fn browse_one(&self, node: &mut BrowseNode, type_tree: &dyn opcua::nodes::TypeTree) {
        let id = node.node_id().clone();
        let own = self.own(&id);
        if own.is_some() {
            node.set_status(StatusCode::Good);
        } else if id.namespace == self.ns {
            node.set_status(StatusCode::BadNodeIdUnknown);
            return;
        }
        let mut rest = BrowseRest { refs: VecDeque::new(), folder: None, next: 0 };
        let mut add = |node: &mut BrowseNode, r: ReferenceDescription| {
            if let AddReferenceResult::Full(r) = node.add(type_tree, r) {
                rest.refs.push_back(r);
            }
        };
        if let Some(Own::Tag(t)) = own {
            for (kind, forward, target) in t.references(&self.site, &self.layout) {
                if !(if forward { node.allows_forward() } else { node.allows_inverse() }) {
                    continue;
                }
                let meta = match target {
                    Target::Tag(t) => Some(t.metadata(&self.site, self.ns)),
                    Target::Other(id) => self.metadata(&id, type_tree).or_else(|| {
                        let dir = if forward { ReferenceDirection::Forward } else { ReferenceDirection::Inverse };
                        node.push_external_reference(ExternalReference::new(id.into(), kind.into(), dir));
                        None
                    }),
                };
                if let Some(m) = meta {
                    add(node, m.into_ref_desc(forward, kind));
                }
            }
        } else {
            // held nodes, and nodes of other managers that organise the site folder
            let filter = node.reference_type_id().as_reference_type_id().ok().map(|t| (t, node.include_subtypes()));
            for r in self.folders.find_references(&id, filter, type_tree, node.browse_direction()) {
                let forward = matches!(r.direction, ReferenceDirection::Forward);
                match self.folders.find(r.target_node) {
                    Some(n) => {
                        add(node, self.metadata_of_held(n, type_tree).into_ref_desc(forward, r.reference_type.clone()))
                    }
                    None => node.push_external_reference(ExternalReference::new(
                        r.target_node.clone().into(),
                        r.reference_type.clone(),
                        r.direction,
                    )),
                }
            }
            if node.allows_forward() && self.layout.children.contains_key(&id) {
                rest.folder = Some(id);
            }
        }
        self.go_on(node, rest, type_tree);
    }

    /// Add what is left of a browse, and keep what still does not fit.
    fn go_on(&self, node: &mut BrowseNode, mut rest: BrowseRest, type_tree: &dyn opcua::nodes::TypeTree) {
        while node.remaining() > 0 {
            let Some(r) = rest.refs.pop_front() else { break };
            node.add_unchecked(r);
        }
        if rest.refs.is_empty()
            && let Some(tags) = rest.folder.as_ref().and_then(|f| self.layout.children.get(f))
        {
            while rest.next < tags.len() {
                let r = tags::organizes(&self.site, self.ns, tags[rest.next] as usize);
                if let AddReferenceResult::Full(_) = node.add(type_tree, r) {
                    break;
                }
                rest.next += 1;
            }
            if rest.next == tags.len() {
                rest.folder = None;
            }
        }
        if !rest.refs.is_empty() || rest.folder.is_some() {
            node.set_next_continuation_point(Box::new(rest));
        }
    }

    /// The Value of each tag in `batch` (the newest sample of a tag wins), kept and
    /// notified to the monitored items that watch it.
    pub fn update(&self, subscriptions: &SubscriptionCache, batch: &[Sample]) {
        if let Ok(mut live) = self.live.write() {
            for s in batch {
                if let Some(l) = live.get_mut(s.tag) {
                    *l = Some(Live::from(s));
                }
            }
        }
        let Ok(monitored) = self.monitored.lock() else { return };
        if monitored.is_empty() {
            return;
        }
        let mut newest: BTreeMap<usize, (&NodeId, Live)> = BTreeMap::new();
        for s in batch {
            if let Some((id, _)) = monitored.get(&s.tag) {
                newest.insert(s.tag, (id, Live::from(s)));
            }
        }
        let by_id: std::collections::HashMap<&NodeId, (usize, Live)> =
            newest.iter().map(|(&t, &(id, l))| (id, (t, l))).collect();
        subscriptions.maybe_notify(newest.values().map(|(id, _)| (*id, AttributeId::Value)), |id, _, range, enc| {
            let &(tag, live) = by_id.get(id)?;
            if range.has_range() {
                let n = TagNode::Tag(tag).node(&self.site, self.ns, Some(live));
                return n.as_node().get_attribute(TimestampsToReturn::Both, AttributeId::Value, range, enc);
            }
            Some(super::space::data_value(&self.site.tags[tag], Some(live)))
        });
    }

    fn read_one(
        &self,
        context: &RequestContext,
        r: &ParsedReadValueId,
        max_age: f64,
        ttr: TimestampsToReturn,
    ) -> DataValue {
        let read = |n: &NodeType| match validate_node_read(n, context, r) {
            Ok(()) => read_node_value(n, context, r, max_age, ttr),
            Err(e) => DataValue { status: Some(e), ..Default::default() },
        };
        self.with_node(&r.node_id, read)
            .unwrap_or_else(|| DataValue { status: Some(StatusCode::BadNodeIdUnknown), ..Default::default() })
    }

    /// One monitored item: its first value, and the tags whose Values it watches.
    fn monitor(&self, context: &RequestContext, item: &mut CreateMonitoredItem) {
        let r = item.item_to_monitor().clone();
        if self.own(&r.node_id).is_none() {
            item.set_status(StatusCode::BadNodeIdUnknown);
            return;
        }
        let value = self.read_one(context, &r, 0.0, item.timestamps_to_return());
        if let Some(e) = value.status.filter(|s| {
            matches!(
                *s,
                StatusCode::BadUserAccessDenied
                    | StatusCode::BadIndexRangeDataMismatch
                    | StatusCode::BadDataEncodingInvalid
            )
        }) {
            item.set_status(e);
            return;
        }
        if r.attribute_id == AttributeId::EventNotifier {
            let notifier = match value.value {
                Some(Variant::Byte(b)) => EventNotifier::from_bits_truncate(b),
                _ => EventNotifier::empty(),
            };
            let status = if notifier.contains(EventNotifier::SUBSCRIBE_TO_EVENTS) {
                StatusCode::Good
            } else {
                StatusCode::BadAttributeIdInvalid
            };
            item.set_status(status);
            return;
        }
        if value.status != Some(StatusCode::BadAttributeIdInvalid) {
            item.set_initial_value(value);
        }
        item.set_status(StatusCode::Good);
        if let (AttributeId::Value, Some(tag)) = (r.attribute_id, self.tag_of(&r.node_id))
            && let Ok(mut m) = self.monitored.lock()
        {
            m.entry(tag).or_insert_with(|| (r.node_id.clone(), 0)).1 += 1;
        }
    }
}

#[async_trait]
impl NodeManager for MimicNodes {
    fn owns_node(&self, id: &NodeId) -> bool {
        id.namespace == self.ns
    }

    fn name(&self) -> &str {
        "mimic"
    }

    fn namespaces_for_user(&self, _context: &RequestContext) -> Vec<NamespaceMetadata> {
        vec![self.namespace.clone()]
    }

    async fn init(&self, type_tree: &mut opcua::nodes::DefaultTypeTree, _context: ServerContext) {
        self.folders.load_into_type_tree(type_tree);
    }

    async fn resolve_external_references(&self, context: &RequestContext, items: &mut [&mut ExternalReferenceRequest]) {
        let type_tree = context.type_tree.read();
        for item in items {
            if let Some(m) = self.metadata(item.node_id(), &*type_tree) {
                item.set(m);
            }
        }
    }

    async fn browse(&self, context: &RequestContext, nodes: &mut [BrowseNode]) -> Result<(), StatusCode> {
        let type_tree = context.type_tree.read();
        for node in nodes.iter_mut() {
            if node.node_id().is_null() {
                continue;
            }
            match node.take_continuation_point::<BrowseRest>() {
                Some(rest) => {
                    node.set_status(StatusCode::Good);
                    self.go_on(node, *rest, &*type_tree)
                }
                None => self.browse_one(node, &*type_tree),
            }
        }
        Ok(())
    }

    async fn translate_browse_paths_to_node_ids(
        &self,
        context: &RequestContext,
        nodes: &mut [&mut BrowsePathItem],
    ) -> Result<(), StatusCode> {
        impl_translate_browse_paths_using_browse(self, context, nodes).await
    }

    async fn read(
        &self,
        context: &RequestContext,
        max_age: f64,
        ttr: TimestampsToReturn,
        nodes_to_read: &mut [&mut ReadNode],
    ) -> Result<(), StatusCode> {
        for n in nodes_to_read.iter_mut() {
            let value = self.read_one(context, n.node(), max_age, ttr);
            n.set_result(value);
        }
        Ok(())
    }

    async fn create_monitored_items(
        &self,
        context: &RequestContext,
        items: &mut [&mut CreateMonitoredItem],
    ) -> Result<(), StatusCode> {
        for item in items.iter_mut() {
            self.monitor(context, item);
        }
        Ok(())
    }

    async fn delete_monitored_items(&self, _context: &RequestContext, items: &[&MonitoredItemRef]) {
        let Ok(mut m) = self.monitored.lock() else { return };
        for item in items.iter().filter(|i| i.attribute() == AttributeId::Value) {
            if let Some(tag) = self.tag_of(item.node_id())
                && let Some(e) = m.get_mut(&tag)
            {
                e.1 = e.1.saturating_sub(1);
                if e.1 == 0 {
                    m.remove(&tag);
                }
            }
        }
    }

    async fn write(&self, context: &RequestContext, nodes_to_write: &mut [&mut WriteNode]) -> Result<(), StatusCode> {
        self.write_tags(context, nodes_to_write).await
    }

    async fn call(&self, context: &RequestContext, methods_to_call: &mut [&mut MethodCall]) -> Result<(), StatusCode> {
        self.call_methods(context, methods_to_call).await
    }

    async fn history_read_raw_modified(
        &self,
        _context: &RequestContext,
        details: &ReadRawModifiedDetails,
        nodes: &mut [&mut HistoryNode],
        ttr: TimestampsToReturn,
    ) -> Result<(), StatusCode> {
        if details.is_read_modified {
            return Err(StatusCode::BadHistoryOperationUnsupported);
        }
        for node in nodes.iter_mut() {
            let Some(tag) = self.new_read(node, ttr).await else { continue };
            let (start, end) = (date_to_ms(&details.start_time), date_to_ms(&details.end_time));
            let (n, bounds) = (details.num_values_per_node, details.return_bounds);
            self.first_page(node, tag, ttr, move |src| {
                let mut c = RawCursor::new(start, end, n, bounds)?;
                if let Some(s) = start.or(end) {
                    c.start_bound(src, s)?;
                }
                Ok((c.page(src)?, Cursor::Raw(c)))
            })
            .await;
        }
        Ok(())
    }

    async fn history_read_processed(
        &self,
        _context: &RequestContext,
        details: &ReadProcessedDetails,
        nodes: &mut [&mut HistoryNode],
        ttr: TimestampsToReturn,
    ) -> Result<(), StatusCode> {
        let aggregates = details.aggregate_type.as_deref().unwrap_or(&[]);
        // the aggregate of each node: one for all, or one per node when all are ours
        let same = aggregates.first().filter(|a| aggregates.iter().all(|b| b == *a));
        if same.is_none() && aggregates.len() != nodes.len() {
            return Err(StatusCode::BadAggregateListMismatch);
        }
        let (Some(start), Some(end)) = (date_to_ms(&details.start_time), date_to_ms(&details.end_time)) else {
            return Err(StatusCode::BadInvalidTimestampArgument);
        };
        let interval = details.processing_interval.round() as i64;
        for (i, node) in nodes.iter_mut().enumerate() {
            let Some(tag) = self.new_read(node, ttr).await else { continue };
            let agg_id = same.unwrap_or(&aggregates[i]);
            let agg = match &agg_id.identifier {
                Identifier::Numeric(n) if agg_id.namespace == 0 => Aggregate::from_id(*n),
                _ => None,
            };
            let Some(agg) = agg else {
                node.set_status(StatusCode::BadAggregateNotSupported);
                continue;
            };
            self.first_page(node, tag, ttr, move |src| {
                let mut c = ProcCursor::new(agg, start, end, interval)?;
                Ok((c.page(src)?, Cursor::Processed(c)))
            })
            .await;
        }
        Ok(())
    }

    async fn history_read_at_time(
        &self,
        _context: &RequestContext,
        details: &ReadAtTimeDetails,
        nodes: &mut [&mut HistoryNode],
        ttr: TimestampsToReturn,
    ) -> Result<(), StatusCode> {
        let times: Vec<i64> = details.req_times.iter().flatten().filter_map(date_to_ms).collect();
        if times.is_empty() {
            return Err(StatusCode::BadInvalidTimestampArgument);
        }
        let times = Arc::new(times);
        for node in nodes.iter_mut() {
            let Some(tag) = self.tag_of(node.node_id()) else {
                node.set_status(StatusCode::BadNodeIdUnknown);
                continue;
            };
            let t = times.clone();
            match self.with_source(tag, move |src| history::at_times(src, &t)).await.and_then(|r| r) {
                Ok(values) => {
                    let data_values = values.iter().map(|v| self.to_data_value(tag, v, ttr, false)).collect();
                    node.set_result(HistoryData { data_values: Some(data_values) });
                    node.set_status(StatusCode::Good);
                }
                Err(e) => node.set_status(e.status()),
            }
        }
        Ok(())
    }
}
