//! The real LiteRT runtime, through the C API that the `ai-edge-litert` wheel's `libLiteRt.so` exports,
//! loaded at run time (no headers ship with the wheel; the prototypes below are those of LiteRT 2.3.0's
//! `litert/c/*.h`, checked against the library: note `LiteRtCreateModelFromFile` takes the environment
//! first in this version).
//!
//! Only what `sgc verify` needs: open a model on the CPU, fill its signature's inputs, run, read the
//! outputs. Every handle is destroyed in `Drop`, in reverse order of creation.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::{Path, PathBuf};

type Status = c_int;
type Handle = *mut c_void;

/// `LiteRtRankedTensorType`: element type (i32) then `LiteRtLayout` (rank in bits 0–6 of a u32,
/// `int32 dimensions[8]`, `uint32 strides[8]`): 72 bytes, filled by the library.
#[repr(C)]
#[derive(Clone, Copy)]
struct RankedTensorType {
    element_type: i32,
    rank_bits: u32,
    dimensions: [i32; 8],
    strides: [u32; 8],
}

const HW_CPU: c_int = 1;
const LOCK_READ: c_int = 0;
const LOCK_WRITE: c_int = 1;

/// Element types (`LiteRtElementType`, TfLiteType's numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementType {
    F32,
    I32,
    U8,
    I8,
    I64,
    Other(i32),
}

impl ElementType {
    fn of(code: i32) -> Self {
        match code {
            1 => ElementType::F32,
            2 => ElementType::I32,
            3 => ElementType::U8,
            9 => ElementType::I8,
            4 => ElementType::I64,
            c => ElementType::Other(c),
        }
    }
}

/// A name for a `LiteRtStatus` (the library exports no status-string function).
fn status_name(s: Status) -> String {
    let name = match s {
        1 => "invalid argument",
        2 => "memory allocation failure",
        3 => "runtime failure",
        4 => "missing input tensor",
        5 => "unsupported",
        6 => "not found",
        8 => "wrong version",
        9 => "unknown error",
        500 => "file I/O error",
        501 => "invalid flatbuffer",
        502 => "dynamic loading error",
        504 => "compilation error",
        _ => return format!("LiteRT status {s}"),
    };
    format!("{name} (LiteRT status {s})")
}

macro_rules! api {
    ($($name:ident: fn($($arg:ty),*) $(-> $ret:ty)?;)*) => {
        /// The C functions used, resolved once when the library is loaded.
        #[allow(non_snake_case)]
        struct Api {
            $($name: unsafe extern "C" fn($($arg),*) $(-> $ret)?,)*
        }

        impl Api {
            /// Resolves every symbol; a missing one names itself (another LiteRT version).
            fn load(lib: &libloading::Library) -> Result<Api, String> {
                // SAFETY: each symbol is given the prototype of LiteRT 2.3.0's C headers.
                unsafe {
                    Ok(Api {
                        $($name: *lib
                            .get(concat!(stringify!($name), "\0").as_bytes())
                            .map_err(|e| format!("the library has no {}: {e}", stringify!($name)))?,)*
                    })
                }
            }
        }
    };
}

