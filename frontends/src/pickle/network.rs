//! The networks of a StyleGAN pickle (`dnnlib.tflib.network.Network` objects, alone or as the
//! `(G, D, Gs)` tuple the training code writes), read from their state dicts: name, version, build
//! function, static kwargs, components, variables (as [`Tensor`]s over the file's bytes) and the sha256
//! of the network module's source. See `../shared/notes/stylegan-pkl-facts.md`.

use sgc_ir::Tensor;

use super::{numpy, Id, Node, Pickle};

/// A static keyword argument of a network function.
#[derive(Debug, Clone, PartialEq)]
pub enum Kwarg {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A list or tuple of plain values (e.g. `blur_filter`).
    List(Vec<Kwarg>),
}

impl std::fmt::Display for Kwarg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Kwarg::None => write!(f, "None"),
            Kwarg::Bool(b) => write!(f, "{}", if *b { "True" } else { "False" }),
            Kwarg::Int(v) => write!(f, "{v}"),
            Kwarg::Float(v) => write!(f, "{v:?}"),
            Kwarg::Str(s) => write!(f, "{s:?}"),
            Kwarg::List(items) => {
                write!(f, "[")?;
                for (i, v) in items.iter().enumerate() {
                    write!(f, "{}{v}", if i > 0 { ", " } else { "" })?;
                }
                write!(f, "]")
            }
        }
    }
}

/// One network and its components.
#[derive(Debug, Clone)]
pub struct Network {
    /// Where it sits: `Gs`, `Gs/synthesis` … (the tuple position names the top level).
    pub path: String,
    pub name: String,
    pub version: i64,
    pub build_func_name: String,
    /// sha256 of the UTF-8 `build_module_src`, lowercase hex.
    pub source_sha256: String,
    pub source_len: usize,
    pub static_kwargs: Vec<(String, Kwarg)>,
    pub components: Vec<Network>,
    /// In creation order, names relative to the network's scope.
    pub variables: Vec<(String, Tensor)>,
}

impl Network {
    /// The network at `path` (`Gs`, `Gs/synthesis` …) among `networks` and their components.
    pub fn find<'a>(networks: &'a [Network], path: &str) -> Option<&'a Network> {
        networks.iter().find_map(|n| {
            if n.path == path {
                Some(n)
            } else {
                Network::find(&n.components, path)
            }
        })
    }

    pub fn kwarg(&self, key: &str) -> Option<&Kwarg> {
        self.static_kwargs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Bytes of its own variables' data.
    pub fn variable_bytes(&self) -> usize {
        self.variables.iter().map(|(_, t)| t.bytes().len()).sum()
    }
}

/// The network module sources of official releases: a prefix of the sha256 of `build_module_src`,
/// and what it is.
pub const KNOWN_SOURCES: &[(&str, &str)] = &[(
    "59128b51ac64d556",
    "StyleGAN v1 training/networks_stylegan.py, official 2019 release",
)];

impl Network {
    /// What the module source is, when it is an official release's.
    pub fn known_source(&self) -> Option<&'static str> {
        KNOWN_SOURCES
            .iter()
            .find(|(prefix, _)| self.source_sha256.starts_with(prefix))
            .map(|&(_, what)| what)
    }

    /// The output resolution its kwargs give (`resolution`, its own or its synthesis component's).
    pub fn resolution(&self) -> Option<i64> {
        match self.kwarg("resolution") {
            Some(Kwarg::Int(r)) => Some(*r),
            _ => self.components.iter().find_map(Network::resolution),
        }
    }
}

const NETWORK: (&str, &str) = ("dnnlib.tflib.network", "Network");

fn is_network(p: &Pickle, id: Id) -> bool {
    matches!(p.node(id), Node::Object { class, .. } if (class.module.as_str(), class.name.as_str()) == NETWORK)
}

/// The networks the pickle holds: a `(G, D, Gs)` tuple (paths `G`, `D`, `Gs`), another tuple or list of
/// networks (paths their names), or one network (its name).
pub fn networks(p: &Pickle) -> Result<Vec<Network>, String> {
    let root = p.root;
    // Objects are shared: a file could name one network as a component many times over, on every
    // level. A (G, D, Gs) tuple has 7; this bounds the work a file can ask for.
    let mut budget = 64;
    if is_network(p, root) {
        return Ok(vec![network(p, root, None, &mut budget)?]);
    }
    let items = p
        .items(root)
        .filter(|items| !items.is_empty() && items.iter().all(|&i| is_network(p, i)))
        .ok_or("the pickle holds no dnnlib.tflib.network.Network objects (not a StyleGAN network pickle)")?;
    let names = match items.len() {
        3 => Some(["G", "D", "Gs"]),
        _ => None,
    };
    items
        .iter()
        .enumerate()
        .map(|(i, &id)| network(p, id, names.map(|n| n[i]), &mut budget))
        .collect()
}

