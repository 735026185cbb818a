//! Site templates: `[[template]]` describes the tags of one kind of device or asset (with
//! their alarms and control loops) once, with addresses relative to the instance;
//! `[[instance]]` stamps a template onto a device with a tag-name prefix, an address offset
//! and an asset. A 100,000-tag site is then a few hundred lines, not 100,000 `[[tag]]`s.
//!
//! Instances are expanded before validation into ordinary tags, alarms and loops, appended
//! after the file's own, so every check (unique names, overlapping registers, alarm limits,
//! loops) applies to them unchanged. Their errors are then mapped back: a problem in a
//! template's field is reported at that field (`template[0].tag[3].high`) and names the
//! instance it came from with its line; the same problem in many instances is reported once,
//! with how many instances share it. Problems of the instance itself (unknown template,
//! device or asset, a bad offset) are reported at the instance.
//!
//! The `[[template]]` and `[[instance]]` sections as written are structs of [`super::raw`]
//! (`RawTemplate`, `RawInstance`); this module only expands them.

use std::collections::{HashMap, HashSet};

use mimic_drivers::modbus::Table;
use serde_spanned::Spanned;

use super::ConfigError;
use super::ctx::{Ctx, list};
use super::raw::{RawInstance, RawSite, RawTag, RawTemplate, RawTemplateTag};

/// Where one expanded item came from: instance, template, index in the template's list.
#[derive(Clone, Copy, Debug)]
struct Origin {
    instance: u32,
    template: u32,
    item: u32,
}

/// The provenance of everything [`expand`] appended, to map errors back.
#[derive(Debug, Default)]
pub(super) struct Origins {
    plain: [usize; 3],
    items: [Vec<Origin>; 3],
    /// Per instance: the line of its `template` key and its prefix.
    instances: Vec<(usize, String)>,
}

const KINDS: [&str; 3] = ["tag", "alarm", "loop"];

/// Expand every `[[instance]]` into `raw.tag`, `raw.alarm` and `raw.loops`; problems of the
/// templates' and instances' own fields go to `cx`.
pub(super) fn expand(cx: &mut Ctx<'_>, raw: &mut RawSite) -> Origins {
    let mut origins = Origins { plain: [raw.tag.len(), raw.alarm.len(), raw.loops.len()], ..Origins::default() };
    if raw.instance.is_empty() && raw.template.is_empty() {
        return origins;
    }
    let templates = std::mem::take(&mut raw.template);
    let instances = std::mem::take(&mut raw.instance);
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (t, tpl) in templates.iter().enumerate() {
        cx.name(&tpl.name, format!("template[{t}].name"));
        if let Some(&first) = by_name.get(tpl.name.get_ref().as_str()) {
            let (line, _) = cx.line_col(templates[first].name.span().start);
            cx.err(
                tpl.name.span(),
                format!("template[{t}].name"),
                format!("duplicate template name `{}` (first defined on line {line})", tpl.name.get_ref()),
            );
        } else {
            by_name.insert(tpl.name.get_ref().as_str(), t);
        }
    }
    let devices: HashSet<&str> = raw.device.iter().map(|d| d.name.get_ref().as_str()).collect();
    let assets: HashSet<&str> = raw.asset.iter().map(|a| a.name.get_ref().as_str()).collect();
    let total: usize = instances
        .iter()
        .filter_map(|i| by_name.get(i.template.get_ref().as_str()))
        .map(|&t| templates[t].tag.len())
        .sum();
    raw.tag.reserve(total);
    origins.items[0].reserve(total);

    for (k, inst) in instances.iter().enumerate() {
        let (line, _) = cx.line_col(inst.template.span().start);
        origins.instances.push((line, inst.prefix.get_ref().clone()));
        let Some(ok) = check_instance(cx, k, inst, &by_name, &templates, (&devices, &assets)) else { continue };
        let (t, offset) = ok;
        let tpl = &templates[t];
        let o = |item: usize| Origin { instance: k as u32, template: t as u32, item: item as u32 };
        for (j, tt) in tpl.tag.iter().enumerate() {
            raw.tag.push(tag(inst, tt, offset));
            origins.items[0].push(o(j));
        }
        for (j, a) in tpl.alarm.iter().enumerate() {
            let mut a = a.clone();
            a.tag = prefixed(&inst.prefix, &a.tag);
            raw.alarm.push(a);
            origins.items[1].push(o(j));
        }
        for (j, l) in tpl.loops.iter().enumerate() {
            let mut l = l.clone();
            l.manipulated = prefixed(&inst.prefix, &l.manipulated);
            l.kpi = prefixed(&inst.prefix, &l.kpi);
            l.name = l.name.as_ref().map(|n| prefixed(&inst.prefix, n));
            raw.loops.push(l);
            origins.items[2].push(o(j));
        }
    }
    origins
}

