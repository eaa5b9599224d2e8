//! Support code for the end-to-end tests in `tests/` and the `bench` example, one library so that every
//! test binary uses the same code instead of including files by path: [`harness`] (the environment, the
//! controller process, waits), [`fixtures`] (the manifests tests apply), [`probes`] (reads of AWS state
//! tests assert on), [`kinds`] (the lists of kinds, CRDs and mutating AWS operations), [`moto`] (moto's state manager, a
//! moto_server of a test's own), and [`faultproxy`], an HTTP proxy that sits between the controller and moto and
//! injects the failures AWS produces (throttling, 5xx, hung and dropped calls).

pub mod faultproxy;
pub mod fixtures;
pub mod harness;
pub mod kinds;
pub mod moto;
pub mod probes;
pub mod tcpproxy;
