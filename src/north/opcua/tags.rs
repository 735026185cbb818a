//! The tags' nodes, made when a request needs them instead of held in the address space:
//! a tag Variable and its two properties are computed from the site definition, the
//! tag's index and its newest sample (what [`super::space`] describes). Nothing is kept
//! per tag but the sample ([`super::space::Live`]) and its place in its folder
//! ([`super::space::Layout`]).
//!
//! A node made here is an ordinary async-opcua node, so reads, writes and monitored
//! items go through async-opcua's own checks (access levels, index ranges, encodings).

use opcua::server::address_space::{AccessLevel, NodeType, VariableBuilder};
use opcua::server::node_manager::NodeMetadata;
use opcua::types::{
    DataTypeId, DataValue, EUInformation, ExpandedNodeId, ExtensionObject, Identifier, LocalizedText, NodeClass,
    NodeId, QualifiedName, Range, ReferenceTypeId, VariableTypeId, Variant,
};

use super::space::{self, Layout, Live, opaque, tag_node};
use crate::config::{Site, Tag};

/// A property of a tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prop {
    /// `EURange`, when the tag has both `low` and `high`.
    Range,
    /// `EngineeringUnits`.
    Units,
}

impl Prop {
    pub fn name(self) -> &'static str {
        match self {
            Prop::Range => "EURange",
            Prop::Units => "EngineeringUnits",
        }
    }

    /// The properties a tag has.
    pub fn of(tag: &Tag) -> impl Iterator<Item = Prop> {
        let range = tag.low.is_some() && tag.high.is_some();
        [range.then_some(Prop::Range), Some(Prop::Units)].into_iter().flatten()
    }
}

/// A node of a tag: the tag's Variable or one of its properties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagNode {
    Tag(usize),
    Prop(usize, Prop),
}

impl TagNode {
    /// The tag node a NodeId of namespace `ns` names, if any.
    pub fn parse(site: &Site, ns: u16, id: &NodeId) -> Option<TagNode> {
        if id.namespace != ns {
            return None;
        }
        match &id.identifier {
            Identifier::String(s) => site.tag_index(s.as_ref()).map(TagNode::Tag),
            Identifier::ByteString(b) => {
                let path = std::str::from_utf8(b.as_ref()).ok()?.strip_prefix("prop:")?;
                let (name, prop) = path.rsplit_once('/')?;
                let tag = site.tag_index(name)?;
                let prop = Prop::of(&site.tags[tag]).find(|p| p.name() == prop)?;
                Some(TagNode::Prop(tag, prop))
            }
            _ => None,
        }
    }

    pub fn tag(self) -> usize {
        match self {
            TagNode::Tag(t) | TagNode::Prop(t, _) => t,
        }
    }

    pub fn node_id(self, site: &Site, ns: u16) -> NodeId {
        match self {
            TagNode::Tag(t) => tag_node(ns, &site.tags[t].name),
            TagNode::Prop(t, p) => prop_node(ns, &site.tags[t].name, p),
        }
    }

    /// What a reference to it shows (Browse).
    pub fn metadata(self, site: &Site, ns: u16) -> NodeMetadata {
        let (name, type_def) = match self {
            TagNode::Tag(t) => (site.tags[t].name.as_str(), VariableTypeId::AnalogItemType),
            TagNode::Prop(_, p) => (p.name(), VariableTypeId::PropertyType),
        };
        NodeMetadata {
            node_id: ExpandedNodeId::new(self.node_id(site, ns)),
            type_definition: ExpandedNodeId::new(NodeId::from(type_def)),
            browse_name: QualifiedName::from(name),
            display_name: LocalizedText::from(name),
            node_class: NodeClass::Variable,
        }
    }

    /// Its references, `(type, forward, target)`; the targets are the parent folder, the
    /// tag, its properties and namespace 0's type definitions.
    pub fn references(self, site: &Site, layout: &Layout) -> Vec<(ReferenceTypeId, bool, Target)> {
        let mut out = Vec::with_capacity(4);
        match self {
            TagNode::Tag(t) => {
                let tag = &site.tags[t];
                let type_def = NodeId::from(VariableTypeId::AnalogItemType);
                out.push((ReferenceTypeId::HasTypeDefinition, true, Target::Other(type_def)));
                out.extend(
                    Prop::of(tag).map(|p| (ReferenceTypeId::HasProperty, true, Target::Tag(TagNode::Prop(t, p)))),
                );
                if let Some(parent) = layout.parent(tag) {
                    out.push((ReferenceTypeId::Organizes, false, Target::Other(parent.clone())));
                }
            }
            TagNode::Prop(t, _) => {
                let type_def = NodeId::from(VariableTypeId::PropertyType);
                out.push((ReferenceTypeId::HasTypeDefinition, true, Target::Other(type_def)));
                out.push((ReferenceTypeId::HasProperty, false, Target::Tag(TagNode::Tag(t))));
            }
        }
        out
    }

    /// The node itself, for one request (the tag's Value is `live`).
    pub fn node(self, site: &Site, ns: u16, live: Option<Live>) -> NodeType {
        match self {
            TagNode::Tag(t) => variable(ns, &site.tags[t], live),
            TagNode::Prop(t, p) => property(ns, &site.tags[t], p),
        }
    }
}

