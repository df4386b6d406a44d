//! `guild insights fit`: the customer-value models fitted on a till's
//! purchase log, for a shop bringing its history before it joins.
//!
//! Reads the log (`customer,date,amount`, guild_insights::log), summarises
//! every customer up to the calibration end, fits BG/NBD and Gamma-Gamma
//! with the same `fit_models` the node calls, and when the log runs past
//! the calibration end compares the predicted purchases with the actual
//! ones, group by group (docs/insights.md).

use super::table;
use crate::Globals;
use anyhow::{Context, bail};
use clap::Args;
use guild_audit::Date;
use guild_insights::log::MAX_LOG_BYTES;
use guild_insights::models::{
    ClvSettings, CustomerValue, FitError, Models, WEEKS_PER_MONTH, lifetime_value,
};
use guild_insights::{
    CustomerSummary, Day, Holdout, HoldoutRow, LogError, compare_holdout, fit_models,
    read_purchase_log, summarize,
};
use serde_json::{Value, json};
use std::fmt::Write;
use std::path::PathBuf;

/// Weeks in a year (365.25 / 7).
const WEEKS_PER_YEAR: f64 = 365.25 / 7.0;

/// Options of `guild insights fit`.
#[derive(Args)]
pub struct FitArgs {
    /// The purchase log: CSV with a header line naming the columns
    /// customer,date,amount (date as YYYY-MM-DD, amount with a dot as the
    /// decimal separator), one line per purchase.
    #[arg(long, value_name = "FILE.csv")]
    purchases: PathBuf,
    /// The last day of the calibration period (YYYY-MM-DD): the models are
    /// fitted on the purchases up to and including it; later purchases are
    /// held out and compared with the models' predictions.
    #[arg(long, value_name = "YYYY-MM-DD")]
    calibration_end: String,
    /// Decimals of the currency (2 for pounds and pence, 0 for yen).
    #[arg(long, default_value_t = 2, value_name = "N")]
    decimals: u8,
    /// Lifetime value: the horizon in months.
    #[arg(long, default_value_t = 12, value_name = "MONTHS")]
    months: u32,
    /// Lifetime value: the discount rate per month, in percent.
    #[arg(long, default_value_t = 1.0, value_name = "PERCENT")]
    discount_percent: f64,
    /// Lifetime value: the share of spend the shop keeps, in percent (100
    /// counts all spend).
    #[arg(long, default_value_t = 100.0, value_name = "PERCENT")]
    margin_percent: f64,
}

/// Everything the command shows.
struct Fitted {
    file: String,
    calibration_end: Date,
    rows: usize,
    first: Option<Day>,
    last: Option<Day>,
    customers: Vec<CustomerSummary>,
    models: Models,
    settings: ClvSettings,
    outlook: Outlook,
    holdout: Option<Holdout>,
}

/// What the models say about the shop's customers as a whole.
struct Outlook {
    /// Σ P(active).
    active: f64,
    /// Σ expected purchases over the horizon.
    purchases: f64,
    /// Σ lifetime value, with a spend model.
    value: Option<f64>,
    /// Repeat purchases of a new customer over the horizon.
    new_purchases: f64,
    /// A new customer's lifetime value (repeat purchases only).
    new_value: Option<f64>,
}

/// Runs the command.
pub fn run(args: FitArgs, globals: &Globals) -> anyhow::Result<()> {
    let fitted = fit(&args)?;
    if globals.json {
        println!("{}", serde_json::to_string_pretty(&json_of(&fitted))?);
    } else {
        print!("{}", text_of(&fitted));
    }
    Ok(())
}

