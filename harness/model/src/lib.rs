//! qalens's inputs as data, checked before anything runs: the system file ([`system`], a
//! Compose file with an `x-qalens` section), the feature files ([`features`]), and the
//! bounded reader both go through ([`input`]). Nothing here starts a runtime or talks to
//! Docker; every problem names its file and, where known, its line.
#![warn(unreachable_pub)]

pub mod features;
pub mod images;
pub mod input;
pub mod system;
