//! Text-format GraphDefs (`.pbtxt`): parsed by prost-reflect against the checked-in descriptor set, then
//! transcoded to the prost [`tf::GraphDef`], so that text and binary graphs share one import path.

use miette::Diagnostic;
use prost_reflect::DynamicMessage;

use crate::error::FrontendError;
use crate::tf;

/// Parses a text-format GraphDef. `file` names the source in error messages; errors carry the line and
/// column where parsing stopped.
pub fn parse(text: &str, file: &str) -> Result<tf::GraphDef, FrontendError> {
    check_depth(text).map_err(|offset| {
        let (line, column) = line_column(text, offset);
        FrontendError::Text {
            file: file.into(),
            line,
            column,
            message: format!("messages nested more than {MAX_DEPTH} deep"),
        }
    })?;
    let desc = tf::descriptor_pool()
        .get_message_by_name("tensorflow.GraphDef")
        .expect("the descriptor set defines tensorflow.GraphDef");
    let msg = DynamicMessage::parse_text_format(desc, text).map_err(|e| {
        let offset = e
            .labels()
            .and_then(|mut labels| labels.next())
            .map_or(text.len(), |l| l.offset());
        let (line, column) = line_column(text, offset);
        FrontendError::Text {
            file: file.into(),
            line,
            column,
            message: e.to_string(),
        }
    })?;
    msg.transcode_to::<tf::GraphDef>()
        .map_err(|e| FrontendError::Text {
            file: file.into(),
            line: 1,
            column: 1,
            message: format!("the parsed message does not convert to a GraphDef: {e}"),
        })
}

/// The deepest nesting of messages accepted in text (binary decoding has the same limit, prost's).
/// The text parser recurses per level, so this bounds its stack use on hostile input.
pub const MAX_DEPTH: usize = 100;

/// Fails with the byte offset of the first brace that opens a message deeper than [`MAX_DEPTH`].
fn check_depth(text: &str) -> Result<(), usize> {
    let mut depth = 0usize;
    let mut quote = None;
    let mut bytes = text.bytes().enumerate();
    while let Some((i, b)) = bytes.next() {
        match (quote, b) {
            (Some(_), b'\\') => {
                bytes.next();
            }
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'#') => {
                for (_, c) in bytes.by_ref() {
                    if c == b'\n' {
                        break;
                    }
                }
            }
            (None, b'{' | b'<') => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(i);
                }
            }
            (None, b'}' | b'>') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// The 1-based line and character column of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}
