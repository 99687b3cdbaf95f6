//! A cVM's console lines: bytes written to standard output or error wait here until
//! their newline, so that cVMs running side by side never interleave within a line.
//! A line is written out anyway at [`LONGEST_LINE`] bytes: a cVM that never prints a
//! newline cannot grow the buffer. Control characters other than tab (C0, DEL, and C1
//! encoded in UTF-8) are written as `\xNN`, so no cVM can move the cursor, clear the
//! screen or overwrite another cVM's prefix on the operator's terminal.

use alloc::vec::Vec;

/// The longest line kept before it is written out anyway.
pub const LONGEST_LINE: usize = 4096;

/// The first byte of the UTF-8 encoding of U+0080..U+00BF, C1 controls among them.
const LATIN_LEAD: u8 = 0xc2;

/// The unfinished lines of one cVM's standard output and standard error, and whether
/// each ends with a [`LATIN_LEAD`] byte not yet written (its follower decides).
#[derive(Debug, Default)]
pub struct ConsoleLines {
    pending: [Vec<u8>; 2],
    lead: [bool; 2],
}

fn push_escaped(pending: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    pending.extend_from_slice(&[b'\\', b'x', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]]);
}

impl ConsoleLines {
    /// Takes bytes written to standard output (`error == false`) or standard error;
    /// calls `line(error, bytes)` for each line finished (without its newline).
    pub fn write(&mut self, error: bool, bytes: &[u8], mut line: impl FnMut(bool, &[u8])) {
        let stream = usize::from(error);
        let pending = &mut self.pending[stream];
        let lead = &mut self.lead[stream];
        for &byte in bytes {
            if core::mem::take(lead) {
                if (0x80..=0x9f).contains(&byte) {
                    push_escaped(pending, LATIN_LEAD);
                    push_escaped(pending, byte);
                    continue;
                }
                pending.push(LATIN_LEAD);
            }
            match byte {
                b'\n' => {
                    line(error, pending);
                    pending.clear();
                    continue;
                }
                LATIN_LEAD => *lead = true,
                b'\t' | 0x20..=0x7e | 0x80.. => pending.push(byte),
                _ => push_escaped(pending, byte),
            }
            if pending.len() >= LONGEST_LINE {
                line(error, pending);
                pending.clear();
            }
        }
    }

    /// Hands over what is left of unfinished lines (the cVM has ended).
    pub fn flush(&mut self, mut line: impl FnMut(bool, &[u8])) {
        for (index, pending) in self.pending.iter_mut().enumerate() {
            if core::mem::take(&mut self.lead[index]) {
                pending.push(LATIN_LEAD);
            }
            if !pending.is_empty() {
                line(index == 1, pending);
                pending.clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(writes: &[(bool, &[u8])]) -> Vec<(bool, Vec<u8>)> {
        let mut console = ConsoleLines::default();
        let mut out = Vec::new();
        for &(error, bytes) in writes {
            console.write(error, bytes, |error, line| out.push((error, line.to_vec())));
        }
        console.flush(|error, line| out.push((error, line.to_vec())));
        out
    }

    #[test]
    fn streams_keep_their_own_lines() {
        let out = lines(&[(false, b"a"), (true, b"x\n"), (false, b"b\nc")]);
        assert_eq!(out, [(true, b"x".to_vec()), (false, b"ab".to_vec()), (false, b"c".to_vec())]);
    }

    #[test]
    fn control_characters_but_tab_are_escaped_so_no_cvm_can_forge_a_prefix() {
        // A carriage return and an escape sequence that would move to column 1 and
        // print another cVM's prefix; C1 CSI in UTF-8, split across two writes; DEL.
        let out = lines(&[(false, b"ok\r[other] forged\x1b[2K\tend\xc2"), (false, b"\x9b5m\x7f \xc2\xa9\n")]);
        assert_eq!(out, [(false, b"ok\\x0d[other] forged\\x1b[2K\tend\\xc2\\x9b5m\\x7f \xc2\xa9".to_vec())]);
        // A lead byte left at the end is written as it is.
        assert_eq!(lines(&[(true, b"x\xc2")]), [(true, b"x\xc2".to_vec())]);
    }

    #[test]
    fn a_line_without_newline_is_cut_at_the_longest_line() {
        let flood = alloc::vec![b'z'; LONGEST_LINE * 3 + 5];
        let out = lines(&[(false, &flood)]);
        assert_eq!(
            out.iter().map(|(_, line)| line.len()).collect::<Vec<_>>(),
            [LONGEST_LINE, LONGEST_LINE, LONGEST_LINE, 5]
        );
    }
}
