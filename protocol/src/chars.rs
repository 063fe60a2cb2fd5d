//! Characters that show nothing, or that make text read differently from
//! what it says. Names refuse them; message texts of nothing else are
//! empty, and bidi controls in texts are refused. A leaf module.

/// Whether `c` is one of Unicode's default-ignorable code points (zero-width
/// spaces and joiners, fillers such as U+3164, variation selectors, tags…):
/// characters that show nothing by themselves.
pub fn is_default_ignorable(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F..=0x1160 | 0x17B4..=0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFF8 | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF)
}

/// Whether `c` is a bidirectional embedding, override or isolate control
/// (U+202A–U+202E, U+2066–U+2069), the characters of "Trojan Source" text.
/// The marks U+200E, U+200F and U+061C are fine.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c as u32, 0x202A..=0x202E | 0x2066..=0x2069)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_and_reordering_characters_are_known() {
        assert!(is_default_ignorable('\u{3164}') && !is_default_ignorable('a'));
        assert!(is_bidi_control('\u{2069}') && !is_bidi_control('\u{200F}'));
    }
}
