//! People for unit tests of approvals across the crate: two viewers, two operators, an
//! engineer and an admin, so a test can pick signers of every role by index.

use proptest::prelude::*;

use super::{Request, required};
use crate::config::Tag;
use crate::users::{Command, Role, authorize};

/// (user, role) of the people a test may sign with.
pub const PEOPLE: [(&str, Role); 6] = [
    ("vic", Role::Viewer),
    ("olga", Role::Operator),
    ("otto", Role::Operator),
    ("eve", Role::Engineer),
    ("ada", Role::Admin),
    ("val", Role::Viewer),
];

/// The checks every write let out must pass, whatever let it out: request `req` is for
/// writable tag `t` (index `tag`) and this `value`, inside the tag's limits, signed by
/// enough distinct [`PEOPLE`] whose roles may approve it.
pub fn check_write(req: &Request, tag: usize, value: f64, t: &Tag) -> Result<(), TestCaseError> {
    prop_assert!(t.writable);
    prop_assert_eq!(req.tag, tag);
    prop_assert_eq!(req.value, value);
    prop_assert!(value >= t.low.unwrap_or(0.0) && value <= t.high.unwrap_or(1.0));
    let signers: Vec<&str> = req.signatures.iter().map(|s| s.user.as_str()).collect();
    prop_assert!(signers.len() >= required(t.write.critical));
    let mut distinct = signers.clone();
    distinct.sort_unstable();
    distinct.dedup();
    prop_assert_eq!(distinct.len(), signers.len());
    for sig in &req.signatures {
        let role = PEOPLE.iter().find(|(u, _)| *u == sig.user).map(|(_, r)| *r);
        prop_assert!(role.is_some(), "signed by {} (not a person)", sig.user);
        let cmd = if t.write.critical { Command::ApproveCritical } else { Command::Approve };
        prop_assert!(role.is_some_and(|r| authorize(r, cmd)));
    }
    Ok(())
}
