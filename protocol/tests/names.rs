//! Names that look alike are one name: every pair of look-alikes from a
//! list clashes (same key, or the second refused outright), every NFD/NFC
//! pair is one name, and no valid name hides an invisible character.

use parley_protocol::names::{check_nick, check_room, look_alike_keys, name_key};
use parley_protocol::{is_bidi_control, is_default_ignorable};
use proptest::prelude::*;
use unicode_normalization::UnicodeNormalization;

/// Pairs a reader could take for the same name.
const LOOK_ALIKES: &[(&str, &str)] = &[
    ("alice", "Alice"),
    ("alice", "ALICE"),
    ("alice", "AIice"),         // capital I for l
    ("alice", "аlice"),         // Cyrillic а
    ("alice", "ａｌｉｃｅ"),    // fullwidth
    ("alice", "alice\u{3164}"), // Hangul filler
    ("alice", "al\u{200D}ice"), // zero-width joiner
    ("alice", "al\u{AD}ice"),   // soft hyphen
    ("alice", "alice\u{FE0F}"), // variation selector
    ("bob", "b0b"),
    ("mike", "rnike"),
    ("pop", "рор"),     // all Cyrillic
    ("scope", "ѕсоре"), // all Cyrillic
    ("paypal", "раураl"),
    ("omicron", "οmicron"), // Greek ο
    ("José", "Jose\u{301}"),
    ("straße", "STRASSE"),
    ("mina park", "mina  park"),
    ("mina", " mina "),
    ("rust", "ruѕt"),
    ("한", "\u{1112}\u{1161}\u{11AB}"),
];

#[test]
fn every_pair_of_look_alikes_clashes() {
    for &(first, second) in LOOK_ALIKES {
        let first = check_nick(first).unwrap_or_else(|e| panic!("{first}: {e}"));
        match check_nick(second) {
            Err(_) => {}
            Ok(second_nick) => {
                let a = look_alike_keys(&first);
                let b = look_alike_keys(&second_nick);
                assert!(
                    a.iter().any(|k| b.contains(k)),
                    "{first:?} and {second:?} ({second_nick:?}) do not clash: {a:?} {b:?}"
                );
            }
        }
    }
}

#[test]
fn different_names_stay_different() {
    for (a, b) in [
        ("alice", "alicia"),
        ("mina", "minah"),
        ("민아", "미나"),
        ("bob", "rob"),
        ("anna", "hanna"),
    ] {
        let (ka, kb) = (look_alike_keys(a), look_alike_keys(b));
        assert!(!ka.iter().any(|k| kb.contains(k)), "{a} {b}");
    }
}

/// Words with accented letters in several scripts, so NFD differs from NFC.
fn accented_word() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "a",
            "é",
            "ñ",
            "ü",
            "ç",
            "å",
            "ő",
            "ş",
            "ț",
            "ά",
            "ή",
            "ё",
            "й",
            "가",
            "힣",
            "ड़",
            "த",
            "ன்",
            "क्ष",
            "x",
            "9",
        ]),
        1..10,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn nfd_and_nfc_spellings_are_one_name(word in accented_word()) {
        let nfc: String = word.nfc().collect();
        let nfd: String = word.nfd().collect();
        let from_nfc = check_nick(&nfc);
        prop_assert_eq!(&from_nfc, &check_nick(&nfd));
        if let Ok(nick) = from_nfc {
            prop_assert_eq!(&nick, &nfc);
            prop_assert_eq!(name_key(&nick), name_key(&nfd));
        }
    }

    #[test]
    fn keys_ignore_case_in_every_cased_script(word in "[a-zA-Zα-ωΑ-Ωа-яА-Я]{1,12}") {
        if let Ok(nick) = check_nick(&word) {
            prop_assert_eq!(name_key(&nick), name_key(&nick.to_uppercase()));
            prop_assert_eq!(name_key(&nick), name_key(&nick.to_lowercase()));
        }
    }

    #[test]
    fn valid_names_hide_nothing_and_are_fixed_points(raw in "\\PC{0,40}") {
        for name in [check_nick(&raw), check_room(&raw)].into_iter().flatten() {
            prop_assert!(!name.chars().any(|c| is_default_ignorable(c) || is_bidi_control(c) || c.is_control()));
            prop_assert!(name.chars().any(char::is_alphanumeric));
            let nfc: String = name.nfc().collect();
            prop_assert_eq!(&nfc, &name);
        }
        if let Ok(nick) = check_nick(&raw) {
            prop_assert_eq!(check_nick(&nick), Ok(nick.clone()));
        }
        if let Ok(room) = check_room(&raw) {
            prop_assert_eq!(check_room(&room), Ok(room.clone()));
        }
    }
}
