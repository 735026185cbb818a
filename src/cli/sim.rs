//! `mimic sim`: the demo plant alone, as Modbus TCP server(s) or RTU slaves.
//!
//! For the scale rig it serves many pump skids: up to `--units-per-port` unit ids on one
//! port, more on the following ports (1,000 skids are four ports of 250), and
//! `--emit-site FILE` writes the matching site file: one `[[template]]` of 100 tags per skid
//! (its 96 instrument-bank channels and four process values, with limits and alarms), and
//! per skid an asset, a device and an `[[instance]]`, so 1,000 skids are 100,000 tags.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

use mimic_drivers::sim::plant::map;

/// Tags per skid in an emitted site.
pub const TAGS_PER_UNIT: usize = 100;

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// First TCP port (0: any free port; several ports are then each any free port).
    #[arg(long, default_value_t = 5020)]
    pub port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Number of pump skids, served as unit ids 1..=N on one port, or 1..=PER_PORT on each of
    /// several consecutive ports when N is larger than `--units-per-port`.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=10_000))]
    pub units: u16,
    /// Unit ids served on one port (1..=250).
    #[arg(long, default_value_t = 250, value_parser = clap::value_parser!(u8).range(1..=250))]
    pub units_per_port: u8,
    /// Bearing wear acceleration (1 = real time).
    #[arg(long, default_value_t = 1.0)]
    pub wear_rate: f64,
    /// Serve Modbus RTU on this serial port (8N1) instead of Modbus TCP.
    #[arg(long, value_name = "PORT")]
    pub rtu: Option<PathBuf>,
    /// Baud rate of `--rtu`.
    #[arg(long, default_value_t = 19200)]
    pub baud: u32,
    /// Write a site file for the skids served (100 tags each, from one template), once
    /// listening; its `data_dir` is `mimic-data` next to it.
    #[arg(long, value_name = "FILE")]
    pub emit_site: Option<PathBuf>,
}

