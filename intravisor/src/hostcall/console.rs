//! A cVM's console lines: bytes written to standard output or error wait here until
//! their newline, so that cVMs running side by side never interleave within a line.
//! A line is written out anyway at [`LONGEST_LINE`] bytes: a cVM that never prints a
//! newline cannot grow the buffer.

use alloc::vec::Vec;

/// The longest line kept before it is written out anyway.
pub const LONGEST_LINE: usize = 4096;

/// The unfinished lines of one cVM's standard output and standard error.
#[derive(Debug, Default)]
pub struct ConsoleLines {
    pending: [Vec<u8>; 2],
}

impl ConsoleLines {
    /// Takes bytes written to standard output (`error == false`) or standard error;
    /// calls `line(error, bytes)` for each line finished (without its newline).
    pub fn write(&mut self, error: bool, bytes: &[u8], mut line: impl FnMut(bool, &[u8])) {
        let pending = &mut self.pending[usize::from(error)];
        for &byte in bytes {
            if byte == b'\n' {
                line(error, pending);
                pending.clear();
            } else {
                pending.push(byte);
                if pending.len() >= LONGEST_LINE {
                    line(error, pending);
                    pending.clear();
                }
            }
        }
    }

    /// Hands over what is left of unfinished lines (the cVM has ended).
    pub fn flush(&mut self, mut line: impl FnMut(bool, &[u8])) {
        for (index, pending) in self.pending.iter_mut().enumerate() {
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
    fn a_line_without_newline_is_cut_at_the_longest_line() {
        let flood = alloc::vec![b'z'; LONGEST_LINE * 3 + 5];
        let out = lines(&[(false, &flood)]);
        assert_eq!(
            out.iter().map(|(_, line)| line.len()).collect::<Vec<_>>(),
            [LONGEST_LINE, LONGEST_LINE, LONGEST_LINE, 5]
        );
    }
}
