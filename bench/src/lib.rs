//! Parley's benchmark instrument: a load generator that speaks the wire
//! protocol over loopback ([`load`]) and the report it writes ([`report`]),
//! the soak ([`soak`]), and the helpers that let each writer own a section
//! of docs/benchmarks.md ([`sections`]).

pub mod load;
pub mod report;
pub mod sections;
pub mod soak;
