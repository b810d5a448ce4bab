//! A small FlexBuffers writer: what TFLite custom operators carry as `custom_options`.
//!
//! Only what sgc writes: null, bool, signed ints, floats, strings (any bytes), blobs, untyped vectors and
//! maps with string keys. Every vector picks the narrowest byte width (1, 2, 4 or 8) that holds its
//! inline scalars, its size and the offsets to its children, as the format allows; the root is the last
//! value built. The format in short:
//!
//! - a buffer ends with the root: its value (in the root's width), its packed type byte
//!   (`type << 2 | log2(width)`), then the root width as one byte;
//! - strings are `[size][bytes][0]`, keys `[bytes][0]`, blobs `[size][bytes]`; untyped vectors
//!   `[size][elements][one packed type byte per element]`; maps a vector of values preceded by
//!   `[offset to a key vector][its width]` (keys sorted bytewise, a typed key vector `[size][offsets]`);
//! - an offset is unsigned and counts back from the slot that holds it to its target.
//!
//! Tests decode the output with the reference decoder of the `flatbuffers` Python package
//! (`flatbuffers.flexbuffers`) when `SGC_PYTHON` is set (see `tests.rs`).

/// FlexBuffers type codes (the `Type` enum of the format).
mod ty {
    pub const NULL: u8 = 0;
    pub const INT: u8 = 1;
    pub const FLOAT: u8 = 3;
    pub const KEY: u8 = 4;
    pub const STRING: u8 = 5;
    pub const MAP: u8 = 9;
    pub const VECTOR: u8 = 10;
    pub const BLOB: u8 = 25;
    pub const BOOL: u8 = 26;
}

/// A value to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Flex {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string; any bytes (Flex ops carry a serialized NodeDef as one).
    Str(Vec<u8>),
    Blob(Vec<u8>),
    Vector(Vec<Flex>),
    /// Entries in any order: they are written sorted by key, bytewise. Keys must not contain NUL.
    Map(Vec<(String, Flex)>),
}

impl Flex {
    pub fn str(s: &str) -> Flex {
        Flex::Str(s.as_bytes().to_vec())
    }
}

/// A child as its parent stores it: inline bits or the position of what it points to.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// A scalar: type, value (ints sign-extended, floats as f64 bits), its narrowest width.
    Inline { ty: u8, value: Scalar, width: usize },
    /// A string, vector … at `pos`, whose own elements have `width` bytes.
    Offset { ty: u8, pos: usize, width: usize },
}

#[derive(Debug, Clone, Copy)]
enum Scalar {
    Int(i64),
    Float(f64),
}

/// Encodes `root` as a complete FlexBuffer.
pub fn encode(root: &Flex) -> Vec<u8> {
    let mut w = Writer { buf: Vec::new() };
    let slot = w.value(root);
    // The root is stored like a one-element vector's element, without a size or type table.
    let width = [1, 2, 4, 8]
        .into_iter()
        .find(|&wd| w.fits(&slot, align(w.buf.len(), wd), wd))
        .unwrap_or(8);
    w.pad_to(width);
    let at = w.buf.len();
    w.put(&slot, at, width);
    w.buf.push(packed(&slot, width));
    w.buf.push(width as u8);
    w.buf
}

struct Writer {
    buf: Vec<u8>,
}

fn align(pos: usize, width: usize) -> usize {
    pos.div_ceil(width) * width
}

fn log2(width: usize) -> u8 {
    width.trailing_zeros() as u8
}

/// The packed type byte of a child stored in a slot of `slot_width` bytes.
fn packed(slot: &Slot, slot_width: usize) -> u8 {
    match *slot {
        Slot::Inline { ty, .. } => ty << 2 | log2(slot_width),
        Slot::Offset { ty, width, .. } => ty << 2 | log2(width),
    }
}

