//! One module per subcommand.

pub mod admin_token;
pub mod audit;
pub mod automation;
pub mod bench;
pub mod customer;
pub mod devnet;
pub mod genesis;
pub mod insights;
pub mod join;
pub mod node;
pub mod programme;
pub mod shop;
pub mod status;
pub mod submit;
pub mod wallet;

/// A command that has said everything it had to say and ends with this
/// exit code (e.g. `guild status`: 3, no quorum); `main` prints nothing
/// more.
#[derive(Debug)]
pub struct ExitWith(pub u8);

impl std::fmt::Display for ExitWith {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit code {}", self.0)
    }
}

impl std::error::Error for ExitWith {}

/// An error and its causes on one line, each said once: the libraries'
/// errors often name their cause in their own message already, and
/// anyhow's `{:#}` would repeat it ("…: No such file…: No such file…").
pub fn describe(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let error = anyhow::Error::new(io).context("cannot read genesis.json: no such file");
        assert_eq!(describe(&error), "cannot read genesis.json: no such file");
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let error = anyhow::Error::new(io).context("cannot read genesis.json");
        assert_eq!(describe(&error), "cannot read genesis.json: no such file");
    }
}