api! {
    LiteRtCreateEnvironment: fn(c_int, *const c_void, *mut Handle) -> Status;
    LiteRtDestroyEnvironment: fn(Handle);
    LiteRtCreateModelFromFile: fn(Handle, *const c_char, *mut Handle) -> Status;
    LiteRtDestroyModel: fn(Handle);
    LiteRtCreateOptions: fn(*mut Handle) -> Status;
    LiteRtSetOptionsHardwareAccelerators: fn(Handle, c_int) -> Status;
    LiteRtDestroyOptions: fn(Handle);
    LiteRtCreateCompiledModel: fn(Handle, Handle, Handle, *mut Handle) -> Status;
    LiteRtDestroyCompiledModel: fn(Handle);
    LiteRtGetModelSignature: fn(Handle, usize, *mut Handle) -> Status;
    LiteRtGetNumSignatureInputs: fn(Handle, *mut usize) -> Status;
    LiteRtGetNumSignatureOutputs: fn(Handle, *mut usize) -> Status;
    LiteRtGetSignatureInputName: fn(Handle, usize, *mut *const c_char) -> Status;
    LiteRtGetSignatureOutputName: fn(Handle, usize, *mut *const c_char) -> Status;
    LiteRtGetSignatureInputTensorByIndex: fn(Handle, usize, *mut Handle) -> Status;
    LiteRtGetSignatureOutputTensorByIndex: fn(Handle, usize, *mut Handle) -> Status;
    LiteRtGetRankedTensorType: fn(Handle, *mut RankedTensorType) -> Status;
    LiteRtGetCompiledModelInputBufferRequirements: fn(Handle, usize, usize, *mut Handle) -> Status;
    LiteRtGetCompiledModelOutputBufferRequirements: fn(Handle, usize, usize, *mut Handle) -> Status;
    LiteRtCreateManagedTensorBufferFromRequirements:
        fn(Handle, *const RankedTensorType, Handle, *mut Handle) -> Status;
    LiteRtGetTensorBufferPackedSize: fn(Handle, *mut usize) -> Status;
    LiteRtLockTensorBuffer: fn(Handle, *mut *mut c_void, c_int) -> Status;
    LiteRtUnlockTensorBuffer: fn(Handle) -> Status;
    LiteRtDestroyTensorBuffer: fn(Handle);
    LiteRtRunCompiledModel: fn(Handle, usize, usize, *mut Handle, usize, *mut Handle) -> Status;
}

/// A loaded `libLiteRt.so`.
pub struct LiteRt {
    api: Api,
    path: PathBuf,
    // Keeps the functions above valid; dropped last.
    _lib: libloading::Library,
}

/// Where `libLiteRt.so` is looked for, in order, when `--litert-lib` is not given: `$SGC_LITERT_LIB`,
/// then the `ai_edge_litert` package of the Python environments `$VIRTUAL_ENV`, `$SGC_PYTHON`'s and
/// `./.venv`.
pub fn candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os("SGC_LITERT_LIB") {
        out.push(PathBuf::from(p));
    }
    let mut envs: Vec<PathBuf> = Vec::new();
    if let Some(v) = std::env::var_os("VIRTUAL_ENV") {
        envs.push(v.into());
    }
    if let Some(py) = std::env::var_os("SGC_PYTHON") {
        // <env>/bin/python → <env>
        if let Some(env) = Path::new(&py).parent().and_then(Path::parent) {
            envs.push(env.to_path_buf());
        }
    }
    envs.push(PathBuf::from(".venv"));
    for env in envs {
        for lib in ["lib", "lib64"] {
            let Ok(dir) = std::fs::read_dir(env.join(lib)) else {
                continue;
            };
            let mut pythons: Vec<PathBuf> = dir
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
                .map(|e| e.path().join("site-packages/ai_edge_litert/libLiteRt.so"))
                .collect();
            pythons.sort();
            out.extend(pythons);
        }
    }
    out
}

/// The message for a machine without the runtime.
pub fn missing_message(looked: &[PathBuf]) -> String {
    let looked: Vec<String> = looked.iter().map(|p| p.display().to_string()).collect();
    format!(
        "the LiteRT runtime (libLiteRt.so) was not found; it ships in the ai-edge-litert wheel: \
         `python3 -m venv .venv && .venv/bin/pip install ai-edge-litert==2.3.0`, then run from that \
         directory, or pass --litert-lib PATH (or set SGC_LITERT_LIB). Looked in: {}",
        if looked.is_empty() {
            "(nowhere)".to_string()
        } else {
            looked.join(", ")
        }
    )
}

