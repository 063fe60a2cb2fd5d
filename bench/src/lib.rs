//! Parley's benchmark instrument: a load generator that speaks the wire
//! protocol over loopback ([`load`]) and the report it writes ([`report`]),
//! the soak ([`soak`]), the join storms ([`storm`]), and the helpers that
//! let each of them own a section of docs/benchmarks.md ([`sections`]).

pub mod load;
pub mod report;
pub mod sections;
pub mod soak;
pub mod storm;
