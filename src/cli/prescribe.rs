//! `mimic whatif`, `mimic shadow` and `mimic recommend`: the prescriptive models on stored
//! history. Each identifies the manipulated → controlled model from the store (over the
//! daemon's socket when one serves the data directory, else from the store file), then
//! predicts; nothing is written to the plant (`recommend --request` only asks, through
//! the approval path like `mimic write`).

use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use mimic_drivers::{Quality, Reason};

use crate::config::Site;
use crate::ipc::{HistSample, TagQuality};
use crate::models::prescribe::shadow::{Point, compare_alarm_limit, replay_setpoint};
use crate::models::prescribe::{Band, Fit, Limits, Now, identify, recommend, resample, what_if};

/// Where the history comes from and how it is sampled for identification.
#[derive(Debug, clap::Args)]
pub struct Source {
    /// The site file (tags, limits, alarms; its data_dir unless --data).
    pub site: PathBuf,
    /// Store directory (default: the site file's data_dir).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// History to learn from / replay: a duration ago (2h) or a timestamp.
    #[arg(long, default_value = "2h")]
    pub since: String,
    #[arg(long)]
    pub until: Option<String>,
    /// Sample period for identification, s.
    #[arg(long, default_value_t = 1.0)]
    pub period: f64,
    /// Longest dead time tried, s.
    #[arg(long, default_value_t = 10.0)]
    pub max_dead: f64,
}

#[derive(Debug, clap::Args)]
pub struct WhatIfArgs {
    #[command(flatten)]
    pub src: Source,
    /// The manipulated tag (a writable setpoint).
    pub tag: String,
    /// The value to try.
    pub value: f64,
    /// The controlled tag whose response to predict (default: the KPI of the site's
    /// `[[loop]]` on this setpoint).
    #[arg(long)]
    pub kpi: Option<String>,
    /// Prediction horizon, s (default: the loop's, else 60).
    #[arg(long)]
    pub horizon: Option<f64>,
}

