//! Walking a server's address space for `mimic browse`: objects and variables under a
//! root (default: the Objects folder), with each variable's data type, access, current
//! value and engineering range (its `EURange` property), so that tag entries can be
//! written for the site file.
//!
//! Text from the server (names, values) is returned as received; whoever prints it
//! must escape control characters.

use std::collections::HashSet;
use std::str::FromStr;

use opcua::client::Session;
use opcua::types::{
    AttributeId, BrowseDescription, BrowseDirection, BrowseResultMask, ByteString, DataValue, NodeClass, NodeId,
    NumericRange, QualifiedName, Range, ReadValueId, ReferenceDescription, ReferenceTypeId, TimestampsToReturn,
    Variant,
};

use super::link::{Link, make_client};
use super::value::{NumType, judge};
use super::{OpcUaConfig, value};
use crate::device::DriverError;
use crate::quality::Quality;

/// What to walk.
#[derive(Clone, Debug)]
pub struct BrowseOptions {
    /// Start node (default `i=85`, the Objects folder).
    pub root: Option<String>,
    /// Levels below the root (1 = its children only).
    pub depth: usize,
    /// Also descend into namespace 0 (the server's own diagnostics, types, …).
    pub standard: bool,
    /// Stop after this many nodes.
    pub max_nodes: usize,
}

impl Default for BrowseOptions {
    fn default() -> Self {
        BrowseOptions { root: None, depth: 16, standard: false, max_nodes: 5000 }
    }
}

/// The kind of a browsed node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Object,
    Variable,
    Property,
}

/// One node of the browsed tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub node_id: String,
    pub browse_name: String,
    pub display_name: String,
    pub kind: Kind,
    /// Variables: the data type name (`Double`, `String`, `ns=2;i=3001`, …).
    pub data_type: Option<String>,
    /// Variables: the data type when it is one mimic can carry as a number.
    pub num_type: Option<NumType>,
    /// Variables: the current user may write the value.
    pub writable: bool,
    /// Variables: the current value as text (`1034`, `"P-101"`, `Bad (device flag)`).
    pub value: Option<String>,
    /// Variables: the `EURange` property.
    pub range: Option<(f64, f64)>,
    pub children: Vec<Node>,
}

impl Node {
    /// A node as the browse finds it, before its attributes are read.
    fn found(node_id: String, browse_name: String, display_name: String, kind: Kind) -> Node {
        Node {
            node_id,
            browse_name,
            display_name,
            kind,
            data_type: None,
            num_type: None,
            writable: false,
            value: None,
            range: None,
            children: Vec::new(),
        }
    }
}

/// Connect with `cfg` and walk the tree.
pub async fn browse(cfg: &OpcUaConfig, opts: &BrowseOptions) -> Result<Node, DriverError> {
    let client = make_client(cfg)?;
    let link = Link::open(&client, cfg).await?;
    let result = walk(&link.session, cfg, opts).await;
    link.close(cfg.timeout).await;
    result
}

async fn walk(session: &Session, cfg: &OpcUaConfig, opts: &BrowseOptions) -> Result<Node, DriverError> {
    let err = |m: String| DriverError::Link(m);
    let root_text = opts.root.clone().unwrap_or_else(|| "i=85".into());
    let root_id = NodeId::from_str(root_text.trim()).map_err(|_| err(format!("`{root_text}` is not a node id")))?;
    let names = read_attrs(session, cfg, &[(root_id.clone(), AttributeId::BrowseName)]).await?;
    let browse_name = match names.first().and_then(|d| d.value.clone()) {
        Some(Variant::QualifiedName(q)) => q.name.as_ref().to_string(),
        _ => root_text.clone(),
    };
    let root = Node::found(root_id.to_string(), browse_name.clone(), browse_name, Kind::Object);
    let mut seen = HashSet::from([root_id.clone()]);
    // Walk depth-first into a flat list (each node after its parent), then assemble.
    let mut flat: Vec<(usize, Node)> = Vec::new();
    let mut stack: Vec<(Option<usize>, NodeId, usize)> = vec![(None, root_id, 0)];
    while let Some((at, id, depth)) = stack.pop() {
        if depth >= opts.depth || flat.len() >= opts.max_nodes {
            continue;
        }
        let mut kids = Vec::new();
        for r in children(session, cfg, &id).await? {
            let child = r.node_id.node_id.clone();
            if !r.node_id.namespace_uri.is_null() || (child.namespace == 0 && !opts.standard) {
                continue;
            }
            let kind = match r.node_class {
                NodeClass::Object => Kind::Object,
                NodeClass::Variable if r.reference_type_id == ReferenceTypeId::HasProperty => Kind::Property,
                NodeClass::Variable => Kind::Variable,
                _ => continue,
            };
            if !seen.insert(child.clone()) {
                continue;
            }
            let (browse_name, display_name) = (r.browse_name.name.as_ref(), r.display_name.text.as_ref());
            kids.push(Node::found(child.to_string(), browse_name.to_string(), display_name.to_string(), kind));
        }
        kids.truncate(opts.max_nodes.saturating_sub(flat.len()));
        describe_variables(session, cfg, &mut kids).await?;
        let first = flat.len();
        for kid in kids {
            flat.push((at.map_or(0, |a| a + 1), kid));
        }
        // Reverse, so that the first child is walked first.
        for i in (first..flat.len()).rev() {
            if let Ok(id) = NodeId::from_str(&flat[i].1.node_id) {
                stack.push((Some(i), id, depth + 1));
            }
        }
    }
    // Slot 0 is the root; flat[i] is slot i + 1; a child always comes after its parent.
    let mut slots: Vec<Option<Node>> =
        std::iter::once(Some(root)).chain(flat.iter().map(|(_, n)| Some(n.clone()))).collect();
    for i in (1..slots.len()).rev() {
        let parent = flat[i - 1].0;
        if let Some(mut node) = slots[i].take() {
            if let Some(r) = node.children.iter().find(|c| c.kind == Kind::Property && c.browse_name == "EURange") {
                node.range = r.range;
            }
            if let Some(Some(p)) = slots.get_mut(parent) {
                p.children.insert(0, node);
            }
        }
    }
    slots.into_iter().next().flatten().ok_or_else(|| err("empty tree".into()))
}

