//! `mimic user …`: manage the users file of a data directory. Secrets are read from the
//! terminal without echo and asked twice, or with `--secret-stdin` as one line of stdin;
//! no secret or hash is ever printed.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::users::{MIN_SECRET_CHARS, Role, Users, users_path};

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub command: UserCommand,
    /// Data directory holding users.toml.
    #[arg(long, global = true, default_value = "mimic-data")]
    pub data: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user (asks for the secret twice).
    Add {
        /// mimic user name.
        name: String,
        /// Full name, shown in electronic signatures.
        #[arg(long)]
        full_name: String,
        /// viewer, operator, engineer or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Unix account that maps to this user (default: NAME).
        #[arg(long)]
        os_account: Option<String>,
        /// Read the secret as one line of standard input (for scripts).
        #[arg(long)]
        secret_stdin: bool,
    },
    /// Set a new secret for a user.
    Passwd {
        name: String,
        #[arg(long)]
        secret_stdin: bool,
    },
    /// Disable a user: no sign-in, no signatures.
    Disable { name: String },
    /// Enable a disabled user again.
    Enable { name: String },
    /// Clear a lockout after too many wrong secrets.
    Unlock { name: String },
    /// List the users (never their secrets).
    List,
    /// Set the site's sign-in policy.
    Policy {
        /// A terminal without a key this long locks itself until its user re-enters
        /// their secret, e.g. `10m`.
        #[arg(long, value_parser = crate::cli::parse_duration_arg)]
        idle_lock: Option<std::time::Duration>,
        /// Wrong secrets in a row that lock a user out.
        #[arg(long)]
        max_attempts: Option<u32>,
    },
}

fn parse_role(s: &str) -> Result<Role, crate::users::UnknownRole> {
    s.parse()
}

pub fn run(args: UserArgs) -> anyhow::Result<()> {
    let path = users_path(&args.data);
    execute(args, &path).with_context(|| format!("users file {}", path.display()))
}

fn execute(args: UserArgs, path: &Path) -> anyhow::Result<()> {
    let path = path.to_path_buf();
    let before = Users::load_or_new(&path).ok();
    let changes_file = !matches!(args.command, UserCommand::List);
    let data = args.data.clone();
    match args.command {
        UserCommand::Add { name, full_name, role, os_account, secret_stdin } => {
            let secret = read_secret(&format!("secret for {name}"), secret_stdin)?;
            std::fs::create_dir_all(&args.data)
                .with_context(|| format!("cannot create data directory {}", args.data.display()))?;
            let account = Users::modify(&path, true, |u| {
                u.add(&name, &full_name, role, os_account.as_deref(), &secret).map(|x| x.os_account.clone())
            })?;
            println!("added user {name} ({role}, OS account {account}) to {}", path.display());
        }
        UserCommand::Passwd { name, secret_stdin } => {
            // Fail on an unknown user before asking for a secret.
            require_user(&path, &name)?;
            let secret = read_secret(&format!("new secret for {name}"), secret_stdin)?;
            Users::modify(&path, false, |u| u.set_secret(&name, &secret))?;
            println!("secret of {name} changed");
        }
        UserCommand::Disable { name } => {
            Users::modify(&path, false, |u| u.disable(&name))?;
            println!("user {name} disabled");
        }
        UserCommand::Enable { name } => {
            Users::modify(&path, false, |u| u.enable(&name))?;
            println!("user {name} enabled");
        }
        UserCommand::Unlock { name } => {
            Users::modify(&path, false, |u| u.unlock(&name))?;
            println!("user {name} unlocked");
        }
        UserCommand::List => list(&Users::load(&path)?),
        UserCommand::Policy { idle_lock, max_attempts } => {
            if idle_lock.is_some_and(|d| d.is_zero()) {
                bail!("--idle-lock must be greater than zero");
            }
            if max_attempts == Some(0) {
                bail!("--max-attempts must be at least 1");
            }
            let users = Users::modify(&path, false, |u| {
                if let Some(d) = idle_lock {
                    u.idle_lock = d;
                }
                if let Some(n) = max_attempts {
                    u.max_attempts = n;
                }
                Ok(u.clone())
            })?;
            println!(
                "policy: idle lock {}, lock after {} wrong secret(s)",
                crate::time::format_duration(users.idle_lock),
                users.max_attempts
            );
        }
    }
    if changes_file {
        audit_changes(&data, &path, before.unwrap_or_default())?;
    }
    Ok(())
}

/// User management is audited (see [`super::record`]).
fn audit_changes(data: &Path, path: &Path, before: Users) -> anyhow::Result<()> {
    let after = Users::load(path)?;
    let entries: Vec<super::record::Entry> = crate::users::changes(&before, &after)
        .into_iter()
        .map(|c| {
            let action = match c.kind {
                crate::users::ChangeKind::Add => crate::audit::Action::UserAdd,
                crate::users::ChangeKind::Change => crate::audit::Action::UserChange,
                crate::users::ChangeKind::Disable => crate::audit::Action::UserDisable,
            };
            (action, c.target, c.detail)
        })
        .collect();
    if !entries.is_empty() {
        println!("audit: {}", super::record::record(data, &entries, crate::ipc::Act::UsersChanged {})?);
    }
    Ok(())
}

fn require_user(path: &Path, name: &str) -> anyhow::Result<()> {
    let users = Users::load(path)?;
    if users.get(name).is_none() {
        bail!("no user `{name}`");
    }
    Ok(())
}

fn list(users: &Users) {
    println!(
        "idle lock {}, lock after {} wrong secret(s)",
        crate::time::format_duration(users.idle_lock),
        users.max_attempts
    );
    println!("{:<16} {:<16} {:<9} {:<9} {:>6}  full name", "name", "os account", "role", "status", "failed");
    for u in users.users() {
        let status = match (u.disabled, u.locked) {
            (true, _) => "disabled",
            (false, true) => "locked",
            (false, false) => "active",
        };
        println!(
            "{:<16} {:<16} {:<9} {:<9} {:>6}  {}",
            u.name,
            u.os_account,
            u.role.as_str(),
            status,
            u.failed_attempts,
            u.full_name
        );
    }
}

fn read_secret(prompt: &str, from_stdin: bool) -> anyhow::Result<String> {
    let secret = if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("cannot read the secret from stdin")?;
        let line = line.strip_suffix('\n').unwrap_or(&line);
        line.strip_suffix('\r').unwrap_or(line).to_string()
    } else {
        let first = rpassword::prompt_password(format!("{prompt}: "))
            .context("cannot read the secret from the terminal (use --secret-stdin in scripts)")?;
        let second = rpassword::prompt_password(format!("{prompt} (again): "))
            .context("cannot read the secret from the terminal")?;
        if first != second {
            bail!("the two secrets differ; nothing changed");
        }
        first
    };
    if secret.chars().count() < MIN_SECRET_CHARS {
        bail!("the secret is too short: at least {MIN_SECRET_CHARS} characters; nothing changed");
    }
    Ok(secret)
}