fn fit(args: &FitArgs) -> anyhow::Result<Fitted> {
    let calibration_end = Date::parse(&args.calibration_end).context("--calibration-end")?;
    for (name, value) in [
        ("--discount-percent", args.discount_percent),
        ("--margin-percent", args.margin_percent),
    ] {
        if !(0.0..=100.0).contains(&value) {
            bail!("{name} must be a percentage from 0 to 100, not {value}");
        }
    }
    let settings = ClvSettings {
        months: args.months,
        monthly_discount: args.discount_percent / 100.0,
        margin: args.margin_percent / 100.0,
    };
    settings.check()?;
    let file = args.purchases.display().to_string();
    if let Ok(meta) = std::fs::metadata(&args.purchases)
        && meta.len() > MAX_LOG_BYTES
    {
        return Err(LogError::TooLarge {
            bytes: meta.len(),
            max: MAX_LOG_BYTES,
        })
        .with_context(|| format!("cannot read {file}"));
    }
    let bytes = guild_os::durable::read_bounded(&args.purchases, MAX_LOG_BYTES)
        .with_context(|| format!("cannot read the purchase log {file}"))?
        .with_context(|| format!("there is no file {file}"))?;
    let log = read_purchase_log(&bytes, args.decimals).with_context(|| format!("in {file}"))?;
    drop(bytes);
    let end = Day(calibration_end.day_number());
    let summaries = summarize(&log.purchases, end, args.decimals);
    let (first, last) = (log.first_day(), log.last_day());
    if summaries.is_empty() {
        match first {
            None => bail!("{file} has a header but no purchases"),
            Some(first) => bail!(
                "no purchase in {file} is on or before the calibration end {calibration_end}: the log starts on {}",
                Date::from_day_number(first.0)
            ),
        }
    }
    let customers: Vec<CustomerSummary> = summaries.values().copied().collect();
    let models = fit_models(&customers).map_err(|e| match e {
        FitError::TooFewRepeatCustomers { .. } => anyhow::Error::new(e).context(format!(
            "cannot fit the customer-value models on {file} ({} customers up to {calibration_end})",
            customers.len()
        )),
        other => anyhow::Error::new(other)
            .context(format!("cannot fit the customer-value models on {file}")),
    })?;
    let outlook = outlook(&models, &customers, &settings)?;
    let holdout = compare_holdout(&log.purchases, &summaries, end, &models.bgnbd)?;
    Ok(Fitted {
        file,
        calibration_end,
        rows: log.purchases.len(),
        first,
        last,
        customers,
        models,
        settings,
        outlook,
        holdout,
    })
}

fn outlook(
    models: &Models,
    customers: &[CustomerSummary],
    settings: &ClvSettings,
) -> anyhow::Result<Outlook> {
    let mut active = 0.0;
    let mut purchases = 0.0;
    let mut value = models.gamma_gamma.map(|_| 0.0);
    for c in customers {
        let CustomerValue {
            p_alive,
            expected_purchases,
            lifetime_value,
            ..
        } = models.value_of(c, settings)?;
        active += p_alive;
        purchases += expected_purchases;
        if let (Some(total), Some(v)) = (value.as_mut(), lifetime_value) {
            *total += v;
        }
    }
    let weeks = f64::from(settings.months) * WEEKS_PER_MONTH;
    let new = CustomerSummary {
        frequency: 0,
        recency: 0.0,
        age: 0.0,
        monetary: 0.0,
    };
    let new_value = match &models.gamma_gamma {
        Some(gg) if gg.q > 1.0 => Some(lifetime_value(&models.bgnbd, gg, &new, settings)?),
        _ => None,
    };
    Ok(Outlook {
        active,
        purchases,
        value,
        new_purchases: models.bgnbd.expected_purchases_new(weeks)?,
        new_value,
    })
}

/// Above this a pair of shape parameters means "the same for everyone".
const LARGE: f64 = 1e4;

/// A parameter: four decimals, or three significant digits in scientific
/// form when it is very large or very small.
fn param(value: f64) -> String {
    if value != 0.0 && !(1e-3..1e5).contains(&value.abs()) {
        format!("{value:.3e}")
    } else {
        format!("{value:.4}")
    }
}

/// An amount with two decimals and thousands separators: 71,507.94.
fn money(amount: f64) -> String {
    let text = format!("{:.2}", amount.abs());
    let (whole, cents) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if amount < 0.0 { "-" } else { "" };
    format!("{sign}{grouped}.{cents}")
}

fn date(day: u64) -> String {
    Date::from_day_number(day).to_string()
}