/// The instance's own checks; its template's index and its offset when they pass.
fn check_instance(
    cx: &mut Ctx<'_>,
    k: usize,
    inst: &RawInstance,
    by_name: &HashMap<&str, usize>,
    templates: &[RawTemplate],
    (devices, assets): (&HashSet<&str>, &HashSet<&str>),
) -> Option<(usize, u16)> {
    let p = |f: &str| format!("instance[{k}].{f}");
    let before = cx.errors.len();
    let t = by_name.get(inst.template.get_ref().as_str()).copied();
    if t.is_none() {
        let mut known: Vec<&str> = by_name.keys().copied().collect();
        known.sort_unstable();
        cx.err(
            inst.template.span(),
            p("template"),
            format!("unknown template `{}` (known: {})", inst.template.get_ref(), list(&known)),
        );
    }
    if inst.prefix.get_ref().chars().any(char::is_control) {
        cx.err(inst.prefix.span(), p("prefix"), "must not contain control characters");
    }
    if !devices.contains(inst.device.get_ref().as_str()) {
        cx.err(inst.device.span(), p("device"), format!("unknown device `{}`", inst.device.get_ref()));
    }
    if let Some(a) = &inst.asset
        && !assets.contains(a.get_ref().as_str())
    {
        cx.err(a.span(), p("asset"), format!("unknown asset `{}`", a.get_ref()));
    }
    let offset = match &inst.offset {
        None => 0,
        Some(o) => u16::try_from(*o.get_ref()).unwrap_or_else(|_| {
            cx.err(o.span(), p("offset"), format!("{} is outside 0..=65535", o.get_ref()));
            0
        }),
    };
    if let (Some(t), Some(o)) = (t, &inst.offset)
        && offset != 0
        && let Some(tt) = templates[t].tag.iter().find(|tt| modbus_address(tt.address.get_ref()).is_none())
    {
        cx.err(
            o.span(),
            p("offset"),
            format!(
                "applies only to Modbus addresses, and tag `{}` of template `{}` is at `{}`",
                tt.name.get_ref(),
                templates[t].name.get_ref(),
                tt.address.get_ref()
            ),
        );
    }
    (cx.errors.len() == before).then_some((t?, offset))
}

/// `table:address` with a known table.
fn modbus_address(s: &str) -> Option<(&str, u32)> {
    let (tb, a) = s.split_once(':')?;
    Table::from_short(tb.trim())?;
    Some((tb.trim(), a.trim().parse().ok()?))
}

fn prefixed(prefix: &Spanned<String>, name: &Spanned<String>) -> Spanned<String> {
    Spanned::new(name.span(), format!("{}{}", prefix.get_ref(), name.get_ref()))
}

/// One template tag as the instance's `[[tag]]`: spans stay on the template's fields, but
/// `device` and `asset`, which point at the instance's.
fn tag(inst: &RawInstance, t: &RawTemplateTag, offset: u16) -> RawTag {
    let address = match modbus_address(t.address.get_ref()) {
        Some((tb, a)) if offset != 0 => Spanned::new(t.address.span(), format!("{tb}:{}", a + u32::from(offset))),
        _ => t.address.clone(),
    };
    t.stamp(prefixed(&inst.prefix, &t.name), inst.device.clone(), inst.asset.clone(), address)
}

impl Origins {
    /// Rewrite the errors of expanded items (`tag[N]…` past the file's own tags) to name the
    /// template field and the instance; the same problem in many instances becomes one error.
    pub(super) fn remap(&self, errors: &mut Vec<ConfigError>) {
        if self.instances.is_empty() {
            return;
        }
        // (line, col, path, message) → (index in `out`, instances sharing it)
        let mut seen: HashMap<(usize, usize, String, String), (usize, usize)> = HashMap::new();
        let mut out: Vec<ConfigError> = Vec::with_capacity(errors.len());
        let mut first_instance: Vec<u32> = Vec::new();
        for mut e in errors.drain(..) {
            let Some((origin, rest)) = self.origin(&e.path) else {
                out.push(e);
                first_instance.push(u32::MAX);
                continue;
            };
            e.path = format!("template[{}].{}[{}]{rest}", origin.item.template, KINDS[origin.kind], origin.item.item);
            let key = (e.line, e.col, e.path.clone(), e.message.clone());
            match seen.get_mut(&key) {
                Some((_, n)) => *n += 1,
                None => {
                    seen.insert(key, (out.len(), 1));
                    first_instance.push(origin.item.instance);
                    out.push(e);
                }
            }
        }
        for (at, n) in seen.into_values() {
            let k = first_instance[at] as usize;
            let (line, prefix) = &self.instances[k];
            let others = match n {
                1 => String::new(),
                2 => " and 1 other instance".to_string(),
                n => format!(" and {} other instances", n - 1),
            };
            let e = &mut out[at];
            e.message = format!("{} (in instance[{k}] `{prefix}` on line {line}{others})", e.message);
        }
        *errors = out;
    }

    /// The origin of an error path like `tag[12].high`, when it names an expanded item, and
    /// the rest of the path (`.high`).
    fn origin<'p>(&self, path: &'p str) -> Option<(Located, &'p str)> {
        for (kind, name) in KINDS.iter().enumerate() {
            let Some(after) = path.strip_prefix(name).and_then(|r| r.strip_prefix('[')) else { continue };
            let (n, rest) = after.split_once(']')?;
            let n: usize = n.parse().ok()?;
            let item = *self.items[kind].get(n.checked_sub(self.plain[kind])?)?;
            return Some((Located { kind, item }, rest));
        }
        None
    }
}

/// An expanded item: its kind (index into [`KINDS`]) and origin.
struct Located {
    kind: usize,
    item: Origin,
}

#[cfg(test)]
mod tests;
