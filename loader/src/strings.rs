//! The dynamic string table (`DT_STRTAB`, `DT_STRSZ`).
//!
//! Names of symbols, of needed objects and the object's own soname are offsets into this
//! table. A name must start inside the table, end with a NUL byte inside it, and be UTF-8.
//!
//! Names are copied out, so many symbols naming one long string could make the loader
//! allocate far more than the file's size. The names read from one table may add up to
//! at most [`BUDGET_FACTOR`] times its size plus [`BUDGET_SLACK`] bytes; real tables stay
//! well under (names repeat only for versioned symbols and shared string tails).

use alloc::string::String;
use core::cell::Cell;

use crate::dynamic::Table;
use crate::LoadError;

/// The names read from a table may add up to this many times its size ...
pub(crate) const BUDGET_FACTOR: u64 = 4;
/// ... plus this many bytes.
pub(crate) const BUDGET_SLACK: u64 = 4096;

/// The string table of one object.
#[derive(Debug, Clone)]
pub(crate) struct StringTable<'a> {
    object: &'a str,
    table: Table<'a>,
    /// Bytes that names read from now on may still add up to.
    budget: Cell<u64>,
}

impl<'a> StringTable<'a> {
    /// The string table of `object` found at `table`.
    pub(crate) fn new(object: &'a str, table: Table<'a>) -> Self {
        let size = table.bytes.len() as u64;
        let budget = size.saturating_mul(BUDGET_FACTOR).saturating_add(BUDGET_SLACK);
        Self { object, table, budget: Cell::new(budget) }
    }

    /// The NUL-terminated string at `offset` in the table.
    pub(crate) fn get(&self, offset: u64) -> Result<String, LoadError> {
        let object = || String::from(self.object);
        let table_size = self.table.bytes.len() as u64;
        let rest = usize::try_from(offset).ok().and_then(|start| self.table.bytes.get(start..));
        let rest = match rest {
            Some(rest) if offset < table_size => rest,
            _ => {
                return Err(LoadError::StringOutOfTable {
                    object: object(),
                    offset,
                    table_file_offset: self.table.file_offset,
                    table_size,
                })
            }
        };
        let file_offset = self.table.file_offset.saturating_add(offset);
        let Some(length) = rest.iter().position(|&byte| byte == 0) else {
            return Err(LoadError::UnterminatedString { object: object(), file_offset });
        };
        let bytes = rest.get(..length).unwrap_or_default();
        let Some(budget) = self.budget.get().checked_sub(length as u64) else {
            return Err(LoadError::NamesTooLong {
                object: object(),
                table_file_offset: self.table.file_offset,
                table_size,
            });
        };
        self.budget.set(budget);
        match core::str::from_utf8(bytes) {
            Ok(text) => Ok(String::from(text)),
            Err(_) => Err(LoadError::InvalidString { object: object(), file_offset }),
        }
    }
}
