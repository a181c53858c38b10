//! The command-line tools' integration tests, one binary: the load generator
//! against engine processes, and scripts/cluster behind nginx.

mod cluster;
mod load;