fn holdout_json(h: &Holdout) -> Value {
    let row = |r: &HoldoutRow| {
        json!({
            "frequency": r.label(),
            "customers": r.customers,
            "actual": r.actual,
            "predicted": r.predicted,
            "mean_actual": r.mean_actual(),
            "mean_predicted": r.mean_predicted(),
        })
    };
    json!({
        "from": date(h.first_day),
        "to": date(h.last_day),
        "weeks": h.weeks,
        "by_frequency": h.rows.iter().map(row).collect::<Vec<_>>(),
        "total": row(&h.total),
    })
}

fn json_of(f: &Fitted) -> Value {
    let m = &f.models;
    let gamma_gamma = match (m.gamma_gamma, m.gamma_gamma_log_likelihood) {
        (Some(gg), Some(ll)) => json!({
            "p": gg.p, "q": gg.q, "gamma": gg.gamma, "log_likelihood": ll,
            "customers": m.spend_customers,
        }),
        _ => Value::Null,
    };
    json!({
        "bgnbd": {
            "r": m.bgnbd.r,
            "alpha": m.bgnbd.alpha,
            "a": m.bgnbd.a,
            "b": m.bgnbd.b,
            "log_likelihood": m.bgnbd_log_likelihood,
        },
        "gamma_gamma": gamma_gamma,
        "customers": m.customers,
        "repeat_customers": m.repeat_customers,
        "calibration_end": f.calibration_end.to_string(),
        "purchases": f.rows,
        "outlook": {
            "months": f.settings.months,
            "monthly_discount": f.settings.monthly_discount,
            "margin": f.settings.margin,
            "active_customers": f.outlook.active,
            "expected_purchases": f.outlook.purchases,
            "lifetime_value": f.outlook.value,
            "new_customer_purchases": f.outlook.new_purchases,
            "new_customer_value": f.outlook.new_value,
        },
        "holdout": f.holdout.as_ref().map(holdout_json),
    })
}

