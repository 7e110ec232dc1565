use jiff::Timestamp;

/// Where "now" comes from. Production uses the system clock; tests, replays and audits pin it
/// with `--now` / `CASTELLAN_NOW` so that an evaluation is reproducible.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    fixed: Option<Timestamp>,
}

/// A timestamp that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("`{value}` is not an RFC 3339 timestamp (expected e.g. 2026-12-03T10:00:00Z): {reason}")]
pub struct TimeError {
    /// The offending text, already shortened for display.
    pub value: String,
    /// Why jiff rejected it.
    pub reason: String,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock { fixed: None }
    }

    /// A clock stuck at `now`.
    pub fn fixed(now: Timestamp) -> Self {
        Clock { fixed: Some(now) }
    }

    /// Parses an RFC 3339 `now` (from `--now` or `CASTELLAN_NOW`); `None` means the system clock.
    pub fn from_option(now: Option<&str>) -> Result<Self, TimeError> {
        match now {
            None => Ok(Self::system()),
            Some(s) if s.trim().is_empty() => Ok(Self::system()),
            Some(s) => Ok(Self::fixed(parse_ts(s)?)),
        }
    }

    /// The current instant, truncated to whole seconds (everything Castellan stores is in seconds).
    pub fn now(&self) -> Timestamp {
        let t = self.fixed.unwrap_or_else(Timestamp::now);
        Timestamp::from_second(t.as_second()).unwrap_or(t)
    }

    /// Whether the clock is pinned.
    pub fn is_fixed(&self) -> bool {
        self.fixed.is_some()
    }
}

/// Parses an RFC 3339 timestamp with any offset (`Z`, `+00:00`, `+02:00`) into UTC.
pub fn parse_ts(s: &str) -> Result<Timestamp, TimeError> {
    let t = s.trim().parse::<Timestamp>().map_err(|e| TimeError {
        value: shorten(s),
        reason: e.to_string(),
    })?;
    // Castellan keeps second precision everywhere, so stored text sorts and compares exactly.
    Ok(Timestamp::from_second(t.as_second()).unwrap_or(t))
}

/// Formats a timestamp as RFC 3339 UTC with second precision, e.g. `2026-12-03T10:00:00Z`.
/// All stored and printed timestamps use this one form, so they also sort as text.
pub fn format_ts(t: Timestamp) -> String {
    // Hot path of every import (several timestamps per row): format by hand for years 0–9999.
    let secs = t.as_second();
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    }
    let (hh, mm, ss) = (rem / 3600, rem / 60 % 60, rem % 60);
    let mut b = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, v: i64, width: usize| {
        let mut v = v;
        for i in (0..width).rev() {
            b[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, y, 4);
    put(5, i64::from(m), 2);
    put(8, i64::from(d), 2);
    put(11, hh, 2);
    put(14, mm, 2);
    put(17, ss, 2);
    String::from_utf8_lossy(&b).into_owned()
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn shorten(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() > 40 {
        let head: String = s.chars().take(37).collect();
        format!("{head}...")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offsets_and_formats_utc() {
        let t = parse_ts("2024-03-01T12:00:00+02:00").expect("valid");
        assert_eq!(format_ts(t), "2024-03-01T10:00:00Z");
        assert!(parse_ts("yesterday").is_err());
    }

    #[test]
    fn fixed_clock_is_fixed() {
        let c = Clock::from_option(Some("2026-12-03T10:00:00.750Z")).expect("valid");
        assert!(c.is_fixed());
        assert_eq!(format_ts(c.now()), "2026-12-03T10:00:00Z");
    }

    proptest::proptest! {
        #[test]
        fn fast_format_matches_jiff(secs in -62_135_596_800i64..253_402_300_799i64) {
            let t = Timestamp::from_second(secs).expect("in range");
            proptest::prop_assert_eq!(format_ts(t), t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
        }
    }

    #[test]
    fn long_bad_values_are_shortened() {
        let e = parse_ts(&"x".repeat(500)).expect_err("invalid");
        assert!(e.value.len() < 50);
    }
}
