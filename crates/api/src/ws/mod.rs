pub mod follow;
pub mod hub;
pub mod pump;
