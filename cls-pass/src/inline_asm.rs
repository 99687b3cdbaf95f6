//! Which inline-asm operands may receive a run-time CLS address.
//!
//! After the rewrite an operand that used to be `@g` is the result of a call: a
//! run-time value. That is fine for every constraint that accepts a register or
//! memory (`r`, `m`, `*m`, `{reg}`, tied operands, `g`, `X`, ...), and impossible for
//! constraints that only accept link-time constants (`i`, `n`, `s`, `E`, `F` and the
//! x86 immediate ranges `I`...`O`, `e`, `Z`, `G`). LLVM 14's C API cannot read the
//! constraint string, so it is parsed from the printed `asm` value.

/// Constraint letters that accept only a constant.
const IMMEDIATE_ONLY: &str = "insEFIJKLMNOeZG";

/// The constraint string of a printed inline-asm value
/// (`... asm sideeffect "template", "constraints"`).
pub(crate) fn constraint_string(printed: &str) -> Option<String> {
    let after_asm = &printed[printed.find("asm ")? + 4..];
    let mut strings = quoted_strings(after_asm);
    strings.next()?;
    strings.next()
}

/// The quoted strings of LLVM's textual IR in `text`, unescaped (`\22`, `\5C`, ...).
fn quoted_strings(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut rest = text;
    std::iter::from_fn(move || {
        let start = rest.find('"')? + 1;
        let mut bytes = Vec::new();
        let mut characters = rest[start..].char_indices();
        while let Some((offset, character)) = characters.next() {
            match character {
                '"' => {
                    rest = &rest[start + offset + 1..];
                    return Some(String::from_utf8_lossy(&bytes).into_owned());
                }
                '\\' => {
                    let high = characters.next()?.1.to_digit(16)?;
                    let low = characters.next()?.1.to_digit(16)?;
                    bytes.push((high * 16 + low) as u8);
                }
                other => bytes.extend_from_slice(other.encode_utf8(&mut [0; 4]).as_bytes()),
            }
        }
        None
    })
}

/// The constraint of call argument `argument` (0-based): outputs returned by value
/// and clobbers take no argument; indirect outputs (`=*m`) and inputs take one each.
pub(crate) fn constraint_of_argument(constraints: &str, argument: u32) -> Option<String> {
    constraints
        .split(',')
        .filter(|constraint| {
            let direct_output =
                constraint.starts_with('=') && !constraint.trim_start_matches(['=', '&']).starts_with('*');
            !constraint.starts_with('~') && !direct_output
        })
        .nth(argument as usize)
        .map(str::to_string)
}

/// Whether an operand with `constraint` can take a run-time address.
pub(crate) fn accepts_run_time_value(constraint: &str) -> bool {
    let codes = constraint.trim_start_matches(['=', '!', '*', '&', '%']);
    codes.split('|').any(|alternative| {
        if alternative.starts_with('{') || alternative.starts_with(|c: char| c.is_ascii_digit()) {
            return true;
        }
        let letters = alternative.trim_start_matches(['*', '&', '%']);
        letters.chars().any(|letter| letter.is_ascii_alphabetic() && !IMMEDIATE_ONLY.contains(letter))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_constraint_string_of_a_printed_asm() {
        let printed = r#"void (i32*)* asm sideeffect "lock; incl $0 \22x\22", "=*m,r,~{memory},~{dirflag}""#;
        assert_eq!(constraint_string(printed).as_deref(), Some("=*m,r,~{memory},~{dirflag}"));
        assert_eq!(constraint_string("i32 0"), None);
    }

    #[test]
    fn maps_arguments_to_constraints() {
        let constraints = "=r,=*m,r,i,~{memory}";
        assert_eq!(constraint_of_argument(constraints, 0).as_deref(), Some("=*m"));
        assert_eq!(constraint_of_argument(constraints, 1).as_deref(), Some("r"));
        assert_eq!(constraint_of_argument(constraints, 2).as_deref(), Some("i"));
        assert_eq!(constraint_of_argument(constraints, 3), None);
        assert_eq!(constraint_of_argument("=&r,=&*m,0", 0).as_deref(), Some("=&*m"));
    }

    #[test]
    fn registers_and_memory_accept_run_time_addresses_immediates_do_not() {
        for accepted in ["r", "*m", "=*m", "m", "{si}", "0", "g", "X", "rm", "r|i", "q", "p"] {
            assert!(accepts_run_time_value(accepted), "{accepted}");
        }
        for refused in ["i", "n", "s", "in", "E", "I", "e|Z"] {
            assert!(!accepts_run_time_value(refused), "{refused}");
        }
    }
}