impl LiteRt {
    /// Loads the library at `path`, or the first of [`candidates`] that exists.
    pub fn load(path: Option<&Path>) -> Result<LiteRt, String> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => {
                let looked = candidates();
                looked
                    .iter()
                    .find(|p| p.is_file())
                    .cloned()
                    .ok_or_else(|| missing_message(&looked))?
            }
        };
        // SAFETY: loading runs the library's initialisers; libLiteRt.so is the runtime this command is
        // documented to load, chosen by the user or found in their Python environment.
        let lib = unsafe { libloading::Library::new(&path) }
            .map_err(|e| format!("{}: cannot load: {e}", path.display()))?;
        let api = Api::load(&lib).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(LiteRt {
            api,
            path,
            _lib: lib,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Runs `f` with file descriptor 2 sent to a temporary file, and gives back what was written there:
/// LiteRT logs a dozen INFO lines on every model it opens and closes (`--quantize auto` opens dozens),
/// which are only worth showing when something fails. `SGC_LITERT_LOG=1` leaves stderr alone.
fn captured_stderr<T>(f: impl FnOnce() -> T) -> (T, String) {
    use std::io::{Read, Seek};
    use std::os::fd::AsRawFd;
    let file = if std::env::var_os("SGC_LITERT_LOG").is_some() {
        None
    } else {
        tempfile::tempfile().ok()
    };
    let Some(mut file) = file else {
        return (f(), String::new());
    };
    // SAFETY: dup/dup2/close on descriptor 2 and on descriptors this function owns; the saved copy is
    // put back before returning whatever `f` did.
    let saved = unsafe { libc::dup(2) };
    if saved < 0 || unsafe { libc::dup2(file.as_raw_fd(), 2) } < 0 {
        if saved >= 0 {
            unsafe { libc::close(saved) };
        }
        return (f(), String::new());
    }
    let out = f();
    unsafe {
        libc::dup2(saved, 2);
        libc::close(saved);
    }
    let mut log = String::new();
    if file.rewind().is_ok() {
        let _ = file.read_to_string(&mut log);
    }
    (out, log)
}

/// `e` with LiteRT's warnings and errors appended, when it wrote any.
fn with_log(e: String, log: &str) -> String {
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("INFO:"))
        .collect();
    if lines.is_empty() {
        e
    } else {
        format!("{e}\nLiteRT said:\n  {}", lines.join("\n  "))
    }
}

/// One signature tensor: its name, element type, dimensions and size in bytes.
#[derive(Debug, Clone)]
pub struct TensorSpec {
    pub name: String,
    pub dtype: ElementType,
    pub dims: Vec<usize>,
    pub bytes: usize,
}

/// A model compiled for the CPU, with a host buffer for each signature input and output.
pub struct Model<'a> {
    rt: &'a LiteRt,
    env: Handle,
    model: Handle,
    options: Handle,
    compiled: Handle,
    inputs: Vec<(TensorSpec, Handle)>,
    outputs: Vec<(TensorSpec, Handle)>,
}

