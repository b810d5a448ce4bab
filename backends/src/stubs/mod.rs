//! `sgc stubs`: C++ kernel skeletons for the custom operators of a `.tflite` model.
//!
//! For each custom op (by `custom_code`; Flex ops are left out: the Flex delegate runs those) one
//! `<op>.cc` with a `TfLiteRegistration` whose `prepare` gives each output the shape the model records
//! (chosen by the input shapes, for ops used with several shapes) and whose `invoke` fails with "not
//! implemented" until it is filled in; one header `sgc_custom_ops.h` declaring every registration and a
//! function that adds them all to an op resolver; and a CMake snippet `sgc_custom_ops.cmake` building
//! them as a static library. The code uses only TFLite's C API (`tensorflow/lite/c/common.h`).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::tflite::reader::{read_model, ReadError};
use crate::tflite::schema::builtin;

/// The header every generated file includes.
pub const HEADER: &str = "sgc_custom_ops.h";
/// The C function listing every registration.
pub const REGISTRY: &str = "sgc_custom_ops_registry.cc";
/// The CMake snippet.
pub const CMAKE: &str = "sgc_custom_ops.cmake";

/// One generated file: a name (no directories) and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct StubFile {
    pub name: String,
    pub contents: String,
}

/// One use of a custom op in the model: tensor types and shapes of its inputs and outputs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Use {
    /// `None` for an omitted optional input.
    inputs: Vec<Option<(String, Vec<i32>)>>,
    outputs: Vec<(String, Vec<i32>)>,
}

/// A custom op: its code, a C identifier for it, and its distinct uses.
#[derive(Debug, Clone)]
struct CustomOp {
    code: String,
    ident: String,
    uses: Vec<Use>,
    options_bytes: Vec<usize>,
}

/// The stubs for every custom op of `model` (a `.tflite` file's bytes); `source` names the model in the
/// generated comments. No custom op: no files.
pub fn generate(model: &[u8], source: &str) -> Result<Vec<StubFile>, ReadError> {
    let ops = custom_ops(model)?;
    if ops.is_empty() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for op in &ops {
        files.push(StubFile {
            name: format!("{}.cc", file_stem(&op.ident)),
            contents: kernel(op, source),
        });
    }
    files.push(StubFile {
        name: REGISTRY.into(),
        contents: registry(&ops, source),
    });
    files.push(StubFile {
        name: HEADER.into(),
        contents: header(&ops, source),
    });
    files.push(StubFile {
        name: CMAKE.into(),
        contents: cmake(&ops, source),
    });
    Ok(files)
}

