//! `guild insights fit` on purchase logs: the JSON contract, the published
//! CDNOW estimates from the till CSV of the sample, and a specific message
//! with a non-zero exit for each kind of bad input.

use assert_cmd::Command;
use std::fmt::Write;
use std::path::{Path, PathBuf};

const CDNOW_CSV: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../insights/tests/data/cdnow_sample.csv"
);

fn guild() -> Command {
    Command::cargo_bin("guild").unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// 120 customers over the first half of 2024: a sixth buy once, the
/// others up to five more times at their own pace; a quarter buy again in
/// July, after the calibration end.
fn small_log() -> String {
    let mut text = String::from("customer,date,amount\n");
    let day = |n: u32| {
        // Days of 2024 from 1 January (n = 0); 2024 is a leap year.
        let months = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        let (mut month, mut rest) = (0, n);
        while rest >= months[month] {
            rest -= months[month];
            month += 1;
        }
        format!("2024-{:02}-{:02}", month + 1, rest + 1)
    };
    for k in 0..120u32 {
        let mut d = k % 30;
        let _ = writeln!(text, "C{k},{},{}.50", day(d), 5 + k % 9);
        let gap = 5 + (k * 7) % 23;
        for j in 0..k % 6 {
            d += gap + j * 3;
            let _ = writeln!(text, "C{k},{},{}.25", day(d), 4 + (k + j) % 11);
        }
        if k % 4 == 0 {
            let _ = writeln!(text, "C{k},2024-07-{},9.99", 10 + k % 15);
        }
    }
    text
}

#[test]
fn fit_prints_the_parameters_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "log.csv", &small_log());
    let output = guild()
        .args([
            "--json",
            "insights",
            "fit",
            "--calibration-end",
            "2024-06-30",
            "--purchases",
        ])
        .arg(&log)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for key in ["r", "alpha", "a", "b", "log_likelihood"] {
        let v = json["bgnbd"][key].as_f64().unwrap_or(f64::NAN);
        assert!(v.is_finite(), "bgnbd.{key}: {json}");
    }
    for key in ["p", "q", "gamma"] {
        let v = json["gamma_gamma"][key].as_f64().unwrap_or(-1.0);
        assert!(v > 0.0, "gamma_gamma.{key}: {json}");
    }
    assert_eq!(json["customers"], 120);
    assert_eq!(json["repeat_customers"], 100);
    // The purchases after June are held out (dates compare as text).
    let text = small_log();
    let after: std::collections::BTreeSet<(&str, &str)> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split(',');
            Some((f.next()?, f.next()?))
        })
        .filter(|(_, date)| *date > "2024-06-30")
        .collect();
    assert!(after.len() >= 30);
    assert_eq!(json["holdout"]["total"]["actual"], after.len());
    assert_eq!(json["holdout"]["from"], "2024-07-01");

    // The same log for people: the parameters and what they mean.
    let output = guild()
        .args([
            "insights",
            "fit",
            "--calibration-end",
            "2024-06-30",
            "--purchases",
        ])
        .arg(&log)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    for want in [
        "repeat customers  100",
        "times a year",
        "Predicted against actual purchases after the calibration end",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
}

#[test]
fn the_cdnow_log_gives_the_published_estimates() {
    let output = guild()
        .args([
            "--json",
            "insights",
            "fit",
            "--calibration-end",
            "1997-09-30",
            "--purchases",
            CDNOW_CSV,
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let near = |got: &serde_json::Value, published: f64| {
        let got = got.as_f64().unwrap();
        assert!(
            (got - published).abs() <= 0.01 * published.abs(),
            "{got} against {published}"
        );
    };
    near(&json["bgnbd"]["r"], 0.243);
    near(&json["bgnbd"]["alpha"], 4.414);
    near(&json["bgnbd"]["a"], 0.793);
    near(&json["bgnbd"]["b"], 2.426);
    near(&json["bgnbd"]["log_likelihood"], -9582.4);
    near(&json["gamma_gamma"]["p"], 6.25);
    near(&json["gamma_gamma"]["q"], 3.74);
    near(&json["gamma_gamma"]["gamma"], 15.44);
    assert_eq!(json["customers"], 2357);
    assert_eq!(json["holdout"]["weeks"], 39.0);
    assert_eq!(json["holdout"]["total"]["actual"], 1882);
}

#[test]
fn bad_logs_get_a_specific_message_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "customer,date,amount\nA,2024-03-01,1.00\nA,2024-03-02,12,50\n",
            "line 3 has 4 fields where the header has 3: an amount written with a decimal comma (12,50) is two fields; write 12.50",
        ),
        (
            "customer,date,amount\nA,2024-03-01,\"12,50\"\n",
            "line 2, column amount: '12,50' has a comma: write the amount with a dot",
        ),
        (
            "customer,date,amount\nA,2024-03-01,1.00\nB,31/03/2024,2.00\n",
            "line 3, column date: '31/03/2024' is not a date: write it as YYYY-MM-DD",
        ),
        (
            "customer,amount\nA,1.00\n",
            "does not name the column date: the first line must be 'customer,date,amount'",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let log = write(dir.path(), &format!("bad{i}.csv"), text);
        let output = guild()
            .args([
                "insights",
                "fit",
                "--calibration-end",
                "2024-06-30",
                "--purchases",
            ])
            .arg(&log)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{text}");
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(said.contains(want), "{text}: {said}");
        assert!(
            said.contains(&format!("bad{i}.csv")),
            "the file is named: {said}"
        );
    }
}

#[test]
fn too_few_repeat_customers_is_said_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("customer,date,amount\n");
    for k in 0..50 {
        let _ = writeln!(text, "C{k},2024-03-{:02},4.00", 1 + k % 28);
        if k < 12 {
            let _ = writeln!(text, "C{k},2024-04-{:02},4.00", 1 + k % 28);
        }
    }
    let log = write(dir.path(), "young.csv", &text);
    let output = guild()
        .args([
            "--json",
            "insights",
            "fit",
            "--calibration-end",
            "2024-06-30",
            "--purchases",
        ])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains(
            "only 12 customers have bought more than once and the models need at least 30"
        ),
        "{said}"
    );
}

#[test]
fn bad_arguments_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "log.csv", &small_log());
    let run = |args: &[&str]| {
        guild()
            .args(["insights", "fit", "--purchases"])
            .arg(&log)
            .args(args)
            .output()
            .unwrap()
    };
    let output = run(&["--calibration-end", "30/06/2024"]);
    assert_eq!(output.status.code(), Some(1));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("--calibration-end") && said.contains("YYYY-MM-DD"),
        "{said}"
    );

    let output = run(&["--calibration-end", "2023-12-31"]);
    assert_eq!(output.status.code(), Some(1));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("no purchase") && said.contains("2024-01-01"),
        "{said}"
    );

    let output = run(&["--calibration-end", "2024-06-30", "--months", "0"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("1 to 120 months"));
    let output = run(&[
        "--calibration-end",
        "2024-06-30",
        "--discount-percent",
        "200",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("--discount-percent must be a percentage from 0 to 100, not 200")
    );

    let output = guild()
        .args([
            "insights",
            "fit",
            "--calibration-end",
            "2024-06-30",
            "--purchases",
        ])
        .arg(dir.path().join("missing.csv"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("there is no file"));
}