async fn read_attrs(
    session: &Session,
    cfg: &OpcUaConfig,
    which: &[(NodeId, AttributeId)],
) -> Result<Vec<DataValue>, DriverError> {
    let ids: Vec<ReadValueId> = which
        .iter()
        .map(|(n, a)| ReadValueId {
            node_id: n.clone(),
            attribute_id: *a as u32,
            index_range: NumericRange::None,
            data_encoding: QualifiedName::null(),
        })
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    match tokio::time::timeout(cfg.timeout, session.read(&ids, TimestampsToReturn::Source, 0.0)).await {
        Err(_) => Err(DriverError::Timeout(cfg.timeout)),
        Ok(Err(e)) => Err(DriverError::Link(value::status_text(e.status()))),
        Ok(Ok(v)) => Ok(v),
    }
}

/// Forward hierarchical references of `id`, following continuation points.
async fn children(session: &Session, cfg: &OpcUaConfig, id: &NodeId) -> Result<Vec<ReferenceDescription>, DriverError> {
    let desc = BrowseDescription {
        node_id: id.clone(),
        browse_direction: BrowseDirection::Forward,
        reference_type_id: ReferenceTypeId::HierarchicalReferences.into(),
        include_subtypes: true,
        node_class_mask: (NodeClass::Object as u32) | (NodeClass::Variable as u32),
        result_mask: BrowseResultMask::All as u32,
    };
    let t = cfg.timeout;
    let link = |e: opcua::types::Error| DriverError::Link(value::status_text(e.status()));
    let mut results = match tokio::time::timeout(t, session.browse(&[desc], 1000, None)).await {
        Err(_) => return Err(DriverError::Timeout(t)),
        Ok(r) => r.map_err(link)?,
    };
    let mut out = Vec::new();
    let mut guard = 0;
    while let Some(r) = results.pop() {
        out.extend(r.references.unwrap_or_default());
        let cp: ByteString = r.continuation_point;
        if cp.is_null() || guard > 100 {
            break;
        }
        guard += 1;
        results = match tokio::time::timeout(t, session.browse_next(false, &[cp])).await {
            Err(_) => return Err(DriverError::Timeout(t)),
            Ok(r) => r.map_err(link)?,
        };
    }
    Ok(out)
}

/// Fill data type, access, value and range of the variables among `nodes`.
async fn describe_variables(session: &Session, cfg: &OpcUaConfig, nodes: &mut [Node]) -> Result<(), DriverError> {
    let vars: Vec<usize> = (0..nodes.len()).filter(|&i| nodes[i].kind != Kind::Object).collect();
    let mut which = Vec::new();
    for &i in &vars {
        let Ok(id) = NodeId::from_str(&nodes[i].node_id) else { continue };
        which.push((id.clone(), AttributeId::Value));
        which.push((id.clone(), AttributeId::DataType));
        which.push((id, AttributeId::UserAccessLevel));
    }
    let values = read_attrs(session, cfg, &which).await?;
    for (k, &i) in vars.iter().enumerate() {
        let (Some(val), Some(dt), Some(access)) = (values.get(3 * k), values.get(3 * k + 1), values.get(3 * k + 2))
        else {
            continue;
        };
        let n = &mut nodes[i];
        if let Some(Variant::NodeId(id)) = &dt.value {
            n.num_type = NumType::from_data_type(id);
            n.data_type = Some(match n.num_type {
                Some(t) => t.name().to_string(),
                None if id.namespace == 0 && **id == NodeId::new(0, 12u32) => "String".to_string(),
                None => id.to_string(),
            });
        }
        n.writable = matches!(&access.value, Some(Variant::Byte(b)) if b & 0x02 != 0);
        n.value = Some(show_value(val));
        if n.browse_name == "EURange"
            && let Some(Variant::ExtensionObject(ext)) = &val.value
            && let Some(r) = ext.inner_as::<Range>()
        {
            n.range = Some((r.low, r.high));
        }
    }
    Ok(())
}

fn show_value(dv: &DataValue) -> String {
    let j = judge(dv);
    match (&dv.value, j.quality) {
        (_, q) if q.is_bad() && q != Quality::Bad(crate::quality::Reason::DecodeError) => q.to_string(),
        (Some(Variant::String(s)), _) => format!("{:?}", s.as_ref()),
        (Some(Variant::ExtensionObject(ext)), _) => match ext.inner_as::<Range>() {
            Some(r) => format!("{}..{}", r.low, r.high),
            None => "(structure)".into(),
        },
        (Some(Variant::Array(_)), _) => "(array)".into(),
        (_, q) => match j.value {
            Some(v) if q.is_good() => v.to_string(),
            Some(v) => format!("{v} ({q})"),
            None => "(no value)".into(),
        },
    }
}
