//! Why the intravisor refuses a loader's plan: one variant per check of `layout`, each
//! message naming the object and offset and what to fix.

use core::fmt;

use super::MINIMUM_HEAP;

/// Why a plan was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutError {
    /// The plan has no objects.
    Empty,
    /// The plan's object list and the object files given do not match.
    ObjectCount {
        /// Objects in the plan.
        planned: usize,
        /// Files given.
        given: usize,
    },
    /// A segment reaches past its object's image.
    SegmentOutsideImage {
        /// The object.
        object: usize,
        /// The segment's offset in the image.
        offset: u64,
    },
    /// An image placed at `base` would run past the end of the address space.
    ImageOutsideAddressSpace {
        /// The object.
        object: usize,
        /// Where it was to be placed.
        base: u64,
        /// Its image size, in whole pages.
        size: u64,
    },
    /// A segment's bytes reach past the end of its file, or are more than its memory.
    SegmentOutsideFile {
        /// The object.
        object: usize,
        /// The segment's offset in the image.
        offset: u64,
    },
    /// A page would be both writable and executable.
    WritableAndExecutable {
        /// The object.
        object: usize,
        /// The page's offset in the image.
        offset: u64,
    },
    /// A relocation site is not inside a writable segment of its object.
    RelocationSite {
        /// The object.
        object: usize,
        /// The site's offset in the image.
        site: u64,
    },
    /// A relocation would write a pointer to outside every object of the plan.
    RelocationTarget {
        /// The object holding the site.
        object: usize,
        /// The site's offset in the image.
        site: u64,
    },
    /// The `PT_GNU_RELRO` range is not inside its object's image.
    Relro {
        /// The object.
        object: usize,
    },
    /// The entry point is not inside an executable segment of the program.
    Entry {
        /// The entry point's offset in the program's image.
        offset: u64,
    },
    /// A shared object points into an object that is not shared.
    SharedPointsToPrivate {
        /// The shared object.
        object: usize,
        /// The relocation site's offset in its image.
        site: u64,
    },
    /// Two objects' templates would share a slot of the CLS table.
    SlotConflict {
        /// The object placed second.
        object: usize,
    },
    /// A thread-local storage block of the plan is not one the C library can set up:
    /// its image outside its object, or sizes past the loader's limits.
    ThreadLocalStorage {
        /// The module's position in the plan's list (module id minus one).
        module: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The images, the minimum heap and the stack do not fit the region.
    RegionTooSmall {
        /// Bytes needed at least.
        needed: u64,
        /// The region's size.
        available: u64,
    },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(formatter, "the loader proposed a plan with no objects"),
            Self::ObjectCount { planned, given } => {
                write!(formatter, "the plan names {planned} objects but {given} object files were given")
            }
            Self::SegmentOutsideImage { object, offset } => {
                write!(formatter, "object {object}: the segment at image offset {offset:#x} reaches past the image")
            }
            Self::ImageOutsideAddressSpace { object, base, size } => write!(
                formatter,
                "object {object}: an image of {size:#x} bytes placed at {base:#x} would run past the end of the address space"
            ),
            Self::SegmentOutsideFile { object, offset } => write!(
                formatter,
                "object {object}: the bytes of the segment at image offset {offset:#x} are not inside the file"
            ),
            Self::WritableAndExecutable { object, offset } => {
                write!(formatter, "object {object}: the page at image offset {offset:#x} would be writable and executable")
            }
            Self::RelocationSite { object, site } => write!(
                formatter,
                "object {object}: relocation site at image offset {site:#x} is not inside a writable segment"
            ),
            Self::RelocationTarget { object, site } => write!(
                formatter,
                "object {object}: relocation at image offset {site:#x} points outside every object of the plan"
            ),
            Self::Relro { object } => write!(formatter, "object {object}: the RELRO range is not inside the image"),
            Self::Entry { offset } => {
                write!(formatter, "the entry point at image offset {offset:#x} is not in executable code")
            }
            Self::SharedPointsToPrivate { object, site } => write!(
                formatter,
                "object {object}: the shared copy would hold, at image offset {site:#x}, the address of an object that is not shared"
            ),
            Self::SlotConflict { object } => {
                write!(formatter, "object {object}: its templates share a slot of the CLS table with another object's")
            }
            Self::ThreadLocalStorage { module, reason } => {
                write!(formatter, "thread-local storage module {}: {reason}", module + 1)
            }
            Self::RegionTooSmall { needed, available } => write!(
                formatter,
                "the region of {available:#x} bytes is too small: the program, a {MINIMUM_HEAP:#x}-byte heap and the stack need {needed:#x}; raise `isolation.size`"
            ),
        }
    }
}
