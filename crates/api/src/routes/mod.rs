pub mod ops;
pub mod orders;
