//! The command line of a harness: `--name value` pairs, each name one the harness knows, read
//! once and then asked for by name with a default.

use std::collections::HashMap;
use std::str::FromStr;

/// Parsed `--name value` pairs.
#[derive(Debug, Default)]
pub struct Args(HashMap<String, String>);

impl Args {
    /// Reads the process's arguments; `known` lists the accepted names (without `--`).
    ///
    /// # Errors
    ///
    /// An unknown name, or a name without a value.
    pub fn from_env(known: &[&str]) -> Result<Self, String> {
        Self::parse(std::env::args().skip(1), known)
    }

    /// Parses `args` (the arguments after the program's name).
    ///
    /// # Errors
    ///
    /// An unknown name, or a name without a value.
    pub fn parse(args: impl IntoIterator<Item = String>, known: &[&str]) -> Result<Self, String> {
        let mut pairs = HashMap::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let name = arg
                .strip_prefix("--")
                .filter(|name| known.contains(name))
                .ok_or_else(|| {
                    let names: Vec<String> = known.iter().map(|k| format!("--{k}")).collect();
                    format!("unknown argument `{arg}` (known: {})", names.join(", "))
                })?;
            let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
            pairs.insert(name.to_string(), value);
        }
        Ok(Self(pairs))
    }

    /// The value of `--name` read as a `T`, or `default` when it was not given.
    ///
    /// # Errors
    ///
    /// A value that does not read as a `T`.
    pub fn get<T: FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.0.get(name) {
            None => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|_| format!("--{name} does not take `{text}`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn known_names_with_values_and_defaults() {
        let parsed = Args::parse(args(&["--rate", "250"]), &["rate", "seconds"]).unwrap();
        assert_eq!(parsed.get("rate", 500u64), Ok(250));
        assert_eq!(parsed.get("seconds", 60u64), Ok(60));
        assert!(parsed.get::<u64>("rate", 0).is_ok());
    }

    #[test]
    fn unknown_names_missing_values_and_bad_numbers_are_errors() {
        assert!(Args::parse(args(&["--speed", "1"]), &["rate"]).is_err());
        assert!(Args::parse(args(&["rate", "1"]), &["rate"]).is_err());
        assert!(Args::parse(args(&["--rate"]), &["rate"]).is_err());
        let parsed = Args::parse(args(&["--rate", "fast"]), &["rate"]).unwrap();
        assert!(parsed.get::<u64>("rate", 1).is_err());
    }
}
