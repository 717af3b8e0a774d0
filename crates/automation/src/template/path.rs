//! Reference path syntax: `root(.key|[index])*`.

/// A parsed path segment.
pub(super) enum Segment<'t> {
    /// `.name` (or `.0`, which indexes arrays too).
    Key(&'t str),
    /// `[0]`.
    Index(usize),
}

/// Whether `b` may appear in a name or key segment.
fn is_segment_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Parses `root(.key|[index])*`.
pub(super) fn parse_path(reference: &str) -> Result<(&str, Vec<Segment<'_>>), &'static str> {
    let bytes = reference.as_bytes();
    let ident_end = |from: usize| {
        let mut end = from;
        while bytes.get(end).copied().is_some_and(is_segment_byte) {
            end += 1;
        }
        end
    };
    let root_end = ident_end(0);
    if root_end == 0 {
        return Err("must start with 'secrets', 'trigger' or a node name");
    }
    let root = reference.get(..root_end).unwrap_or_default();
    let mut segments = Vec::new();
    let mut pos = root_end;
    while let Some(&b) = bytes.get(pos) {
        match b {
            b'.' => {
                let end = ident_end(pos + 1);
                if end == pos + 1 {
                    return Err("expected a field name after '.'");
                }
                segments.push(Segment::Key(
                    reference.get(pos + 1..end).unwrap_or_default(),
                ));
                pos = end;
            }
            b'[' => {
                let mut end = pos + 1;
                while bytes.get(end).is_some_and(u8::is_ascii_digit) {
                    end += 1;
                }
                if end == pos + 1 || bytes.get(end) != Some(&b']') {
                    return Err("expected '[' digits ']'");
                }
                let index = reference
                    .get(pos + 1..end)
                    .and_then(|d| d.parse::<usize>().ok())
                    .ok_or("array index too large")?;
                segments.push(Segment::Index(index));
                pos = end + 1;
            }
            _ => return Err("unexpected character; paths look like node.data.items[0].price"),
        }
    }
    Ok((root, segments))
}

/// `data.items[0].price` for error messages.
pub(super) fn display_path(segments: &[Segment<'_>]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}
