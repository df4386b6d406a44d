//! A till's purchase log, read strictly: the CSV a shop exports from any
//! till to fit the models on its history before it joins.
//!
//! ## The format
//!
//! ```text
//! customer,date,amount
//! C-1042,2024-03-01,12.50
//! C-1042,2024-03-18,7
//! "Smith, J",2024-03-02,0.99
//! ```
//!
//! - A header line naming the columns `customer`, `date` and `amount` (any
//!   order, any case; other columns are ignored).
//! - `customer`: the till's id of the customer, up to
//!   [`MAX_CUSTOMER_CHARS`] characters (quote it if it has a comma).
//! - `date`: `YYYY-MM-DD`.
//! - `amount`: the amount paid, in the currency's major units with a dot as
//!   the decimal separator and at most the currency's decimals (`12.50`,
//!   `12`); no currency sign, no thousands separator, not negative (leave
//!   refunds out).
//!
//! A file of more than [`MAX_LOG_BYTES`] or [`MAX_ROWS`] rows is refused
//! rather than read into memory. An error names the line, the column, what
//! was found and the accepted form.

use crate::purchase::{Day, Purchase};
use guild_audit::{Date, DateError};
use guild_ledger::programme::locale::parse_minor;
use std::collections::HashMap;

/// The largest log read (256 MiB).
pub const MAX_LOG_BYTES: u64 = 256 * 1024 * 1024;

/// The most purchase rows read.
pub const MAX_ROWS: usize = 5_000_000;

/// The longest customer id.
pub const MAX_CUSTOMER_CHARS: usize = 128;

/// The most decimals a currency is given with.
pub const MAX_DECIMALS: u8 = 4;

/// The columns the log must have.
pub const COLUMNS: [&str; 3] = ["customer", "date", "amount"];

/// A purchase log: the customers' ids once each, and the purchases by the
/// customer's index in `customers`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurchaseLog {
    /// The till's customer ids, in order of first appearance.
    pub customers: Vec<String>,
    /// The purchases, amounts in minor units.
    pub purchases: Vec<Purchase<u32>>,
}

impl PurchaseLog {
    /// The last purchase day in the log.
    pub fn last_day(&self) -> Option<Day> {
        self.purchases.iter().map(|p| p.day).max()
    }

    /// The first purchase day in the log.
    pub fn first_day(&self) -> Option<Day> {
        self.purchases.iter().map(|p| p.day).min()
    }
}

/// Why a purchase log cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// The file is larger than [`MAX_LOG_BYTES`].
    #[error(
        "the purchase log is {bytes} bytes, more than the {max} read at once: split it by year"
    )]
    TooLarge {
        /// Its size.
        bytes: u64,
        /// [`MAX_LOG_BYTES`].
        max: u64,
    },
    /// More than [`MAX_ROWS`] purchases.
    #[error("the purchase log has more than {max} purchases: split it by year")]
    TooManyRows {
        /// [`MAX_ROWS`].
        max: usize,
    },
    /// No header line.
    #[error(
        "the purchase log is empty: it needs a header line 'customer,date,amount' and one line per purchase"
    )]
    Empty,
    /// The header does not name the columns.
    #[error(
        "the header line ({found}) does not name the column{plural} {missing}: the first line must be 'customer,date,amount'{hint}",
        plural = if missing.contains(',') { "s" } else { "" }
    )]
    Header {
        /// The header found (shortened).
        found: String,
        /// The columns not found, comma-separated.
        missing: String,
        /// A hint for a recognisable mistake, or empty.
        hint: &'static str,
    },
    /// A column named twice.
    #[error("the header line names the column '{column}' twice")]
    DuplicateColumn {
        /// The column.
        column: &'static str,
    },
    /// A line with a different number of fields than the header.
    #[error("line {line} has {found} fields where the header has {expected}{hint}")]
    Fields {
        /// The line number (1 is the header).
        line: u64,
        /// Fields in the header.
        expected: usize,
        /// Fields on the line.
        found: usize,
        /// A hint for a recognisable mistake, or empty.
        hint: &'static str,
    },
    /// A line that is not UTF-8 text.
    #[error("line {line} is not UTF-8 text: export the log as UTF-8 CSV")]
    Encoding {
        /// The line number.
        line: u64,
    },
    /// A field that is not in its accepted form.
    #[error("line {line}, column {column}: {problem}")]
    Field {
        /// The line number.
        line: u64,
        /// The column.
        column: &'static str,
        /// What was found, and the accepted form.
        problem: String,
    },
    /// More decimals than [`MAX_DECIMALS`] asked for.
    #[error("a currency has at most {MAX_DECIMALS} decimals, not {decimals}")]
    Decimals {
        /// The decimals asked for.
        decimals: u8,
    },
    /// A CSV syntax error the other variants do not describe.
    #[error("line {line}: {message}")]
    Syntax {
        /// The line number.
        line: u64,
        /// The CSV reader's message.
        message: String,
    },
}

