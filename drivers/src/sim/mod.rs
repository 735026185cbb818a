//! The demo plant: a pump skid simulated physically and served as a real Modbus TCP
//! server, so that the demo exercises the real driver end to end.
//!
//! [`plant`] is the physics (pure, stepped with an explicit `dt`, seeded noise);
//! [`server`] maps it onto a Modbus register image, one plant per unit id; [`tcp`] serves
//! it as a Modbus TCP server and [`rtu`] as Modbus RTU slaves on a serial port; [`demo`]
//! gives the plant of `mimic demo` a wearing bearing and a fault schedule.
//! The register map is documented on [`plant::map`] and in `profiles/demo-site.toml`.

pub mod demo;
pub mod plant;
pub mod rtu;
pub mod server;
pub mod tcp;

pub use demo::DemoPlan;
pub use plant::{Fault, PumpSkid};
pub use rtu::serve_rtu;
pub use server::SimHandle;
pub use tcp::{serve, serve_demo};
