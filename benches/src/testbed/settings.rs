//! The testbed's link settings as a person writes them on a command line: `100ms`,
//! `50ms..200ms`, `1%`, `10mbit`, host lists like `1-8` or `1,3,5`.

use std::error::Error;
use std::time::Duration;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// `100ms`, `1.5s` or `250us`.
///
/// # Errors
///
/// A text that does not read so.
pub fn duration(text: &str) -> Result<Duration> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(text.len()),
    );
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 100ms"))?;
    let seconds = match unit {
        "s" => value,
        "ms" => value / 1e3,
        "us" => value / 1e6,
        _ => return Err(format!("`{text}`: write s, ms or us").into()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("`{text}` is not a duration").into())
}

/// `100ms` (both ends alike) or `50ms..200ms`.
///
/// # Errors
///
/// A text that does not read so.
pub fn delay_range(text: &str) -> Result<(Duration, Duration)> {
    match text.split_once("..") {
        Some((low, high)) => {
            let (low, high) = (duration(low)?, duration(high)?);
            if low > high {
                return Err(format!("--delay {text}: the first is larger").into());
            }
            Ok((low, high))
        }
        None => duration(text).map(|d| (d, d)),
    }
}

/// `1%` or `0.01`.
///
/// # Errors
///
/// A text that does not read so.
pub fn share(text: &str) -> Result<f64> {
    let value: f64 = match text.strip_suffix('%') {
        Some(percent) => percent.parse::<f64>().map(|p| p / 100.0),
        None => text.parse(),
    }
    .map_err(|_| format!("`{text}` is not a share like 1%"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("`{text}` is not between 0 and 100%").into())
    }
}

/// `10mbit`, `512kbit`, `1gbit` or bits per second.
///
/// # Errors
///
/// A text that does not read so.
pub fn rate(text: &str) -> Result<u64> {
    let lower = text.to_ascii_lowercase();
    let (number, scale) = [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1.0)]
        .iter()
        .find_map(|(unit, scale)| lower.strip_suffix(unit).map(|n| (n.to_owned(), *scale)))
        .unwrap_or((lower.clone(), 1.0));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a rate like 10mbit"))?;
    Ok((value * scale) as u64)
}

/// `1-8`, `1,3,5` or `2`: host numbers from 1, as indexes from 0.
///
/// # Errors
///
/// A text that does not read so.
pub fn hosts_list(text: &str, hosts: usize) -> Result<Vec<usize>> {
    let mut list = Vec::new();
    for part in text.split(',') {
        let (low, high) = part.split_once('-').unwrap_or((part, part));
        let (low, high): (usize, usize) = (low.parse()?, high.parse()?);
        if low == 0 || high > hosts || low > high {
            return Err(format!("`{part}`: hosts are 1 to {hosts}").into());
        }
        list.extend(low - 1..high);
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_settings_read_as_a_person_writes_them() {
        assert_eq!(duration("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(duration("100").is_err() && duration("fast").is_err());
        assert_eq!(
            delay_range("50ms..200ms").unwrap(),
            (Duration::from_millis(50), Duration::from_millis(200))
        );
        assert!(delay_range("200ms..50ms").is_err());
        assert_eq!(share("1%").unwrap(), 0.01);
        assert!(share("101%").is_err());
        assert_eq!(rate("10mbit").unwrap(), 10_000_000);
        assert_eq!(hosts_list("1-3,5", 8).unwrap(), vec![0, 1, 2, 4]);
        assert!(hosts_list("0-2", 8).is_err() && hosts_list("7-9", 8).is_err());
    }
}
