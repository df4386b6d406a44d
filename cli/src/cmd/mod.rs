//! One module per subcommand.

pub mod audit;
pub mod bench;
pub mod devnet;
pub mod node;
pub mod shop;
pub mod submit;
pub mod wallet;
