//! What the twin publishes to the plant's other systems (faces pointing north, away from
//! the devices it polls in `mimic-drivers`): today the Sparkplug B edge node in
//! [`sparkplug`]. A northbound face only reads the core's sample stream and sends requests
//! to the core as messages; it never writes to a device itself.

pub mod opcua;
pub mod sparkplug;
