//! cVM console output: each line prefixed with the cVM's name, whole lines at a time so
//! that cVMs running side by side never interleave within a line.

use std::io::Write;
use std::sync::Mutex;

use crate::hostcall::ConsoleLines;

/// Where every cVM's console lines go (the intravisor's standard output by default):
/// one writer for every cVM, each line prefixed with the cVM's name and stream; or (a
/// node's container) one writer for each stream of one cVM, lines as the cVM wrote them.
pub struct OutputSink {
    writer: Mutex<Box<dyn Write + Send>>,
    /// Standard error's own writer; lines then carry no prefix.
    errors: Option<Mutex<Box<dyn Write + Send>>>,
}

impl std::fmt::Debug for OutputSink {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("OutputSink")
    }
}

impl OutputSink {
    /// A sink writing to `writer`.
    pub fn new(writer: Box<dyn Write + Send>) -> Self {
        Self { writer: Mutex::new(writer), errors: None }
    }

    /// A sink for one cVM: its standard output to `output`, its standard error to
    /// `errors`, without prefixes.
    pub fn streams(output: Box<dyn Write + Send>, errors: Box<dyn Write + Send>) -> Self {
        Self { writer: Mutex::new(output), errors: Some(Mutex::new(errors)) }
    }

    /// A sink writing to standard output.
    pub fn stdout() -> Self {
        Self::new(Box::new(std::io::stdout()))
    }

    fn write_line(&self, name: &str, stream: &str, line: &[u8]) {
        let chosen = match &self.errors {
            Some(errors) if !stream.is_empty() => errors,
            _ => &self.writer,
        };
        let mut writer = chosen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Console output is best effort: a closed stdout must not end a cVM.
        if self.errors.is_none() {
            let _ = writer.write_all(format!("[{name}{stream}] ").as_bytes());
        }
        let _ = writer.write_all(line);
        let _ = writer.write_all(b"\n");
        let _ = writer.flush();
    }
}

/// One cVM's console: partial lines wait in [`ConsoleLines`] until their newline.
#[derive(Debug)]
pub(super) struct Console<'a> {
    name: &'a str,
    sink: &'a OutputSink,
    lines: ConsoleLines,
}

impl<'a> Console<'a> {
    pub(super) fn new(name: &'a str, sink: &'a OutputSink) -> Self {
        Self { name, sink, lines: ConsoleLines::default() }
    }

    /// Takes bytes written to standard output (`error == false`) or standard error.
    pub(super) fn write(&mut self, error: bool, bytes: &[u8]) {
        let Self { name, sink, lines } = self;
        lines.write(error, bytes, |error, line| sink.write_line(name, stream(error), line));
    }

    /// Writes out what is left of unfinished lines.
    pub(super) fn flush(&mut self) {
        let Self { name, sink, lines } = self;
        lines.flush(|error, line| sink.write_line(name, stream(error), line));
    }
}

/// The tag of a stream in a console line's prefix.
fn stream(error: bool) -> &'static str {
    if error {
        ":err"
    } else {
        ""
    }
}
