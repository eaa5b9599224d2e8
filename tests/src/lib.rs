//! Support code for the end-to-end tests in `tests/` and the `bench` example, one library so that every
//! test binary uses the same code instead of including files by path: [`harness`] (the environment, the
//! controller process, waits), and [`faultproxy`], an HTTP proxy that sits between the controller and
//! moto and injects the failures AWS produces (throttling, 5xx, hung and dropped calls).

pub mod faultproxy;
pub mod harness;
