//! The operating-system account running this process, and account names by uid from the
//! system's user database (NSS: `/etc/passwd`, LDAP, …). Safe wrappers from `nix`
//! (`getuid`, `getpwuid_r`) instead of `unsafe` calls scattered through the callers.

use nix::unistd::{Uid, User};

/// The real uid of this process.
pub fn uid() -> u32 {
    nix::unistd::getuid().as_raw()
}

/// The name of the account with this uid, from the system's user database.
pub fn user_name(uid: u32) -> Option<String> {
    User::from_uid(Uid::from_raw(uid)).ok().flatten().map(|u| u.name).filter(|n| !n.is_empty())
}

/// The name of the account running this process, or `uid N` when it has none.
pub fn me() -> String {
    let uid = uid();
    user_name(uid).unwrap_or_else(|| format!("uid {uid}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_an_account() {
        assert_eq!(super::user_name(super::uid()), Some(super::me()));
    }
}
