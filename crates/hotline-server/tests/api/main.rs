//! Acceptance tests of the hotline's JSON API (issue 3), each against a real hotline: the real
//! router on a loopback HTTP server over a real SQLite log in a temp dir (see `fixture`).
//!
//! - `authz`: the authorization matrix, generated from `hotline_server::api::ROUTES`;
//! - `replay`: replays (exact, re-targeted, stale, across a restart, across hotlines) and
//!   what rotated and revoked keys can still prove;
//! - `bad_input`: every kind of bad input gets a clear 4xx and changes nothing stored;
//! - `openapi`: the OpenAPI document describes every route;
//! - `taxii`: TAXII 2.1 at `/taxii2/` (issue 5).
#![allow(clippy::unwrap_used, missing_docs)]

mod authz;
mod bad_input;
mod console;
mod fixture;
mod openapi;
mod replay;
mod taxii;
mod webhooks;
