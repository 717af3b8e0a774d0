//! gRPC's length-prefixed message framing: a compression flag byte, a big-endian `u32` length,
//! then the message. tonic frames and unframes messages itself; this decoder is for tools,
//! tests and the fuzz target, which check that a frame's message is what the service decodes.

/// Bytes before each message: the flag and the length.
pub const FRAME_HEADER_LEN: usize = 5;

/// One frame's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Whether the message is compressed (flag 1); Quorate's services never compress.
    pub compressed: bool,
    /// The message bytes.
    pub message: &'a [u8],
}

/// Why bytes are not a gRPC frame.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Fewer than [`FRAME_HEADER_LEN`] bytes.
    #[error("frame header needs {FRAME_HEADER_LEN} bytes, got {got}")]
    ShortHeader {
        /// Bytes available.
        got: usize,
    },
    /// The compression flag is neither 0 nor 1.
    #[error("frame compression flag must be 0 or 1, got {flag}")]
    BadFlag {
        /// The flag byte.
        flag: u8,
    },
    /// The announced length is above the receiver's limit.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// The announced length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The message is shorter than announced.
    #[error("frame announces {len} bytes, only {available} follow")]
    Truncated {
        /// The announced length.
        len: usize,
        /// Bytes after the header.
        available: usize,
    },
}

/// Splits one frame off `buf`: its message (at most `max_message_bytes`) and the bytes after.
pub fn decode_frame(
    buf: &[u8],
    max_message_bytes: usize,
) -> Result<(Frame<'_>, &[u8]), FrameError> {
    let Some((header, rest)) = buf.split_first_chunk::<FRAME_HEADER_LEN>() else {
        return Err(FrameError::ShortHeader { got: buf.len() });
    };
    let [flag, l0, l1, l2, l3] = *header;
    let compressed = match flag {
        0 => false,
        1 => true,
        flag => return Err(FrameError::BadFlag { flag }),
    };
    let announced = u32::from_be_bytes([l0, l1, l2, l3]);
    let too_large = FrameError::TooLarge {
        len: u64::from(announced),
        max: max_message_bytes,
    };
    let len = usize::try_from(announced).map_err(|_| too_large.clone())?;
    if len > max_message_bytes {
        return Err(too_large);
    }
    if len > rest.len() {
        return Err(FrameError::Truncated {
            len,
            available: rest.len(),
        });
    }
    let (message, rest) = rest.split_at(len);
    Ok((
        Frame {
            compressed,
            message,
        },
        rest,
    ))
}

/// Frames an uncompressed message. Messages are at most `u32::MAX` bytes; longer ones are
/// refused with [`FrameError::TooLarge`].
pub fn encode_frame(message: &[u8]) -> Result<Vec<u8>, FrameError> {
    let len = u32::try_from(message.len()).map_err(|_| FrameError::TooLarge {
        len: message.len() as u64,
        max: u32::MAX as usize,
    })?;
    let mut out = Vec::with_capacity(FRAME_HEADER_LEN + message.len());
    out.push(0);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(message);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_split() {
        let mut two = encode_frame(b"hello").unwrap();
        two.extend(encode_frame(b"").unwrap());
        let (f, rest) = decode_frame(&two, 5).unwrap();
        assert_eq!(
            f,
            Frame {
                compressed: false,
                message: b"hello"
            }
        );
        let (f, rest) = decode_frame(rest, 0).unwrap();
        assert_eq!((f.message, rest), (&b""[..], &b""[..]));
        assert_eq!(
            decode_frame(&[1, 0, 0, 0, 1, 9], 1).unwrap().0,
            Frame {
                compressed: true,
                message: &[9]
            }
        );
    }

    #[test]
    fn malformed_frames_have_their_own_errors() {
        assert_eq!(
            decode_frame(&[0, 0, 0, 0], 9),
            Err(FrameError::ShortHeader { got: 4 })
        );
        assert_eq!(
            decode_frame(&[2, 0, 0, 0, 0], 9),
            Err(FrameError::BadFlag { flag: 2 })
        );
        // Oversized: one byte over the limit, and the largest length a header can announce.
        assert_eq!(
            decode_frame(&[0, 0, 0, 0, 6, 1, 2, 3, 4, 5, 6], 5),
            Err(FrameError::TooLarge { len: 6, max: 5 })
        );
        assert_eq!(
            decode_frame(&[0, 0xff, 0xff, 0xff, 0xff], usize::MAX),
            Err(FrameError::Truncated {
                len: u32::MAX as usize,
                available: 0
            })
        );
        assert_eq!(
            decode_frame(&[0, 0, 0, 0, 3, 1, 2], 9),
            Err(FrameError::Truncated {
                len: 3,
                available: 2
            })
        );
    }
}