fn network(p: &Pickle, id: Id, path: Option<&str>, budget: &mut usize) -> Result<Network, String> {
    if *budget == 0 {
        return Err("more than 64 networks and components".into());
    }
    *budget -= 1;
    let Node::Object { state, .. } = p.node(id) else {
        unreachable!("checked to be a Network object")
    };
    let state = state.ok_or("a Network without its state (BUILD)")?;
    if !matches!(p.node(state), Node::Dict(_)) {
        return Err("a Network whose state is not a dict".into());
    }
    let field = |key: &str| {
        p.get(state, key)
            .ok_or(format!("Network state has no '{key}'"))
    };
    let string = |key: &str| -> Result<String, String> {
        p.str(field(key)?)
            .map(str::to_string)
            .ok_or(format!("Network state '{key}' is not a string"))
    };
    let name = string("name")?;
    let path = path.map_or(name.clone(), str::to_string);
    let at = |what: String| format!("{path}: {what}");
    let version = match p.node(field("version").map_err(at)?) {
        Node::Int(v) => *v,
        _ => return Err(at("'version' is not an int".into())),
    };
    let build_func_name = string("build_func_name").map_err(at)?;
    let source = string("build_module_src").map_err(at)?;
    let static_kwargs = match p.node(field("static_kwargs").map_err(at)?) {
        Node::Dict(pairs) => pairs
            .iter()
            .map(|&(k, v)| {
                let k = p
                    .str(k)
                    .ok_or_else(|| at("a static kwarg name is not a string".into()))?;
                let mut budget = 10_000;
                let v = kwarg(p, v, 0, &mut budget)
                    .map_err(|e| at(format!("static kwarg '{k}': {e}")))?;
                Ok((k.to_string(), v))
            })
            .collect::<Result<Vec<_>, String>>()?,
        _ => return Err(at("'static_kwargs' is not a dict".into())),
    };
    let components = match p.node(field("components").map_err(at)?) {
        Node::Dict(pairs) => pairs
            .iter()
            .map(|&(k, v)| {
                let k = p
                    .str(k)
                    .ok_or_else(|| at("a component name is not a string".into()))?;
                if !is_network(p, v) {
                    return Err(at(format!("component '{k}' is not a Network")));
                }
                network(p, v, Some(&format!("{path}/{k}")), budget)
            })
            .collect::<Result<Vec<_>, String>>()?,
        _ => return Err(at("'components' is not a dict".into())),
    };
    let variables = p
        .items(field("variables").map_err(at)?)
        .ok_or_else(|| at("'variables' is not a list".into()))?
        .iter()
        .map(|&v| {
            let pair = p.items(v).filter(|i| i.len() == 2);
            let (name, value) = pair
                .map(|i| (i[0], i[1]))
                .ok_or_else(|| at("a variable is not a (name, array) pair".into()))?;
            let name = p
                .str(name)
                .ok_or_else(|| at("a variable name is not a string".into()))?;
            let t = numpy::tensor(p, value)
                .map_err(|e| at(format!("variable '{name}': {e}")))?
                .ok_or_else(|| at(format!("variable '{name}' is not a numpy array")))?;
            Ok((name.to_string(), t))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Network {
        path,
        name,
        version,
        build_func_name,
        source_sha256: sha256_hex(source.as_bytes()),
        source_len: source.len(),
        static_kwargs,
        components,
        variables,
    })
}

/// A kwarg's value; `budget` bounds the values visited (lists are shared: one can hold another many
/// times over).
fn kwarg(p: &Pickle, id: Id, depth: usize, budget: &mut usize) -> Result<Kwarg, String> {
    if *budget == 0 {
        return Err("more than 10000 values".into());
    }
    *budget -= 1;
    Ok(match p.node(id) {
        Node::None => Kwarg::None,
        Node::Bool(b) => Kwarg::Bool(*b),
        Node::Int(v) => Kwarg::Int(*v),
        Node::Float(v) => Kwarg::Float(*v),
        Node::Str(s) => Kwarg::Str(s.clone()),
        Node::Tuple(items) | Node::List(items) if depth < 4 => Kwarg::List(
            items
                .iter()
                .map(|&i| kwarg(p, i, depth + 1, budget))
                .collect::<Result<_, _>>()?,
        ),
        // numpy scalars (e.g. a numpy.float32 learning-rate multiplier).
        Node::Object { .. } => match numpy::tensor(p, id)? {
            Some(t) if t.shape().is_empty() => scalar_kwarg(&t)?,
            _ => return Err("an object that is not a numpy scalar".into()),
        },
        _ => return Err("not a plain value".into()),
    })
}

fn scalar_kwarg(t: &Tensor) -> Result<Kwarg, String> {
    use sgc_ir::DType;
    let b = t.bytes();
    Ok(match t.dtype() {
        DType::F32 => Kwarg::Float(f32::from_le_bytes(b[..4].try_into().unwrap()) as f64),
        DType::F64 => Kwarg::Float(f64::from_le_bytes(b[..8].try_into().unwrap())),
        DType::I32 => Kwarg::Int(i32::from_le_bytes(b[..4].try_into().unwrap()) as i64),
        DType::I64 => Kwarg::Int(i64::from_le_bytes(b[..8].try_into().unwrap())),
        DType::Bool => Kwarg::Bool(b[0] != 0),
        other => return Err(format!("a numpy {other} scalar")),
    })
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_lists_cannot_blow_up_a_kwarg() {
        // l0 = [None] * 100, l1 = [l0] * 100, l2 = [l1] * 100: a million values by reference, in
        // a few hundred bytes.
        let mut d = vec![0x80, 4, b']', 0x94, b'('];
        d.extend([b'N'; 100]);
        d.push(b'e');
        for level in 0..2u8 {
            d.extend([b']', 0x94, b'(']);
            for _ in 0..100 {
                d.extend([b'h', level]);
            }
            d.push(b'e');
        }
        d.push(b'.');
        let p = super::super::parse(&bytes::Bytes::from(d), &[], Default::default()).unwrap();
        let e = kwarg(&p, p.root, 0, &mut 10_000).unwrap_err();
        assert!(e.contains("more than 10000 values"), "{e}");
    }
}
