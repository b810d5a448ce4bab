//! Bytes in, IR out.
