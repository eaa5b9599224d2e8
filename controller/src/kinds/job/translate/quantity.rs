//! Kubernetes quantities (`500m`, `1.5Gi`, `129e6`) read as exact fractions, so that a pod template's
//! requests become CPU units and MiB without floating-point error.
//!
//! Written here rather than taken from a crate: k8s-openapi keeps a `Quantity` as its string, and the
//! few crates that parse it either go through `f64` (0.3 vCPU must become 308 CPU units, not 307) or
//! are unmaintained. The grammar is the one `k8s.io/apimachinery/pkg/api/resource` accepts:
//! `[+-]digits[.digits]` then a suffix: nothing, `n` `u` `m` `k` `M` `G` `T` `P` `E` (powers of ten),
//! `Ki` `Mi` `Gi` `Ti` `Pi` `Ei` (powers of two), or an exponent `e3` / `E-2`.

/// The finest fraction kept: digits below 10^-27 round the value up (Kubernetes itself rounds every
/// quantity up to 10^-9), so every conversion below stays within `u128`.
const MIN_EXP10: i32 = -27;

/// A non-negative quantity, exactly `num / den` (`den` a power of ten).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Quantity {
    num: u128,
    den: u128,
}

impl Quantity {
    /// `ceil(self * mul / div)`, or `u128::MAX` for a value too large to scale (refused by the
    /// caller's limits anyway).
    pub(super) fn ceil_scaled(self, mul: u128, div: u128) -> u128 {
        match (self.num.checked_mul(mul), self.den.checked_mul(div)) {
            (Some(n), Some(d)) if d > 0 => n.div_ceil(d),
            _ => u128::MAX,
        }
    }
}

/// Reads `s` as Kubernetes does; the error says what is wrong with it.
pub(super) fn parse(s: &str) -> Result<Quantity, String> {
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let number_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_len);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(format!("{s:?} is not a quantity (no digits)"));
    }
    if fraction.contains('.') {
        return Err(format!("{s:?} is not a quantity (two decimal points)"));
    }
    let mut num: u128 = 0;
    for d in whole.bytes().chain(fraction.bytes()) {
        num = num
            .checked_mul(10)
            .and_then(|n| n.checked_add(u128::from(d - b'0')))
            .ok_or_else(|| format!("{s:?} has too many digits"))?;
    }
    let fraction_digits = i32::try_from(fraction.len()).map_err(|_| format!("{s:?} has too many digits"))?;
    let (suffix_exp10, exp2) = suffix_exponents(suffix).ok_or_else(|| {
        format!(
            "{s:?} is not a quantity (suffix {suffix:?}: use m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei \
             or an exponent such as e3)"
        )
    })?;
    if negative && num != 0 {
        return Err(format!("{s:?} is negative"));
    }
    let mut exp10 = suffix_exp10
        .checked_sub(fraction_digits)
        .ok_or_else(|| format!("{s:?} is out of range"))?;
    if exp10 < MIN_EXP10 {
        // Round up to the finest fraction kept.
        let shift = u32::try_from(i64::from(MIN_EXP10) - i64::from(exp10)).unwrap_or(u32::MAX);
        num = match 10u128.checked_pow(shift) {
            Some(p) => num.div_ceil(p),
            None => u128::from(num > 0),
        };
        exp10 = MIN_EXP10;
    }
    let too_large = || format!("{s:?} is too large");
    num = num.checked_mul(1u128 << exp2).ok_or_else(too_large)?;
    let den = if exp10 < 0 {
        10u128.pow(exp10.unsigned_abs())
    } else {
        let scale = 10u128.checked_pow(exp10.unsigned_abs()).ok_or_else(too_large)?;
        num = num.checked_mul(scale).ok_or_else(too_large)?;
        1
    };
    Ok(Quantity { num, den })
}

