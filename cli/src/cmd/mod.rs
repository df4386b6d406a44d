//! One module per subcommand.

pub mod bench;
pub mod devnet;
pub mod node;
