//! Dates and times in the reader's time zone and language, for message
//! lines, day dividers and search results (through the browser's `Date`).

/// The reader's calendar day, as (year, month, day of the month).
pub type Day = (u32, u32, u32);

/// Today and yesterday where the reader is, for the day dividers' labels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Today {
    /// Today.
    pub today: Day,
    /// Yesterday.
    pub yesterday: Day,
}

impl Today {
    /// As of now.
    pub fn now() -> Today {
        let now = js_sys::Date::now();
        Today {
            today: day_of(now),
            yesterday: day_of(now - 86_400_000.0),
        }
    }
}

fn date(ts: f64) -> js_sys::Date {
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ts))
}

/// "14:05", in the reader's time zone.
pub fn local_time(ts: f64) -> String {
    let date = date(ts);
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

/// The full date and time, for the tooltip and `datetime`.
pub fn full_time(ts: f64) -> (String, String) {
    let date = date(ts);
    (
        date.to_iso_string().into(),
        date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED)
            .into(),
    )
}

/// The reader's calendar day of `ts`.
pub fn day_of(ts: f64) -> Day {
    let date = date(ts);
    (date.get_full_year(), date.get_month(), date.get_date())
}

/// "Today", "Yesterday", or "Monday, 24 November" in the reader's language.
pub fn day_label(ts: f64, today: &Today) -> String {
    if day_of(ts) == today.today {
        return "Today".into();
    }
    if day_of(ts) == today.yesterday {
        return "Yesterday".into();
    }
    let options = js_sys::Object::new();
    for (key, value) in [("weekday", "long"), ("month", "long"), ("day", "numeric")] {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    }
    if day_of(ts).0 != today.today.0 {
        let _ = js_sys::Reflect::set(&options, &"year".into(), &"numeric".into());
    }
    date(ts).to_locale_date_string("default", &options).into()
}