impl<'a> Model<'a> {
    /// Opens `path` (its first signature) on the CPU. Errors name the file and the failing step, with
    /// what LiteRT logged.
    pub fn open(rt: &'a LiteRt, path: &Path) -> Result<Model<'a>, String> {
        let (m, log) = captured_stderr(|| Self::open_inner(rt, path));
        m.map_err(|e| with_log(e, &log))
    }

    fn open_inner(rt: &'a LiteRt, path: &Path) -> Result<Model<'a>, String> {
        let file = path.display().to_string();
        let cpath = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| format!("{file}: the path has a NUL byte"))?;
        let mut m = Model {
            rt,
            env: std::ptr::null_mut(),
            model: std::ptr::null_mut(),
            options: std::ptr::null_mut(),
            compiled: std::ptr::null_mut(),
            inputs: Vec::new(),
            outputs: Vec::new(),
        };
        let a = &rt.api;
        let check = |s: Status, what: &str| -> Result<(), String> {
            if s == 0 {
                Ok(())
            } else {
                Err(format!(
                    "{file}: LiteRT could not {what}: {}",
                    status_name(s)
                ))
            }
        };
        // SAFETY: the calls follow the C API's contract: out-pointers are valid locals or fields, handles
        // come from the library and are destroyed once, in Drop.
        unsafe {
            check(
                (a.LiteRtCreateEnvironment)(0, std::ptr::null(), &mut m.env),
                "create an environment",
            )?;
            check(
                (a.LiteRtCreateModelFromFile)(m.env, cpath.as_ptr(), &mut m.model),
                "load the model",
            )?;
            check((a.LiteRtCreateOptions)(&mut m.options), "create options")?;
            check(
                (a.LiteRtSetOptionsHardwareAccelerators)(m.options, HW_CPU),
                "select the CPU",
            )?;
            check(
                (a.LiteRtCreateCompiledModel)(m.env, m.model, m.options, &mut m.compiled),
                "compile the model",
            )?;
            let mut sig: Handle = std::ptr::null_mut();
            check(
                (a.LiteRtGetModelSignature)(m.model, 0, &mut sig),
                "read the model's signature",
            )?;
            let (mut n_in, mut n_out) = (0usize, 0usize);
            check(
                (a.LiteRtGetNumSignatureInputs)(sig, &mut n_in),
                "count the inputs",
            )?;
            check(
                (a.LiteRtGetNumSignatureOutputs)(sig, &mut n_out),
                "count the outputs",
            )?;
            for output in [false, true] {
                for i in 0..if output { n_out } else { n_in } {
                    let (mut name, mut tensor, mut req, mut buf) = (
                        std::ptr::null::<c_char>(),
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                    );
                    let what = if output { "output" } else { "input" };
                    let (get_name, get_tensor, get_req) = if output {
                        (
                            a.LiteRtGetSignatureOutputName,
                            a.LiteRtGetSignatureOutputTensorByIndex,
                            a.LiteRtGetCompiledModelOutputBufferRequirements,
                        )
                    } else {
                        (
                            a.LiteRtGetSignatureInputName,
                            a.LiteRtGetSignatureInputTensorByIndex,
                            a.LiteRtGetCompiledModelInputBufferRequirements,
                        )
                    };
                    check(get_name(sig, i, &mut name), &format!("name {what} {i}"))?;
                    let name = CStr::from_ptr(name).to_string_lossy().into_owned();
                    check(
                        get_tensor(sig, i, &mut tensor),
                        &format!("find {what} '{name}'"),
                    )?;
                    let mut tt = RankedTensorType {
                        element_type: 0,
                        rank_bits: 0,
                        dimensions: [0; 8],
                        strides: [0; 8],
                    };
                    check(
                        (a.LiteRtGetRankedTensorType)(tensor, &mut tt),
                        &format!("type {what} '{name}'"),
                    )?;
                    check(
                        get_req(m.compiled, 0, i, &mut req),
                        &format!("size {what} '{name}'"),
                    )?;
                    check(
                        (a.LiteRtCreateManagedTensorBufferFromRequirements)(
                            m.env, &tt, req, &mut buf,
                        ),
                        &format!("allocate {what} '{name}'"),
                    )?;
                    let mut bytes = 0usize;
                    let size = (a.LiteRtGetTensorBufferPackedSize)(buf, &mut bytes);
                    let rank = (tt.rank_bits & 0x7f) as usize;
                    let spec = TensorSpec {
                        name,
                        dtype: ElementType::of(tt.element_type),
                        dims: tt.dimensions[..rank.min(8)]
                            .iter()
                            .map(|&d| d.max(0) as usize)
                            .collect(),
                        bytes,
                    };
                    if output {
                        m.outputs.push((spec, buf));
                    } else {
                        m.inputs.push((spec, buf));
                    }
                    check(size, &format!("size the buffer of {what} {i}"))?;
                }
            }
        }
        Ok(m)
    }

    pub fn inputs(&self) -> impl Iterator<Item = &TensorSpec> {
        self.inputs.iter().map(|(s, _)| s)
    }

    pub fn outputs(&self) -> impl Iterator<Item = &TensorSpec> {
        self.outputs.iter().map(|(s, _)| s)
    }

    /// Runs the model on one byte buffer per input (each exactly its tensor's size), giving the bytes of
    /// every output.
    pub fn run(&mut self, inputs: &[&[u8]]) -> Result<Vec<Vec<u8>>, String> {
        // The first run allocates the tensors (and logs); a failure says why.
        let (r, log) = captured_stderr(|| self.run_inner(inputs));
        r.map_err(|e| with_log(e, &log))
    }

    fn run_inner(&mut self, inputs: &[&[u8]]) -> Result<Vec<Vec<u8>>, String> {
        let a = &self.rt.api;
        if inputs.len() != self.inputs.len() {
            return Err(format!(
                "{} inputs given, the model has {}",
                inputs.len(),
                self.inputs.len()
            ));
        }
        // SAFETY: each buffer is locked, written or read within its packed size, and unlocked; the
        // buffer handles are the model's own, alive until Drop.
        unsafe {
            for ((spec, buf), data) in self.inputs.iter().zip(inputs) {
                if data.len() != spec.bytes {
                    return Err(format!(
                        "input '{}': {} bytes given, the tensor has {}",
                        spec.name,
                        data.len(),
                        spec.bytes
                    ));
                }
                let mut p: *mut c_void = std::ptr::null_mut();
                lock_status(
                    &spec.name,
                    (a.LiteRtLockTensorBuffer)(*buf, &mut p, LOCK_WRITE),
                )?;
                std::ptr::copy_nonoverlapping(data.as_ptr(), p as *mut u8, data.len());
                lock_status(&spec.name, (a.LiteRtUnlockTensorBuffer)(*buf))?;
            }
            let mut ins: Vec<Handle> = self.inputs.iter().map(|(_, b)| *b).collect();
            let mut outs: Vec<Handle> = self.outputs.iter().map(|(_, b)| *b).collect();
            let s = (a.LiteRtRunCompiledModel)(
                self.compiled,
                0,
                ins.len(),
                ins.as_mut_ptr(),
                outs.len(),
                outs.as_mut_ptr(),
            );
            if s != 0 {
                return Err(format!(
                    "LiteRT could not run the model: {}",
                    status_name(s)
                ));
            }
            let mut res = Vec::with_capacity(self.outputs.len());
            for (spec, buf) in &self.outputs {
                let mut p: *mut c_void = std::ptr::null_mut();
                lock_status(
                    &spec.name,
                    (a.LiteRtLockTensorBuffer)(*buf, &mut p, LOCK_READ),
                )?;
                res.push(std::slice::from_raw_parts(p as *const u8, spec.bytes).to_vec());
                lock_status(&spec.name, (a.LiteRtUnlockTensorBuffer)(*buf))?;
            }
            Ok(res)
        }
    }
}

fn lock_status(name: &str, s: Status) -> Result<(), String> {
    if s == 0 {
        Ok(())
    } else {
        Err(format!(
            "LiteRT could not lock the buffer of '{name}': {}",
            status_name(s)
        ))
    }
}

impl Drop for Model<'_> {
    fn drop(&mut self) {
        captured_stderr(|| self.destroy());
    }
}

impl Model<'_> {
    fn destroy(&mut self) {
        let a = &self.rt.api;
        // SAFETY: every non-null handle was created by the library and is destroyed exactly once,
        // buffers before the compiled model, the model and the environment they belong to.
        unsafe {
            for (_, b) in self.inputs.drain(..).chain(self.outputs.drain(..)) {
                if !b.is_null() {
                    (a.LiteRtDestroyTensorBuffer)(b);
                }
            }
            for (h, destroy) in [
                (self.compiled, a.LiteRtDestroyCompiledModel),
                (self.options, a.LiteRtDestroyOptions),
                (self.model, a.LiteRtDestroyModel),
                (self.env, a.LiteRtDestroyEnvironment),
            ] {
                if !h.is_null() {
                    destroy(h);
                }
            }
        }
    }
}
