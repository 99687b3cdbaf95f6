//! `cvm-cc`, the compiler driver that builds ORC programs and shared objects with
//! unmodified build systems (`CC=cvm-cc ./configure && make`), in the spirit of
//! `musl-gcc`: it runs clang with the cls-pass, the cVM target's flags, musl's headers,
//! the start files, `libc.so`, `libcvm.so` and the compiler's runtime library, all taken
//! from the SDK directory the driver is installed in. The same binary is `cvm-ar` and
//! `cvm-ranlib` (LLVM's archiver) under those names.
#![forbid(unsafe_code)]

pub mod arguments;
pub mod command;
pub mod error;
pub mod sdk;