/// The custom ops of a model, by code, with their uses in model order (duplicates dropped).
fn custom_ops(model: &[u8]) -> Result<Vec<CustomOp>, ReadError> {
    let m = read_model(model)?;
    let mut by_code: BTreeMap<String, CustomOp> = BTreeMap::new();
    for sg in &m.subgraphs {
        for op in &sg.operators {
            let Some(code) = m.operator_codes.get(op.opcode_index as usize) else {
                return Err(ReadError(format!(
                    "operator code index {} out of range",
                    op.opcode_index
                )));
            };
            if code.code() != builtin::CUSTOM {
                continue;
            }
            let Some(name) = code.custom_code.clone() else {
                return Err(ReadError(
                    "a CUSTOM operator code without custom_code".into(),
                ));
            };
            if name.starts_with("Flex") {
                continue;
            }
            let tensor = |t: i32| -> Result<Option<(String, Vec<i32>)>, ReadError> {
                if t < 0 {
                    return Ok(None);
                }
                let info = sg.tensors.get(t as usize).ok_or_else(|| {
                    ReadError(format!("custom op {name}: tensor {t} out of range"))
                })?;
                Ok(Some((type_name(info.tensor_type), info.shape.clone())))
            };
            let inputs = op
                .inputs
                .iter()
                .map(|&t| tensor(t))
                .collect::<Result<Vec<_>, _>>()?;
            let outputs = op
                .outputs
                .iter()
                .map(|&t| {
                    tensor(t)?.ok_or_else(|| ReadError(format!("custom op {name}: output -1")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let entry = by_code.entry(name.clone()).or_insert_with(|| CustomOp {
                ident: ident(&name),
                code: name.clone(),
                uses: Vec::new(),
                options_bytes: Vec::new(),
            });
            let u = Use { inputs, outputs };
            if !entry.uses.contains(&u) {
                entry.uses.push(u);
            }
            entry
                .options_bytes
                .push(op.custom_options.as_ref().map_or(0, |r| r.len()));
        }
    }
    // Distinct codes can share an identifier after sanitising: number the later ones.
    let mut seen = BTreeMap::new();
    let mut ops: Vec<CustomOp> = by_code.into_values().collect();
    for op in &mut ops {
        let n = seen.entry(op.ident.clone()).or_insert(0);
        if *n > 0 {
            op.ident = format!("{}_{n}", op.ident);
        }
        *n += 1;
    }
    Ok(ops)
}

/// A C identifier for an op code: letters, digits and `_`, not starting with a digit.
fn ident(code: &str) -> String {
    let mut s: String = code
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

fn file_stem(ident: &str) -> String {
    format!("custom_op_{ident}")
}

/// A string as a C string literal.
fn c_str(s: &str) -> String {
    let mut out = String::from("\"");
    for b in s.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push('"');
    out
}

/// A one-line comment's text (no line breaks, no comment terminators).
fn comment(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace("*/", "* /")
}

fn type_name(t: i8) -> String {
    use crate::tflite::schema::tensor_type as tt;
    match t {
        tt::FLOAT32 => "float32".into(),
        tt::FLOAT16 => "float16".into(),
        tt::INT32 => "int32".into(),
        tt::UINT8 => "uint8".into(),
        tt::INT64 => "int64".into(),
        tt::STRING => "string".into(),
        tt::BOOL => "bool".into(),
        tt::INT16 => "int16".into(),
        tt::INT8 => "int8".into(),
        tt::FLOAT64 => "float64".into(),
        t => format!("type{t}"),
    }
}

fn shape_text(s: &[i32]) -> String {
    let dims: Vec<String> = s.iter().map(i32::to_string).collect();
    format!("[{}]", dims.join(", "))
}

fn kernel(op: &CustomOp, source: &str) -> String {
    let id = &op.ident;
    let name = c_str(&op.code);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// The TFLite custom op {} of {}: generated by `sgc stubs`.",
        comment(&op.code),
        comment(source)
    );
    s.push_str(
        "// Prepare gives each output the shape the model records; Invoke is yours to write.\n//\n",
    );
    for (k, u) in op.uses.iter().enumerate() {
        let _ = writeln!(s, "// Use {k}:");
        for (i, t) in u.inputs.iter().enumerate() {
            match t {
                Some((ty, shape)) => {
                    let _ = writeln!(s, "//   input {i}: {ty} {}", shape_text(shape));
                }
                None => {
                    let _ = writeln!(s, "//   input {i}: (omitted)");
                }
            }
        }
        for (i, (ty, shape)) in u.outputs.iter().enumerate() {
            let _ = writeln!(s, "//   output {i}: {ty} {}", shape_text(shape));
        }
    }
    let _ = writeln!(
        s,
        "// Options: custom_options holds the node's attributes as a FlexBuffers map ({} bytes); read \
         them in Init\n// with flexbuffers::GetRoot(buffer, length).AsMap() if the kernel needs them.",
        op.options_bytes.iter().max().copied().unwrap_or(0)
    );
    let _ = writeln!(s, "\n#include \"{HEADER}\"\n\n#include <cstring>\n");
    s.push_str("namespace sgc_custom_ops {\nnamespace {\n\n");
    // The shape table: per use, the inputs' then the outputs' ranks and dims.
    s.push_str(
        "// Per use: the input count, each input's rank (-1: omitted) and dims, the output count, each\n\
         // output's rank and dims.\n",
    );
    let mut table = vec![op.uses.len().to_string()];
    for u in &op.uses {
        let mut row = vec![u.inputs.len().to_string()];
        for t in &u.inputs {
            match t {
                Some((_, shape)) => {
                    row.push(shape.len().to_string());
                    row.extend(shape.iter().map(i32::to_string));
                }
                None => row.push("-1".into()),
            }
        }
        row.push(u.outputs.len().to_string());
        for (_, shape) in &u.outputs {
            row.push(shape.len().to_string());
            row.extend(shape.iter().map(i32::to_string));
        }
        table.push(row.join(", "));
    }
    let _ = writeln!(
        s,
        "const int kShapes[] = {{\n    {},\n}};\n",
        table.join(",\n    ")
    );
    let _ = write!(
        s,
        r#"// True when the node's inputs have the shapes of the use at `p` (which is advanced past them).
bool InputsMatch(TfLiteContext* context, TfLiteNode* node, const int*& p) {{
  const int count = *p++;
  bool match = node->inputs->size == count;
  for (int i = 0; i < count; ++i) {{
    const int rank = *p++;
    if (rank < 0) continue;
    if (match) {{
      const int index = node->inputs->data[i];
      const TfLiteIntArray* dims = index < 0 ? nullptr : context->tensors[index].dims;
      match = dims != nullptr && dims->size == rank &&
              (rank == 0 || std::memcmp(dims->data, p, rank * sizeof(int)) == 0);
    }}
    p += rank;
  }}
  return match;
}}

TfLiteStatus Prepare(TfLiteContext* context, TfLiteNode* node) {{
  const int* p = kShapes;
  const int uses = *p++;
  for (int k = 0; k < uses; ++k) {{
    const bool match = InputsMatch(context, node, p);
    const int outputs = *p++;
    if (match && node->outputs->size == outputs) {{
      for (int o = 0; o < outputs; ++o) {{
        const int rank = *p++;
        TfLiteIntArray* dims = TfLiteIntArrayCreate(rank);
        for (int d = 0; d < rank; ++d) dims->data[d] = p[d];
        p += rank;
        TfLiteTensor* out = &context->tensors[node->outputs->data[o]];
        if (context->ResizeTensor(context, out, dims) != kTfLiteOk) return kTfLiteError;
      }}
      return kTfLiteOk;
    }}
    for (int o = 0; o < outputs; ++o) {{
      const int rank = *p++;
      p += rank;
    }}
  }}
  context->ReportError(context, "custom op %s: input shapes the model does not record", {name});
  return kTfLiteError;
}}

TfLiteStatus Invoke(TfLiteContext* context, TfLiteNode* node) {{
  (void)node;
  // TODO: compute the outputs from the inputs (context->tensors[node->inputs->data[i]] …).
  context->ReportError(context, "custom op %s is not implemented (fill in Invoke in %s)", {name},
                       "{file}.cc");
  return kTfLiteError;
}}

}}  // namespace

TfLiteRegistration* Register_{id}() {{
  static TfLiteRegistration registration = [] {{
    TfLiteRegistration r;
    std::memset(&r, 0, sizeof r);
    r.prepare = Prepare;
    r.invoke = Invoke;
    r.custom_name = {name};
    r.version = 1;
    return r;
  }}();
  return &registration;
}}

}}  // namespace sgc_custom_ops
"#,
        file = file_stem(id),
    );
    s
}