fn int_width(v: i64) -> usize {
    if i8::try_from(v).is_ok() {
        1
    } else if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

fn uint_width(v: u64) -> usize {
    if v <= u8::MAX as u64 {
        1
    } else if v <= u16::MAX as u64 {
        2
    } else if v <= u32::MAX as u64 {
        4
    } else {
        8
    }
}

impl Writer {
    fn pad_to(&mut self, width: usize) {
        let n = align(self.buf.len(), width);
        self.buf.resize(n, 0);
    }

    fn uint(&mut self, v: u64, width: usize) {
        self.buf.extend_from_slice(&v.to_le_bytes()[..width]);
    }

    /// Whether `slot`, stored at `at` in `width` bytes, can hold its value.
    fn fits(&self, slot: &Slot, at: usize, width: usize) -> bool {
        match *slot {
            Slot::Inline { width: w, .. } => w <= width,
            Slot::Offset { pos, .. } => uint_width((at - pos) as u64) <= width,
        }
    }

    fn put(&mut self, slot: &Slot, at: usize, width: usize) {
        debug_assert_eq!(self.buf.len(), at);
        match *slot {
            Slot::Inline {
                value: Scalar::Int(v),
                ..
            } => self.buf.extend_from_slice(&v.to_le_bytes()[..width]),
            Slot::Inline {
                value: Scalar::Float(f),
                ..
            } => match width {
                4 => self.buf.extend_from_slice(&(f as f32).to_le_bytes()),
                // Floats are never put in slots narrower than 4 (their width is at least 4).
                _ => self.buf.extend_from_slice(&f.to_le_bytes()),
            },
            Slot::Offset { pos, .. } => self.uint((at - pos) as u64, width),
        }
    }

    /// `[size][bytes]` (+ a terminating 0 for strings), aligned to the size's width.
    fn sized_bytes(&mut self, ty: u8, bytes: &[u8], terminate: bool) -> Slot {
        let width = uint_width(bytes.len() as u64);
        self.pad_to(width);
        self.uint(bytes.len() as u64, width);
        let pos = self.buf.len();
        self.buf.extend_from_slice(bytes);
        if terminate {
            self.buf.push(0);
        }
        Slot::Offset { ty, pos, width }
    }

    fn value(&mut self, v: &Flex) -> Slot {
        let inline = |ty, value, width| Slot::Inline { ty, value, width };
        match v {
            Flex::Null => inline(ty::NULL, Scalar::Int(0), 1),
            Flex::Bool(b) => inline(ty::BOOL, Scalar::Int(*b as i64), 1),
            Flex::Int(i) => inline(ty::INT, Scalar::Int(*i), int_width(*i)),
            Flex::Float(f) => {
                let exact32 = (*f as f32) as f64 == *f || f.is_nan();
                inline(ty::FLOAT, Scalar::Float(*f), if exact32 { 4 } else { 8 })
            }
            Flex::Str(s) => self.sized_bytes(ty::STRING, s, true),
            Flex::Blob(b) => self.sized_bytes(ty::BLOB, b, false),
            Flex::Vector(items) => {
                let slots: Vec<Slot> = items.iter().map(|x| self.value(x)).collect();
                self.vector(&slots, None, true)
            }
            Flex::Map(entries) => {
                let mut entries: Vec<&(String, Flex)> = entries.iter().collect();
                entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                let keys: Vec<Slot> = entries
                    .iter()
                    .map(|(k, _)| {
                        let pos = self.buf.len();
                        self.buf.extend_from_slice(k.as_bytes());
                        self.buf.push(0);
                        Slot::Offset {
                            ty: ty::KEY,
                            pos,
                            width: 1,
                        }
                    })
                    .collect();
                let values: Vec<Slot> = entries.iter().map(|(_, x)| self.value(x)).collect();
                let Slot::Offset {
                    pos: kpos,
                    width: kwidth,
                    ..
                } = self.vector(&keys, None, false)
                else {
                    unreachable!("a vector is stored by offset")
                };
                self.vector(&values, Some((kpos, kwidth)), true)
            }
        }
    }

    /// Writes a vector (a map's values when `keys` is given) in the narrowest width that fits.
    fn vector(&mut self, slots: &[Slot], keys: Option<(usize, usize)>, typed_bytes: bool) -> Slot {
        let prefix = if keys.is_some() { 3 } else { 1 };
        let len = slots.len() as u64;
        let width = [1, 2, 4, 8]
            .into_iter()
            .find(|&w| {
                let start = align(self.buf.len(), w);
                let first = start + prefix * w;
                uint_width(len) <= w
                    && keys.is_none_or(|(kpos, kw)| {
                        uint_width((start - kpos) as u64) <= w && uint_width(kw as u64) <= w
                    })
                    && slots
                        .iter()
                        .enumerate()
                        .all(|(i, s)| self.fits(s, first + i * w, w))
            })
            .unwrap_or(8);
        self.pad_to(width);
        if let Some((kpos, kw)) = keys {
            let at = self.buf.len();
            self.uint((at - kpos) as u64, width);
            self.uint(kw as u64, width);
        }
        self.uint(len, width);
        let pos = self.buf.len();
        for s in slots {
            let at = self.buf.len();
            self.put(s, at, width);
        }
        if typed_bytes {
            for s in slots {
                self.buf.push(packed(s, width));
            }
        }
        let ty = if keys.is_some() { ty::MAP } else { ty::VECTOR };
        Slot::Offset { ty, pos, width }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_at_the_root() {
        // Value, packed type, root width.
        assert_eq!(encode(&Flex::Int(7)), vec![7, ty::INT << 2, 1]);
        assert_eq!(encode(&Flex::Int(-2)), vec![0xfe, ty::INT << 2, 1]);
        assert_eq!(encode(&Flex::Int(300)), vec![44, 1, ty::INT << 2 | 1, 2]);
        assert_eq!(encode(&Flex::Bool(true)), vec![1, ty::BOOL << 2, 1]);
        let f = encode(&Flex::Float(0.5));
        assert_eq!(
            f,
            [&0.5f32.to_le_bytes()[..], &[ty::FLOAT << 2 | 2, 4]].concat()
        );
    }

    #[test]
    fn strings_and_vectors() {
        // [size 2]['h' 'i' 0][offset 3 back to 'h'][STRING, width 1][root width 1]
        assert_eq!(
            encode(&Flex::str("hi")),
            vec![2, b'h', b'i', 0, 3, ty::STRING << 2, 1]
        );
        // [size 2][1][2][INT, INT] and the root's offset back to the first element.
        assert_eq!(
            encode(&Flex::Vector(vec![Flex::Int(1), Flex::Int(2)])),
            vec![2, 1, 2, ty::INT << 2, ty::INT << 2, 4, ty::VECTOR << 2, 1]
        );
    }

    #[test]
    fn wide_children_widen_their_vector() {
        let long = Flex::Str(vec![b'x'; 300]);
        let bytes = encode(&Flex::Vector(vec![long, Flex::Int(1)]));
        // The offset back over the string needs 2 bytes: the vector's elements are 2 bytes wide.
        let n = bytes.len();
        assert_eq!(bytes[n - 2], ty::VECTOR << 2 | 1, "{bytes:?}");
        let big = encode(&Flex::Vector(vec![Flex::Int(1 << 40)]));
        let n = big.len();
        assert_eq!(big[n - 2] >> 2, ty::VECTOR);
        assert_eq!(big[n - 2] & 3, 3, "elements of 8 bytes");
    }
}