/// At most this many characters of a bad field are shown.
const SHOWN: usize = 40;

fn shown(text: &str) -> String {
    let mut out: String = text.chars().take(SHOWN).collect();
    if text.chars().count() > SHOWN {
        out.push('…');
    }
    out
}

/// Reads a purchase log (the format above) with amounts of `decimals`
/// decimals (2 for pounds and pence).
pub fn read_purchase_log(bytes: &[u8], decimals: u8) -> Result<PurchaseLog, LogError> {
    if decimals > MAX_DECIMALS {
        return Err(LogError::Decimals { decimals });
    }
    let size = bytes.len() as u64;
    if size > MAX_LOG_BYTES {
        return Err(LogError::TooLarge {
            bytes: size,
            max: MAX_LOG_BYTES,
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let header = match records.next() {
        None => return Err(LogError::Empty),
        Some(row) => row.map_err(|e| syntax(&e, 1))?,
    };
    let columns = Columns::find(&header)?;
    let expected = header.len();

    let mut log = PurchaseLog {
        customers: Vec::new(),
        purchases: Vec::new(),
    };
    let mut index: HashMap<String, u32> = HashMap::new();
    for row in records {
        let row = row.map_err(|e| syntax(&e, 0))?;
        let line = row.position().map_or(0, |p| p.line());
        if row.len() == 1 && row.get(0).is_some_and(|f| f.is_empty()) {
            continue; // a blank line
        }
        if row.len() != expected {
            return Err(LogError::Fields {
                line,
                expected,
                found: row.len(),
                hint: if row.len() > expected {
                    ": an amount written with a decimal comma (12,50) is two fields; write 12.50, or quote a customer id that has a comma"
                } else {
                    ""
                },
            });
        }
        if log.purchases.len() >= MAX_ROWS {
            return Err(LogError::TooManyRows { max: MAX_ROWS });
        }
        let field = |i: usize| -> Result<&str, LogError> {
            std::str::from_utf8(row.get(i).unwrap_or_default())
                .map_err(|_| LogError::Encoding { line })
        };
        let bad = |column: &'static str, problem: String| LogError::Field {
            line,
            column,
            problem,
        };

        let customer = field(columns.customer)?;
        if customer.is_empty() {
            return Err(bad(
                "customer",
                "empty: every purchase needs the till's id of the customer".to_string(),
            ));
        }
        if customer.chars().count() > MAX_CUSTOMER_CHARS {
            return Err(bad(
                "customer",
                format!(
                    "'{}' is longer than {MAX_CUSTOMER_CHARS} characters",
                    shown(customer)
                ),
            ));
        }
        let day = parse_day(field(columns.date)?).map_err(|p| bad("date", p))?;
        let amount =
            parse_amount(field(columns.amount)?, decimals).map_err(|p| bad("amount", p))?;

        let next = u32::try_from(log.customers.len()).unwrap_or(u32::MAX);
        let id = *index.entry(customer.to_string()).or_insert_with(|| {
            log.customers.push(customer.to_string());
            next
        });
        log.purchases.push(Purchase {
            customer: id,
            day,
            amount,
        });
    }
    Ok(log)
}

/// Where the three columns are.
struct Columns {
    customer: usize,
    date: usize,
    amount: usize,
}

impl Columns {
    fn find(header: &csv::ByteRecord) -> Result<Columns, LogError> {
        let names: Vec<String> = header
            .iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_lowercase())
            .collect();
        let mut found = [None; 3];
        for (i, name) in names.iter().enumerate() {
            if let Some(k) = COLUMNS.iter().position(|c| c == name) {
                if found[k].is_some() {
                    return Err(LogError::DuplicateColumn { column: COLUMNS[k] });
                }
                found[k] = Some(i);
            }
        }
        match found {
            [Some(customer), Some(date), Some(amount)] => Ok(Columns {
                customer,
                date,
                amount,
            }),
            _ => {
                let joined = names.join(",");
                let missing: Vec<&str> = COLUMNS
                    .iter()
                    .zip(found)
                    .filter(|(_, f)| f.is_none())
                    .map(|(c, _)| *c)
                    .collect();
                let hint = if joined.contains(';') {
                    ": the columns seem separated by ';', and they must be separated by commas"
                } else if joined.contains('\t') {
                    ": the columns seem separated by tabs, and they must be separated by commas"
                } else {
                    ""
                };
                Err(LogError::Header {
                    found: format!("'{}'", shown(&joined)),
                    missing: missing.join(", "),
                    hint,
                })
            }
        }
    }
}

fn parse_day(text: &str) -> Result<Day, String> {
    match Date::parse(text) {
        Ok(date) => Ok(Day(date.day_number())),
        Err(DateError::Range { .. }) => Err(format!(
            "'{}' is not a real date (years 1970 to 9999)",
            shown(text)
        )),
        Err(_) => Err(format!(
            "'{}' is not a date: write it as YYYY-MM-DD, e.g. 2024-03-31",
            shown(text)
        )),
    }
}

fn parse_amount(text: &str, decimals: u8) -> Result<u64, String> {
    if let Some(cents) = parse_minor(text, decimals) {
        return Ok(cents.0);
    }
    let example = match decimals {
        0 => "12".to_string(),
        d => format!("12.{}", "5".to_string() + &"0".repeat(usize::from(d) - 1)),
    };
    let form = format!(
        "write the amount with a dot and at most {decimals} decimals and no currency sign or thousands separator, e.g. {example}"
    );
    let why = if text.is_empty() {
        "empty".to_string()
    } else if text.starts_with('-') {
        return Err(format!(
            "'{}' is negative: leave refunds out of the purchase log",
            shown(text)
        ));
    } else if text.contains(',') {
        format!("'{}' has a comma", shown(text))
    } else if text.split_once('.').is_some_and(|(w, f)| {
        !w.is_empty()
            && w.bytes().all(|b| b.is_ascii_digit())
            && f.len() > usize::from(decimals)
            && f.bytes().all(|b| b.is_ascii_digit())
    }) {
        format!("'{}' has more than {decimals} decimals", shown(text))
    } else {
        format!("'{}' is not an amount", shown(text))
    };
    Err(format!("{why}: {form}"))
}

fn syntax(error: &csv::Error, fallback_line: u64) -> LogError {
    let line = error.position().map_or(fallback_line, |p| p.line());
    match error.kind() {
        csv::ErrorKind::Utf8 { .. } => LogError::Encoding { line },
        _ => LogError::Syntax {
            line,
            message: error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<PurchaseLog, LogError> {
        read_purchase_log(text.as_bytes(), 2)
    }

    fn day(text: &str) -> Day {
        Day(Date::parse(text).unwrap().day_number())
    }

    #[test]
    fn a_log_is_read_by_column_name() {
        let log = read(
            "\u{feff}Date, Amount ,till,Customer\n\
             2024-03-01,12.50,1,C-1\n\
             \n\
             2024-03-02,7,1,\"Smith, J\"\n\
             2024-03-18,0.5,2,C-1\r\n",
        )
        .unwrap();
        assert_eq!(log.customers, ["C-1", "Smith, J"]);
        let got: Vec<(u32, Day, u64)> = log
            .purchases
            .iter()
            .map(|p| (p.customer, p.day, p.amount))
            .collect();
        assert_eq!(
            got,
            [
                (0, day("2024-03-01"), 1250),
                (1, day("2024-03-02"), 700),
                (0, day("2024-03-18"), 50),
            ]
        );
        assert_eq!(log.first_day(), Some(day("2024-03-01")));
        assert_eq!(log.last_day(), Some(day("2024-03-18")));
    }

    #[test]
    fn each_mistake_names_its_line_column_and_form() {
        let cases = [
            (
                "customer,date,amount\nA,2024-03-01,\"12,50\"\n",
                "line 2, column amount: '12,50' has a comma: write the amount with a dot and at most 2 decimals",
            ),
            (
                "customer,date,amount\nA,2024-03-01,1.00\nA,2024-03-02,12,50\n",
                "line 3 has 4 fields where the header has 3: an amount written with a decimal comma (12,50) is two fields; write 12.50",
            ),
            (
                "customer,date,amount\nA,01/03/2024,1\n",
                "line 2, column date: '01/03/2024' is not a date: write it as YYYY-MM-DD, e.g. 2024-03-31",
            ),
            (
                "customer,date,amount\nA,2024-02-30,1\n",
                "line 2, column date: '2024-02-30' is not a real date",
            ),
            (
                "customer,date,amount\nA,2024-02-03,£4\n",
                "line 2, column amount: '£4' is not an amount: write the amount with a dot",
            ),
            (
                "customer,date,amount\nA,2024-02-03,1,000.00\n",
                "line 2 has 4 fields",
            ),
            (
                "customer,date,amount\nA,2024-02-03,4.125\n",
                "line 2, column amount: '4.125' has more than 2 decimals",
            ),
            (
                "customer,date,amount\nA,2024-02-03,-4.00\n",
                "line 2, column amount: '-4.00' is negative: leave refunds out",
            ),
            (
                "customer,date,amount\n,2024-02-03,4.00\n",
                "line 2, column customer: empty",
            ),
            (
                "customer,amount\nA,4.00\n",
                "the header line ('customer,amount') does not name the column date: the first line must be 'customer,date,amount'",
            ),
            (
                "client;date;amount\nA;2024-02-03;4.00\n",
                "does not name the columns customer, date, amount: the first line must be 'customer,date,amount': the columns seem separated by ';'",
            ),
            (
                "customer,date,amount,Customer\n",
                "names the column 'customer' twice",
            ),
            ("", "the purchase log is empty"),
        ];
        for (text, want) in cases {
            let error = read(text).unwrap_err().to_string();
            assert!(error.contains(want), "{text:?}: {error}");
        }
        let error = read_purchase_log(b"customer,date,amount\n\xff,2024-02-03,4\n", 2).unwrap_err();
        assert_eq!(error, LogError::Encoding { line: 2 });
    }

    #[test]
    fn the_currencys_decimals_are_respected() {
        let yen = read_purchase_log(b"customer,date,amount\nA,2024-02-03,450\n", 0).unwrap();
        assert_eq!(yen.purchases[0].amount, 450);
        let error = read_purchase_log(b"customer,date,amount\nA,2024-02-03,4.5\n", 0)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("at most 0 decimals") && error.contains("e.g. 12"),
            "{error}"
        );
        assert_eq!(
            read_purchase_log(b"customer,date,amount\n", 9),
            Err(LogError::Decimals { decimals: 9 })
        );
    }

    #[test]
    fn absurd_input_is_refused() {
        let long = "x".repeat(MAX_CUSTOMER_CHARS + 1);
        let error = read(&format!("customer,date,amount\n{long},2024-02-03,1\n"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("longer than 128 characters"), "{error}");
        assert!(error.contains('…') && error.len() < 200, "{error}");
    }
}
