pub mod follow;
pub mod hub;
