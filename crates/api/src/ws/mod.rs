pub mod follow;
pub mod hub;
pub mod pump;
pub mod submit;
