//! `guild join`'s mistakes, each with its own message and exit code 1, and
//! its resuming: a second run in the same folder keeps what the first made.
//! (The successful join of a real network is in `namespaces.rs`.)

mod common;

use common::*;
use std::ffi::OsStr;
use std::path::Path;
use std::process::Output;

fn join(net: &Net, dir: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("join"),
        OsStr::new("--dir"),
        dir.as_os_str(),
        OsStr::new("--passphrase-file"),
        net.passphrase_file.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    guild(&args)
}

fn failed(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(
        output.status.code(),
        Some(1),
        "expected exit code 1:\n{}\n{stderr}",
        String::from_utf8_lossy(&output.stdout)
    );
    stderr
}

#[test]
fn an_unknown_genesis_file_is_named() {
    let net = Net::new(4);
    let dir = net.dir.path().join("butcher");
    let missing = net.dir.path().join("no-such-genesis.json");
    let err = failed(&join(
        &net,
        &dir,
        &["--name", "Butcher", "--genesis", missing.to_str().unwrap()],
    ));
    assert!(
        err.contains(&format!("cannot read genesis file {}", missing.display())),
        "{err}"
    );
    let err = failed(&join(&net, &dir, &["--name", "Butcher"]));
    assert!(
        err.contains("which network? Give the genesis file"),
        "{err}"
    );
}

#[test]
fn a_name_already_taken_is_refused() {
    let net = Net::new(4);
    let dir = net.dir.path().join("butcher");
    let genesis = net.genesis.to_str().unwrap();
    let err = failed(&join(
        &net,
        &dir,
        &["--name", "bakery", "--genesis", genesis],
    ));
    assert!(
        err.contains(&format!(
            "the name bakery is already taken by a member shop ({}); choose another with --name",
            net.shop(0).address()
        )),
        "{err}"
    );
}

#[test]
fn a_key_already_a_member_is_refused() {
    let net = Net::new(4);
    let dir = net.dir.path().join("butcher");
    let wallet = net.nodes[1].wallet.clone().unwrap();
    let err = failed(&join(
        &net,
        &dir,
        &[
            "--name",
            "Butcher",
            "--genesis",
            net.genesis.to_str().unwrap(),
            "--key",
            wallet.to_str().unwrap(),
        ],
    ));
    assert!(
        err.contains(&format!(
            "the key {} is already the member shop Cafe",
            net.shop(1).address()
        )),
        "{err}"
    );
}

#[test]
fn no_peer_at_all_is_refused_before_the_node_starts() {
    let net = Net::new(4);
    let dir = net.dir.path().join("butcher");
    let err = failed(&join(
        &net,
        &dir,
        &[
            "--name",
            "Butcher",
            "--genesis",
            net.genesis.to_str().unwrap(),
            "--no-mdns",
        ],
    ));
    assert!(
        err.contains("no member's node to connect to: the genesis file lists no peers"),
        "{err}"
    );
}

#[test]
fn unreachable_peers_stop_the_join_and_a_second_run_resumes() {
    let net = Net::new(4);
    let dir = net.dir.path().join("butcher");
    let nobody = format!("/ip4/127.0.0.1/tcp/{}", free_port());
    let api = format!("127.0.0.1:{}", free_port());
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--name",
            "Butcher",
            "--peer",
            &nobody,
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--api",
            &api,
            "--no-mdns",
            "--connect-timeout",
            "2",
        ];
        args.extend_from_slice(extra);
        join(&net, &dir, &args)
    };
    let first = run(&["--genesis", net.genesis.to_str().unwrap()]);
    let err = failed(&first);
    assert!(
        err.contains(&format!(
            "cannot reach any member's node in 2 s (tried {nobody})"
        )),
        "{err}"
    );
    let out = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(out.contains("Created the shop's wallet"), "{out}");
    assert!(
        out.contains("guild shop propose add-member --name Butcher --address guild1"),
        "{out}"
    );
    assert!(
        out.contains("The vote needs 3 approvals of the 4 member shops"),
        "{out}"
    );
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("node.json")).unwrap()).unwrap();
    assert_eq!(config["peers"][0], nobody.as_str(), "{config}");
    assert_eq!(config["key"], "wallet.json", "{config}");
    assert_eq!(config["mdns"], false, "{config}");

    // Again, without the genesis: the folder has it, and the same key.
    let second = run(&[]);
    failed(&second);
    let again = String::from_utf8_lossy(&second.stdout).to_string();
    assert!(again.contains("Resuming the join set up in"), "{again}");
    assert!(!again.contains("Created the shop's wallet"), "{again}");
    let address = |text: &str| {
        text.split("--address ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_string)
    };
    assert_eq!(address(&out), address(&again));
    assert!(address(&out).is_some());

    // A genesis of another network is refused for this folder.
    let other = Net::new(2);
    let err = failed(&run(&["--genesis", other.genesis.to_str().unwrap()]));
    assert!(
        err.contains("was set up for network test-net and the genesis given is a different genesis of network test-net"),
        "{err}"
    );
}
