//! The `guild` binary's basic contract: help, and clear errors with a
//! non-zero exit for bad set-up.

use assert_cmd::Command;

fn guild() -> Command {
    Command::cargo_bin("guild").unwrap()
}

#[test]
fn help_lists_the_commands() {
    let output = guild().arg("--help").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for command in ["node", "devnet", "bench"] {
        assert!(text.contains(command), "{text}");
    }
}

#[test]
fn a_missing_genesis_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = guild()
        .args(["node", "--no-mdns", "--data"])
        .arg(dir.path().join("data"))
        .arg("--genesis")
        .arg(dir.path().join("nope.json"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("cannot read genesis file"), "{text}");
}

#[test]
fn a_broken_genesis_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let genesis = dir.path().join("genesis.json");
    std::fs::write(&genesis, "{\"chain_id\": \"x\"}").unwrap();
    let output = guild()
        .args(["node", "--no-mdns", "--data"])
        .arg(dir.path().join("data"))
        .arg("--genesis")
        .arg(&genesis)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("is not valid"), "{text}");
}

#[test]
fn devnet_refuses_a_directory_that_is_not_a_devnet() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("something.txt"), "hello").unwrap();
    let output = guild()
        .args(["devnet", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("is not a devnet"), "{text}");
}
