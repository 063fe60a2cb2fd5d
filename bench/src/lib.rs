//! Parley's benchmark instrument: a load generator that speaks the wire
//! protocol over loopback ([`load`]) and the report it writes ([`report`]).

pub mod load;
pub mod report;
pub mod soak;
