//! The pickle opcode machine (the opcodes of protocols 2–5 that build values; the text opcodes of
//! protocols 0–1, persistent ids, extension codes and out-of-band buffers are refused by name).

use std::collections::HashMap;

use bytes::Bytes;

use super::{Global, Id, Limits, Node, Pickle, PickleError};

/// Parses a whole pickle (up to its STOP) from `data`, allowing the globals `allowed`
/// (`(module, name)` pairs, e.g. [`super::STYLEGAN_GLOBALS`]).
pub fn parse(
    data: &Bytes,
    allowed: &[(&str, &str)],
    limits: Limits,
) -> Result<Pickle, PickleError> {
    Machine {
        data,
        pos: 0,
        op_start: 0,
        nodes: Vec::new(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        allowed,
        limits,
    }
    .run()
}

struct Machine<'a> {
    data: &'a Bytes,
    pos: usize,
    /// Where the current opcode starts: the offset errors name.
    op_start: usize,
    nodes: Vec<Node>,
    stack: Vec<Id>,
    /// Stack lengths at each MARK.
    marks: Vec<usize>,
    memo: HashMap<u64, Id>,
    allowed: &'a [(&'a str, &'a str)],
    limits: Limits,
}

impl Machine<'_> {
    fn err(&self, what: impl Into<String>) -> PickleError {
        PickleError {
            offset: self.op_start,
            what: what.into(),
        }
    }

    fn take(&mut self, n: u64, op: &str) -> Result<Bytes, PickleError> {
        let left = self.data.len() - self.pos;
        let n = usize::try_from(n)
            .ok()
            .filter(|&n| n <= left)
            .ok_or_else(|| self.err(format!("truncated: {op} wants {n} bytes, {left} left")))?;
        let b = self.data.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(b)
    }

    fn uint(&mut self, n: u64, op: &str) -> Result<u64, PickleError> {
        let b = self.take(n, op)?;
        Ok(b.iter().rev().fold(0u64, |acc, &x| acc << 8 | u64::from(x)))
    }

    fn add(&mut self, node: Node) -> Result<Id, PickleError> {
        if self.nodes.len() >= self.limits.nodes {
            return Err(self.err(format!("more than {} values", self.limits.nodes)));
        }
        self.nodes.push(node);
        Ok(self.nodes.len() - 1)
    }

    fn push(&mut self, node: Node) -> Result<(), PickleError> {
        let id = self.add(node)?;
        self.push_id(id)
    }

    fn push_id(&mut self, id: Id) -> Result<(), PickleError> {
        if self.stack.len() >= self.limits.stack {
            return Err(self.err(format!("stack deeper than {}", self.limits.stack)));
        }
        self.stack.push(id);
        Ok(())
    }

    fn pop(&mut self, op: &str) -> Result<Id, PickleError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(self.err(format!("{op} on an empty stack")));
        }
        Ok(self.stack.pop().expect("checked"))
    }

    fn top(&self, op: &str) -> Result<Id, PickleError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        match self.stack.len() > floor {
            true => Ok(self.stack[self.stack.len() - 1]),
            false => Err(self.err(format!("{op} on an empty stack"))),
        }
    }

    /// The items since the last MARK, which is removed.
    fn pop_mark(&mut self, op: &str) -> Result<Vec<Id>, PickleError> {
        let mark = self
            .marks
            .pop()
            .ok_or_else(|| self.err(format!("{op} without a MARK")))?;
        Ok(self.stack.split_off(mark))
    }

    fn string(&self, b: &[u8], op: &str) -> Result<String, PickleError> {
        String::from_utf8(b.to_vec()).map_err(|_| self.err(format!("{op}: invalid UTF-8")))
    }

    fn global(&mut self, module: String, name: String) -> Result<(), PickleError> {
        if !self.allowed.iter().any(|&(m, n)| m == module && n == name) {
            return Err(self.err(format!(
                "global {module}.{name} is not allowed (not part of the format; nothing was run)"
            )));
        }
        self.push(Node::Global(Global { module, name }))
    }

    fn class_of(&self, id: Id, op: &str) -> Result<Global, PickleError> {
        match &self.nodes[id] {
            Node::Global(g) => Ok(g.clone()),
            other => Err(self.err(format!("{op} of {}, not a class", kind(other)))),
        }
    }

    /// REDUCE or NEWOBJ of an allowed global. Two are values, not objects: an empty
    /// `collections.OrderedDict` (a dict, filled by SETITEMS) and `_codecs.encode(str, 'latin1')`,
    /// protocol 2's bytes.
    fn construct(&mut self, class: Global, args_id: Id, op: &str) -> Result<(), PickleError> {
        let args = match &self.nodes[args_id] {
            Node::Tuple(items) => items,
            other => {
                return Err(self.err(format!("{op} with {} arguments, not a tuple", kind(other))))
            }
        };
        let node = match (class.module.as_str(), class.name.as_str()) {
            ("collections", "OrderedDict") if args.is_empty() => Node::Dict(Vec::new()),
            ("_codecs", "encode") => {
                let (Some(s), Some("latin1" | "latin-1")) = (
                    args.first().and_then(|&a| self.str_of(a)),
                    args.get(1).and_then(|&a| self.str_of(a)),
                ) else {
                    return Err(
                        self.err(format!("{op} of _codecs.encode: expected (str, 'latin1')"))
                    );
                };
                let b: Option<Vec<u8>> = s.chars().map(|c| u8::try_from(c).ok()).collect();
                let b = b.ok_or_else(|| self.err("_codecs.encode: not a latin-1 string"))?;
                Node::Bytes(Bytes::from(b))
            }
            _ => Node::Object {
                class,
                args: args_id,
                state: None,
            },
        };
        self.push(node)
    }

    fn str_of(&self, id: Id) -> Option<&str> {
        match &self.nodes[id] {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }

    fn tuple(&mut self, items: Vec<Id>) -> Result<(), PickleError> {
        self.push(Node::Tuple(items))
    }

    fn extend_list(&mut self, list: Id, items: Vec<Id>, op: &str) -> Result<(), PickleError> {
        let limit = self.limits.stack;
        let err = self.err(format!("{op} to {}, not a list", kind(&self.nodes[list])));
        match &mut self.nodes[list] {
            Node::List(v) if v.len() + items.len() <= limit => {
                v.extend(items);
                Ok(())
            }
            Node::List(_) => Err(self.err(format!("a list longer than {limit}"))),
            _ => Err(err),
        }
    }

    fn set_items(&mut self, dict: Id, items: Vec<Id>, op: &str) -> Result<(), PickleError> {
        if !items.len().is_multiple_of(2) {
            return Err(self.err(format!("{op}: an odd number of items")));
        }
        let limit = self.limits.stack;
        let err = self.err(format!("{op} on {}, not a dict", kind(&self.nodes[dict])));
        match &mut self.nodes[dict] {
            Node::Dict(pairs) if pairs.len() + items.len() / 2 <= limit => {
                pairs.extend(items.chunks(2).map(|p| (p[0], p[1])));
                Ok(())
            }
            Node::Dict(_) => Err(self.err(format!("a dict larger than {limit}"))),
            _ => Err(err),
        }
    }

    fn memo_put(&mut self, key: u64, op: &str) -> Result<(), PickleError> {
        let top = self.top(op)?;
        if self.memo.len() >= self.limits.memo && !self.memo.contains_key(&key) {
            return Err(self.err(format!("more than {} memo entries", self.limits.memo)));
        }
        self.memo.insert(key, top);
        Ok(())
    }

    fn memo_get(&mut self, key: u64) -> Result<(), PickleError> {
        let id = *self
            .memo
            .get(&key)
            .ok_or_else(|| self.err(format!("memo entry {key} is not defined")))?;
        self.push_id(id)
    }

    fn run(mut self) -> Result<Pickle, PickleError> {
        loop {
            self.op_start = self.pos;
            let Some(&op) = self.data.get(self.pos) else {
                return Err(self.err("truncated: the pickle ends without STOP"));
            };
            self.pos += 1;
            match op {
                0x80 => {
                    let v = self.uint(1, "PROTO")?;
                    if !(2..=5).contains(&v) {
                        return Err(self.err(format!("pickle protocol {v} (2 to 5 are read)")));
                    }
                }
                0x95 => {
                    let n = self.uint(8, "FRAME")?;
                    let left = (self.data.len() - self.pos) as u64;
                    if n > left {
                        return Err(self.err(format!("truncated: FRAME of {n} bytes, {left} left")));
                    }
                }
                b'.' => {
                    let root = self.pop("STOP")?;
                    return Ok(Pickle {
                        nodes: self.nodes,
                        root,
                    });
                }
                b'(' => {
                    if self.marks.len() >= self.limits.stack {
                        return Err(self.err("too many MARKs"));
                    }
                    self.marks.push(self.stack.len());
                }
                b'0' => {
                    self.pop("POP")?;
                }
                b'1' => {
                    self.pop_mark("POP_MARK")?;
                }
                b'2' => {
                    let top = self.top("DUP")?;
                    self.push_id(top)?;
                }
                b'N' => self.push(Node::None)?,
                0x88 => self.push(Node::Bool(true))?,
                0x89 => self.push(Node::Bool(false))?,
                b'J' => {
                    let v = self.uint(4, "BININT")? as u32 as i32;
                    self.push(Node::Int(v.into()))?
                }
                b'K' => {
                    let v = self.uint(1, "BININT1")?;
                    self.push(Node::Int(v as i64))?
                }
                b'M' => {
                    let v = self.uint(2, "BININT2")?;
                    self.push(Node::Int(v as i64))?
                }
                0x8a | 0x8b => {
                    let (name, width) = if op == 0x8a {
                        ("LONG1", 1)
                    } else {
                        ("LONG4", 4)
                    };
                    let n = self.uint(width, name)?;
                    let b = self.take(n, name)?;
                    if b.len() > 8 {
                        return Err(self.err(format!("{name}: an integer of {} bytes", b.len())));
                    }
                    let v = match b.len() {
                        0 => 0,
                        k => {
                            let u = b.iter().rev().fold(0u64, |acc, &x| acc << 8 | u64::from(x));
                            let shift = 64 - 8 * k as u32;
                            ((u << shift) as i64) >> shift
                        }
                    };
                    self.push(Node::Int(v))?
                }
                b'G' => {
                    let b = self.take(8, "BINFLOAT")?;
                    let v = f64::from_be_bytes(b[..].try_into().expect("8 bytes"));
                    self.push(Node::Float(v))?
                }
                0x8c | b'X' | 0x8d => {
                    let (name, width) = match op {
                        0x8c => ("SHORT_BINUNICODE", 1),
                        b'X' => ("BINUNICODE", 4),
                        _ => ("BINUNICODE8", 8),
                    };
                    let n = self.uint(width, name)?;
                    let b = self.take(n, name)?;
                    let s = self.string(&b, name)?;
                    self.push(Node::Str(s))?
                }
                b'U' | b'T' => {
                    // Python 2 `str`: read as Python 3 does by default (bytes as latin-1 text).
                    let (name, width) = if op == b'U' {
                        ("SHORT_BINSTRING", 1)
                    } else {
                        ("BINSTRING", 4)
                    };
                    let n = self.uint(width, name)?;
                    let b = self.take(n, name)?;
                    self.push(Node::Str(b.iter().map(|&c| c as char).collect()))?
                }
                b'C' | b'B' | 0x8e | 0x96 => {
                    let (name, width) = match op {
                        b'C' => ("SHORT_BINBYTES", 1),
                        b'B' => ("BINBYTES", 4),
                        0x8e => ("BINBYTES8", 8),
                        _ => ("BYTEARRAY8", 8),
                    };
                    let n = self.uint(width, name)?;
                    let b = self.take(n, name)?;
                    self.push(Node::Bytes(b))?
                }
                b')' => self.tuple(Vec::new())?,
                b't' => {
                    let items = self.pop_mark("TUPLE")?;
                    self.tuple(items)?
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop("TUPLE1/2/3")?);
                    }
                    items.reverse();
                    self.tuple(items)?
                }
                b']' => self.push(Node::List(Vec::new()))?,
                b'l' => {
                    let items = self.pop_mark("LIST")?;
                    self.push(Node::List(items))?
                }
                b'a' => {
                    let item = self.pop("APPEND")?;
                    let list = self.top("APPEND")?;
                    self.extend_list(list, vec![item], "APPEND")?
                }
                b'e' => {
                    let items = self.pop_mark("APPENDS")?;
                    let list = self.top("APPENDS")?;
                    self.extend_list(list, items, "APPENDS")?
                }
                b'}' => self.push(Node::Dict(Vec::new()))?,
                b'd' => {
                    let items = self.pop_mark("DICT")?;
                    let dict = self.add(Node::Dict(Vec::new()))?;
                    self.set_items(dict, items, "DICT")?;
                    self.push_id(dict)?
                }
                b's' => {
                    let v = self.pop("SETITEM")?;
                    let k = self.pop("SETITEM")?;
                    let dict = self.top("SETITEM")?;
                    self.set_items(dict, vec![k, v], "SETITEM")?
                }
                b'u' => {
                    let items = self.pop_mark("SETITEMS")?;
                    let dict = self.top("SETITEMS")?;
                    self.set_items(dict, items, "SETITEMS")?
                }
                b'c' => {
                    let module = self.line("GLOBAL")?;
                    let name = self.line("GLOBAL")?;
                    self.global(module, name)?
                }
                0x93 => {
                    let name = self.pop("STACK_GLOBAL")?;
                    let module = self.pop("STACK_GLOBAL")?;
                    let (Some(m), Some(n)) = (self.str_of(module), self.str_of(name)) else {
                        return Err(self.err("STACK_GLOBAL of non-strings"));
                    };
                    let (m, n) = (m.to_string(), n.to_string());
                    self.global(m, n)?
                }
                b'R' => {
                    let args = self.pop("REDUCE")?;
                    let callable = self.pop("REDUCE")?;
                    let class = self.class_of(callable, "REDUCE")?;
                    self.construct(class, args, "REDUCE")?
                }
                0x81 => {
                    let args = self.pop("NEWOBJ")?;
                    let cls = self.pop("NEWOBJ")?;
                    let class = self.class_of(cls, "NEWOBJ")?;
                    self.construct(class, args, "NEWOBJ")?
                }
                0x92 => {
                    let kwargs = self.pop("NEWOBJ_EX")?;
                    let args = self.pop("NEWOBJ_EX")?;
                    let cls = self.pop("NEWOBJ_EX")?;
                    if !matches!(&self.nodes[kwargs], Node::Dict(p) if p.is_empty()) {
                        return Err(self.err("NEWOBJ_EX with keyword arguments"));
                    }
                    let class = self.class_of(cls, "NEWOBJ_EX")?;
                    self.construct(class, args, "NEWOBJ_EX")?
                }
                b'b' => {
                    let state = self.pop("BUILD")?;
                    let obj = self.top("BUILD")?;
                    let err = self.err(format!(
                        "BUILD of {}, not an object",
                        kind(&self.nodes[obj])
                    ));
                    match &mut self.nodes[obj] {
                        Node::Object { state: s, .. } if s.is_none() => *s = Some(state),
                        Node::Object { .. } => {
                            return Err(self.err("BUILD of an object that has its state"))
                        }
                        _ => return Err(err),
                    }
                }
                0x94 => {
                    let key = self.memo.len() as u64;
                    self.memo_put(key, "MEMOIZE")?
                }
                b'q' => {
                    let key = self.uint(1, "BINPUT")?;
                    self.memo_put(key, "BINPUT")?
                }
                b'r' => {
                    let key = self.uint(4, "LONG_BINPUT")?;
                    self.memo_put(key, "LONG_BINPUT")?
                }
                b'h' => {
                    let key = self.uint(1, "BINGET")?;
                    self.memo_get(key)?
                }
                b'j' => {
                    let key = self.uint(4, "LONG_BINGET")?;
                    self.memo_get(key)?
                }
                _ => {
                    return Err(self.err(match name_of(op) {
                        Some(n) => {
                            format!("opcode {n} (0x{op:02x}) is not read (not part of the format)")
                        }
                        None => format!("unknown opcode 0x{op:02x}"),
                    }))
                }
            }
        }
    }

    /// A newline-terminated ASCII line (GLOBAL's module and name).
    fn line(&mut self, op: &str) -> Result<String, PickleError> {
        let rest = &self.data[self.pos..];
        let end = rest
            .iter()
            .take(1024)
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.err(format!("truncated: {op} without a newline")))?;
        let s = self.string(&rest[..end], op)?;
        self.pos += end + 1;
        Ok(s)
    }
}

/// What a node is, for errors.
fn kind(node: &Node) -> &'static str {
    match node {
        Node::None => "None",
        Node::Bool(_) => "a bool",
        Node::Int(_) => "an int",
        Node::Float(_) => "a float",
        Node::Str(_) => "a str",
        Node::Bytes(_) => "bytes",
        Node::Tuple(_) => "a tuple",
        Node::List(_) => "a list",
        Node::Dict(_) => "a dict",
        Node::Global(_) => "a global",
        Node::Object { .. } => "an object",
    }
}

/// The names of the opcodes this reader refuses (so that the error says which).
fn name_of(op: u8) -> Option<&'static str> {
    Some(match op {
        b'I' => "INT",
        b'L' => "LONG",
        b'F' => "FLOAT",
        b'S' => "STRING",
        b'V' => "UNICODE",
        b'p' => "PUT",
        b'g' => "GET",
        b'i' => "INST",
        b'o' => "OBJ",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => return None,
    })
}
