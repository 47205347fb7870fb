//! One integration-test binary (faster to link than one per file).

mod augment;
mod cli;
mod engine;
mod fetch;
mod gguf;
mod hostile;
mod leases;
mod packages;
mod remote;
mod report;
mod review;
mod rounds;
mod rules;
mod store;
mod stub_server;
mod study;
mod train;
mod util;
mod worker;
