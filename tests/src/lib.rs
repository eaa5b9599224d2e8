//! Support code for the end-to-end tests in `tests/`: [`faultproxy`], an HTTP proxy that sits between the
//! controller and moto and injects the failures AWS produces (throttling, 5xx, hung and dropped calls).

pub mod faultproxy;