/// The target of a reference from a tag node.
pub enum Target {
    Tag(TagNode),
    /// A folder of the site or a node of namespace 0.
    Other(NodeId),
}

/// The NodeId of a tag's property.
pub fn prop_node(ns: u16, tag: &str, prop: Prop) -> NodeId {
    opaque(ns, &format!("prop:{tag}/{}", prop.name()))
}

fn variable(ns: u16, t: &Tag, live: Option<Live>) -> NodeType {
    let mut access = AccessLevel::CURRENT_READ | AccessLevel::HISTORY_READ;
    if t.writable {
        access |= AccessLevel::CURRENT_WRITE;
    }
    let data_type = if space::is_bool(t) { DataTypeId::Boolean } else { DataTypeId::Double };
    let mut b = VariableBuilder::new(&tag_node(ns, &t.name), t.name.as_str(), t.name.as_str())
        .data_type(data_type)
        .value_rank(-1)
        .access_level(access)
        .user_access_level(access)
        .historizing(true)
        .minimum_sampling_interval(t.poll.as_secs_f64() * 1000.0);
    if !t.description.is_empty() {
        b = b.description(LocalizedText::from(&*t.description));
    }
    let mut v = b.build();
    // async-opcua drops the status of a Value without a value: an empty one keeps it
    // (a Bad sample, BadWaitingForInitialData)
    let dv = space::data_value(t, live);
    v.set_data_value(DataValue { value: dv.value.or(Some(Variant::Empty)), ..dv });
    NodeType::Variable(Box::new(v))
}

fn property(ns: u16, t: &Tag, p: Prop) -> NodeType {
    let (data_type, value) = match p {
        Prop::Range => {
            let range = Range { low: t.low.unwrap_or(f64::NAN), high: t.high.unwrap_or(f64::NAN) };
            (DataTypeId::Range, Variant::from(ExtensionObject::from_message(range)))
        }
        Prop::Units => {
            let eu = EUInformation {
                namespace_uri: "http://www.opcfoundation.org/UA/units/un/cefact".into(),
                unit_id: -1,
                display_name: LocalizedText::from(&*t.units),
                description: LocalizedText::from(&*t.units),
            };
            (DataTypeId::EUInformation, Variant::from(ExtensionObject::from_message(eu)))
        }
    };
    let v = VariableBuilder::new(&prop_node(ns, &t.name, p), p.name(), p.name())
        .data_type(data_type)
        .value_rank(-1)
        .value(value)
        .access_level(AccessLevel::CURRENT_READ)
        .user_access_level(AccessLevel::CURRENT_READ)
        .build();
    NodeType::Variable(Box::new(v))
}

/// A forward Organizes reference from a folder to one of its tags (Browse).
pub fn organizes(site: &Site, ns: u16, tag: usize) -> opcua::types::ReferenceDescription {
    TagNode::Tag(tag).metadata(site, ns).into_ref_desc(true, ReferenceTypeId::Organizes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opcua::types::{AttributeId, DataEncoding, NumericRange, TimestampsToReturn};

    #[test]
    fn a_tag_and_its_properties_are_named_by_their_node_ids() {
        let site = crate::config::testkit::site(crate::config::testkit::PUMP);
        let t = site.tag_index("speed").expect("speed");
        for node in [TagNode::Tag(t), TagNode::Prop(t, Prop::Units)] {
            assert_eq!(TagNode::parse(&site, 2, &node.node_id(&site, 2)), Some(node));
        }
        assert_eq!(TagNode::parse(&site, 3, &tag_node(2, "speed")), None, "another namespace");
        assert_eq!(TagNode::parse(&site, 2, &tag_node(2, "nope")), None);
        assert_eq!(TagNode::parse(&site, 2, &opaque(2, "prop:speed/Nope")), None);
        assert_eq!(TagNode::parse(&site, 2, &opaque(2, "folder:speed")), None);
    }

    #[test]
    fn a_tag_variable_carries_its_value_and_attributes() {
        let site = crate::config::testkit::site(crate::config::testkit::PUMP);
        let t = site.tag_index("speed").expect("speed");
        let live = Live { ts_ms: 5_000, value: 42.5, quality: mimic_drivers::Quality::Good };
        let node = TagNode::Tag(t).node(&site, 2, Some(live));
        let get =
            |a| node.as_node().get_attribute(TimestampsToReturn::Both, a, &NumericRange::None, &DataEncoding::Binary);
        assert_eq!(get(AttributeId::Value).and_then(|v| v.value), Some(Variant::Double(42.5)));
        assert_eq!(get(AttributeId::Historizing).and_then(|v| v.value), Some(Variant::Boolean(true)));
        let waiting = TagNode::Tag(t).node(&site, 2, None);
        let v = waiting.as_node().get_attribute(
            TimestampsToReturn::Both,
            AttributeId::Value,
            &NumericRange::None,
            &DataEncoding::Binary,
        );
        assert_eq!(v.and_then(|v| v.status), Some(opcua::types::StatusCode::BadWaitingForInitialData));
    }
}