fn header(ops: &[CustomOp], source: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// Registrations of the custom ops of {}: generated by `sgc stubs`.\n\
         #ifndef SGC_CUSTOM_OPS_H_\n#define SGC_CUSTOM_OPS_H_\n\n\
         #include \"tensorflow/lite/c/common.h\"\n\n#ifdef __cplusplus\nnamespace sgc_custom_ops {{\n",
        comment(source)
    );
    for op in ops {
        let _ = writeln!(
            s,
            "// The custom op {}.\nTfLiteRegistration* Register_{}();",
            comment(&op.code),
            op.ident
        );
    }
    s.push_str(
        "\n// Adds every custom op of the model to an op resolver with TFLite's C++ API, e.g.\n\
         //   tflite::ops::builtin::BuiltinOpResolver resolver;\n\
         //   sgc_custom_ops::RegisterCustomOps(&resolver);\n\
         template <typename OpResolver>\nvoid RegisterCustomOps(OpResolver* resolver) {\n",
    );
    for op in ops {
        let _ = writeln!(
            s,
            "  resolver->AddCustom({}, Register_{}());",
            c_str(&op.code),
            op.ident
        );
    }
    s.push_str("}\n\n}  // namespace sgc_custom_ops\n#endif\n\n");
    s.push_str(
        "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\
         // For TFLite's C API: the name and registration of custom op `i`, or NULL past the last, e.g.\n\
         //   for (int i = 0; (reg = SgcCustomOp(i, &name)); ++i)\n\
         //     TfLiteInterpreterOptionsAddCustomOp(options, name, reg, 1, 1);\n\
         const TfLiteRegistration* SgcCustomOp(int i, const char** name);\n\
         #ifdef __cplusplus\n}  // extern \"C\"\n#endif\n\n",
    );
    s.push_str("#endif  // SGC_CUSTOM_OPS_H_\n");
    s
}

fn registry(ops: &[CustomOp], source: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "// Every custom op of {}, for TFLite's C API: generated by `sgc stubs`.\n\n\
         #include \"{HEADER}\"\n\n\
         extern \"C\" const TfLiteRegistration* SgcCustomOp(int i, const char** name) {{\n  switch (i) {{",
        comment(source)
    );
    for (i, op) in ops.iter().enumerate() {
        let _ = writeln!(
            s,
            "    case {i}:\n      *name = {};\n      return sgc_custom_ops::Register_{}();",
            c_str(&op.code),
            op.ident
        );
    }
    s.push_str("    default:\n      return nullptr;\n  }\n}\n");
    s
}

fn cmake(ops: &[CustomOp], source: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# The custom ops of {}: generated by `sgc stubs`.\n\
         # include() this file, set TFLITE_INCLUDE_DIR to the directory holding tensorflow/lite/c/common.h,\n\
         # then: target_link_libraries(your_app PRIVATE sgc_custom_ops)\n\
         add_library(sgc_custom_ops STATIC",
        comment(source).replace('\n', " ")
    );
    for op in ops {
        let _ = writeln!(
            s,
            "  ${{CMAKE_CURRENT_LIST_DIR}}/{}.cc",
            file_stem(&op.ident)
        );
    }
    s.push_str("  ${CMAKE_CURRENT_LIST_DIR}/sgc_custom_ops_registry.cc\n)\n");
    s.push_str(
        "target_include_directories(sgc_custom_ops PUBLIC ${CMAKE_CURRENT_LIST_DIR} ${TFLITE_INCLUDE_DIR})\n\
         target_compile_features(sgc_custom_ops PUBLIC cxx_std_14)\n",
    );
    s
}

#[cfg(test)]
mod tests;
