//! `mimic browse opc.tcp://host:port/`: print an OPC UA server's address space as a tree
//! and, with `--emit-tags DEVICE`, `[[tag]]` entries for the site file.
//!
//! Everything the server says (names, values) is untrusted: the tree escapes control
//! characters, and emitted TOML quotes every string through the TOML encoder.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow};
use mimic_drivers::opcua::browse::{BrowseOptions, Kind, Node, browse};
use mimic_drivers::opcua::{Identity, OpcUaConfig, PasswordSource, Security, check_endpoint};
use mimic_views::sanitize;

#[derive(Debug, clap::Args)]
pub struct BrowseArgs {
    /// Server endpoint, e.g. opc.tcp://192.168.1.30:4840/
    pub endpoint: String,
    /// none, basic256sha256-sign or basic256sha256-sign-encrypt.
    #[arg(long, default_value = "none")]
    pub security: String,
    /// PKI folder (client certificate, trusted/ and rejected/ server certificates).
    #[arg(long, default_value = "pki")]
    pub pki: PathBuf,
    /// User name (default: anonymous).
    #[arg(long)]
    pub user: Option<String>,
    /// File holding the user's password.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Environment variable holding the user's password.
    #[arg(long)]
    pub password_env: Option<String>,
    /// Start node (default: the Objects folder, i=85).
    #[arg(long)]
    pub root: Option<String>,
    /// Levels below the start node.
    #[arg(long, default_value_t = 8)]
    pub depth: usize,
    /// Also walk namespace 0 (the server's own objects).
    #[arg(long)]
    pub standard: bool,
    /// Instead of the tree, print [[tag]] entries for this device name.
    #[arg(long, value_name = "DEVICE")]
    pub emit_tags: Option<String>,
    /// Per-request timeout, e.g. 5s.
    #[arg(long, default_value = "5s", value_parser = super::parse_duration_arg)]
    pub timeout: Duration,
}

pub fn run(args: BrowseArgs) -> anyhow::Result<()> {
    check_endpoint(&args.endpoint).map_err(|m| anyhow!(m))?;
    let security = Security::from_name(&args.security)
        .ok_or_else(|| anyhow!("unknown security `{}` (use {})", args.security, Security::NAMES))?;
    let password = match (&args.password_file, &args.password_env) {
        (Some(f), None) => Some(PasswordSource::File(f.clone())),
        (None, Some(e)) => Some(PasswordSource::Env(e.clone())),
        (None, None) => None,
        (Some(_), Some(_)) => return Err(anyhow!("give either --password-file or --password-env, not both")),
    };
    let identity = match (&args.user, password) {
        (None, None) => Identity::Anonymous,
        (Some(name), Some(password)) => Identity::User { name: name.clone(), password },
        (Some(_), None) => return Err(anyhow!("--user needs --password-file or --password-env")),
        (None, Some(_)) => return Err(anyhow!("a password needs --user")),
    };
    let cfg = OpcUaConfig {
        endpoint: args.endpoint.clone(),
        security,
        pki: args.pki.clone(),
        identity,
        timeout: args.timeout,
        publishing: Duration::from_secs(1),
    };
    let opts =
        BrowseOptions { root: args.root.clone(), depth: args.depth, standard: args.standard, ..Default::default() };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("async runtime")?;
    let tree = rt.block_on(browse(&cfg, &opts)).with_context(|| format!("cannot browse {}", args.endpoint))?;
    let text = match &args.emit_tags {
        Some(device) => emit_tags(&tree, device),
        None => render_tree(&tree),
    };
    print!("{text}");
    Ok(())
}

/// The tree, one node a line: name, node id, and for variables type, access, value, range.
pub fn render_tree(root: &Node) -> String {
    let mut out = format!("{}  {}\n", sanitize(&root.display_name), sanitize(&root.node_id));
    render_children(root, "", &mut out);
    out
}

fn render_children(node: &Node, prefix: &str, out: &mut String) {
    for (i, child) in node.children.iter().enumerate() {
        let last = i + 1 == node.children.len();
        out.push_str(prefix);
        out.push_str(if last { "└── " } else { "├── " });
        out.push_str(&line(child));
        out.push('\n');
        let deeper = format!("{prefix}{}", if last { "    " } else { "│   " });
        render_children(child, &deeper, out);
    }
}

fn line(n: &Node) -> String {
    let mut s = format!("{}  {}", sanitize(&n.display_name), sanitize(&n.node_id));
    if n.kind != Kind::Object {
        if n.kind == Kind::Property {
            s.push_str("  (property)");
        }
        if let Some(t) = &n.data_type {
            s.push_str(&format!("  {}", sanitize(t)));
        }
        s.push_str(if n.writable { " rw" } else { " r" });
        if let Some(v) = &n.value {
            s.push_str(&format!("  = {}", sanitize(v)));
        }
        if let (Some((lo, hi)), Kind::Variable) = (n.range, n.kind) {
            s.push_str(&format!("  [{lo} .. {hi}]"));
        }
    }
    s
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// `[[tag]]` entries for every numeric variable below the root, named by their browse
/// path (`Plant.Pump.Speed`). Writable variables with an engineering range become
/// writable tags with that range as limits; others are read-only. Variables that are
/// not numbers are listed as comments.
pub fn emit_tags(root: &Node, device: &str) -> String {
    let mut out = format!(
        "# Tags of device {} from {} (mimic browse). Check with `mimic check`.\n",
        toml_str(device),
        sanitize(&root.node_id)
    );
    let mut path = Vec::new();
    emit_below(root, device, &mut path, &mut out);
    out
}

fn emit_below(node: &Node, device: &str, path: &mut Vec<String>, out: &mut String) {
    for child in &node.children {
        path.push(child.browse_name.clone());
        if child.kind == Kind::Variable {
            let name = path.join(".");
            match child.num_type {
                Some(t) => {
                    out.push_str(&format!(
                        "\n[[tag]]\nname = {}\ndevice = {}\naddress = {}\ndescription = {}\n",
                        toml_str(&name),
                        toml_str(device),
                        toml_str(&child.node_id),
                        toml_str(&format!("{} ({t})", child.display_name)),
                    ));
                    match (child.writable, child.range) {
                        (true, Some((lo, hi))) if lo.is_finite() && hi.is_finite() && lo <= hi => {
                            out.push_str(&format!("low = {lo:?}\nhigh = {hi:?}\nwritable = true\n"));
                        }
                        (true, _) => out
                            .push_str("# writable on the server: set low, high and writable = true to allow writes\n"),
                        (false, Some((lo, hi))) if lo.is_finite() && hi.is_finite() && lo <= hi => {
                            out.push_str(&format!("low = {lo:?}\nhigh = {hi:?}\n"));
                        }
                        _ => {}
                    }
                }
                None => out.push_str(&format!(
                    "\n# {} {}: {} is not a number, no tag\n",
                    sanitize(&name).replace('\n', " "),
                    sanitize(&child.node_id),
                    sanitize(child.data_type.as_deref().unwrap_or("unknown type"))
                )),
            }
        }
        emit_below(child, device, path, out);
        path.pop();
    }
}