fn text_of(f: &Fitted) -> String {
    let m = &f.models;
    let b = &m.bgnbd;
    let mut out = String::new();
    let span = match (f.first, f.last) {
        (Some(a), Some(z)) => format!(", {} to {}", date(a.0), date(z.0)),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "Customer value models fitted on {} (purchases up to {})",
        f.file, f.calibration_end
    );
    let _ = writeln!(out, "  purchases         {}{span}", f.rows);
    let _ = writeln!(
        out,
        "  customers         {}  (first purchase on or before {})",
        m.customers, f.calibration_end
    );
    let _ = writeln!(
        out,
        "  repeat customers  {}  (bought on more than one day)",
        m.repeat_customers
    );

    let _ = writeln!(out, "\nHow often customers buy, and for how long (BG/NBD)");
    let _ = writeln!(
        out,
        "  r {}   alpha {}   a {}   b {}   log-likelihood {:.2}",
        param(b.r),
        param(b.alpha),
        param(b.a),
        param(b.b),
        m.bgnbd_log_likelihood
    );
    let _ = writeln!(
        out,
        "  - while still a customer, a typical customer buys about {:.1} times a year (r/alpha = {:.3} a week)",
        b.mean_weekly_rate() * WEEKS_PER_YEAR,
        b.mean_weekly_rate()
    );
    let _ = writeln!(
        out,
        "  - after each purchase, about {:.0}% of customers stop buying for good (a/(a+b))",
        b.mean_dropout() * 100.0
    );
    if b.a.min(b.b) > LARGE {
        let _ = writeln!(
            out,
            "  - (a and b are very large: the chance of stopping after a purchase is about the same for every customer)"
        );
    }
    if b.r.min(b.alpha) > LARGE {
        let _ = writeln!(
            out,
            "  - (r and alpha are very large: every customer buys at about the same rate while active)"
        );
    }
    let _ = writeln!(
        out,
        "  - a new customer makes about {:.2} repeat purchases in their first {} months",
        f.outlook.new_purchases, f.settings.months
    );
    let share = f.outlook.active / f.customers.len().max(1) as f64;
    let _ = writeln!(
        out,
        "  - about {:.0} of your {} customers ({:.0}%) are probably still customers (the model counts everyone who has bought only once as still a customer); they are expected to make {:.0} purchases in the next {} months",
        f.outlook.active,
        f.customers.len(),
        share * 100.0,
        f.outlook.purchases,
        f.settings.months
    );

    match (m.gamma_gamma, m.gamma_gamma_log_likelihood) {
        (Some(gg), Some(ll)) => {
            let _ = writeln!(
                out,
                "\nHow much they spend per purchase (Gamma-Gamma, {} repeat customers with spend)",
                m.spend_customers
            );
            let _ = writeln!(
                out,
                "  p {}   q {}   gamma {}   log-likelihood {:.2}",
                param(gg.p),
                param(gg.q),
                param(gg.gamma),
                ll
            );
            match gg.population_mean_spend() {
                Some(mean) => {
                    let _ = writeln!(
                        out,
                        "  - a purchase is worth {} on average across customers (gamma·p/(q−1)); a customer's own average counts for more the more often they have bought",
                        money(mean)
                    );
                }
                None => {
                    let _ = writeln!(
                        out,
                        "  - spend per purchase varies too widely for an average (q ≤ 1): no lifetime value"
                    );
                }
            }
        }
        _ => {
            let _ = writeln!(
                out,
                "\nSpend per purchase: only {} repeat customers spent more than zero, too few for the spend model (no lifetime value)",
                m.spend_customers
            );
        }
    }

    if let Some(total) = f.outlook.value {
        let _ = writeln!(
            out,
            "\nLifetime value over {} months (discount {}% a month, margin {}% of spend)",
            f.settings.months,
            f.settings.monthly_discount * 100.0,
            f.settings.margin * 100.0
        );
        let _ = writeln!(
            out,
            "  - your {} customers: about {} in all, {} each on average",
            f.customers.len(),
            money(total),
            money(total / f.customers.len().max(1) as f64)
        );
        if let Some(new) = f.outlook.new_value {
            let _ = writeln!(
                out,
                "  - a new customer's repeat purchases: about {}",
                money(new)
            );
        }
    }

    match &f.holdout {
        Some(h) => {
            let _ = writeln!(
                out,
                "\nPredicted against actual purchases after the calibration end ({} to {}, {:.1} weeks)",
                date(h.first_day),
                date(h.last_day),
                h.weeks
            );
            let mut rows: Vec<Vec<String>> = h
                .rows
                .iter()
                .map(|r| {
                    vec![
                        r.label(),
                        r.customers.to_string(),
                        format!("{:.2}", r.mean_actual()),
                        format!("{:.2}", r.mean_predicted()),
                    ]
                })
                .collect();
            rows.push(vec![
                "all".to_string(),
                h.total.customers.to_string(),
                format!("{:.2}", h.total.mean_actual()),
                format!("{:.2}", h.total.mean_predicted()),
            ]);
            table(
                &mut out,
                &[
                    "repeat purchases before",
                    "customers",
                    "actual per customer",
                    "predicted per customer",
                ],
                "lrrr",
                &rows,
            );
            let _ = writeln!(
                out,
                "  in all: {} purchases actual, {:.0} predicted ({:+.1}%)",
                h.total.actual,
                h.total.predicted,
                (h.total.predicted / (h.total.actual.max(1) as f64) - 1.0) * 100.0
            );
        }
        None => {
            let _ = writeln!(
                out,
                "\n(no purchase after {}: to see how well the models predict, give an earlier --calibration-end)",
                f.calibration_end
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{money, param};

    #[test]
    fn parameters_are_readable_at_any_size() {
        assert_eq!(param(0.24259), "0.2426");
        assert_eq!(param(393_214_029_471.36), "3.932e11");
        assert_eq!(param(0.000_012_3), "1.230e-5");
    }

    #[test]
    fn amounts_are_grouped_by_thousands() {
        assert_eq!(money(71_507.936), "71,507.94");
        assert_eq!(money(48.2), "48.20");
        assert_eq!(money(1_234_567.0), "1,234,567.00");
        assert_eq!(money(999.999), "1,000.00");
        assert_eq!(money(-12.5), "-12.50");
    }
}