#[derive(Debug, clap::Args)]
pub struct ShadowArgs {
    #[command(flatten)]
    pub src: Source,
    /// A proposed alarm limit: TAG:KIND=LIMIT, e.g. P101.motor_temp:hi=85.
    #[arg(long, conflicts_with = "setpoint")]
    pub alarm: Option<String>,
    /// A proposed setpoint held over the stretch: TAG=VALUE, with --kpi.
    #[arg(long, requires = "kpi")]
    pub setpoint: Option<String>,
    #[arg(long)]
    pub kpi: Option<String>,
    /// The KPI's target band LOW..HIGH (counts the samples outside it).
    #[arg(long)]
    pub band: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct RecommendArgs {
    #[command(flatten)]
    pub src: Source,
    /// The manipulated tag (a writable setpoint).
    pub tag: String,
    /// The controlled tag (default: the KPI of the site's `[[loop]]` on this setpoint).
    #[arg(long)]
    pub kpi: Option<String>,
    /// The KPI's target band LOW..HIGH (default: the loop's).
    #[arg(long)]
    pub band: Option<String>,
    /// Prediction horizon, s (default: the loop's, else 60).
    #[arg(long)]
    pub horizon: Option<f64>,
    /// Send the recommendation to the running daemon as a write request (it then waits
    /// for approval in the Recommendations screen).
    #[arg(long)]
    pub request: bool,
}

struct Loaded {
    site: Site,
    dir: PathBuf,
    from: i64,
    to: i64,
}

fn load(src: &Source) -> anyhow::Result<Loaded> {
    let site = super::load_site(&src.site)?;
    let dir = src.data.clone().unwrap_or_else(|| site.data_dir.clone());
    let now = mimic_drivers::now_ms();
    let from = super::history::parse_time(&src.since, now)?;
    let to = match &src.until {
        Some(u) => super::history::parse_time(u, now)?,
        None => now + 1,
    };
    if from >= to {
        bail!("--since must be before --until");
    }
    Ok(Loaded { site, dir, from, to })
}

fn samples(l: &Loaded, tag: &str) -> anyhow::Result<Vec<HistSample>> {
    if l.site.tag_index(tag).is_none() {
        bail!("no tag `{tag}` in the site");
    }
    super::history::fetch(&l.dir, tag, l.from, l.to)
}

fn values(s: &[HistSample]) -> Vec<(i64, f64)> {
    s.iter().filter_map(|s| s.value.filter(|v| v.is_finite()).map(|v| (s.ts_ms, v))).collect()
}

/// Both series on one grid over the stretch where both have samples.
fn aligned(l: &Loaded, tag: &str, kpi: &str, period_s: f64) -> anyhow::Result<(Vec<i64>, Vec<f64>, Vec<f64>)> {
    let u = values(&samples(l, tag)?);
    let y = values(&samples(l, kpi)?);
    let (Some(u0), Some(y0), Some(u1), Some(y1)) = (u.first(), y.first(), u.last(), y.last()) else {
        bail!("no stored samples of `{tag}` or `{kpi}` in that stretch");
    };
    let ts = (period_s * 1000.0).round() as i64;
    if ts <= 0 {
        bail!("--period must be positive");
    }
    // A setpoint is stored only when it changes: it holds until the KPI's last sample.
    let from = u0.0.max(y0.0);
    let to = y1.0;
    if u1.0 > to + ts {
        tracing::debug!("setpoint samples after the KPI's last one are not used");
    }
    let t: Vec<i64> = (0..).map(|k| from + k * ts).take_while(|t| *t <= to).collect();
    Ok((t, resample(&u, from, to, ts), resample(&y, from, to, ts)))
}

fn fit(src: &Source, u: &[f64], y: &[f64], tag: &str, kpi: &str) -> anyhow::Result<Fit> {
    let max_delay = (src.max_dead / src.period).round().max(0.0) as usize;
    let fit = identify(u, y, src.period, 1, 1, max_delay).with_context(|| format!("identifying {tag} -> {kpi}"))?;
    let m = &fit.model;
    match m.fopdt() {
        Some(f) => println!(
            "model {tag} -> {kpi}: gain {:.4}, time constant {:.1} s, dead time {:.1} s (first order plus dead time, from {} samples)",
            f.gain, f.tau_s, f.dead_s, fit.samples
        ),
        None => println!(
            "model {tag} -> {kpi}: ARX a {:?} b {:?} delay {} (from {} samples)",
            m.a, m.b, m.delay, fit.samples
        ),
    }
    println!(
        "fit: R² {:.3}, NRMSE {:.3} (simulated from the setpoint alone); identified over {tag} {:.3}..{:.3}",
        fit.r2, fit.nrmse, fit.u_range.0, fit.u_range.1
    );
    Ok(fit)
}

fn limits(site: &Site, tag: &str) -> anyhow::Result<Limits> {
    let t = site.tags.iter().find(|t| t.name == tag).ok_or_else(|| anyhow!("no tag `{tag}` in the site"))?;
    if !t.writable {
        bail!("`{tag}` is not writable: it is not a setpoint");
    }
    Ok(Limits {
        low: t.low.unwrap_or(f64::NEG_INFINITY),
        high: t.high.unwrap_or(f64::INFINITY),
        max_step: t.write.max_step,
    })
}

fn band(s: &str) -> anyhow::Result<Band> {
    let (lo, hi) = s.split_once("..").ok_or_else(|| anyhow!("a band is LOW..HIGH, e.g. 60..66"))?;
    let (low, high): (f64, f64) = (lo.trim().parse()?, hi.trim().parse()?);
    if low.is_nan() || high.is_nan() || low > high {
        bail!("band {s}: LOW must not exceed HIGH");
    }
    Ok(Band { low, high })
}

/// What a what-if or a recommendation on the setpoint `tag` is about: the KPI, its band and
/// the horizon as given, each missing one from the site's `[[loop]]` on that setpoint.
#[derive(Debug, PartialEq)]
struct Target {
    kpi: String,
    band: Option<Band>,
    horizon: f64,
}

fn target(
    site: &Site,
    tag: &str,
    kpi: Option<&str>,
    band_text: Option<&str>,
    horizon: Option<f64>,
) -> anyhow::Result<Target> {
    let lp = site.tag_index(tag).and_then(|ti| site.loops.iter().find(|l| l.manipulated == ti));
    let no_loop = || format!("no [[loop]] of the site has `{tag}` as its setpoint");
    let kpi = match (kpi, lp) {
        (Some(k), _) => k.to_string(),
        (None, Some(l)) => site.tags[l.kpi].name.clone(),
        (None, None) => bail!("{}: give --kpi TAG", no_loop()),
    };
    let band = match (band_text, lp) {
        (Some(b), _) => Some(band(b)?),
        // the loop's band belongs to its own KPI only
        (None, Some(l)) if site.tags[l.kpi].name == kpi => Some(Band { low: l.low, high: l.high }),
        _ => None,
    };
    let own = lp.filter(|l| site.tags[l.kpi].name == kpi);
    let horizon = horizon.or(own.map(|l| l.horizon.as_secs_f64())).unwrap_or(60.0);
    if !(horizon.is_finite() && horizon > 0.0) {
        bail!("--horizon must be a positive number of seconds");
    }
    Ok(Target { kpi, band, horizon })
}

fn print_traj(traj: &[(f64, f64)], kpi: &str) {
    let n = traj.len();
    let picks: Vec<usize> = [0, n / 20, n / 10, n / 5, n / 2, n.saturating_sub(1)].into_iter().collect();
    let mut last = usize::MAX;
    for i in picks {
        if i != last && i < n {
            println!("  t+{:>6.1} s  {kpi} {:.3}", traj[i].0, traj[i].1);
            last = i;
        }
    }
}

pub fn whatif(a: WhatIfArgs) -> anyhow::Result<()> {
    let l = load(&a.src)?;
    let lim = limits(&l.site, &a.tag)?;
    let t = target(&l.site, &a.tag, a.kpi.as_deref(), None, a.horizon)?;
    let (_, u, y) = aligned(&l, &a.tag, &t.kpi, a.src.period)?;
    let f = fit(&a.src, &u, &y, &a.tag, &t.kpi)?;
    let now = Now { u: u.clone(), y: y.clone() };
    let (traj, ss) = what_if(&f, &now, a.value, t.horizon)?;
    let from = u.last().copied().unwrap_or(f64::NAN);
    println!("what if {} goes {from:.3} -> {:.3}:", a.tag, a.value);
    print_traj(&traj, &t.kpi);
    if let Some(b) = t.band {
        let side = if !ss.is_finite() {
            "not known against"
        } else if ss < b.low {
            "below"
        } else if ss > b.high {
            "above"
        } else {
            "inside"
        };
        println!("band {}..{} of {}: the steady state is {side} it", b.low, b.high, t.kpi);
    }
    println!(
        "steady state {} {ss:.3} (now {:.3}), confidence {:.2}",
        t.kpi,
        y.last().copied().unwrap_or(f64::NAN),
        crate::models::prescribe::confidence(&f, a.value)
    );
    match lim.range_from(from) {
        Ok((lo, hi)) if a.value < lo || a.value > hi => {
            println!("note: {} is outside what one approved write allows ({lo:.3}..{hi:.3})", a.value)
        }
        Err(e) => println!("note: {e}"),
        _ => {}
    }
    Ok(())
}

fn quality(s: &HistSample) -> Quality {
    if s.quality == TagQuality::Good {
        Quality::Good
    } else if s.quality == TagQuality::Bad || s.value.is_none() {
        Quality::Bad(Reason::CommFailure)
    } else {
        Quality::Uncertain(Reason::Stale)
    }
}

pub fn shadow(a: ShadowArgs) -> anyhow::Result<()> {
    let l = load(&a.src)?;
    if let Some(spec) = &a.alarm {
        let (tag, rest) = spec.split_once(':').ok_or_else(|| anyhow!("--alarm is TAG:KIND=LIMIT"))?;
        let (kind, limit) = rest.split_once('=').ok_or_else(|| anyhow!("--alarm is TAG:KIND=LIMIT"))?;
        let limit: f64 = limit.trim().parse().with_context(|| format!("limit `{limit}`"))?;
        let kind =
            crate::alarms::AlarmKind::from_name(kind.trim()).ok_or_else(|| anyhow!("unknown alarm kind `{kind}`"))?;
        let def = l
            .site
            .alarms
            .iter()
            .find(|d| d.tag_name() == tag && d.kind == kind)
            .ok_or_else(|| anyhow!("the site has no {kind:?} alarm on `{tag}`"))?;
        let pts: Vec<Point> =
            samples(&l, tag)?.iter().map(|s| Point { ts_ms: s.ts_ms, value: s.value, quality: quality(s) }).collect();
        let (now, prop) = compare_alarm_limit(def, limit, &pts);
        println!("{} samples of {tag} replayed through the alarm engine", pts.len());
        let show = |name: String, r: &crate::models::prescribe::shadow::AlarmReplay| {
            println!("  {name}: {} activation(s), active {:.0} s", r.activations.len(), r.active_ms as f64 / 1000.0);
        };
        let today = match def.limit {
            Some(l) => format!("{kind:?} at {l} (now)"),
            None => format!("{kind:?} (now)"),
        };
        show(today, &now);
        show(format!("{kind:?} at {limit} (proposed)"), &prop);
        return Ok(());
    }
    let (Some(sp), Some(kpi)) = (&a.setpoint, &a.kpi) else {
        bail!("give --alarm TAG:KIND=LIMIT or --setpoint TAG=VALUE --kpi TAG");
    };
    let (tag, value) = sp.split_once('=').ok_or_else(|| anyhow!("--setpoint is TAG=VALUE"))?;
    let value: f64 = value.trim().parse().with_context(|| format!("value `{value}`"))?;
    let lim = limits(&l.site, tag)?;
    if value < lim.low || value > lim.high {
        bail!("{value} is outside {tag}'s engineering limits {}..{}", lim.low, lim.high);
    }
    let (t, u, y) = aligned(&l, tag, kpi, a.src.period)?;
    let f = fit(&a.src, &u, &y, tag, kpi)?;
    let b = a.band.as_deref().map(band).transpose()?;
    let defs: Vec<_> = l.site.alarms.iter().filter(|d| d.tag_name() == kpi).cloned().collect();
    let r = replay_setpoint(&f, &t, &u, &y, value, b, &defs);
    println!("{tag} held at {value} over {} samples instead of what was recorded:", t.len());
    println!("  {kpi} mean {:.3} as measured, {:.3} predicted", r.mean_actual, r.mean_predicted);
    if b.is_some() {
        println!(
            "  samples outside the band: {} as measured, {} predicted",
            r.out_of_band_actual, r.out_of_band_predicted
        );
    }
    for (d, (act, pred)) in defs.iter().zip(r.alarms_actual.iter().zip(&r.alarms_predicted)) {
        println!(
            "  alarm {:?} at {:?}: {} activation(s) as it was, {} predicted",
            d.kind,
            d.limit,
            act.activations.len(),
            pred.activations.len()
        );
    }
    Ok(())
}

/// The model corrected by what approved changes of this pair showed (see
/// [`crate::models::prescribe::learn`]).
fn learnt(l: &Loaded, tag: &str, kpi: &str, f: Fit) -> anyhow::Result<Fit> {
    let report = super::maintenance::report(&l.dir, None, &[]).context("reading the learnt prediction errors")?;
    let errs: Vec<_> = report.errors.into_iter().filter(|e| e.manipulated == tag && e.controlled == kpi).collect();
    let c = crate::models::prescribe::learn::correct_gain(f.model.gain(), &errs);
    if c.used == 0 {
        return Ok(f);
    }
    println!(
        "learnt from {} approved change(s): gain {:.4} corrected to {:.4} (x{:.3})",
        c.used,
        c.model_gain,
        c.gain,
        c.factor()
    );
    Ok(crate::models::prescribe::learn::apply(&f, &c))
}

pub fn recommend_cmd(a: RecommendArgs) -> anyhow::Result<()> {
    let l = load(&a.src)?;
    let lim = limits(&l.site, &a.tag)?;
    let t = target(&l.site, &a.tag, a.kpi.as_deref(), a.band.as_deref(), a.horizon)?;
    let Some(b) = t.band else {
        bail!("no [[loop]] of the site has `{}` and `{}` as its pair: give --band LOW..HIGH", a.tag, t.kpi)
    };
    let (_, u, y) = aligned(&l, &a.tag, &t.kpi, a.src.period)?;
    let f = learnt(&l, &a.tag, &t.kpi, fit(&a.src, &u, &y, &a.tag, &t.kpi)?)?;
    let now = Now { u, y };
    let Some(p) = recommend(&a.tag, &t.kpi, &f, &now, b, lim, t.horizon)? else {
        println!("{} is inside its band {}..{}: no change recommended", t.kpi, b.low, b.high);
        return Ok(());
    };
    println!("recommend {} {:.3} -> {:.3} (confidence {:.2})", p.tag, p.from, p.to, p.confidence);
    println!("why: {}", p.reason);
    print_traj(&p.predicted, &p.kpi);
    println!("steady state {} {:.3}; effect: {}", p.kpi, p.steady_state, p.effect_text());
    if a.request {
        // the prediction is checked after the write settles: within a quarter of the
        // predicted move (at least 2 % of the level)
        let kpi_now = p.predicted.first().map_or(p.steady_state, |x| x.1);
        let tolerance = (0.25 * (p.steady_state - kpi_now).abs()).max(0.02 * p.steady_state.abs()).max(1e-3);
        let act = crate::ipc::Act::Recommend {
            tag: p.tag.clone(),
            value: p.to,
            kpi: p.kpi.clone(),
            kpi_now,
            kpi_expect: p.steady_state,
            tolerance,
            effect: p.effect_text(),
            confidence: p.confidence,
        };
        let reply = super::history::act(&l.dir, act)?;
        println!("{reply}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use mimic_drivers::sim::plant::{Noise, PumpSkid};

    use super::*;
    use crate::historian::{Historian, HistorianOptions, Sample};

    /// A store holding an hour of the demo skid with the speed setpoint moved every 90 s.
    fn store(dir: &std::path::Path) -> i64 {
        let mut h = Historian::open(&dir.join(crate::daemon::STORE_NAME), HistorianOptions::default()).unwrap();
        let (sp, flow, temp) =
            (h.tag_id("P101.speed_sp").unwrap(), h.tag_id("P101.flow").unwrap(), h.tag_id("P101.motor_temp").unwrap());
        let mut p = PumpSkid::new(9);
        let mut r = Noise::new(10);
        let now = mimic_drivers::now_ms();
        let t0 = now - 3_600_000;
        let mut batch = Vec::new();
        for s in 0..3600i64 {
            if s % 90 == 0 {
                p.speed_sp = ((50.0 + 45.0 * r.uniform()) * 10.0).round() / 10.0;
                batch.push(Sample { tag: sp, ts_ms: t0 + s * 1000, value: p.speed_sp, quality: 0 });
            }
            for _ in 0..10 {
                p.inflow = p.flow;
                p.step(0.1);
            }
            let ts_ms = t0 + s * 1000;
            batch.push(Sample { tag: flow, ts_ms, value: (p.measured_flow() * 10.0).round() / 10.0, quality: 0 });
            batch.push(Sample { tag: temp, ts_ms, value: (p.motor_temp * 10.0).round() / 10.0, quality: 0 });
        }
        h.append(&batch).unwrap();
        now
    }

    fn src(dir: &std::path::Path) -> Source {
        Source {
            site: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/profiles/demo-site.toml")),
            data: Some(dir.to_path_buf()),
            since: "2h".into(),
            until: None,
            period: 1.0,
            max_dead: 10.0,
        }
    }

    #[test]
    fn a_missing_kpi_band_or_horizon_comes_from_the_loop_on_the_setpoint() {
        let site = crate::config::Site::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/profiles/demo-site.toml"
        )))
        .unwrap();
        let t = target(&site, "P101.speed_sp", None, None, None).unwrap();
        let lp = &site.loops[0];
        let want = Band { low: lp.low, high: lp.high };
        assert_eq!(t, Target { kpi: "P101.flow".into(), band: Some(want), horizon: lp.horizon.as_secs_f64() });
        // what is given wins; another KPI does not take the loop's band
        let t = target(&site, "P101.speed_sp", Some("P101.motor_temp"), None, Some(5.0)).unwrap();
        assert_eq!(t, Target { kpi: "P101.motor_temp".into(), band: None, horizon: 5.0 });
        let t = target(&site, "P101.speed_sp", Some("P101.motor_temp"), None, None).unwrap();
        assert_eq!(t.horizon, 60.0, "nor its horizon");
        let t = target(&site, "P101.speed_sp", None, Some("60..66"), None).unwrap();
        assert_eq!(t.band, Some(Band { low: 60.0, high: 66.0 }));
        // no loop on that setpoint: the KPI must be given
        let e = target(&site, "P101.run_cmd", None, None, None).unwrap_err().to_string();
        assert!(e.contains("no [[loop]]") && e.contains("--kpi"), "{e}");
        assert!(target(&site, "P101.speed_sp", None, None, Some(-1.0)).is_err());
    }

