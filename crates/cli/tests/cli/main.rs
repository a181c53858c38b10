//! The command-line tools' integration tests, one binary: `oee` against a
//! live engine, the load generator against engine processes, and
//! scripts/cluster behind nginx.

mod cluster;
mod load;
mod oee;
