//! cVM console output: each line prefixed with the cVM's name, whole lines at a time so
//! that cVMs running side by side never interleave within a line.

use std::io::Write;
use std::sync::Mutex;

/// Where every cVM's console lines go (the intravisor's standard output by default).
pub struct OutputSink {
    writer: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for OutputSink {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("OutputSink")
    }
}

impl OutputSink {
    /// A sink writing to `writer`.
    pub fn new(writer: Box<dyn Write + Send>) -> Self {
        Self { writer: Mutex::new(writer) }
    }

    /// A sink writing to standard output.
    pub fn stdout() -> Self {
        Self::new(Box::new(std::io::stdout()))
    }

    fn write_line(&self, name: &str, stream: &str, line: &[u8]) {
        let mut writer = self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Console output is best effort: a closed stdout must not end a cVM.
        let _ = writer.write_all(format!("[{name}{stream}] ").as_bytes());
        let _ = writer.write_all(line);
        let _ = writer.write_all(b"\n");
        let _ = writer.flush();
    }
}

/// The longest line kept before it is written out anyway.
const LONGEST_LINE: usize = 4096;

/// One cVM's console: partial lines wait here until their newline arrives.
#[derive(Debug)]
pub(super) struct Console<'a> {
    name: &'a str,
    sink: &'a OutputSink,
    pending: [Vec<u8>; 2],
}

impl<'a> Console<'a> {
    pub(super) fn new(name: &'a str, sink: &'a OutputSink) -> Self {
        Self { name, sink, pending: [Vec::new(), Vec::new()] }
    }

    /// Takes bytes written to standard output (`error == false`) or standard error.
    pub(super) fn write(&mut self, error: bool, bytes: &[u8]) {
        let stream = if error { ":err" } else { "" };
        let pending = &mut self.pending[usize::from(error)];
        for &byte in bytes {
            if byte == b'\n' {
                self.sink.write_line(self.name, stream, pending);
                pending.clear();
            } else {
                pending.push(byte);
                if pending.len() >= LONGEST_LINE {
                    self.sink.write_line(self.name, stream, pending);
                    pending.clear();
                }
            }
        }
    }

    /// Writes out what is left of unfinished lines.
    pub(super) fn flush(&mut self) {
        for (index, stream) in ["", ":err"].iter().enumerate() {
            if !self.pending[index].is_empty() {
                self.sink.write_line(self.name, stream, &self.pending[index]);
                self.pending[index].clear();
            }
        }
    }
}