    #[test]
    fn whatif_shadow_and_recommend_run_on_a_real_store() {
        let dir = tempfile::tempdir().unwrap();
        store(dir.path());
        let l = load(&src(dir.path())).unwrap();
        let (t, u, y) = aligned(&l, "P101.speed_sp", "P101.flow", 1.0).unwrap();
        assert!(t.len() > 3500, "{}", t.len());
        let f = fit(&src(dir.path()), &u, &y, "P101.speed_sp", "P101.flow").unwrap();
        assert!(f.r2 > 0.95, "{f:?}");
        let g = f.model.gain();
        assert!((g - 0.93).abs() < 0.05, "flow per % of speed at 60 % open: {g}");

        let a = |v: &str| v.to_string();
        whatif(WhatIfArgs {
            src: src(dir.path()),
            tag: a("P101.speed_sp"),
            value: 80.0,
            kpi: Some(a("P101.flow")),
            horizon: Some(30.0),
        })
        .unwrap();
        shadow(ShadowArgs {
            src: src(dir.path()),
            alarm: Some(a("P101.motor_temp:hi=60")),
            setpoint: None,
            kpi: None,
            band: None,
        })
        .unwrap();
        shadow(ShadowArgs {
            src: src(dir.path()),
            alarm: None,
            setpoint: Some(a("P101.speed_sp=70")),
            kpi: Some(a("P101.flow")),
            band: Some(a("55..70")),
        })
        .unwrap();
        recommend_cmd(RecommendArgs {
            src: src(dir.path()),
            tag: a("P101.speed_sp"),
            kpi: Some(a("P101.flow")),
            band: Some(a("200..210")),
            horizon: Some(30.0),
            request: false,
        })
        .unwrap();
        // the KPI, band and horizon of the site's [[loop]] on the setpoint
        whatif(WhatIfArgs { src: src(dir.path()), tag: a("P101.speed_sp"), value: 80.0, kpi: None, horizon: None })
            .unwrap();
        let rec = |tag: &str| RecommendArgs {
            src: src(dir.path()),
            tag: a(tag),
            kpi: None,
            band: None,
            horizon: None,
            request: false,
        };
        recommend_cmd(rec("P101.speed_sp")).unwrap();
        let e = recommend_cmd(rec("P101.run_cmd")).expect_err("no loop on the valve");
        assert!(e.to_string().contains("give --kpi"), "{e}");
        // A measurement is not a setpoint; an unknown alarm is an error.
        assert!(
            whatif(WhatIfArgs {
                src: src(dir.path()),
                tag: a("P101.flow"),
                value: 1.0,
                kpi: Some(a("P101.flow")),
                horizon: Some(1.0)
            })
            .is_err()
        );
        assert!(
            shadow(ShadowArgs {
                src: src(dir.path()),
                alarm: Some(a("P101.flow:hihi=9")),
                setpoint: None,
                kpi: None,
                band: None
            })
            .is_err()
        );
    }
}