/// The power of ten and the power of two a suffix stands for.
fn suffix_exponents(suffix: &str) -> Option<(i32, u32)> {
    let decimal = |e: i32| Some((e, 0));
    let binary = |e: u32| Some((0, e));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        _ => {
            // `e3`, `E-2`, `e+6`: an exponent needs at least one digit (`1E` alone is exa, above).
            let exponent = suffix.strip_prefix(['e', 'E'])?;
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            exponent.parse::<i32>().ok().map(|e| (e, 0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPU_UNITS: (u128, u128) = (1024, 1);
    const MIB: (u128, u128) = (1, 1 << 20);

    fn scaled(s: &str, (mul, div): (u128, u128)) -> u128 {
        parse(s)
            .map(|q| q.ceil_scaled(mul, div))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn cpu_quantities_become_cpu_units_rounded_up() {
        assert_eq!(scaled("1", CPU_UNITS), 1024);
        assert_eq!(scaled("500m", CPU_UNITS), 512);
        assert_eq!(scaled("250m", CPU_UNITS), 256);
        // 0.3 * 1024 = 307.2: the container gets 308 units, never less than it asked.
        assert_eq!(scaled("0.3", CPU_UNITS), 308);
        assert_eq!(scaled("300m", CPU_UNITS), 308);
        assert_eq!(scaled("1m", CPU_UNITS), 2);
        assert_eq!(scaled("100u", CPU_UNITS), 1);
        assert_eq!(scaled("1n", CPU_UNITS), 1);
        assert_eq!(scaled(".5", CPU_UNITS), 512);
        assert_eq!(scaled("2.", CPU_UNITS), 2048);
        assert_eq!(scaled("+4", CPU_UNITS), 4096);
        assert_eq!(scaled("0", CPU_UNITS), 0);
        assert_eq!(scaled("-0", CPU_UNITS), 0);
    }

    #[test]
    fn memory_quantities_become_mebibytes_rounded_up() {
        assert_eq!(scaled("128Mi", MIB), 128);
        assert_eq!(scaled("1.5Gi", MIB), 1536);
        assert_eq!(scaled("1Gi", MIB), 1024);
        // Decimal gigabytes are smaller than gibibytes: 10^9 bytes = 953.67 MiB.
        assert_eq!(scaled("1G", MIB), 954);
        assert_eq!(scaled("128974848", MIB), 123);
        assert_eq!(scaled("129e6", MIB), 124);
        assert_eq!(scaled("129E6", MIB), 124);
        assert_eq!(scaled("1.29e+8", MIB), 124);
        assert_eq!(scaled("1Ki", MIB), 1);
        assert_eq!(scaled("1k", MIB), 1);
        assert_eq!(scaled("1Ti", MIB), 1 << 20);
        assert_eq!(scaled("1Ei", MIB), 1 << 40);
        assert_eq!(scaled("1E", MIB), 953_674_316_407);
        assert_eq!(scaled("12e-3", CPU_UNITS), 13);
    }

    #[test]
    fn tiny_and_huge_values_do_not_overflow() {
        // Below the finest fraction kept: rounded up, never to zero.
        assert_eq!(scaled("1e-40", CPU_UNITS), 1);
        assert_eq!(scaled("0.0000000000000000000000000000001", MIB), 1);
        assert_eq!(scaled("0e-99", MIB), 0);
        // Far beyond any Fargate size: saturates (the caller refuses it) or says why.
        assert_eq!(scaled("999999999999999999Ei", CPU_UNITS), u128::MAX);
        assert!(parse("1e40").is_err_and(|e| e.contains("too large")));
        assert!(parse("1e99999999999").is_err());
        assert!(parse(&"9".repeat(50)).is_err_and(|e| e.contains("too many digits")));
    }

    #[test]
    fn malformed_quantities_are_errors_naming_the_value() {
        for bad in [
            "", "m", "Mi", ".", "abc", "1Z", "1mi", "1ee", "1e", "1e+", "1.2.3", "--1", "1 Gi", " 1", "1e3m",
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(err.contains(&format!("{bad:?}")), "{bad}: {err}");
        }
        assert!(parse("-1").is_err_and(|e| e.contains("negative")));
        assert!(parse("-500m").is_err_and(|e| e.contains("negative")));
    }
}