pub fn run(a: SimArgs) -> anyhow::Result<ExitCode> {
    super::init_logging();
    let rt = super::runtime()?;
    if let Some(path) = a.rtu {
        if a.emit_site.is_some() {
            bail!("--emit-site is for Modbus TCP (without --rtu)");
        }
        let units = u8::try_from(a.units).ok().filter(|&u| u <= 247).context("--rtu serves at most 247 units")?;
        return rt.block_on(async move {
            let serial = mimic_drivers::serial::SerialSettings {
                port: path.display().to_string(),
                baud: a.baud,
                data_bits: 8,
                parity: mimic_drivers::serial::Parity::None,
                stop_bits: 1,
            };
            let _sim = mimic_drivers::sim::serve_rtu(&serial, units, 1, a.wear_rate).map_err(anyhow::Error::msg)?;
            println!("demo plant serving Modbus RTU on {serial} (units 1..={units}); Ctrl-C stops");
            super::wait_for_stop().await;
            Ok(ExitCode::SUCCESS)
        });
    }
    rt.block_on(async move {
        let mut sims = Vec::new();
        let mut served = Vec::new();
        let mut left = a.units;
        while left > 0 {
            let n = left.min(u16::from(a.units_per_port));
            left -= n;
            let k = sims.len();
            let port = if a.port == 0 { 0 } else { a.port.checked_add(k as u16).context("ports past 65535")? };
            let addr: SocketAddr =
                format!("{}:{port}", a.bind).parse().with_context(|| format!("bad bind address {}:{port}", a.bind))?;
            // each port's skids get their own seeds, so no two ports serve the same plant
            let seed = 1 + (k as u64) * 1000;
            let sim = mimic_drivers::sim::serve(addr, n as u8, seed, a.wear_rate)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            println!("demo plant serving Modbus TCP on {} (units 1..={n}); Ctrl-C stops", sim.local_addr());
            served.push((sim.local_addr(), n as u8));
            sims.push(sim);
        }
        if let Some(path) = &a.emit_site {
            let text = site_text(&served, path);
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
            println!("site file for {} tags written to {}", usize::from(a.units) * TAGS_PER_UNIT, path.display());
        }
        super::wait_for_stop().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// The site file of skids served on `ports` (address, units 1..=n): one template, and per
/// skid an asset, a device and an instance (skid `SK0001` is unit 1 of the first port).
pub fn site_text(ports: &[(SocketAddr, u8)], path: &Path) -> String {
    let total: usize = ports.iter().map(|&(_, n)| usize::from(n)).sum();
    let mut s = String::with_capacity(600 + total * 420);
    let _ = writeln!(
        s,
        "# Written by `mimic sim --emit-site {}`: {total} pump skids of the demo plant,\n\
         # {} tags, from one [[template]] stamped onto each skid's device by an [[instance]].\n",
        path.display(),
        total * TAGS_PER_UNIT
    );
    let _ = writeln!(s, "[site]\nname = \"Scale rig - {total} skids\"\ndata_dir = \"mimic-data\"\n");
    s.push_str(&template());
    let mut n = 0;
    for (port, &(addr, units)) in ports.iter().enumerate() {
        for unit in 1..=units {
            n += 1;
            let _ = writeln!(
                s,
                "[[asset]]\narea = \"rig\"\nunit = \"port-{}\"\nname = \"SK{n:04}\"\n\n\
                 [[device]]\nname = \"sk{n:04}\"\nprotocol = \"modbus-tcp\"\nendpoint = \"{addr}\"\nunit = {unit}\n\
                 poll = \"1s\"\ntimeout = \"1s\"\n\n\
                 [[instance]]\ntemplate = \"skid\"\nprefix = \"SK{n:04}.\"\ndevice = \"sk{n:04}\"\nasset = \"SK{n:04}\"\n",
                port + 1
            );
        }
    }
    s
}

/// The skid's 100 tags: flow, discharge pressure, motor temperature and bearing vibration,
/// and the 96 temperature channels of its instrument bank; alarms on the motor temperature
/// and the vibration.
fn template() -> String {
    let mut s = String::from("[[template]]\nname = \"skid\"\n\n");
    for (name, addr, extra) in [
        ("flow", map::IR_FLOW, "scale = 0.1\nunits = \"m3/h\"\nlow = 0.0\nhigh = 150.0"),
        ("discharge", map::IR_DISCHARGE, "scale = 0.01\nunits = \"bar\"\nlow = 0.0\nhigh = 10.0"),
        ("motor_temp", map::IR_MOTOR_TEMP, "type = \"i16\"\nscale = 0.1\nunits = \"degC\"\nlow = -20.0\nhigh = 150.0"),
        ("vibration", map::IR_VIBRATION, "type = \"f32\"\nunits = \"mm/s\"\nlow = 0.0\nhigh = 50.0"),
    ] {
        let _ = writeln!(s, "[[template.tag]]\nname = \"{name}\"\naddress = \"ir:{addr}\"\n{extra}\n");
    }
    for k in 0..map::BANK_LEN {
        let _ = writeln!(
            s,
            "[[template.tag]]\nname = \"T{k:02}\"\naddress = \"ir:{}\"\nscale = 0.1\nunits = \"degC\"\nlow = 0.0\nhigh = 200.0\n",
            usize::from(map::IR_BANK) + k
        );
    }
    s.push_str(
        "[[template.alarm]]\ntag = \"motor_temp\"\nkind = \"hi\"\nlimit = 110.0\npriority = \"high\"\n\n\
         [[template.alarm]]\ntag = \"vibration\"\nkind = \"hi\"\nlimit = 12.0\npriority = \"medium\"\non_delay = \"10s\"\n\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_emitted_site_is_valid_and_has_100_tags_per_skid() {
        let ports = [("127.0.0.1:5020".parse().unwrap(), 3), ("127.0.0.1:5021".parse().unwrap(), 2)];
        let path = Path::new("/rig/site.toml");
        let site = crate::config::Site::parse(path, &site_text(&ports, path)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((site.tags.len(), site.devices.len(), site.assets.len()), (500, 5, 5));
        assert_eq!(site.alarms.len(), 10);
        assert_eq!(site.tags[400].name, "SK0005.flow");
        assert_eq!(site.devices[4].protocol.endpoint(), "127.0.0.1:5021 unit 2");
        assert_eq!(site.data_dir, Path::new("/rig/mimic-data"));
    }
}
